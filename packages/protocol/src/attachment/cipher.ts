/**
 * Sigilo's attachment cipher (spec/attachments.md §2–§3): Cobblestone-256 with
 *
 *   context = "Sigilo_Attachment_v1"
 *   salt    = HKDF-Expand-SHA512(prk = key, info = "Sigilo_AttachmentSalt_v1", 24)
 *
 * The key is 32 fresh random bytes per attachment, so the salt (a function of
 * the key) never repeats for a key, and the whole ciphertext is a function of
 * (key, plaintext): a resumed upload re-encrypts from a chunk boundary to the
 * same bytes, and any chunk can be decrypted from the key alone.
 *
 * With startChunk > 0 the encryptor emits, and the decryptor expects, the
 * ciphertext from chunkCiphertextOffset(startChunk) on: no header. The header
 * (and with it the key commitment) is checked when a decryption starts at
 * chunk 0, or with checkAttachmentHeader.
 */
import { AttachmentCorruptError, AttachmentKeyMismatchError, AttachmentTruncatedError, InvalidArgumentError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { bytesEqual, utf8 } from '../bytes.js';
import {
  COBBLESTONE_CHUNK_SIZE,
  COBBLESTONE_HEADER_LENGTH,
  COBBLESTONE_KEY_LENGTH,
  COBBLESTONE_SALT_LENGTH,
  COBBLESTONE_SEALED_CHUNK_SIZE,
  COBBLESTONE_TAG_LENGTH,
  ChunkCipher,
  CobblestoneDecryptor,
  CobblestoneEncryptor,
  checkChunkIndex,
  checkInputKey,
  cobblestoneChunkCount,
  cobblestoneDecrypt,
  cobblestoneEncrypt,
  cobblestoneCiphertextSize,
  deriveCobblestoneKeys,
  hkdfExpandSha512,
} from './cobblestone.js';

export const ATTACHMENT_KEY_LENGTH = COBBLESTONE_KEY_LENGTH;
/** Plaintext bytes per chunk; the final chunk is always shorter (possibly empty). */
export const ATTACHMENT_CHUNK_SIZE = COBBLESTONE_CHUNK_SIZE;
/** A full chunk on the wire: 16,384 bytes of ciphertext and a 16-byte tag. */
export const ATTACHMENT_SEALED_CHUNK_SIZE = COBBLESTONE_SEALED_CHUNK_SIZE;
/** salt (24) ‖ commitment (32) before chunk 0. */
export const ATTACHMENT_HEADER_LENGTH = COBBLESTONE_HEADER_LENGTH;
export const ATTACHMENT_TAG_LENGTH = COBBLESTONE_TAG_LENGTH;

const CONTEXT = utf8('Sigilo_Attachment_v1');
const SALT_INFO = utf8('Sigilo_AttachmentSalt_v1');

/** The 24-byte Cobblestone salt of an attachment key. */
export function attachmentSalt(crypto: CryptoProvider, key: Uint8Array): Uint8Array {
  checkInputKey(key);
  return hkdfExpandSha512(crypto, key, SALT_INFO, COBBLESTONE_SALT_LENGTH);
}

function attachmentKeys(crypto: CryptoProvider, key: Uint8Array) {
  const salt = attachmentSalt(crypto, key);
  return { salt, ...deriveCobblestoneKeys(crypto, key, salt, CONTEXT) };
}

/** The 56 bytes every ciphertext under `key` starts with: salt ‖ commitment. */
export function attachmentHeader(crypto: CryptoProvider, key: Uint8Array): Uint8Array {
  const k = attachmentKeys(crypto, key);
  k.aeadKey.fill(0);
  const header = new Uint8Array(COBBLESTONE_HEADER_LENGTH);
  header.set(k.salt, 0);
  header.set(k.commitment, COBBLESTONE_SALT_LENGTH);
  return header;
}

/**
 * Checks the first 56 bytes of a ciphertext against the key (the key
 * commitment). Required before random-access reads of a blob whose decryption
 * did not start at chunk 0. Throws AttachmentKeyMismatchError, or
 * AttachmentTruncatedError for fewer than 56 bytes.
 */
export function checkAttachmentHeader(crypto: CryptoProvider, key: Uint8Array, header: Uint8Array): void {
  if (!(header instanceof Uint8Array)) throw new InvalidArgumentError('header must be a Uint8Array');
  if (header.length < COBBLESTONE_HEADER_LENGTH) throw new AttachmentTruncatedError();
  if (!bytesEqual(header.subarray(0, COBBLESTONE_HEADER_LENGTH), attachmentHeader(crypto, key))) {
    throw new AttachmentKeyMismatchError();
  }
}

/** Exact encrypted size of a plaintext of `plaintextSize` bytes (pass the padded size): 56 + size + 16 per chunk. */
export function ciphertextSize(plaintextSize: number): number {
  return cobblestoneCiphertextSize(plaintextSize);
}

/** Chunks for a plaintext size: ⌊size / 16384⌋ + 1 (a final short, possibly empty, chunk always exists). */
export function plaintextChunkCount(plaintextSize: number): number {
  return cobblestoneChunkCount(plaintextSize);
}

/** Byte offset in the ciphertext where chunk `chunkIndex` starts: 56 + i × 16400. */
export function chunkCiphertextOffset(chunkIndex: number): number {
  checkChunkIndex(chunkIndex);
  return COBBLESTONE_HEADER_LENGTH + chunkIndex * COBBLESTONE_SEALED_CHUNK_SIZE;
}

export interface AttachmentStreamOptions {
  /** Resume at this chunk (see the module comment); 0 by default. */
  readonly startChunk?: number;
}

/**
 * Streaming attachment encryption. update() takes plaintext in pieces of any
 * size and returns the ciphertext completed so far (the header first, then
 * every full chunk); finish() returns the final short chunk. Concatenated, the
 * outputs are the attachment ciphertext (from chunkCiphertextOffset(startChunk)
 * when resuming). The caller pads the plaintext (see paddedSize).
 *
 * For bulk data, updateInto(plaintext, out, offset) and finishInto(out, offset)
 * write the same bytes into a caller's buffer (room: updateOutputLength(n),
 * finishOutputLength()) and return the count, so an upload can reuse a few
 * output buffers instead of allocating pieces and joining them.
 */
export class AttachmentEncryptor extends CobblestoneEncryptor {
  constructor(crypto: CryptoProvider, key: Uint8Array, options: AttachmentStreamOptions = {}) {
    super(crypto, key, { salt: attachmentSalt(crypto, key), context: CONTEXT, startChunk: options.startChunk ?? 0 });
  }
}

/**
 * Streaming attachment decryption. update() takes ciphertext in pieces of any
 * size and returns the plaintext of each chunk completed and authenticated so
 * far; finish() returns the final chunk's plaintext, or throws
 * AttachmentTruncatedError if the ciphertext stopped early. Output is only a
 * complete file once finish() has returned: until then write it somewhere that
 * is not taken for the finished file. Errors are AttachmentKeyMismatchError,
 * AttachmentCorruptError and AttachmentTruncatedError; after one, every later
 * call throws it again.
 */
export class AttachmentDecryptor extends CobblestoneDecryptor {
  constructor(crypto: CryptoProvider, key: Uint8Array, options: AttachmentStreamOptions = {}) {
    super(crypto, key, { salt: attachmentSalt(crypto, key), context: CONTEXT, startChunk: options.startChunk ?? 0 });
  }
}

/**
 * Decrypts one chunk for random access. `chunk` is the whole sealed chunk:
 * exactly 16,400 bytes unless `final`, 16 to 16,399 bytes if `final` (the last
 * chunk of the attachment). Does not check the header: see checkAttachmentHeader.
 */
export function decryptAttachmentChunk(crypto: CryptoProvider, key: Uint8Array, chunkIndex: number, chunk: Uint8Array, final: boolean): Uint8Array {
  checkChunkIndex(chunkIndex);
  if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('chunk must be a Uint8Array');
  if (final ? chunk.length < COBBLESTONE_TAG_LENGTH : chunk.length < COBBLESTONE_SEALED_CHUNK_SIZE) throw new AttachmentTruncatedError();
  if (final ? chunk.length >= COBBLESTONE_SEALED_CHUNK_SIZE : chunk.length > COBBLESTONE_SEALED_CHUNK_SIZE) {
    throw new AttachmentCorruptError(chunkIndex, `attachment chunk ${chunkIndex} is ${chunk.length} bytes, longer than a ${final ? 'final' : 'full'} chunk can be: read the range again`);
  }
  const k = attachmentKeys(crypto, key);
  const cipher = new ChunkCipher(crypto, k);
  try {
    return cipher.open(chunkIndex, chunk);
  } finally {
    cipher.wipe();
  }
}

/** One-shot encryption of a (padded) plaintext held in memory. */
export function encryptAttachment(crypto: CryptoProvider, key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
  return cobblestoneEncrypt(crypto, key, plaintext, { salt: attachmentSalt(crypto, key), context: CONTEXT });
}

/** One-shot decryption of a whole ciphertext held in memory (padding is kept: cut to the pointer's size). */
export function decryptAttachment(crypto: CryptoProvider, key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return cobblestoneDecrypt(crypto, key, ciphertext, { salt: attachmentSalt(crypto, key), context: CONTEXT });
}
