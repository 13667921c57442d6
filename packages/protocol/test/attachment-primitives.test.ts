/**
 * The primitives the attachment cipher added to the CryptoProvider, on both
 * providers: HMAC-SHA512 (RFC 4231 vectors), AES-256-GCM with a detached tag
 * (against the joined form and Wycheproof), and HKDF-Expand-SHA512 (against
 * @noble/hashes' independent implementation).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expand } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hkdfExpandSha512 } from '../src/attachment/cobblestone.js';
import { InvalidArgumentError } from '../src/errors.js';
import { providers } from './support/fixtures.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const VECTOR_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/vectors/wycheproof');
const VECTORS_PRESENT = existsSync(VECTOR_DIR);
const VECTORS_REQUIRED = process.env.SIGILO_REQUIRE_VECTORS === '1';

// RFC 4231 §4.2–§4.8, HMAC-SHA-512 (§4.6, a truncated tag, does not apply).
const RFC4231: readonly { name: string; key: Uint8Array; data: Uint8Array; mac: string }[] = [
  { name: '4.2', key: new Uint8Array(20).fill(0x0b), data: ascii('Hi There'),
    mac: '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854' },
  { name: '4.3', key: ascii('Jefe'), data: ascii('what do ya want for nothing?'),
    mac: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737' },
  { name: '4.4', key: new Uint8Array(20).fill(0xaa), data: new Uint8Array(50).fill(0xdd),
    mac: 'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb' },
  { name: '4.5', key: Uint8Array.from({ length: 25 }, (_, i) => i + 1), data: new Uint8Array(50).fill(0xcd),
    mac: 'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd' },
  { name: '4.7', key: new Uint8Array(131).fill(0xaa), data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598' },
  { name: '4.8', key: new Uint8Array(131).fill(0xaa),
    data: ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    mac: 'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58' },
];

describe.each(providers)('attachment primitives: $name provider', (p) => {
  it('HMAC-SHA512 matches RFC 4231', () => {
    for (const v of RFC4231) expect(toHex(p.hmacSha512(v.key, v.data)), `RFC 4231 §${v.name}`).toBe(v.mac);
  });

  it('HMAC-SHA512 rejects non-byte arguments with InvalidArgumentError', () => {
    const notBytes = 'key' as unknown as Uint8Array;
    expect(() => p.hmacSha512(notBytes, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => p.hmacSha512(new Uint8Array(1), notBytes)).toThrow(InvalidArgumentError);
  });

  it('AES-256-GCM detached equals the joined output, and decrypts', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }),
      (key, nonce, plaintext, aad) => {
        const { ciphertext, tag } = p.aes256GcmEncryptDetached(key, nonce, plaintext, aad);
        expect(tag.length).toBe(16);
        expect(ciphertext.length).toBe(plaintext.length);
        const joined = p.aes256GcmEncrypt(key, nonce, plaintext, aad);
        expect(toHex(ciphertext) + toHex(tag)).toBe(toHex(joined));
        expect(toHex(p.aes256GcmDecrypt(key, nonce, joined, aad))).toBe(toHex(plaintext));
      },
    ), { numRuns: 50 });
  });

  it('AES-256-GCM detached checks key and nonce lengths', () => {
    expect(() => p.aes256GcmEncryptDetached(new Uint8Array(31), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0))).toThrow(InvalidArgumentError);
    expect(() => p.aes256GcmEncryptDetached(new Uint8Array(32), new Uint8Array(8), new Uint8Array(1), new Uint8Array(0))).toThrow(InvalidArgumentError);
  });

  it.runIf(VECTORS_PRESENT)('AES-256-GCM detached matches every valid 256-bit-key, 96-bit-nonce Wycheproof vector', () => {
    interface T { tcId: number; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: string }
    const file = JSON.parse(readFileSync(path.join(VECTOR_DIR, 'aes_gcm_test.json'), 'utf8')) as { testGroups: { keySize: number; ivSize: number; tagSize: number; tests: T[] }[] };
    let checked = 0;
    for (const g of file.testGroups) {
      if (g.keySize !== 256 || g.ivSize !== 96 || g.tagSize !== 128) continue;
      for (const t of g.tests) {
        if (t.result !== 'valid') continue;
        const { ciphertext, tag } = p.aes256GcmEncryptDetached(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad));
        expect(toHex(ciphertext), `tcId ${t.tcId}`).toBe(t.ct);
        expect(toHex(tag), `tcId ${t.tcId}`).toBe(t.tag);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it('HKDF-Expand-SHA512 equals @noble/hashes expand for every length the cipher uses and block edges', () => {
    // noble insists on PRK >= HashLen (64 bytes); Cobblestone uses the 32-byte key as PRK,
    // covered below by a direct RFC 5869 §2.3 construction and by the Wycheproof aeadKey/baseNonce.
    const prk64 = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
    const info = ascii('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0 with some salt and context');
    for (const length of [0, 1, 24, 63, 64, 65, 76, 128, 129, 1000]) {
      expect(toHex(hkdfExpandSha512(p, prk64, info, length)), `length ${length}`).toBe(toHex(expand(sha512, prk64, info, length)));
    }
    expect(toHex(hkdfExpandSha512(p, prk64, new Uint8Array(0), 100))).toBe(toHex(expand(sha512, prk64, new Uint8Array(0), 100)));
    const prk32 = hex('59454c4c4f57205355424d4152494e452059454c4c4f57205355424d4152494e');
    // T(1) = HMAC(PRK, info || 0x01), T(2) = HMAC(PRK, T(1) || info || 0x02)
    const t1 = hmac(sha512, prk32, Uint8Array.of(...info, 1));
    const t2 = hmac(sha512, prk32, Uint8Array.of(...t1, ...info, 2));
    expect(toHex(hkdfExpandSha512(p, prk32, info, 76))).toBe(toHex(t1) + toHex(t2.subarray(0, 12)));
  });

  it('HKDF-Expand-SHA512 refuses lengths over 255 blocks', () => {
    expect(() => hkdfExpandSha512(p, new Uint8Array(32), new Uint8Array(0), 255 * 64 + 1)).toThrow(InvalidArgumentError);
    expect(() => hkdfExpandSha512(p, new Uint8Array(32), new Uint8Array(0), -1)).toThrow(InvalidArgumentError);
  });
});

if (!VECTORS_PRESENT && VECTORS_REQUIRED) {
  it('Wycheproof vectors are required (SIGILO_REQUIRE_VECTORS=1)', () => {
    expect.fail(`Wycheproof vectors not found at ${VECTOR_DIR}`);
  });
}
