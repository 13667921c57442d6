/**
 * Argument checks shared by the CryptoProvider implementations, so both reject
 * the same inputs with the same typed errors (see provider.ts for the rules).
 *
 * Error messages name the parameter and its expected length, never its bytes.
 */
import { DecryptionError, InvalidArgumentError, InvalidKeyError, ProtocolError } from '../errors.js';

/** Secret keys, seeds, nonces and other caller-held values: wrong length → InvalidArgumentError. */
export function _checkLength(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidArgumentError(`${what} must be ${length} bytes`);
  }
}

/** Public keys usually come from a peer: wrong length → InvalidKeyError. */
export function _checkPublicKey(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidKeyError(`${what} must be ${length} bytes`);
  }
}

/** Variable-length data (messages, AAD, IKM). */
export function _checkBytes(value: Uint8Array, what: string): void {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array`);
}

/** AEAD input is ciphertext || 16-byte tag; anything shorter cannot authenticate. */
export function _checkSealed(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('ciphertext must be a Uint8Array');
  if (value.length < AEAD_TAG_LENGTH) throw new DecryptionError('ciphertext is shorter than its 16-byte tag');
}

export const AEAD_TAG_LENGTH = 16;
/** RFC 5869 §2.3: L <= 255*HashLen. */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;

export function _checkHkdfLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new InvalidArgumentError(`HKDF-SHA256 output length must be an integer from 0 to ${HKDF_SHA256_MAX_LENGTH}`);
  }
}

/** True when every byte is zero; runs over the whole input regardless of content. */
export function _isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/**
 * Rethrows typed errors unchanged and replaces anything else (a library
 * exception, whose message may describe the input) with `fallback()`.
 */
export function _rethrow(error: unknown, fallback: () => ProtocolError): never {
  if (error instanceof ProtocolError) throw error;
  throw fallback();
}
