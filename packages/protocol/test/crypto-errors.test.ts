/**
 * Every rejection path of both CryptoProviders: the error class, its stable
 * `code`, and that no raw library exception or key material escapes.
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto, systemRandom as nodeRandom } from '../src/crypto/node.js';
import { portableCrypto, systemRandom as portableRandom } from '../src/crypto/portable.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  DecryptionError,
  InvalidArgumentError,
  InvalidKeyError,
  ProtocolError,
  type ProtocolErrorCode,
} from '../src/errors.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const filled = (length: number, byte: number): Uint8Array => new Uint8Array(length).fill(byte);
const flip = (b: Uint8Array, index: number): Uint8Array => {
  const out = Uint8Array.from(b);
  out[index < 0 ? out.length + index : index]! ^= 0x01;
  return out;
};

/** Secret-looking inputs whose hex must never appear in an error message. */
const KEY = filled(32, 0xa7);
const NONCE = filled(12, 0x5c);
const SECRET_HEX = [toHex(KEY).slice(0, 16), toHex(NONCE).slice(0, 16)];

type ErrorClass = abstract new (...args: never[]) => ProtocolError;

function expectError(fn: () => unknown, cls: ErrorClass, code: ProtocolErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeDefined();
  expect(thrown, `expected ${cls.name}, got ${String(thrown)}`).toBeInstanceOf(cls);
  const e = thrown as ProtocolError;
  expect(e.code).toBe(code);
  expect(e.name).toBe(cls.name);
  for (const h of SECRET_HEX) expect(e.message).not.toContain(h);
}

const expectInvalidArgument = (fn: () => unknown) => expectError(fn, InvalidArgumentError, 'INVALID_ARGUMENT');
const expectInvalidKey = (fn: () => unknown) => expectError(fn, InvalidKeyError, 'INVALID_KEY');
const expectDecryptionFailed = (fn: () => unknown) => expectError(fn, DecryptionError, 'DECRYPTION_FAILED');

const WRONG_32 = [0, 1, 16, 31, 33, 64];

// X25519 public keys whose shared secret is all zeros with every private key:
// the points of order 1, 2, 4 and 8 (RFC 7748 §6.1; the u values listed by
// libsodium and Bernstein's "Curve25519 for the paranoid"), their encodings
// u + p (non-canonical, reduced per RFC 7748 §5), and all of them with the top
// bit set (masked per §5).
const P = (1n << 255n) - 19n;
const LOW_ORDER_U = [
  0n,
  1n,
  0x00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0n,
  0x57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5fn,
  P - 1n,
];
const leBytes = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const LOW_ORDER_PUBLIC_KEYS: Uint8Array[] = LOW_ORDER_U.flatMap((u) =>
  [u, u + P].filter((v) => v < 1n << 255n).flatMap((v) => [v, v | (1n << 255n)]).map(leBytes),
);

