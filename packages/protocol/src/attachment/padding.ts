/**
 * Attachment size padding (spec/attachments.md §4): before encryption the
 * plaintext is extended with zero bytes to a size bucket, so the server (which
 * sees only the ciphertext size) cannot tell files apart by their exact size.
 * The true size travels inside the end-to-end encrypted pointer.
 *
 * Buckets are Padmé's (Nikitin et al., "Reducing Metadata Leakage from
 * Encrypted Files and Communication with PURBs", PETS 2019, §4): a size L with
 * E = ⌊log2 L⌋ is rounded up to a multiple of 2^(E − S), S = ⌊log2 E⌋ + 1, so
 * only about 2·log2(E) values are possible between 2^E and 2^(E+1): O(log log L)
 * bits leak, and the overhead is below 2^−S (≤ 6.25 % from 1 KiB up, ≤ 3.125 %
 * from 64 KiB). Below 1 KiB Padmé keeps nearly exact sizes, so every size up
 * to 1 KiB is padded to 1 KiB (at most 1 KiB of overhead).
 */
import { InvalidArgumentError } from '../errors.js';
import { COBBLESTONE_CHUNK_SIZE, COBBLESTONE_MAX_CHUNKS } from './cobblestone.js';

/** Every attachment is padded to at least this many bytes. */
export const ATTACHMENT_MIN_PADDED_SIZE = 1024;
/** Largest plaintext (padding included) the cipher accepts: 2^38 chunks, the last one short. */
export const ATTACHMENT_MAX_SIZE = COBBLESTONE_MAX_CHUNKS * COBBLESTONE_CHUNK_SIZE - 1;

/** Number of significant bits of a positive safe integer (exact, unlike Math.log2 near powers of two). */
function bitLength(n: number): number {
  return n.toString(2).length;
}

/**
 * The bucket a plaintext of `size` bytes is padded to before encryption:
 * max(1024, Padmé(size)). Monotone, never below `size`.
 */
export function paddedSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError('attachment size must be a non-negative integer');
  if (size <= ATTACHMENT_MIN_PADDED_SIZE) return ATTACHMENT_MIN_PADDED_SIZE;
  const e = bitLength(size) - 1; // ⌊log2 size⌋
  const s = bitLength(e); // ⌊log2 e⌋ + 1
  const unit = 2 ** (e - s);
  const padded = Math.ceil(size / unit) * unit;
  if (padded > ATTACHMENT_MAX_SIZE) throw new InvalidArgumentError('attachment is larger than the 4 PiB limit');
  return padded;
}

/** A copy of `plaintext` followed by zeros up to paddedSize(plaintext.length) (small data; stream large files). */
export function padAttachment(plaintext: Uint8Array): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
  const out = new Uint8Array(paddedSize(plaintext.length));
  out.set(plaintext, 0);
  return out;
}
