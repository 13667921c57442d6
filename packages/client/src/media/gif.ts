/**
 * GIF metadata removal without re-encoding (attachments.md §Metadata):
 * comment extensions and application extensions other than looping
 * (NETSCAPE2.0, ANIMEXTS1.0) and colour (ICCRGBG1) — XMP among them — are
 * dropped, and anything after the trailer. Frames, palettes and timing stay.
 */
import { type ByteSource, type Piece, MediaFormatError, ascii, mergePieces, readExactly, u16le } from './source.js';

const F = 'GIF';
const KEEP_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0', 'ICCRGBG1012']);

export interface GifResult {
  readonly pieces: Piece[];
  readonly width: number;
  readonly height: number;
  readonly removed: string[];
}

/** The position after a run of data sub-blocks (size byte, data…, ended by a 0 size) starting at `pos`. */
async function skipSubBlocks(src: ByteSource, pos: number): Promise<number> {
  let p = pos;
  let window: Uint8Array = new Uint8Array(0);
  let windowAt = 0;
  for (;;) {
    if (p >= src.size) throw new MediaFormatError(F, 'the file ends inside image data (truncated?)');
    if (p < windowAt || p >= windowAt + window.length) {
      window = await src.read(p, 64 * 1024);
      windowAt = p;
    }
    const n = window[p - windowAt]!;
    p += 1 + n;
    if (n === 0) return p;
  }
}

export async function stripGif(src: ByteSource): Promise<GifResult> {
  const head = await readExactly(src, F, 0, 13);
  const magic = ascii(head, 0, 6);
  if (magic !== 'GIF87a' && magic !== 'GIF89a') throw new MediaFormatError(F, 'no GIF header');
  const width = u16le(head, 6), height = u16le(head, 8);
  let pos = 13 + (head[10]! & 0x80 ? 3 * (2 << (head[10]! & 7)) : 0);
  const pieces: Piece[] = [{ from: 0, to: pos }];
  const removed = new Set<string>();
  let frames = 0;
  for (;;) {
    const b = (await readExactly(src, F, pos, 1))[0];
    if (b === 0x3b) {
      pieces.push({ from: pos, to: pos + 1 });
      pos += 1;
      break;
    }
    if (b === 0x2c) {
      const d = await readExactly(src, F, pos, 11); // descriptor (10) + LZW minimum code size
      const table = d[9]! & 0x80 ? 3 * (2 << (d[9]! & 7)) : 0;
      const end = await skipSubBlocks(src, pos + 11 + table);
      pieces.push({ from: pos, to: end });
      frames++;
      pos = end;
    } else if (b === 0x21) {
      const label = (await readExactly(src, F, pos + 1, 1))[0]!;
      const end = await skipSubBlocks(src, pos + 2);
      let keep = label === 0xf9 || label === 0x01;
      if (label === 0xff) {
        const id = await readExactly(src, F, pos + 2, 12);
        keep = id[0] === 11 && KEEP_APPS.has(ascii(id, 1, 12));
        if (!keep) removed.add(ascii(id, 1, 12).startsWith('XMP') ? 'XMP' : 'application extension');
      } else if (!keep) {
        removed.add(label === 0xfe ? 'comment' : 'extension');
      }
      if (keep) pieces.push({ from: pos, to: end });
      pos = end;
    } else {
      throw new MediaFormatError(F, 'an unknown block');
    }
  }
  if (frames === 0) throw new MediaFormatError(F, 'no image data');
  if (pos < src.size) removed.add('data after the image');
  return { pieces: mergePieces(pieces), width, height, removed: [...removed] };
}
