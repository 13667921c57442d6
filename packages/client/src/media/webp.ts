/**
 * WebP metadata removal without re-encoding (attachments.md §Metadata): the
 * RIFF chunks EXIF and "XMP " and any unknown chunk are dropped; the VP8X
 * header's EXIF and XMP flags are cleared and the RIFF size rewritten. Image
 * data (VP8, VP8L, ALPH), colour (ICCP) and animation (ANIM, ANMF) are kept.
 */
import { type ByteSource, type Piece, MediaFormatError, ascii, mergePieces, readExactly, u16le, u32le } from './source.js';

const F = 'WebP';
const KEEP = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ICCP', 'ANIM', 'ANMF']);

export interface WebpResult {
  readonly pieces: Piece[];
  readonly width: number;
  readonly height: number;
  readonly removed: string[];
}

const le32 = (n: number) => new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);

export async function stripWebp(src: ByteSource): Promise<WebpResult> {
  const head = await readExactly(src, F, 0, 12);
  if (ascii(head, 0, 4) !== 'RIFF' || ascii(head, 8, 12) !== 'WEBP') throw new MediaFormatError(F, 'no RIFF WEBP header');
  const riffEnd = 8 + u32le(head, 4);
  if (riffEnd > src.size) throw new MediaFormatError(F, 'the RIFF size runs past the end of the file (truncated?)');
  const body: Piece[] = [];
  const removed = new Set<string>();
  let width = 0, height = 0;
  let pos = 12;
  let sawImage = false;
  while (pos + 8 <= riffEnd) {
    const ch = await readExactly(src, F, pos, 8);
    const type = ascii(ch, 0, 4);
    const size = u32le(ch, 4);
    const end = pos + 8 + size + (size & 1);
    if (pos + 8 + size > riffEnd) throw new MediaFormatError(F, `the ${type.trim()} chunk runs past the end of the file`);
    if (type === 'VP8X') {
      if (size < 10) throw new MediaFormatError(F, 'the VP8X header is too short');
      const x = await readExactly(src, F, pos + 8, 10);
      width = 1 + (x[4]! | (x[5]! << 8) | (x[6]! << 16));
      height = 1 + (x[7]! | (x[8]! << 8) | (x[9]! << 16));
      const copy = new Uint8Array(8 + 10);
      copy.set(ch, 0);
      copy.set(x, 8);
      copy[8] = x[0]! & ~0x0c; // clear the EXIF (0x08) and XMP (0x04) flags
      copy.set(le32(10), 4);
      body.push({ bytes: copy });
      if (size > 10) removed.add('VP8X extension');
    } else if (KEEP.has(type)) {
      if (type === 'VP8 ' || type === 'VP8L') {
        sawImage = true;
        if (width === 0) ({ width, height } = await bitstreamSize(src, type, pos + 8, size));
      }
      if (type === 'ANMF') sawImage = true;
      body.push({ from: pos, to: Math.min(end, riffEnd) });
      if (end > riffEnd) body.push({ bytes: new Uint8Array(1) }); // a missing pad byte at the very end
    } else {
      removed.add(type.trim());
    }
    pos = end;
  }
  if (!sawImage || width === 0) throw new MediaFormatError(F, 'no image data');
  if (riffEnd < src.size) removed.add('data after the image');
  let size = 4;
  for (const p of body) size += 'bytes' in p ? p.bytes.length : p.to - p.from;
  const riff = new Uint8Array([...head.subarray(0, 4), ...le32(size), ...head.subarray(8, 12)]);
  return { pieces: mergePieces([{ bytes: riff }, ...body]), width, height, removed: [...removed] };
}

async function bitstreamSize(src: ByteSource, type: string, at: number, size: number): Promise<{ width: number; height: number }> {
  if (type === 'VP8 ') {
    if (size < 10) throw new MediaFormatError(F, 'the VP8 frame header is too short');
    const b = await readExactly(src, F, at, 10);
    if (b[3] !== 0x9d || b[4] !== 0x01 || b[5] !== 0x2a) throw new MediaFormatError(F, 'the VP8 frame has no start code');
    return { width: u16le(b, 6) & 0x3fff, height: u16le(b, 8) & 0x3fff };
  }
  if (size < 5) throw new MediaFormatError(F, 'the VP8L header is too short');
  const b = await readExactly(src, F, at, 5);
  if (b[0] !== 0x2f) throw new MediaFormatError(F, 'the VP8L stream has no signature');
  const bits = u32le(b, 1);
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
}