for (const p of [nodeCrypto, portableCrypto] as readonly CryptoProvider[]) {
  describe(`${p.name} provider rejections`, () => {
    describe('X25519', () => {
      const goodPublic = p.x25519PublicKey(filled(32, 1));

      it('private keys of the wrong length: InvalidArgumentError', () => {
        for (const n of WRONG_32) {
          expectInvalidArgument(() => p.x25519PublicKey(new Uint8Array(n)));
          expectInvalidArgument(() => p.x25519(new Uint8Array(n), goodPublic));
        }
      });

      it('public keys of the wrong length: InvalidKeyError', () => {
        for (const n of WRONG_32) expectInvalidKey(() => p.x25519(KEY, new Uint8Array(n)));
      });

      it('low-order public keys (all-zero shared secret): InvalidKeyError', () => {
        expect(LOW_ORDER_PUBLIC_KEYS.length).toBeGreaterThanOrEqual(14);
        for (const pub of LOW_ORDER_PUBLIC_KEYS) {
          for (const priv of [KEY, filled(32, 0), filled(32, 0xff)]) expectInvalidKey(() => p.x25519(priv, pub));
        }
      });

      it('non-Uint8Array arguments: typed errors, not TypeErrors', () => {
        expectInvalidArgument(() => p.x25519PublicKey('k'.repeat(32) as unknown as Uint8Array));
        expectInvalidArgument(() => p.x25519(null as unknown as Uint8Array, goodPublic));
        expectInvalidKey(() => p.x25519(KEY, Array.from(goodPublic) as unknown as Uint8Array));
      });
    });

    describe('Ed25519', () => {
      const seed = filled(32, 9);
      const msg = Uint8Array.of(1, 2, 3);
      const pk = p.ed25519PublicKey(seed);
      const sig = p.ed25519Sign(seed, msg);

      it('seeds of the wrong length: InvalidArgumentError', () => {
        for (const n of WRONG_32) {
          expectInvalidArgument(() => p.ed25519PublicKey(new Uint8Array(n)));
          expectInvalidArgument(() => p.ed25519Sign(new Uint8Array(n), msg));
        }
      });

      it('a non-Uint8Array message to sign: InvalidArgumentError', () => {
        expectInvalidArgument(() => p.ed25519Sign(seed, 'hello' as unknown as Uint8Array));
      });

      it('verify returns false on garbage and never throws', () => {
        expect(p.ed25519Verify(pk, msg, sig)).toBe(true);
        const garbage: [unknown, unknown, unknown][] = [
          [pk, msg, sig.subarray(0, 63)],
          [pk, msg, Uint8Array.from([...sig, 0])],
          [pk, msg, new Uint8Array(0)],
          [pk.subarray(0, 31), msg, sig],
          [Uint8Array.from([...pk, 0]), msg, sig],
          [new Uint8Array(0), msg, sig],
          [filled(32, 0), msg, sig],
          [filled(32, 0xff), msg, sig],
          [pk, msg, filled(64, 0)],
          [pk, msg, filled(64, 0xff)],
          [flip(pk, 0), msg, sig],
          [pk, flip(msg, 0), sig],
          [pk, msg, flip(sig, 0)],
          [pk, msg, flip(sig, 40)],
          [pk, msg, flip(sig, -1)],
          [null, msg, sig],
          [pk, undefined, sig],
          [pk, msg, 'signature'],
          [toHex(pk), msg, sig],
          [pk, 42, sig],
          [Array.from(pk), msg, Array.from(sig)],
        ];
        for (const [a, m, s] of garbage) {
          let result: unknown;
          expect(() => { result = p.ed25519Verify(a as Uint8Array, m as Uint8Array, s as Uint8Array); }).not.toThrow();
          expect(result).toBe(false);
        }
      });
    });

    describe('hashes, HMAC and HKDF', () => {
      it('non-Uint8Array inputs: InvalidArgumentError', () => {
        const notBytes = 'abc' as unknown as Uint8Array;
        expectInvalidArgument(() => p.sha256(notBytes));
        expectInvalidArgument(() => p.sha512(notBytes));
        expectInvalidArgument(() => p.hmacSha256(notBytes, KEY));
        expectInvalidArgument(() => p.hmacSha256(KEY, notBytes));
        expectInvalidArgument(() => p.hkdfSha256(notBytes, KEY, KEY, 32));
        expectInvalidArgument(() => p.hkdfSha256(KEY, notBytes, KEY, 32));
        expectInvalidArgument(() => p.hkdfSha256(KEY, KEY, notBytes, 32));
      });

      it('HKDF output length above 255*32 or not a non-negative integer: InvalidArgumentError', () => {
        for (const length of [8161, 10_000, 2 ** 32, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          expectInvalidArgument(() => p.hkdfSha256(KEY, NONCE, NONCE, length));
        }
        expect(p.hkdfSha256(KEY, NONCE, NONCE, 8160)).toHaveLength(8160);
        expect(p.hkdfSha256(KEY, NONCE, NONCE, 0)).toHaveLength(0);
      });
    });

    for (const [name, encrypt, decrypt] of [
      ['AES-256-GCM', p.aes256GcmEncrypt, p.aes256GcmDecrypt],
      ['ChaCha20-Poly1305', p.chacha20Poly1305Encrypt, p.chacha20Poly1305Decrypt],
    ] as const) {
      describe(name, () => {
        const pt = Uint8Array.from({ length: 40 }, (_, i) => i);
        const aad = Uint8Array.of(7, 7, 7);
        const sealed = encrypt(KEY, NONCE, pt, aad);

        it('keys of the wrong length: InvalidArgumentError', () => {
          for (const n of WRONG_32) {
            expectInvalidArgument(() => encrypt(new Uint8Array(n), NONCE, pt, aad));
            expectInvalidArgument(() => decrypt(new Uint8Array(n), NONCE, sealed, aad));
          }
        });

        it('nonces of the wrong length: InvalidArgumentError', () => {
          for (const n of [0, 8, 11, 13, 16, 24]) {
            expectInvalidArgument(() => encrypt(KEY, new Uint8Array(n), pt, aad));
            expectInvalidArgument(() => decrypt(KEY, new Uint8Array(n), sealed, aad));
          }
        });

        it('non-Uint8Array plaintext, ciphertext or AAD: InvalidArgumentError', () => {
          const notBytes = 'abc' as unknown as Uint8Array;
          expectInvalidArgument(() => encrypt(KEY, NONCE, notBytes, aad));
          expectInvalidArgument(() => encrypt(KEY, NONCE, pt, notBytes));
          expectInvalidArgument(() => decrypt(KEY, NONCE, notBytes, aad));
          expectInvalidArgument(() => decrypt(KEY, NONCE, sealed, notBytes));
        });

        it('tampered tag, ciphertext or AAD, wrong key or nonce: DecryptionError', () => {
          expect(toHex(decrypt(KEY, NONCE, sealed, aad))).toBe(toHex(pt));
          expectDecryptionFailed(() => decrypt(KEY, NONCE, flip(sealed, -1), aad)); // tag
          expectDecryptionFailed(() => decrypt(KEY, NONCE, flip(sealed, -16), aad)); // tag
          expectDecryptionFailed(() => decrypt(KEY, NONCE, flip(sealed, 0), aad)); // ciphertext
          expectDecryptionFailed(() => decrypt(KEY, NONCE, flip(sealed, 39), aad)); // ciphertext
          expectDecryptionFailed(() => decrypt(KEY, NONCE, sealed, flip(aad, 1)));
          expectDecryptionFailed(() => decrypt(KEY, NONCE, sealed, new Uint8Array(0)));
          expectDecryptionFailed(() => decrypt(flip(KEY, 3), NONCE, sealed, aad));
          expectDecryptionFailed(() => decrypt(KEY, flip(NONCE, 11), sealed, aad));
        });

        it('truncated, extended or too-short ciphertexts: DecryptionError', () => {
          expectDecryptionFailed(() => decrypt(KEY, NONCE, sealed.subarray(0, sealed.length - 1), aad));
          expectDecryptionFailed(() => decrypt(KEY, NONCE, sealed.subarray(1), aad));
          expectDecryptionFailed(() => decrypt(KEY, NONCE, Uint8Array.from([...sealed, 0]), aad));
          for (const n of [0, 1, 15]) expectDecryptionFailed(() => decrypt(KEY, NONCE, sealed.subarray(0, n), aad));
          // Exactly a tag: the empty plaintext authenticates, a wrong tag does not.
          const emptySealed = encrypt(KEY, NONCE, new Uint8Array(0), aad);
          expect(emptySealed).toHaveLength(16);
          expect(decrypt(KEY, NONCE, emptySealed, aad)).toHaveLength(0);
          expectDecryptionFailed(() => decrypt(KEY, NONCE, flip(emptySealed, 0), aad));
          expectDecryptionFailed(() => decrypt(KEY, NONCE, new Uint8Array(16), aad));
        });
      });
    }

    describe('ML-KEM-768', () => {
      const seed = filled(64, 3);
      const m = filled(32, 4);
      const { publicKey, secretKey } = p.mlKem768KeyPair(seed);
      const { ciphertext, sharedSecret } = p.mlKem768Encapsulate(publicKey, m);

      it('seeds of the wrong length: InvalidArgumentError', () => {
        for (const n of [0, 32, 63, 65, 96]) expectInvalidArgument(() => p.mlKem768KeyPair(new Uint8Array(n)));
      });

      it('encapsulation keys of the wrong length: InvalidKeyError', () => {
        for (const n of [0, 32, 1183, 1185, 2400]) expectInvalidKey(() => p.mlKem768Encapsulate(new Uint8Array(n), m));
      });

      it('encapsulation keys failing the FIPS 203 §7.2 modulus check: InvalidKeyError', () => {
        // The first 12-bit coefficient becomes 0xfff = 4095 >= q = 3329.
        const bad = Uint8Array.from(publicKey);
        bad[0] = 0xff;
        bad[1]! |= 0x0f;
        expectInvalidKey(() => p.mlKem768Encapsulate(bad, m));
        expectInvalidKey(() => p.mlKem768Encapsulate(filled(1184, 0xff), m));
      });

      it('encapsulation randomness of the wrong length: InvalidArgumentError', () => {
        for (const n of [0, 31, 33, 64]) expectInvalidArgument(() => p.mlKem768Encapsulate(publicKey, new Uint8Array(n)));
      });

      it('ciphertexts or decapsulation keys of the wrong length: InvalidArgumentError', () => {
        for (const n of [0, 1087, 1089, 1184]) expectInvalidArgument(() => p.mlKem768Decapsulate(new Uint8Array(n), secretKey));
        for (const n of [0, 64, 2399, 2401]) expectInvalidArgument(() => p.mlKem768Decapsulate(ciphertext, new Uint8Array(n)));
      });

      it('a decapsulation key failing the FIPS 203 §7.3 hash check: InvalidKeyError', () => {
        // dk = dk_PKE (1152) || ek (1184) || H(ek) (32) || z (32): corrupt ek, then H(ek).
        expectInvalidKey(() => p.mlKem768Decapsulate(ciphertext, flip(secretKey, 1152 + 10)));
        expectInvalidKey(() => p.mlKem768Decapsulate(ciphertext, flip(secretKey, 2336)));
      });

      it('a tampered ciphertext is implicitly rejected: a different secret, no error', () => {
        expect(toHex(p.mlKem768Decapsulate(ciphertext, secretKey))).toBe(toHex(sharedSecret));
        const rejected = p.mlKem768Decapsulate(flip(ciphertext, 500), secretKey);
        expect(rejected).toHaveLength(32);
        expect(toHex(rejected)).not.toBe(toHex(sharedSecret));
      });
    });
  });
}

describe('systemRandom', () => {
  for (const [name, random] of [['node', nodeRandom], ['portable', portableRandom]] as const) {
    it(`${name}: lengths that are not non-negative integers: InvalidArgumentError`, () => {
      for (const n of [-1, 1.5, Number.NaN]) expectInvalidArgument(() => random(n));
      expect(random(0)).toHaveLength(0);
      const big = random(70_000); // above Web Crypto's 65,536-byte limit per call
      expect(big).toHaveLength(70_000);
      expect(big.subarray(65_536).some((b) => b !== 0)).toBe(true);
      expect(Object.getPrototypeOf(random(8))).toBe(Uint8Array.prototype);
    });
  }
});
