/**
 * What the media parsers read from and what they produce. They never hold a
 * whole file: they read the few bytes they need from a ByteSource (a file or,
 * in tests, a buffer) and describe the cleaned file as a list of pieces — byte
 * ranges of the original and small replacement bytes — that the uploader then
 * streams (attachments.md §Metadata).
 */
import type { ByteSource } from '../ports.js';

export type { ByteSource } from '../ports.js';

/** A byte range of the original file, or bytes written in its place. */
export type Piece = { readonly from: number; readonly to: number } | { readonly bytes: Uint8Array };

export function piecesSize(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += 'bytes' in p ? p.bytes.length : p.to - p.from;
  return n;
}

/** Adjacent ranges of the original merged into one (fewer reads when streaming). */
export function mergePieces(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (!('bytes' in p) && last && !('bytes' in last) && last.to === p.from) out[out.length - 1] = { from: last.from, to: p.to };
    else if ('bytes' in p ? p.bytes.length > 0 : p.to > p.from) out.push(p);
  }
  return out;
}

/** The file is not what its first bytes say it is (truncated, damaged, or not parseable). */
export class MediaFormatError extends Error {
  constructor(readonly format: string, message: string) {
    super(`${format}: ${message}`);
    this.name = 'MediaFormatError';
  }
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (position, length) => bytes.subarray(Math.min(position, bytes.length), Math.min(bytes.length, position + length)),
  };
}

/** Reads exactly `length` bytes or throws MediaFormatError (the file ends too early). */
export async function readExactly(src: ByteSource, format: string, position: number, length: number): Promise<Uint8Array> {
  if (position < 0 || position + length > src.size) throw new MediaFormatError(format, 'the file ends in the middle of a structure (truncated?)');
  const b = await src.read(position, length);
  if (b.length !== length) throw new MediaFormatError(format, 'the file ends in the middle of a structure (truncated?)');
  return b;
}

export const ascii = (b: Uint8Array, start = 0, end = b.length) => String.fromCharCode(...b.subarray(start, end));
export const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
export const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
export const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
export const u32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + ((b[o + 3]! << 24) >>> 0);
