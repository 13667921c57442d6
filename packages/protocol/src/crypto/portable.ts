/**
 * CryptoProvider on @noble/* (pure JavaScript, audited), for browsers and any
 * runtime without node:crypto. Imports no `node:` module.
 *
 * Ed25519 verification is written here on noble's point arithmetic rather than
 * taken from `ed25519.verify`, so that it accepts exactly what OpenSSL (the
 * `node` provider) accepts: see `ed25519Verify` below.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes } from '@noble/curves/utils.js';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { DecryptionError, InvalidArgumentError, InvalidKeyError } from '../errors.js';
import type { CryptoProvider } from './provider.js';
import type { Random } from './random.js';
import {
  _checkBytes,
  _checkHkdfLength,
  _checkLength,
  _checkPublicKey,
  _checkSealed,
  _isAllZero,
  _rethrow,
} from './_checks.js';
import { _mlKem768Decapsulate, _mlKem768Encapsulate, _mlKem768KeyPair } from './_ml-kem.js';

// Web Crypto fills at most 65,536 bytes per call.
const GET_RANDOM_VALUES_MAX = 65_536;

/** Cryptographically secure randomness from Web Crypto (browsers, Node ≥ 19 global). */
export const systemRandom: Random = (n) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('random length must be a non-negative integer');
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += GET_RANDOM_VALUES_MAX) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + GET_RANDOM_VALUES_MAX)));
  }
  return out;
};

const KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
const ED25519_SIGNATURE_LENGTH = 64;

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

