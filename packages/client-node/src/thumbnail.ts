/**
 * A small JPEG preview of a JPEG or PNG picture, carried inside the encrypted
 * message (attachments.md §Thumbnails): longest side THUMBNAIL_SIDE pixels,
 * area-averaged, transparency over white, the Exif orientation applied, JPEG
 * quality THUMBNAIL_QUALITY (a few KB). Pure JavaScript codecs (jpeg-js,
 * pngjs): no native code in the SDK; the web app will use canvas instead.
 * A picture that cannot be decoded gets no thumbnail (it is still sent).
 */
import jpegJs from 'jpeg-js';
import pngJs from 'pngjs';
import { orientedSize, orientedSource } from '@sigilo/client';

export const THUMBNAIL_SIDE = 128;
export const THUMBNAIL_QUALITY = 60;
/** Bigger pictures get no thumbnail: decoding would need too much memory. */
export const THUMBNAIL_MAX_PIXELS = 40_000_000;

export interface Thumbnail {
  readonly jpeg: Uint8Array;
  readonly width: number;
  readonly height: number;
}

interface Rgba { width: number; height: number; data: Uint8Array }

function decode(bytes: Uint8Array, mime: string): Rgba | undefined {
  if (mime === 'image/jpeg') {
    const img = jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: THUMBNAIL_MAX_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, data: img.data };
  }
  if (mime === 'image/png') {
    // The size is in the IHDR chunk, which must come first: refuse a picture
    // too big to decode before pngjs inflates it (a 250 KB PNG can declare
    // 8000 x 8000 pixels and take a gigabyte to decode).
    if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(16) * view.getUint32(20) > THUMBNAIL_MAX_PIXELS) return undefined;
    const img = pngJs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: img.width, height: img.height, data: img.data };
  }
  return undefined;
}

/** Area-averaging downscale into an RGB image (alpha composited over white). */
function shrink(src: Rgba, tw: number, th: number): Uint8Array {
  const sums = new Float64Array(tw * th * 3);
  const counts = new Uint32Array(tw * th);
  const { width: w, height: h, data } = src;
  for (let y = 0; y < h; y++) {
    const ty = Math.min(th - 1, Math.floor((y * th) / h));
    for (let x = 0; x < w; x++) {
      const tx = Math.min(tw - 1, Math.floor((x * tw) / w));
      const i = (y * w + x) * 4, t = ty * tw + tx;
      const a = data[i + 3]! / 255;
      const white = 255 * (1 - a);
      sums[t * 3] = sums[t * 3]! + data[i]! * a + white;
      sums[t * 3 + 1] = sums[t * 3 + 1]! + data[i + 1]! * a + white;
      sums[t * 3 + 2] = sums[t * 3 + 2]! + data[i + 2]! * a + white;
      counts[t]!++;
    }
  }
  const out = new Uint8Array(tw * th * 3);
  for (let t = 0; t < tw * th; t++) {
    const n = counts[t] || 1;
    for (let c = 0; c < 3; c++) out[t * 3 + c] = Math.round(sums[t * 3 + c]! / n);
  }
  return out;
}

export function makeThumbnail(bytes: Uint8Array, mime: string, orientation = 1): Thumbnail | undefined {
  let img: Rgba | undefined;
  try {
    img = decode(bytes, mime);
  } catch {
    return undefined; // not decodable by the pure-JS codecs (arithmetic coding, 12-bit, damaged…)
  }
  if (!img || img.width === 0 || img.height === 0 || img.width * img.height > THUMBNAIL_MAX_PIXELS) return undefined;
  const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(img.width, img.height));
  const tw = Math.max(1, Math.round(img.width * scale)), th = Math.max(1, Math.round(img.height * scale));
  const rgb = shrink(img, tw, th);
  img = undefined;
  const out = orientedSize(orientation, tw, th);
  const rgba = new Uint8Array(out.width * out.height * 4);
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const [sx, sy] = orientedSource(orientation, x, y, tw, th);
      const s = (sy * tw + sx) * 3, d = (y * out.width + x) * 4;
      rgba[d] = rgb[s]!;
      rgba[d + 1] = rgb[s + 1]!;
      rgba[d + 2] = rgb[s + 2]!;
      rgba[d + 3] = 255;
    }
  }
  const encoded = jpegJs.encode({ width: out.width, height: out.height, data: rgba }, THUMBNAIL_QUALITY);
  return { jpeg: new Uint8Array(encoded.data), width: out.width, height: out.height };
}
