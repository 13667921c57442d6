/**
 * PNG metadata removal without re-encoding (attachments.md §Metadata). Chunks
 * that decoding and correct colour or animation need are kept byte for byte
 * (an allow-list); text (tEXt, zTXt, iTXt: authors, software, XMP), Exif
 * (eXIf), the modification time (tIME), other ancillary and private chunks and
 * anything after IEND are dropped. An unknown critical chunk cannot be judged
 * safe to drop or to keep: the file is refused.
 */
import { type ByteSource, type Piece, MediaFormatError, ascii, mergePieces, readExactly, u32be } from './source.js';

const F = 'PNG';
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const KEEP = new Set([
  'IHDR', 'PLTE', 'IDAT', 'IEND', // critical
  'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT', 'cICP', 'mDCv', 'cLLi', 'bKGD', 'pHYs', // how it looks
  'acTL', 'fcTL', 'fdAT', // APNG animation
]);

export interface PngResult {
  readonly pieces: Piece[];
  readonly width: number;
  readonly height: number;
  readonly removed: string[];
}

export async function stripPng(src: ByteSource): Promise<PngResult> {
  const sig = await readExactly(src, F, 0, 8);
  if (!SIGNATURE.every((b, i) => sig[i] === b)) throw new MediaFormatError(F, 'no PNG signature');
  const pieces: Piece[] = [{ from: 0, to: 8 }];
  const removed = new Set<string>();
  let width = 0, height = 0;
  let pos = 8;
  let first = true;
  let sawData = false;
  for (;;) {
    const head = await readExactly(src, F, pos, 8);
    const length = u32be(head, 0);
    const type = ascii(head, 4, 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new MediaFormatError(F, 'a chunk has an invalid type');
    if (length > 0x7fffffff) throw new MediaFormatError(F, 'a chunk has an impossible length');
    const end = pos + 12 + length;
    if (end > src.size) throw new MediaFormatError(F, `the ${type} chunk runs past the end of the file (truncated?)`);
    if (first) {
      if (type !== 'IHDR' || length !== 13) throw new MediaFormatError(F, 'the first chunk is not a valid IHDR');
      const ihdr = await readExactly(src, F, pos + 8, 8);
      width = u32be(ihdr, 0);
      height = u32be(ihdr, 4);
      if (width === 0 || height === 0) throw new MediaFormatError(F, 'the image has no width or height');
      first = false;
    }
    if (type === 'IDAT') sawData = true;
    if (KEEP.has(type)) {
      pieces.push({ from: pos, to: end });
    } else if (type.charCodeAt(0) < 0x61) {
      throw new MediaFormatError(F, `unknown critical chunk ${type}`);
    } else {
      removed.add(type);
    }
    pos = end;
    if (type === 'IEND') break;
  }
  if (!sawData) throw new MediaFormatError(F, 'no image data (IDAT)');
  if (pos < src.size) removed.add('data after the image');
  return { pieces: mergePieces(pieces), width, height, removed: [...removed] };
}
