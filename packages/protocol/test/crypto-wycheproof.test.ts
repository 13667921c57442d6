/**
 * Both CryptoProviders against Project Wycheproof (DESIGN.md "Test vectors").
 *
 * The vectors live outside the repository, in `../shared/vectors/wycheproof/`
 * beside the checkout. Without them these tests skip, unless
 * SIGILO_REQUIRE_VECTORS=1 (as `.ci/run` sets), which turns the absence into a failure.
 *
 * Every tcId is checked: `valid` must produce the expected output, `invalid`
 * must be rejected (a typed ProtocolError, `false` from verify, or a mismatch).
 * Only X25519 has `acceptable` vectors; the rule for them is at `x25519_test.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  DecryptionError,
  InvalidArgumentError,
  InvalidKeyError,
  ProtocolError,
} from '../src/errors.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const VECTOR_DIR = path.resolve(REPO_ROOT, '../shared/vectors/wycheproof');
const VECTORS_PRESENT = existsSync(VECTOR_DIR);
const VECTORS_REQUIRED = process.env.SIGILO_REQUIRE_VECTORS === '1';

// ---------------------------------------------------------------------------
// Vector file shapes (only the fields used here)

interface VectorFile<G> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}
interface TestBase {
  tcId: number;
  comment?: string;
  flags?: string[];
  result: 'valid' | 'invalid' | 'acceptable';
}
type Group<T> = { tests: T[] } & Record<string, unknown>;

interface XdhTest extends TestBase { public: string; private: string; shared: string }
interface EddsaGroup { publicKey: { pk: string }; tests: EddsaTest[] }
interface EddsaTest extends TestBase { msg: string; sig: string }
interface AeadGroup { keySize: number; ivSize: number; tagSize: number; tests: AeadTest[] }
interface AeadTest extends TestBase { key: string; iv: string; aad: string; msg: string; ct: string; tag: string }
interface HkdfTest extends TestBase { ikm: string; salt: string; info: string; size: number; okm: string }
interface MacGroup { keySize: number; tagSize: number; tests: MacTest[] }
interface MacTest extends TestBase { key: string; msg: string; tag: string }
interface KemKeyGenTest extends TestBase { seed: string; ek: string; dk: string }
interface KemEncapsTest extends TestBase { ek: string; m: string; c: string; K: string }
interface KemDecapsTest extends TestBase { seed: string; ek?: string; c: string; K: string }

function load<G>(file: string): VectorFile<G> {
  return JSON.parse(readFileSync(path.join(VECTOR_DIR, file), 'utf8')) as VectorFile<G>;
}

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

// ---------------------------------------------------------------------------
// Runner: every tcId goes through `check`, which returns null on success or a
// short reason; the `it` fails listing every failing tcId with its reason.

interface Tally { checked: number; skipped: number; failures: string[] }

function describeThrow(e: unknown): string {
  return e instanceof ProtocolError ? `${e.name}(${e.code})` : `raw ${String(e)}`;
}

/** Runs `fn` and expects a typed error of class `cls` (any ProtocolError if omitted). */
function rejects(fn: () => unknown, cls?: abstract new (...args: never[]) => ProtocolError): string | null {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) return `threw a raw ${String(e)}`;
    if (cls && !(e instanceof cls)) return `threw ${describeThrow(e)}, expected ${cls.name}`;
    return null;
  }
  return 'was accepted';
}

/** Runs `fn`; a thrown error becomes a failure reason. */
function attempt(fn: () => string | null): string | null {
  try {
    return fn();
  } catch (e) {
    return `threw ${describeThrow(e)}`;
  }
}

function runFile<T extends TestBase>(
  tests: Iterable<{ test: T; skip?: string }>,
  check: (t: T) => string | null,
): Tally {
  const tally: Tally = { checked: 0, skipped: 0, failures: [] };
  for (const { test, skip } of tests) {
    if (skip) { tally.skipped++; continue; }
    tally.checked++;
    const reason = attempt(() => check(test));
    if (reason) tally.failures.push(`tcId ${test.tcId} [${test.result}${test.flags?.length ? ' ' + test.flags.join(',') : ''}]: ${reason}`);
  }
  return tally;
}

function* all<T>(groups: Group<T>[]): Generator<{ test: T }> {
  for (const g of groups) for (const test of g.tests) yield { test };
}

function expectClean(tally: Tally, file: string, minimumChecked: number): void {
  expect(tally.failures, `${file}: ${tally.failures.length} vector(s) failed:\n${tally.failures.join('\n')}`).toEqual([]);
  expect(tally.checked, `${file}: too few vectors ran`).toBeGreaterThanOrEqual(minimumChecked);
}

