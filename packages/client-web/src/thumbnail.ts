/**
 * Thumbnails of pictures sent from a browser (the AttachmentFiles port's `thumbnail`, client.md §7.3): the
 * browser decodes the picture (createImageBitmap, the Exif orientation applied) and draws it at most
 * THUMBNAIL_SIDE pixels a side on an OffscreenCanvas, encoded as a JPEG. A canvas-made JPEG carries no
 * metadata of the original (no Exif, no GPS). Files are opened by the page (blobInput), so a path is refused.
 */
import { ClientError, type AttachmentFiles, type ByteSource } from '@sigilo/client';
import { removeOpfsDownload } from './attachment-files.js';

/** As the Node client (client-node thumbnail.ts): a few KB, shown blurred until the picture is downloaded. */
export const THUMBNAIL_SIDE = 128;
export const THUMBNAIL_QUALITY = 0.6;

export async function browserThumbnail(source: ByteSource, prepared: { readonly contentType: string }): Promise<Uint8Array | undefined> {
  if (typeof OffscreenCanvas === 'undefined' || typeof createImageBitmap === 'undefined') return undefined;
  const blob = source.slice ? source.slice(0, source.size) : new Blob([await source.read(0, source.size) as Uint8Array<ArrayBuffer>]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([blob], { type: prepared.contentType }), { imageOrientation: 'from-image' });
  } catch {
    return undefined; // not decodable here: the message goes without a thumbnail
  }
  try {
    const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const g = canvas.getContext('2d');
    if (!g) return undefined;
    g.fillStyle = '#fff'; // transparency over white, as JPEG has none
    g.fillRect(0, 0, w, h);
    g.imageSmoothingQuality = 'high';
    g.drawImage(bitmap, 0, 0, w, h);
    const jpeg = await canvas.convertToBlob({ type: 'image/jpeg', quality: THUMBNAIL_QUALITY });
    return new Uint8Array(await jpeg.arrayBuffer());
  } finally {
    bitmap.close();
  }
}

const byPath = (): never => { throw new ClientError('INVALID_INPUT', 'in a browser, files are handed in as Blobs (blobInput), not paths'); };

/**
 * The browser's AttachmentFiles: thumbnails; files come in as Blobs and downloads go to OPFS sinks; `remove` deletes a
 * download kept in OPFS (and its partial file) when its disappearing message expires (client.md §14).
 */
export const browserAttachmentFiles: AttachmentFiles = {
  openFile: async () => byPath(),
  openDownload: async () => byPath(),
  thumbnail: browserThumbnail,
  remove: (path) => removeOpfsDownload(path),
};