type AeadFactory = (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

function _aeadEncrypt(
  aead: AeadFactory, name: string,
  key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array,
): Uint8Array {
  _checkLength(key, KEY_LENGTH, `${name} key`);
  _checkLength(nonce, NONCE_LENGTH, `${name} nonce`);
  _checkBytes(plaintext, 'plaintext');
  _checkBytes(aad, 'associated data');
  try {
    return aead(key, nonce, aad).encrypt(plaintext);
  } catch (e) {
    return _rethrow(e, () => new InvalidArgumentError(`${name} encryption failed`));
  }
}

function _aeadDecrypt(
  aead: AeadFactory, name: string,
  key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array,
): Uint8Array {
  _checkLength(key, KEY_LENGTH, `${name} key`);
  _checkLength(nonce, NONCE_LENGTH, `${name} nonce`);
  _checkSealed(sealed);
  _checkBytes(aad, 'associated data');
  try {
    // noble checks the tag before it decrypts, so no unauthenticated plaintext exists.
    return aead(key, nonce, aad).decrypt(sealed);
  } catch (e) {
    return _rethrow(e, () => new DecryptionError());
  }
}

export const portableCrypto: CryptoProvider = {
  name: 'portable',

  x25519PublicKey(privateKey) {
    _checkLength(privateKey, KEY_LENGTH, 'X25519 private key');
    try {
      return x25519.getPublicKey(privateKey);
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('X25519 private key was rejected'));
    }
  },

  x25519(privateKey, publicKey) {
    _checkLength(privateKey, KEY_LENGTH, 'X25519 private key');
    _checkPublicKey(publicKey, KEY_LENGTH, 'X25519 public key');
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(privateKey, publicKey);
    } catch (e) {
      // noble throws exactly when the result is all zeros (RFC 7748 §6.1 check).
      return _rethrow(e, () => new InvalidKeyError('X25519 public key has low order (all-zero shared secret)'));
    }
    if (_isAllZero(shared)) throw new InvalidKeyError('X25519 public key has low order (all-zero shared secret)');
    return shared;
  },

  x25519Batch(privateKey, publicKeys) {
    for (const p of publicKeys) _checkPublicKey(p, KEY_LENGTH, 'X25519 public key');
    return { publicKey: this.x25519PublicKey(privateKey), shared: publicKeys.map((p) => this.x25519(privateKey, p)) };
  },

  ed25519PublicKey(seed) {
    _checkLength(seed, KEY_LENGTH, 'Ed25519 seed');
    try {
      return ed25519.getPublicKey(seed);
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('Ed25519 seed was rejected'));
    }
  },

  ed25519Sign(seed, message) {
    _checkLength(seed, KEY_LENGTH, 'Ed25519 seed');
    _checkBytes(message, 'message');
    try {
      return ed25519.sign(message, seed);
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('Ed25519 signing failed'));
    }
  },

  /**
   * RFC 8032 §5.1.7 with the choices OpenSSL makes, so both providers agree:
   * strict decoding of A (y < p, no x = 0 with the sign bit set), A of small
   * order rejected, S < L, and the cofactorless check [S]B - [k]A == R done by
   * comparing encodings, which also rejects any non-canonical R.
   * noble's own verify is cofactored ([8]…), which accepts some mixed-order R
   * that OpenSSL rejects.
   */
  ed25519Verify(publicKey, message, signature) {
    if (
      !(publicKey instanceof Uint8Array) || publicKey.length !== KEY_LENGTH ||
      !(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH ||
      !(message instanceof Uint8Array)
    ) {
      return false;
    }
    try {
      const A = Point.fromBytes(publicKey, false);
      if (A.isSmallOrder()) return false;
      const r = signature.subarray(0, 32);
      const s = bytesToNumberLE(signature.subarray(32));
      if (s >= L) return false;
      // k = SHA-512(dom2(F, C) || R || A || PH(M)) mod L; dom2 is empty for pure Ed25519.
      const k = Point.Fn.create(bytesToNumberLE(sha512.create().update(r).update(publicKey).update(message).digest()));
      const rCheck = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes();
      return equalBytes(rCheck, r);
    } catch {
      return false;
    }
  },

  sha256(data) {
    _checkBytes(data, 'data');
    return sha256(data);
  },

  sha512(data) {
    _checkBytes(data, 'data');
    return sha512(data);
  },

  hmacSha256(key, data) {
    _checkBytes(key, 'HMAC key');
    _checkBytes(data, 'data');
    return hmac(sha256, key, data);
  },

  hmacSha512(key, data) {
    _checkBytes(key, 'HMAC key');
    _checkBytes(data, 'data');
    return hmac(sha512, key, data);
  },

  hkdfSha256(ikm, salt, info, length) {
    _checkBytes(ikm, 'HKDF input key material');
    _checkBytes(salt, 'HKDF salt');
    _checkBytes(info, 'HKDF info');
    _checkHkdfLength(length);
    if (length === 0) return new Uint8Array(0);
    try {
      return hkdf(sha256, ikm, salt, info, length);
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('HKDF-SHA256 parameters were rejected'));
    }
  },

  aes256GcmEncrypt: (key, nonce, plaintext, aad) => _aeadEncrypt(gcm, 'AES-256-GCM', key, nonce, plaintext, aad),
  aes256GcmEncryptDetached(key, nonce, plaintext, aad) {
    const sealed = _aeadEncrypt(gcm, 'AES-256-GCM', key, nonce, plaintext, aad);
    const split = sealed.length - 16;
    return { ciphertext: sealed.subarray(0, split), tag: sealed.subarray(split) };
  },
  aes256GcmDecrypt: (key, nonce, ciphertext, aad) => _aeadDecrypt(gcm, 'AES-256-GCM', key, nonce, ciphertext, aad),
  chacha20Poly1305Encrypt: (key, nonce, plaintext, aad) =>
    _aeadEncrypt(chacha20poly1305, 'ChaCha20-Poly1305', key, nonce, plaintext, aad),
  chacha20Poly1305Decrypt: (key, nonce, ciphertext, aad) =>
    _aeadDecrypt(chacha20poly1305, 'ChaCha20-Poly1305', key, nonce, ciphertext, aad),

  mlKem768KeyPair: _mlKem768KeyPair,
  mlKem768Encapsulate: _mlKem768Encapsulate,
  mlKem768Decapsulate: _mlKem768Decapsulate,
};