function expectEqual(actual: Uint8Array, expected: string, what = 'output'): string | null {
  const got = toHex(actual);
  return got === expected ? null : `${what} mismatch`;
}

// ---------------------------------------------------------------------------
// One suite per provider

function wycheproofSuite(p: CryptoProvider): void {
  it('x25519_test.json', () => {
    const file = load<Group<XdhTest>>('x25519_test.json');
    // `acceptable` vectors: RFC 7748 leaves two choices to implementations.
    //  - ZeroSharedSecret / LowOrderPublic (the all-zero result): the port
    //    requires InvalidKeyError (RFC 7748 §6.1 check), so these must be rejected.
    //  - Twist, NonCanonicalPublic, SmallPublicKey, SpecialPublicKey,
    //    EdgeCaseShared, EdgeCaseMultiplication with a non-zero result: RFC 7748 §5
    //    masks the top bit and reduces u mod p, so the result must equal `shared`.
    const tally = runFile(all(file.testGroups), (t) => {
      const zero = /^0+$/.test(t.shared);
      if (t.flags?.includes('ZeroSharedSecret') && !zero) return 'vector flagged ZeroSharedSecret has a non-zero result';
      if (t.result === 'invalid' || zero) return rejects(() => p.x25519(hex(t.private), hex(t.public)), InvalidKeyError);
      return expectEqual(p.x25519(hex(t.private), hex(t.public)), t.shared, 'shared secret');
    });
    expectClean(tally, 'x25519_test.json', file.numberOfTests);
  });

  it('ed25519_test.json', () => {
    const file = load<EddsaGroup>('ed25519_test.json');
    const tests = file.testGroups.flatMap((g) => g.tests.map((test) => ({ test, pk: g.publicKey.pk })));
    const pkOf = new Map(tests.map(({ test, pk }) => [test, pk]));
    const tally = runFile(tests, (t) => {
      const ok = p.ed25519Verify(hex(pkOf.get(t)!), hex(t.msg), hex(t.sig));
      if (t.result === 'valid') return ok ? null : 'valid signature rejected';
      return ok ? 'invalid signature accepted' : null;
    });
    expectClean(tally, 'ed25519_test.json', file.numberOfTests);
  });

  // The port only has 256-bit keys, 96-bit nonces and 128-bit tags. Other
  // groups: their `valid` vectors are skipped (counted), their `invalid` ones
  // must still be rejected, which the parameter checks do.
  function aeadSuite(
    fileName: string,
    encrypt: (k: Uint8Array, n: Uint8Array, m: Uint8Array, a: Uint8Array) => Uint8Array,
    decrypt: (k: Uint8Array, n: Uint8Array, c: Uint8Array, a: Uint8Array) => Uint8Array,
    minimumInScope: number,
  ) {
    it(fileName, () => {
      const file = load<AeadGroup>(fileName);
      let inScope = 0;
      let outOfScopeInvalid = 0;
      const tests = file.testGroups.flatMap((g) => {
        const supported = g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128;
        return g.tests.map((test) => {
          if (supported) inScope++;
          else if (test.result === 'invalid') outOfScopeInvalid++;
          return { test, skip: !supported && test.result !== 'invalid' ? 'unsupported sizes' : undefined, supported };
        });
      });
      const supportedOf = new Map(tests.map((x) => [x.test, x.supported]));
      const tally = runFile(tests, (t) => {
        const key = hex(t.key), iv = hex(t.iv), aad = hex(t.aad), sealed = hex(t.ct + t.tag);
        if (t.result === 'invalid') {
          return rejects(() => decrypt(key, iv, sealed, aad), supportedOf.get(t) ? DecryptionError : InvalidArgumentError);
        }
        return expectEqual(encrypt(key, iv, hex(t.msg), aad), t.ct + t.tag, 'ciphertext||tag')
          ?? expectEqual(decrypt(key, iv, sealed, aad), t.msg, 'plaintext');
      });
      expectClean(tally, fileName, inScope + outOfScopeInvalid);
      expect(inScope, `${fileName}: too few vectors with supported sizes`).toBeGreaterThanOrEqual(minimumInScope);
      expect(tally.checked + tally.skipped).toBe(file.numberOfTests);
    });
  }
  aeadSuite('aes_gcm_test.json', p.aes256GcmEncrypt, p.aes256GcmDecrypt, 60);
  aeadSuite('chacha20_poly1305_test.json', p.chacha20Poly1305Encrypt, p.chacha20Poly1305Decrypt, 300);

  it('hkdf_sha256_test.json', () => {
    const file = load<Group<HkdfTest>>('hkdf_sha256_test.json');
    const tally = runFile(all(file.testGroups), (t) => {
      const derive = () => p.hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size);
      if (t.result === 'invalid') return rejects(derive, InvalidArgumentError);
      return expectEqual(derive(), t.okm, 'okm');
    });
    expectClean(tally, 'hkdf_sha256_test.json', file.numberOfTests);
  });

  it('hmac_sha256_test.json', () => {
    const file = load<MacGroup>('hmac_sha256_test.json');
    // Truncated-tag groups compare the tag with the prefix of the full HMAC.
    const tests = file.testGroups.flatMap((g) => g.tests.map((test) => ({ test, tagBytes: g.tagSize / 8 })));
    const tagBytesOf = new Map(tests.map((x) => [x.test, x.tagBytes]));
    const tally = runFile(tests, (t) => {
      const tagBytes = tagBytesOf.get(t)!;
      const mac = p.hmacSha256(hex(t.key), hex(t.msg));
      if (mac.length !== 32) return `HMAC is ${mac.length} bytes`;
      const matches = toHex(mac.subarray(0, tagBytes)) === t.tag;
      if (t.result === 'invalid') return matches ? 'modified tag matched' : null;
      return matches ? null : 'tag mismatch';
    });
    expectClean(tally, 'hmac_sha256_test.json', file.numberOfTests);
  });

  it('mlkem_768_keygen_seed_test.json', () => {
    const file = load<Group<KemKeyGenTest>>('mlkem_768_keygen_seed_test.json');
    const tally = runFile(all(file.testGroups), (t) => {
      if (t.result === 'invalid') return rejects(() => p.mlKem768KeyPair(hex(t.seed)));
      const kp = p.mlKem768KeyPair(hex(t.seed));
      return expectEqual(kp.publicKey, t.ek, 'encapsulation key') ?? expectEqual(kp.secretKey, t.dk, 'decapsulation key');
    });
    expectClean(tally, 'mlkem_768_keygen_seed_test.json', file.numberOfTests);
  });

  it('mlkem_768_encaps_test.json', () => {
    const file = load<Group<KemEncapsTest>>('mlkem_768_encaps_test.json');
    // Invalid vectors are encapsulation keys of the wrong length or failing the
    // FIPS 203 §7.2 modulus check: both are InvalidKeyError.
    const tally = runFile(all(file.testGroups), (t) => {
      if (t.result === 'invalid') return rejects(() => p.mlKem768Encapsulate(hex(t.ek), hex(t.m)), InvalidKeyError);
      const { ciphertext, sharedSecret } = p.mlKem768Encapsulate(hex(t.ek), hex(t.m));
      return expectEqual(ciphertext, t.c, 'ciphertext') ?? expectEqual(sharedSecret, t.K, 'shared secret');
    });
    expectClean(tally, 'mlkem_768_encaps_test.json', file.numberOfTests);
  });

  it('mlkem_768_test.json (decapsulation, keys from seeds)', () => {
    const file = load<Group<KemDecapsTest>>('mlkem_768_test.json');
    // Invalid vectors have a seed (the decapsulation key's seed form) or a
    // ciphertext of the wrong length: both are InvalidArgumentError.
    // Valid ones include random and bit-flipped ciphertexts whose K is the
    // implicit-rejection secret (FIPS 203 §6.3).
    const tally = runFile(all(file.testGroups), (t) => {
      if (t.result === 'invalid') {
        return rejects(() => p.mlKem768Decapsulate(hex(t.c), p.mlKem768KeyPair(hex(t.seed)).secretKey), InvalidArgumentError);
      }
      const kp = p.mlKem768KeyPair(hex(t.seed));
      return (t.ek === undefined ? null : expectEqual(kp.publicKey, t.ek, 'encapsulation key'))
        ?? expectEqual(p.mlKem768Decapsulate(hex(t.c), kp.secretKey), t.K, 'shared secret');
    });
    expectClean(tally, 'mlkem_768_test.json', file.numberOfTests);
  });
}

// ---------------------------------------------------------------------------

if (VECTORS_PRESENT) {
  for (const p of [nodeCrypto, portableCrypto]) {
    describe(`Wycheproof vectors: ${p.name} provider`, () => wycheproofSuite(p));
  }
} else if (VECTORS_REQUIRED) {
  describe('Wycheproof vectors', () => {
    it('are required (SIGILO_REQUIRE_VECTORS=1) but missing', () => {
      throw new Error(
        `Wycheproof vectors are required (SIGILO_REQUIRE_VECTORS=1) but were not found at ${VECTOR_DIR}; ` +
        'put the shared/ folder beside the checkout (see DESIGN.md "Test vectors").',
      );
    });
  });
} else {
  describe.skip(`Wycheproof vectors: skipped, not found at ${VECTOR_DIR} (set SIGILO_REQUIRE_VECTORS=1 to make this a failure)`, () => {
    it.skip('every provider against every vector file', () => {});
  });
}
