/**
 * HKDF-SHA256 and AES-256-GCM decryption through WebCrypto: the asynchronous
 * symmetric primitives with which the client core opens a batch of sealed
 * deliveries ahead of its inbox transaction, in parallel and natively
 * (@sigilo/client agreement-prefetch.ts), instead of one by one with the
 * portable provider in JavaScript. Any failure is a rejection; the core then
 * opens that envelope itself and reports its typed error.
 */
import type { AsyncSymmetricCrypto } from '@sigilo/protocol';

/** WebCrypto takes ArrayBuffer-backed views; every view here is one. */
const ab = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

export const webCryptoSymmetric: AsyncSymmetricCrypto = {
  async hkdfSha256(ikm, salt, info, length) {
    const key = await crypto.subtle.importKey('raw', ab(ikm), 'HKDF', false, ['deriveBits']);
    return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: ab(salt), info: ab(info) }, key, length * 8));
  },
  async aes256GcmDecrypt(key, nonce, ciphertext, aad) {
    if (key.length !== 32) throw new RangeError('AES-256-GCM needs a 32-byte key');
    const k = await crypto.subtle.importKey('raw', ab(key), 'AES-GCM', false, ['decrypt']);
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ab(nonce), additionalData: ab(aad), tagLength: 128 }, k, ab(ciphertext)));
  },
};
