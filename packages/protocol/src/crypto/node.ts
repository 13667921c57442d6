/// <reference types="node" />
/**
 * CryptoProvider on node:crypto (OpenSSL), the fast path for servers and Node
 * clients.
 *
 * Raw X25519/Ed25519 keys enter OpenSSL as JWK (RFC 8037 OKP), which Node
 * imports with EVP_PKEY_new_raw_*_key. The DER route (a fixed RFC 8410 prefix
 * plus the key) is 5–10× slower on OpenSSL 3, whose DER decoders try every
 * format in turn; it stays as the fallback should a Node version stop accepting
 * a private OKP JWK without its `x` (see `_jwkPrivateImport`). The JWK route
 * puts the private key in a base64url string, which cannot be wiped; the DER
 * route's scratch buffer is wiped, and OpenSSL clears its own copy when the
 * KeyObject is collected.
 *
 * Outputs are plain Uint8Array views over the Buffers OpenSSL returns (no copy):
 * a Buffer's `slice()` aliases its memory, so Buffers never leave this module.
 *
 * Ed25519 verification adds two checks OpenSSL lacks, so that it accepts exactly
 * what `portable` accepts (see `_ed25519PublicKeyAcceptable`).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { DecryptionError, InvalidArgumentError, InvalidKeyError } from '../errors.js';
import type { CryptoProvider } from './provider.js';
import type { Random } from './random.js';
import {
  AEAD_TAG_LENGTH,
  _checkBytes,
  _checkHkdfLength,
  _checkLength,
  _checkPublicKey,
  _checkSealed,
  _isAllZero,
  _rethrow,
} from './_checks.js';
import { _mlKem768Decapsulate, _mlKem768Encapsulate, _mlKem768KeyPair } from './_ml-kem.js';

/** Cryptographically secure randomness from OpenSSL's CSPRNG. */
export const systemRandom: Random = (n) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('random length must be a non-negative integer');
  return _view(randomBytes(n));
};

const KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
const ED25519_SIGNATURE_LENGTH = 64;
// Node's hkdfSync refuses info longer than this; longer info takes the HMAC path.
const NODE_HKDF_MAX_INFO = 1024;
// Up to two output blocks, HKDF built on createHmac beats hkdfSync.
const HKDF_HMAC_MAX_LENGTH = 64;

type OkpCurve = 'X25519' | 'Ed25519';

const _base64url = (raw: Uint8Array): string =>
  Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');

/**
 * A plain Uint8Array over a Buffer's memory. OpenSSL's outputs own their
 * ArrayBuffer; should one ever come from Node's shared pool, copy it rather
 * than expose the pool through `.buffer`.
 */
function _view(b: Buffer): Uint8Array {
  if (b.byteOffset !== 0 || b.buffer.byteLength !== b.byteLength) return new Uint8Array(b);
  return new Uint8Array(b.buffer, 0, b.byteLength);
}

// RFC 8410 PrivateKeyInfo { version 0, AlgorithmIdentifier, OCTET STRING { OCTET STRING key } },
// OIDs 1.3.101.110 (X25519) and 1.3.101.112 (Ed25519): the fallback import route.
const PKCS8_PREFIX_LENGTH = 16;
const PKCS8: Record<OkpCurve, Buffer> = {
  X25519: Buffer.from('302e020100300506032b656e04220420' + '00'.repeat(32), 'hex'),
  Ed25519: Buffer.from('302e020100300506032b657004220420' + '00'.repeat(32), 'hex'),
};

let jwkPrivateImport: boolean | undefined;

