/**
 * The MIME type of a file: from its first bytes (magic numbers) where they are
 * conclusive, else from the file name's extension, else
 * application/octet-stream. The sender's claim is only a hint for the
 * receiver's display; nothing trusts it for security.
 */
import { ascii } from './source.js';

/** How many leading bytes sniffMime looks at. */
export const SNIFF_BYTES = 512;

const EXTENSIONS: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', heif: 'image/heif',
  avif: 'image/avif', bmp: 'image/bmp', tif: 'image/tiff', tiff: 'image/tiff', svg: 'image/svg+xml', ico: 'image/vnd.microsoft.icon',
  mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/x-matroska', avi: 'video/x-msvideo', '3gp': 'video/3gpp',
  m4a: 'audio/mp4', aac: 'audio/aac', mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', wav: 'audio/wav', flac: 'audio/flac',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', '7z': 'application/x-7z-compressed',
  txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', json: 'application/json', html: 'text/html', xml: 'application/xml',
  doc: 'application/msword', xls: 'application/vnd.ms-excel', ppt: 'application/vnd.ms-powerpoint',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet', epub: 'application/epub+zip',
  apk: 'application/vnd.android.package-archive',
};

export function mimeFromExtension(fileName: string): string | undefined {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(fileName);
  return m ? EXTENSIONS[m[1]!.toLowerCase()] : undefined;
}

function fromMagic(b: Uint8Array, fileName: string): string | undefined {
  const at = (o: number, s: string) => b.length >= o + s.length && ascii(b, o, o + s.length) === s;
  const bytes = (o: number, ...v: number[]) => b.length >= o + v.length && v.every((x, i) => b[o + i] === x);
  if (bytes(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (bytes(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'image/gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'image/webp';
  if (at(0, 'RIFF') && at(8, 'WAVE')) return 'audio/wav';
  if (at(0, 'RIFF') && at(8, 'AVI ')) return 'video/x-msvideo';
  if (at(0, 'BM') && b.length >= 14) return mimeFromExtension(fileName) === 'image/bmp' ? 'image/bmp' : undefined;
  if (bytes(0, 0x49, 0x49, 0x2a, 0x00) || bytes(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  if (at(4, 'ftyp')) {
    const brand = ascii(b, 8, 12);
    if (/^(heic|heix|heim|heis|hevc|hevx)$/.test(brand)) return 'image/heic';
    if (/^(mif1|msf1)$/.test(brand)) return 'image/heif';
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (brand === 'qt  ') return 'video/quicktime';
    if (brand === 'M4A ' || brand === 'M4B ') return 'audio/mp4';
    if (brand.startsWith('3gp')) return 'video/3gpp';
    return 'video/mp4';
  }
  if (at(0, 'OggS')) {
    // The first packet says which codec: Opus and Vorbis are audio, Theora is video.
    const s = ascii(b, 28, Math.min(b.length, 40));
    if (s.includes('theora')) return 'video/ogg';
    return 'audio/ogg';
  }
  if (bytes(0, 0x1a, 0x45, 0xdf, 0xa3)) {
    const webm = ascii(b, 0, Math.min(b.length, SNIFF_BYTES)).includes('webm');
    // A browser's voice recording (MediaRecorder) is WebM with one audio track: TrackType (0x83, size 1) 2, none 1.
    return webm && audioOnlyTracks(b) ? 'audio/webm' : webm ? 'video/webm' : 'video/x-matroska';
  }
  if (at(0, 'fLaC')) return 'audio/flac';
  if (at(0, 'ID3') || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe6) === 0xe2)) return 'audio/mpeg';
  if (at(0, '%PDF-')) return 'application/pdf';
  if (bytes(0, 0x50, 0x4b, 0x03, 0x04) || bytes(0, 0x50, 0x4b, 0x05, 0x06)) {
    // Office documents, EPUB and APK are ZIP files: their extension says which.
    const ext = mimeFromExtension(fileName);
    return ext && (ext.includes('openxmlformats') || ext.includes('opendocument') || ext.endsWith('+zip') || ext.includes('android')) ? ext : 'application/zip';
  }
  if (bytes(0, 0x1f, 0x8b)) return 'application/gzip';
  if (bytes(0, 0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return 'application/x-7z-compressed';
  return undefined;
}

/** Whether a Matroska header names audio tracks (TrackType 2) and no video track (TrackType 1). */
function audioOnlyTracks(b: Uint8Array): boolean {
  let audio = false;
  const end = Math.min(b.length, SNIFF_BYTES) - 2;
  for (let i = 4; i < end; i++) {
    if (b[i] === 0x83 && b[i + 1] === 0x81) {
      if (b[i + 2] === 0x01) return false;
      if (b[i + 2] === 0x02) audio = true;
    }
  }
  return audio;
}

/** `head` is the file's first bytes (SNIFF_BYTES is enough). */
export function sniffMime(head: Uint8Array, fileName: string): string {
  return fromMagic(head, fileName) ?? mimeFromExtension(fileName) ?? 'application/octet-stream';
}
