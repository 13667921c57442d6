/**
 * Cobblestone-256: c2sp.org/chunked-encryption instantiated with HKDF-Expand
 * over SHA-512 and AES-256-GCM (the instantiation of the Wycheproof vectors).
 *
 *   key ‖ base nonce ‖ commitment = HKDF-Expand-SHA512(prk = input key,
 *       info = "c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM" ‖ 0x00 ‖ salt ‖ context, 76)
 *   ciphertext = salt (24) ‖ commitment (32) ‖ AEAD(key, base nonce ⊕ i, chunk i, "") for i = 0…
 *
 * Chunks hold 16 KiB of plaintext except the final one, which is always
 * shorter (possibly empty): its short length is the end-of-message signal, so
 * truncation at a chunk boundary, reordering and extension all fail
 * authentication or the length rules.
 *
 * This module is the generic scheme (any salt, any context), checked against
 * Wycheproof; `cipher.ts` is Sigilo's attachment profile on top of it. It is
 * pure and synchronous; all primitives come from the CryptoProvider.
 */
import { AttachmentCorruptError, AttachmentKeyMismatchError, AttachmentTruncatedError, InvalidArgumentError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { bytesEqual } from '../bytes.js';

/** Input key, and AES-256-GCM key. */
export const COBBLESTONE_KEY_LENGTH = 32;
export const COBBLESTONE_SALT_LENGTH = 24;
export const COBBLESTONE_COMMITMENT_LENGTH = 32;
/** salt ‖ commitment before chunk 0. */
export const COBBLESTONE_HEADER_LENGTH = COBBLESTONE_SALT_LENGTH + COBBLESTONE_COMMITMENT_LENGTH;
/** Plaintext bytes in every chunk but the final one (which is shorter). */
export const COBBLESTONE_CHUNK_SIZE = 16_384;
export const COBBLESTONE_TAG_LENGTH = 16;
/** A full (non-final) chunk on the wire. */
export const COBBLESTONE_SEALED_CHUNK_SIZE = COBBLESTONE_CHUNK_SIZE + COBBLESTONE_TAG_LENGTH;
/**
 * Chunk count limit. The spec allows up to 2^40 and asks for at least 2^32;
 * 2^38 (4 PiB) keeps every ciphertext offset an exact JavaScript integer.
 */
export const COBBLESTONE_MAX_CHUNKS = 2 ** 38;

const NONCE_LENGTH = 12;
const SHA512_LENGTH = 64;
const DERIVED_LENGTH = COBBLESTONE_KEY_LENGTH + NONCE_LENGTH + COBBLESTONE_COMMITMENT_LENGTH;
const INFO_PREFIX = new TextEncoder().encode('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0');

/** HKDF-Expand (RFC 5869 §2.3) over HMAC-SHA512: PRK is used as given, no Extract step. */
export function hkdfExpandSha512(crypto: CryptoProvider, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > 255 * SHA512_LENGTH) {
    throw new InvalidArgumentError(`HKDF-Expand-SHA512 output length must be an integer from 0 to ${255 * SHA512_LENGTH}`);
  }
  const out = new Uint8Array(length);
  const input = new Uint8Array(SHA512_LENGTH + info.length + 1);
  let previous = 0; // length of T(i-1) at the front of `input`
  for (let offset = 0, i = 1; offset < length; offset += SHA512_LENGTH, i++) {
    // T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i)
    input.set(info, previous);
    input[previous + info.length] = i;
    const t = crypto.hmacSha512(prk, input.subarray(0, previous + info.length + 1));
    out.set(t.subarray(0, Math.min(SHA512_LENGTH, length - offset)), offset);
    input.set(t, 0);
    t.fill(0);
    previous = SHA512_LENGTH;
  }
  input.fill(0);
  return out;
}

export interface CobblestoneKeys {
  readonly aeadKey: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly commitment: Uint8Array;
}

export function checkInputKey(inputKey: Uint8Array): void {
  if (!(inputKey instanceof Uint8Array) || inputKey.length !== COBBLESTONE_KEY_LENGTH) {
    throw new InvalidArgumentError(`attachment key must be ${COBBLESTONE_KEY_LENGTH} bytes`);
  }
}