// Known answers for the JWK import check: RFC 7748 §6.1 Alice, RFC 8032 §7.1 TEST 1.
const JWK_IMPORT_CHECKS: readonly [OkpCurve, string, string][] = [
  ['X25519', 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo', 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo'],
  ['Ed25519', 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'],
];

/**
 * Whether this Node imports a private OKP JWK from `d` alone (it requires an
 * `x` string but derives the public key itself). Checked once, on known keys.
 */
function _jwkPrivateImport(): boolean {
  if (jwkPrivateImport === undefined) {
    try {
      jwkPrivateImport = JWK_IMPORT_CHECKS.every(([crv, d, x]) =>
        createPublicKey(createPrivateKey({ key: { kty: 'OKP', crv, d, x: '' }, format: 'jwk' })).export({ format: 'jwk' }).x === x);
    } catch {
      jwkPrivateImport = false;
    }
  }
  return jwkPrivateImport;
}

/** Internal, for tests: force the DER import route (true), or detect again (false). */
export function _forceDerKeyImport(force: boolean): void {
  jwkPrivateImport = force ? false : undefined;
}

/** Prepared forms of retained long-lived keys, tied to the lifetime of their arrays (see retainPrivateKey). */
const _retained = new WeakMap<Uint8Array, { crv: OkpCurve; key: KeyObject }>();

function _privateKey(crv: OkpCurve, raw: Uint8Array): KeyObject {
  const kept = _retained.get(raw);
  if (kept?.crv === crv) return kept.key;
  if (_jwkPrivateImport()) {
    return createPrivateKey({ key: { kty: 'OKP', crv, d: _base64url(raw), x: '' }, format: 'jwk' });
  }
  const der = PKCS8[crv];
  der.set(raw, PKCS8_PREFIX_LENGTH);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0, PKCS8_PREFIX_LENGTH);
  }
}

/**
 * Imported public keys by curve and base64url value. Importing costs about a
 * fifth of an X25519 agreement; the same identity keys come back all the time
 * (every member of a group on every group message, every contact's identity
 * on sealed sends). Public values only; bounded, dropped whole when full.
 */
const _publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_PUBLIC_KEYS = 8192;

function _publicKey(crv: OkpCurve, raw: Uint8Array): KeyObject {
  const x = _base64url(raw);
  const id = crv === 'X25519' ? x : `e${x}`;
  let key = _publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv, x }, format: 'jwk' });
    if (_publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) _publicKeys.clear();
    _publicKeys.set(id, key);
  }
  return key;
}

function _rawPublicKey(privateKey: KeyObject): Uint8Array {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' });
  // Buffer.from(string) may slice a shared pool: copy into a buffer of our own.
  return new Uint8Array(Buffer.from(x!, 'base64url'));
}

// y-coordinates (sign bit cleared) of the eight points of order dividing 8:
// 1 (identity), p-1 (order 2), 0 (order 4), and the two order-8 y values.
// The same list as libsodium's ge25519_has_small_order; non-canonical
// encodings of these (y >= p) are caught by the canonicity check.
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((h) => Buffer.from(h, 'hex'));

/**
 * OpenSSL decodes A without checking y < p (RFC 8032 §5.1.3 step 1) and
 * accepts small-order A, for which one signature verifies for every message.
 * `portable` decodes strictly and rejects small-order A, so this rejects both.
 */
function _ed25519PublicKeyAcceptable(a: Uint8Array): boolean {
  const top = a[31]! & 0x7f;
  // y >= p = 2^255 - 19 exactly when y is 0x7fff…ff followed by a low byte >= 0xed.
  if (top === 0x7f && a[0]! >= 0xed) {
    let allFF = true;
    for (let i = 1; i < 31; i++) if (a[i] !== 0xff) { allFF = false; break; }
    if (allFF) return false;
  }
  outer: for (const y of SMALL_ORDER_Y) {
    if ((y[31]! & 0x7f) !== top) continue;
    for (let i = 0; i < 31; i++) if (y[i] !== a[i]) continue outer;
    return false;
  }
  return true;
}

function _aeadEncrypt(
  algorithm: 'aes-256-gcm' | 'chacha20-poly1305',
  key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array,
): Uint8Array {
  _checkLength(key, KEY_LENGTH, `${algorithm} key`);
  _checkLength(nonce, NONCE_LENGTH, `${algorithm} nonce`);
  _checkBytes(plaintext, 'plaintext');
  _checkBytes(aad, 'associated data');
  try {
    const options = { authTagLength: AEAD_TAG_LENGTH };
    // Two calls because @types/node types each algorithm family by its own overload.
    const cipher = algorithm === 'aes-256-gcm'
      ? createCipheriv(algorithm, key, nonce, options)
      : createCipheriv(algorithm, key, nonce, options);
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    cipher.final(); // a stream cipher: always empty
    const out = new Uint8Array(body.length + AEAD_TAG_LENGTH);
    out.set(body, 0);
    out.set(cipher.getAuthTag(), body.length);
    return out;
  } catch (e) {
    return _rethrow(e, () => new InvalidArgumentError(`${algorithm} encryption failed`));
  }
}

