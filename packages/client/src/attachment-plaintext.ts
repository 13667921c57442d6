/**
 * The plaintext an upload encrypts (attachments.md §Metadata, §Padding): the
 * prepared file's pieces — ranges of the source and replacement bytes — then
 * zeros up to the padded size, read a block at a time and never whole.
 */
import { AttachmentError } from './attachments.js';
import { BLOCK } from './attachment-transfer.js';
import type { ByteSource, Piece } from './media/source.js';

/** Zeros for the padding (never written to). */
let zeroBlock: Uint8Array | undefined;

/** The prepared plaintext from byte `from` on, then zeros up to `padded`, in blocks of at most BLOCK bytes. */
export async function* plaintextBlocks(src: ByteSource, pieces: readonly Piece[], padded: number, from: number): AsyncGenerator<Uint8Array> {
  let at = 0; // plaintext offset of the current piece
  for (const p of pieces) {
    const length = 'bytes' in p ? p.bytes.length : p.to - p.from;
    const start = Math.max(from, at);
    if (start < at + length) {
      if ('bytes' in p) {
        yield p.bytes.subarray(start - at);
      } else {
        for (let pos = p.from + (start - at); pos < p.to;) {
          const n = Math.min(BLOCK, p.to - pos);
          const b = await src.read(pos, n);
          if (b.length !== n) throw new AttachmentError('FILE_CHANGED', 'the file became shorter while it was being sent; send it again');
          yield b;
          pos += n;
        }
      }
    }
    at += length;
  }
  for (let pos = Math.max(from, at); pos < padded;) {
    const n = Math.min(BLOCK, padded - pos);
    zeroBlock ??= new Uint8Array(BLOCK);
    yield zeroBlock.subarray(0, n);
    pos += n;
  }
}