/** The per-message AEAD key, base nonce and commitment (spec "Key derivation"). */
export function deriveCobblestoneKeys(crypto: CryptoProvider, inputKey: Uint8Array, salt: Uint8Array, context: Uint8Array): CobblestoneKeys {
  checkInputKey(inputKey);
  if (!(salt instanceof Uint8Array) || salt.length !== COBBLESTONE_SALT_LENGTH) {
    throw new InvalidArgumentError(`Cobblestone salt must be ${COBBLESTONE_SALT_LENGTH} bytes`);
  }
  if (!(context instanceof Uint8Array)) throw new InvalidArgumentError('Cobblestone context must be a Uint8Array');
  const info = new Uint8Array(INFO_PREFIX.length + COBBLESTONE_SALT_LENGTH + context.length);
  info.set(INFO_PREFIX, 0);
  info.set(salt, INFO_PREFIX.length);
  info.set(context, INFO_PREFIX.length + COBBLESTONE_SALT_LENGTH);
  const okm = hkdfExpandSha512(crypto, inputKey, info, DERIVED_LENGTH);
  return {
    aeadKey: okm.slice(0, COBBLESTONE_KEY_LENGTH),
    baseNonce: okm.slice(COBBLESTONE_KEY_LENGTH, COBBLESTONE_KEY_LENGTH + NONCE_LENGTH),
    commitment: okm.slice(COBBLESTONE_KEY_LENGTH + NONCE_LENGTH),
  };
}

export function checkChunkIndex(index: number, what = 'chunk index'): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= COBBLESTONE_MAX_CHUNKS) {
    throw new InvalidArgumentError(`${what} must be an integer from 0 to 2^38 - 1`);
  }
}

/** Exact ciphertext length for a plaintext length, header included. */
export function cobblestoneCiphertextSize(plaintextSize: number): number {
  return COBBLESTONE_HEADER_LENGTH + plaintextSize + COBBLESTONE_TAG_LENGTH * cobblestoneChunkCount(plaintextSize);
}

/** Number of chunks (the final short one included) for a plaintext length. */
export function cobblestoneChunkCount(plaintextSize: number): number {
  if (!Number.isSafeInteger(plaintextSize) || plaintextSize < 0) {
    throw new InvalidArgumentError('attachment size must be a non-negative integer');
  }
  const chunks = Math.floor(plaintextSize / COBBLESTONE_CHUNK_SIZE) + 1;
  if (chunks > COBBLESTONE_MAX_CHUNKS) throw new InvalidArgumentError('attachment is larger than the 4 PiB (2^38 chunks) limit');
  return chunks;
}

/**
 * AES-256-GCM on one chunk with nonce = base nonce ⊕ be96(index), empty AAD.
 * One scratch nonce buffer is reused (providers copy the nonce they are given).
 */
export class ChunkCipher {
  readonly #crypto: CryptoProvider;
  readonly #key: Uint8Array;
  readonly #base: Uint8Array;
  readonly #nonce = new Uint8Array(NONCE_LENGTH);

  constructor(crypto: CryptoProvider, keys: Pick<CobblestoneKeys, 'aeadKey' | 'baseNonce'>) {
    this.#crypto = crypto;
    this.#key = keys.aeadKey;
    this.#base = keys.baseNonce;
  }

  #nonceFor(index: number): Uint8Array {
    const n = this.#nonce;
    n.set(this.#base);
    // index < 2^38: the low 32 bits go in bytes 8..11, the high bits in byte 7.
    const low = index >>> 0;
    const high = Math.floor(index / 0x1_0000_0000);
    n[7]! ^= high & 0xff;
    n[8]! ^= low >>> 24;
    n[9]! ^= (low >>> 16) & 0xff;
    n[10]! ^= (low >>> 8) & 0xff;
    n[11]! ^= low & 0xff;
    return n;
  }

  /** Appends the chunk's ciphertext and then its tag to `out` (two pieces, no joined copy). */
  seal(index: number, plaintext: Uint8Array, out: Uint8Array[]): void {
    const { ciphertext, tag } = this.#crypto.aes256GcmEncryptDetached(this.#key, this.#nonceFor(index), plaintext, EMPTY);
    if (ciphertext.length > 0) out.push(ciphertext);
    out.push(tag);
  }