function _aeadDecrypt(
  algorithm: 'aes-256-gcm' | 'chacha20-poly1305',
  key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array,
): Uint8Array {
  _checkLength(key, KEY_LENGTH, `${algorithm} key`);
  _checkLength(nonce, NONCE_LENGTH, `${algorithm} nonce`);
  _checkSealed(sealed);
  _checkBytes(aad, 'associated data');
  const bodyLength = sealed.length - AEAD_TAG_LENGTH;
  let plaintext: Buffer | undefined;
  try {
    const options = { authTagLength: AEAD_TAG_LENGTH };
    const decipher = algorithm === 'aes-256-gcm'
      ? createDecipheriv(algorithm, key, nonce, options)
      : createDecipheriv(algorithm, key, nonce, options);
    // chacha20-poly1305 needs the tag before update(), GCM before final(); set it first for both.
    decipher.setAuthTag(sealed.subarray(bodyLength));
    decipher.setAAD(aad);
    plaintext = decipher.update(sealed.subarray(0, bodyLength));
    decipher.final(); // throws on a bad tag
    return _view(plaintext);
  } catch (e) {
    plaintext?.fill(0); // unauthenticated plaintext never leaves
    return _rethrow(e, () => new DecryptionError());
  }
}

/** AES-256-GCM with the tag apart: Node's output buffers as they are, no joined copy. */
function _aes256GcmEncryptDetached(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array } {
  _checkLength(key, KEY_LENGTH, 'aes-256-gcm key');
  _checkLength(nonce, NONCE_LENGTH, 'aes-256-gcm nonce');
  _checkBytes(plaintext, 'plaintext');
  _checkBytes(aad, 'associated data');
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    if (aad.length > 0) cipher.setAAD(aad);
    const ciphertext = _view(cipher.update(plaintext));
    cipher.final(); // a stream cipher: always empty
    return { ciphertext, tag: _view(cipher.getAuthTag()) };
  } catch (e) {
    return _rethrow(e, () => new InvalidArgumentError('aes-256-gcm encryption failed'));
  }
}

/**
 * HKDF-SHA256 from HMAC (RFC 5869 §2.2–2.3). For outputs of one or two blocks
 * this is about twice as fast as hkdfSync, whose per-call setup dominates; it
 * also serves the info lengths hkdfSync refuses.
 */
function _hkdfSha256Hmac(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  // PRK = HMAC-Hash(salt, IKM); an empty salt equals HashLen zeros under HMAC's key padding.
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const counter = new Uint8Array(1);
  let out: Uint8Array | undefined;
  let t: Buffer | undefined;
  // T(i) = HMAC-Hash(PRK, T(i-1) | info | i), T(0) empty; OKM = first L octets of T(1) | T(2) | …
  for (let offset = 0, i = 1; offset < length; offset += 32, i++) {
    const mac = createHmac('sha256', prk);
    if (t) {
      mac.update(t);
      t.fill(0);
    }
    counter[0] = i;
    t = mac.update(info).update(counter).digest();
    if (length === 32) {
      out = _view(t); // the single block is the whole output
      t = undefined;
      break;
    }
    out ??= new Uint8Array(length);
    out.set(t.subarray(0, Math.min(32, length - offset)), offset);
  }
  prk.fill(0);
  t?.fill(0);
  return out!;
}

function _x25519PrivateKey(privateKey: Uint8Array): KeyObject {
  try {
    return _privateKey('X25519', privateKey);
  } catch (e) {
    return _rethrow(e, () => new InvalidArgumentError('X25519 private key was rejected'));
  }
}

function _x25519Agree(ours: KeyObject, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = _view(diffieHellman({ privateKey: ours, publicKey: _publicKey('X25519', publicKey) }));
  } catch (e) {
    // OpenSSL fails the derivation exactly when the result is all zeros.
    return _rethrow(e, () => new InvalidKeyError('X25519 public key has low order (all-zero shared secret)'));
  }
  if (_isAllZero(shared)) throw new InvalidKeyError('X25519 public key has low order (all-zero shared secret)');
  return shared;
}

export const nodeCrypto: CryptoProvider = {
  name: 'node',

  retainPrivateKey(privateKey, curve) {
    _checkLength(privateKey, KEY_LENGTH, `${curve} private key`);
    const crv: OkpCurve = curve === 'x25519' ? 'X25519' : 'Ed25519';
    _retained.set(privateKey, { crv, key: _privateKey(crv, privateKey) });
  },

  x25519PublicKey(privateKey) {
    _checkLength(privateKey, KEY_LENGTH, 'X25519 private key');
    try {
      return _rawPublicKey(_privateKey('X25519', privateKey));
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('X25519 private key was rejected'));
    }
  },

  x25519(privateKey, publicKey) {
    _checkLength(privateKey, KEY_LENGTH, 'X25519 private key');
    _checkPublicKey(publicKey, KEY_LENGTH, 'X25519 public key');
    return _x25519Agree(_x25519PrivateKey(privateKey), publicKey);
  },

  x25519Batch(privateKey, publicKeys) {
    _checkLength(privateKey, KEY_LENGTH, 'X25519 private key');
    for (const p of publicKeys) _checkPublicKey(p, KEY_LENGTH, 'X25519 public key');
    const ours = _x25519PrivateKey(privateKey);
    return { publicKey: _rawPublicKey(ours), shared: publicKeys.map((p) => _x25519Agree(ours, p)) };
  },

  ed25519PublicKey(seed) {
    _checkLength(seed, KEY_LENGTH, 'Ed25519 seed');
    try {
      return _rawPublicKey(_privateKey('Ed25519', seed));
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('Ed25519 seed was rejected'));
    }
  },

  ed25519Sign(seed, message) {
    _checkLength(seed, KEY_LENGTH, 'Ed25519 seed');
    _checkBytes(message, 'message');
    try {
      return _view(sign(null, message, _privateKey('Ed25519', seed)));
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('Ed25519 signing failed'));
    }
  },

  ed25519Verify(publicKey, message, signature) {
    if (
      !(publicKey instanceof Uint8Array) || publicKey.length !== KEY_LENGTH ||
      !(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH ||
      !(message instanceof Uint8Array) ||
      !_ed25519PublicKeyAcceptable(publicKey)
    ) {
      return false;
    }
    try {
      // OpenSSL checks S < L and compares the encoding of [S]B - [k]A with R byte for byte.
      return verify(null, message, _publicKey('Ed25519', publicKey), signature);
    } catch {
      return false;
    }
  },

  sha256(data) {
    _checkBytes(data, 'data');
    return _view(hash('sha256', data, 'buffer'));
  },

  sha512(data) {
    _checkBytes(data, 'data');
    return _view(hash('sha512', data, 'buffer'));
  },

  hmacSha256(key, data) {
    _checkBytes(key, 'HMAC key');
    _checkBytes(data, 'data');
    return _view(createHmac('sha256', key).update(data).digest());
  },

  hmacSha512(key, data) {
    _checkBytes(key, 'HMAC key');
    _checkBytes(data, 'data');
    return _view(createHmac('sha512', key).update(data).digest());
  },

  hkdfSha256(ikm, salt, info, length) {
    _checkBytes(ikm, 'HKDF input key material');
    _checkBytes(salt, 'HKDF salt');
    _checkBytes(info, 'HKDF info');
    _checkHkdfLength(length);
    if (length === 0) return new Uint8Array(0);
    if (length <= HKDF_HMAC_MAX_LENGTH || info.length > NODE_HKDF_MAX_INFO) return _hkdfSha256Hmac(ikm, salt, info, length);
    try {
      return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
    } catch (e) {
      return _rethrow(e, () => new InvalidArgumentError('HKDF-SHA256 parameters were rejected'));
    }
  },

  aes256GcmEncrypt: (key, nonce, plaintext, aad) => _aeadEncrypt('aes-256-gcm', key, nonce, plaintext, aad),
  aes256GcmEncryptDetached: _aes256GcmEncryptDetached,
  aes256GcmDecrypt: (key, nonce, ciphertext, aad) => _aeadDecrypt('aes-256-gcm', key, nonce, ciphertext, aad),
  chacha20Poly1305Encrypt: (key, nonce, plaintext, aad) => _aeadEncrypt('chacha20-poly1305', key, nonce, plaintext, aad),
  chacha20Poly1305Decrypt: (key, nonce, ciphertext, aad) => _aeadDecrypt('chacha20-poly1305', key, nonce, ciphertext, aad),

  mlKem768KeyPair: _mlKem768KeyPair,
  mlKem768Encapsulate: _mlKem768Encapsulate,
  mlKem768Decapsulate: _mlKem768Decapsulate,
};