  /**
   * Writes the chunk's ciphertext and then its tag into `out` at `offset`
   * (room for plaintext.length + 16 bytes); returns the bytes written.
   */
  sealInto(index: number, plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    const { ciphertext, tag } = this.#crypto.aes256GcmEncryptDetached(this.#key, this.#nonceFor(index), plaintext, EMPTY);
    out.set(ciphertext, offset);
    out.set(tag, offset + ciphertext.length);
    return ciphertext.length + tag.length;
  }

  /** Throws AttachmentCorruptError when the chunk does not authenticate at this index. */
  open(index: number, sealed: Uint8Array): Uint8Array {
    try {
      return this.#crypto.aes256GcmDecrypt(this.#key, this.#nonceFor(index), sealed, EMPTY);
    } catch {
      throw new AttachmentCorruptError(index);
    }
  }

  wipe(): void {
    this.#key.fill(0);
    this.#base.fill(0);
    this.#nonce.fill(0);
  }
}

const EMPTY = new Uint8Array(0);

export interface CobblestoneEncryptOptions {
  /** 24 bytes, never repeated for one input key. */
  readonly salt: Uint8Array;
  readonly context: Uint8Array;
  /**
   * Resume at this chunk: the first plaintext byte pushed is byte
   * startChunk × 16384 of the message, and output starts at that chunk's
   * ciphertext offset (no header when startChunk > 0).
   */
  readonly startChunk?: number;
}

/**
 * Streaming encryption: push plaintext in pieces of any size; each full 16 KiB
 * chunk is emitted as soon as it is complete (a full chunk is never final),
 * `finish()` emits the short final chunk. Pieces that span whole chunks are
 * encrypted in place, only a partial chunk is buffered.
 */
export class CobblestoneEncryptor {
  #cipher: ChunkCipher | undefined;
  #header: Uint8Array | undefined;
  #index: number;
  #buffer = new Uint8Array(COBBLESTONE_CHUNK_SIZE);
  #filled = 0;

  constructor(crypto: CryptoProvider, inputKey: Uint8Array, options: CobblestoneEncryptOptions) {
    const start = options.startChunk ?? 0;
    checkChunkIndex(start, 'startChunk');
    const keys = deriveCobblestoneKeys(crypto, inputKey, options.salt, options.context);
    if (start === 0) {
      this.#header = new Uint8Array(COBBLESTONE_HEADER_LENGTH);
      this.#header.set(options.salt, 0);
      this.#header.set(keys.commitment, COBBLESTONE_SALT_LENGTH);
    }
    this.#cipher = new ChunkCipher(crypto, keys);
    this.#index = start;
  }

  #live(): ChunkCipher {
    if (!this.#cipher) throw new InvalidArgumentError('attachment encryptor already finished: create a new one');
    return this.#cipher;
  }

  #seal(cipher: ChunkCipher, plaintext: Uint8Array, out: Uint8Array[]): void {
    if (this.#index >= COBBLESTONE_MAX_CHUNKS) throw new InvalidArgumentError('attachment is larger than the 4 PiB (2^38 chunks) limit');
    cipher.seal(this.#index++, plaintext, out);
  }

  #takeHeader(out: Uint8Array[]): void {
    if (this.#header) {
      out.push(this.#header);
      this.#header = undefined;
    }
  }

  /**
   * Bytes that update() (and updateInto()) will output for `length` more
   * plaintext bytes: the header while it has not been output, and 16,400 per
   * chunk that the input completes.
   */
  updateOutputLength(length: number): number {
    if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError('plaintext length must be a non-negative integer');
    return (this.#header ? COBBLESTONE_HEADER_LENGTH : 0) + Math.floor((this.#filled + length) / COBBLESTONE_CHUNK_SIZE) * COBBLESTONE_SEALED_CHUNK_SIZE;
  }

  /** Bytes that finish() (and finishInto()) will output: the final chunk and its tag (and the header if it was never output). */
  finishOutputLength(): number {
    return (this.#header ? COBBLESTONE_HEADER_LENGTH : 0) + this.#filled + COBBLESTONE_TAG_LENGTH;
  }

  /**
   * As update(), with the ciphertext written into `out` from `offset` instead
   * of returned as new arrays (bulk data reuses its buffers). `out` needs room
   * for updateOutputLength(plaintext.length) bytes from `offset`, else
   * InvalidArgumentError and nothing changes. Returns the bytes written; the
   * output is byte for byte what update() would have returned.
   */
  updateInto(plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    const cipher = this.#live();
    if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
    checkRoom(out, offset, this.updateOutputLength(plaintext.length));
    let at = offset;
    if (this.#header) {
      out.set(this.#header, at);
      at += COBBLESTONE_HEADER_LENGTH;
      this.#header = undefined;
    }
    let read = 0;
    const length = plaintext.length;
    if (this.#filled > 0) {
      const take = Math.min(COBBLESTONE_CHUNK_SIZE - this.#filled, length);
      this.#buffer.set(plaintext.subarray(0, take), this.#filled);
      this.#filled += take;
      read = take;
      if (this.#filled < COBBLESTONE_CHUNK_SIZE) return at - offset;
      at += this.#sealInto(cipher, this.#buffer, out, at);
      this.#filled = 0;
    }
    while (length - read >= COBBLESTONE_CHUNK_SIZE) {
      at += this.#sealInto(cipher, plaintext.subarray(read, read + COBBLESTONE_CHUNK_SIZE), out, at);
      read += COBBLESTONE_CHUNK_SIZE;
    }
    if (read < length) {
      this.#buffer.set(plaintext.subarray(read), 0);
      this.#filled = length - read;
    }
    return at - offset;
  }

  /** As finish(), written into `out` from `offset` (room for finishOutputLength() bytes); returns the bytes written. */
  finishInto(out: Uint8Array, offset: number): number {
    const cipher = this.#live();
    checkRoom(out, offset, this.finishOutputLength());
    let at = offset;
    try {
      if (this.#header) {
        out.set(this.#header, at);
        at += COBBLESTONE_HEADER_LENGTH;
        this.#header = undefined;
      }
      at += this.#sealInto(cipher, this.#buffer.subarray(0, this.#filled), out, at);
    } finally {
      this.#close();
    }
    return at - offset;
  }

  #sealInto(cipher: ChunkCipher, plaintext: Uint8Array, out: Uint8Array, at: number): number {
    if (this.#index >= COBBLESTONE_MAX_CHUNKS) throw new InvalidArgumentError('attachment is larger than the 4 PiB (2^38 chunks) limit');
    return cipher.sealInto(this.#index++, plaintext, out, at);
  }

  update(plaintext: Uint8Array): Uint8Array[] {
    const cipher = this.#live();
    if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
    const out: Uint8Array[] = [];
    this.#takeHeader(out);
    let offset = 0;
    const length = plaintext.length;
    if (this.#filled > 0) {
      const take = Math.min(COBBLESTONE_CHUNK_SIZE - this.#filled, length);
      this.#buffer.set(plaintext.subarray(0, take), this.#filled);
      this.#filled += take;
      offset = take;
      if (this.#filled < COBBLESTONE_CHUNK_SIZE) return out;
      this.#seal(cipher, this.#buffer, out);
      this.#filled = 0;
    }
    while (length - offset >= COBBLESTONE_CHUNK_SIZE) {
      this.#seal(cipher, plaintext.subarray(offset, offset + COBBLESTONE_CHUNK_SIZE), out);
      offset += COBBLESTONE_CHUNK_SIZE;
    }
    if (offset < length) {
      this.#buffer.set(plaintext.subarray(offset), 0);
      this.#filled = length - offset;
    }
    return out;
  }

  /** Emits the final chunk (shorter than 16 KiB, possibly empty) and wipes the keys. */
  finish(): Uint8Array[] {
    const cipher = this.#live();
    const out: Uint8Array[] = [];
    this.#takeHeader(out);
    try {
      this.#seal(cipher, this.#buffer.subarray(0, this.#filled), out);
    } finally {
      this.#close();
    }
    return out;
  }

  #close(): void {
    this.#cipher?.wipe();
    this.#cipher = undefined;
    this.#buffer.fill(0);
    this.#filled = 0;
  }
}

function checkRoom(out: Uint8Array, offset: number, needed: number): void {
  if (!(out instanceof Uint8Array)) throw new InvalidArgumentError('out must be a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > out.length || out.length - offset < needed) {
    throw new InvalidArgumentError(`the output buffer needs room for ${needed} bytes from offset ${offset}; it is ${out.length} bytes`);
  }
}

export interface CobblestoneDecryptOptions {
  readonly context: Uint8Array;
  /**
   * The expected salt. With it, the header must carry exactly this salt (and
   * decryption can start at a later chunk without the header); without it, the
   * salt is read from the header (generic Cobblestone).
   */
  readonly salt?: Uint8Array;
  /**
   * Resume at this chunk: the first byte pushed is at chunkCiphertextOffset(startChunk).
   * Needs `salt`. The header is not seen, so it must have been checked before.
   */
  readonly startChunk?: number;
}

/**
 * Streaming decryption: push ciphertext in pieces of any size. The header is
 * checked before any chunk is decrypted; each chunk is authenticated before
 * its plaintext is returned. A complete 16,400-byte chunk is never the final
 * one (the final chunk is shorter), so it is decrypted as soon as it is
 * complete; `finish()` decrypts the short final chunk, or throws
 * AttachmentTruncatedError when there is none. After an error every later call
 * throws the same error.
 */
export class CobblestoneDecryptor {
  readonly #crypto: CryptoProvider;
  readonly #inputKey: Uint8Array;
  readonly #context: Uint8Array;
  #expectedHeader: Uint8Array | undefined;
  #cipher: ChunkCipher | undefined;
  #header: Uint8Array | undefined;
  #headerFilled = 0;
  #index: number;
  #buffer = new Uint8Array(COBBLESTONE_SEALED_CHUNK_SIZE);
  #filled = 0;
  /** Derived from a known salt, kept aside until the header has been checked. */
  #pending: ChunkCipher | undefined;
  #failure: Error | undefined;
  #finished = false;

  constructor(crypto: CryptoProvider, inputKey: Uint8Array, options: CobblestoneDecryptOptions) {
    const start = options.startChunk ?? 0;
    checkChunkIndex(start, 'startChunk');
    checkInputKey(inputKey);
    if (!(options.context instanceof Uint8Array)) throw new InvalidArgumentError('Cobblestone context must be a Uint8Array');
    this.#crypto = crypto;
    this.#inputKey = inputKey;
    this.#context = options.context;
    this.#index = start;
    if (options.salt !== undefined) {
      const keys = deriveCobblestoneKeys(crypto, inputKey, options.salt, options.context);
      if (start === 0) {
        this.#expectedHeader = new Uint8Array(COBBLESTONE_HEADER_LENGTH);
        this.#expectedHeader.set(options.salt, 0);
        this.#expectedHeader.set(keys.commitment, COBBLESTONE_SALT_LENGTH);
        this.#header = new Uint8Array(COBBLESTONE_HEADER_LENGTH);
        this.#pending = new ChunkCipher(crypto, keys);
      } else {
        this.#cipher = new ChunkCipher(crypto, keys);
      }
    } else {
      if (start !== 0) throw new InvalidArgumentError('resuming decryption needs the salt (the header is not read)');
      this.#header = new Uint8Array(COBBLESTONE_HEADER_LENGTH);
    }
  }

  #guard(): void {
    if (this.#failure) throw this.#failure;
    if (this.#finished) throw new InvalidArgumentError('attachment decryptor already finished: create a new one');
  }

  #fail(e: unknown): never {
    this.#failure = e instanceof Error ? e : new AttachmentCorruptError(this.#index);
    this.#close();
    throw this.#failure;
  }

  #checkHeader(header: Uint8Array): ChunkCipher {
    if (this.#expectedHeader) {
      if (!bytesEqual(header, this.#expectedHeader)) throw new AttachmentKeyMismatchError();
      const cipher = this.#pending!;
      this.#pending = undefined;
      return cipher;
    }
    const keys = deriveCobblestoneKeys(this.#crypto, this.#inputKey, header.subarray(0, COBBLESTONE_SALT_LENGTH), this.#context);
    if (!bytesEqual(header.subarray(COBBLESTONE_SALT_LENGTH), keys.commitment)) {
      keys.aeadKey.fill(0);
      throw new AttachmentKeyMismatchError();
    }
    return new ChunkCipher(this.#crypto, keys);
  }

  #open(cipher: ChunkCipher, sealed: Uint8Array): Uint8Array {
    if (this.#index >= COBBLESTONE_MAX_CHUNKS) throw new AttachmentCorruptError(this.#index, 'attachment has more than 2^38 chunks: it is not a valid attachment');
    return cipher.open(this.#index++, sealed);
  }

  update(ciphertext: Uint8Array): Uint8Array[] {
    this.#guard();
    if (!(ciphertext instanceof Uint8Array)) throw new InvalidArgumentError('ciphertext must be a Uint8Array');
    try {
      return this.#update(ciphertext);
    } catch (e) {
      return this.#fail(e);
    }
  }

  #update(ciphertext: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const length = ciphertext.length;
    let offset = 0;
    if (!this.#cipher) {
      const header = this.#header!;
      const take = Math.min(COBBLESTONE_HEADER_LENGTH - this.#headerFilled, length);
      header.set(ciphertext.subarray(0, take), this.#headerFilled);
      this.#headerFilled += take;
      offset = take;
      if (this.#headerFilled < COBBLESTONE_HEADER_LENGTH) return out;
      this.#cipher = this.#checkHeader(header);
    }
    const cipher = this.#cipher;
    if (this.#filled > 0) {
      const take = Math.min(COBBLESTONE_SEALED_CHUNK_SIZE - this.#filled, length - offset);
      this.#buffer.set(ciphertext.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled < COBBLESTONE_SEALED_CHUNK_SIZE) return out;
      out.push(this.#open(cipher, this.#buffer));
      this.#filled = 0;
    }
    while (length - offset >= COBBLESTONE_SEALED_CHUNK_SIZE) {
      out.push(this.#open(cipher, ciphertext.subarray(offset, offset + COBBLESTONE_SEALED_CHUNK_SIZE)));
      offset += COBBLESTONE_SEALED_CHUNK_SIZE;
    }
    if (offset < length) {
      this.#buffer.set(ciphertext.subarray(offset), 0);
      this.#filled = length - offset;
    }
    return out;
  }

  /**
   * Decrypts the final chunk. Throws AttachmentTruncatedError when the input
   * ended inside the header, at a chunk boundary (no final chunk) or with fewer
   * bytes than a tag; AttachmentCorruptError when the last bytes do not
   * authenticate as the final chunk (a cut inside it, or trailing data).
   */
  finish(): Uint8Array[] {
    this.#guard();
    try {
      if (!this.#cipher) {
        // A header that arrived whole is checked on arrival; here it is incomplete.
        throw new AttachmentTruncatedError();
      }
      if (this.#filled < COBBLESTONE_TAG_LENGTH) throw new AttachmentTruncatedError();
      const last = this.#open(this.#cipher, this.#buffer.subarray(0, this.#filled));
      this.#finished = true;
      this.#close();
      return [last];
    } catch (e) {
      return this.#fail(e);
    }
  }

  #close(): void {
    this.#cipher?.wipe();
    this.#pending?.wipe();
    this.#cipher = undefined;
    this.#pending = undefined;
    this.#buffer.fill(0);
    this.#filled = 0;
  }
}

/** One-shot generic Cobblestone-256 encryption (tests, vectors, small data). */
export function cobblestoneEncrypt(crypto: CryptoProvider, inputKey: Uint8Array, plaintext: Uint8Array, options: { salt: Uint8Array; context: Uint8Array }): Uint8Array {
  const enc = new CobblestoneEncryptor(crypto, inputKey, options);
  return concatInto(cobblestoneCiphertextSize(plaintext.length), [...enc.update(plaintext), ...enc.finish()]);
}

/** One-shot generic Cobblestone-256 decryption, the salt read from the header. */
export function cobblestoneDecrypt(crypto: CryptoProvider, inputKey: Uint8Array, ciphertext: Uint8Array, options: { context: Uint8Array; salt?: Uint8Array }): Uint8Array {
  const dec = new CobblestoneDecryptor(crypto, inputKey, options);
  const parts = dec.update(ciphertext);
  parts.push(...dec.finish());
  let total = 0;
  for (const p of parts) total += p.length;
  return concatInto(total, parts);
}

export function concatInto(total: number, parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === total) return parts[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
