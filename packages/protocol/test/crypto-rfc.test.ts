/**
 * Both CryptoProviders against the test vectors published in the specifications
 * (typed in below, with their section numbers), ML-KEM-768 against libsodium,
 * and the two providers against each other on random and adversarial inputs.
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _forceDerKeyImport, nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ProtocolError } from '../src/errors.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const range = (from: number, to: number): Uint8Array => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const providers: readonly CryptoProvider[] = [nodeCrypto, portableCrypto];

// ---------------------------------------------------------------------------
// Published vectors

const RFC7748_5_2 = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
];
const RFC7748_ITERATED = {
  1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
  1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
};
const RFC7748_6_1 = {
  alicePrivate: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublic: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPrivate: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublic: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};

const RFC8032_7_1 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    public: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

const RFC5869_A = [
  {
    name: 'A.1 basic',
    ikm: hex('0b'.repeat(22)), salt: hex('000102030405060708090a0b0c'), info: hex('f0f1f2f3f4f5f6f7f8f9'), length: 42,
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'A.2 longer inputs and outputs',
    ikm: range(0x00, 0x4f), salt: range(0x60, 0xaf), info: range(0xb0, 0xff), length: 82,
    okm: 'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'A.3 zero-length salt and info',
    ikm: hex('0b'.repeat(22)), salt: new Uint8Array(0), info: new Uint8Array(0), length: 42,
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
];

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, test cases 13–16.
const GCM_K15 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const GCM_P15 = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const GCM_C15 = '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
const GCM_SPEC = [
  { name: 'test case 13', key: '00'.repeat(32), iv: '00'.repeat(12), pt: '', aad: '', ct: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  { name: 'test case 14', key: '00'.repeat(32), iv: '00'.repeat(12), pt: '00'.repeat(16), aad: '', ct: 'cea7403d4d606b6e074ec5d3baf39d18', tag: 'd0d1c8a799996bf0265b98b5d48ab919' },
  { name: 'test case 15', key: GCM_K15, iv: 'cafebabefacedbaddecaf888', pt: GCM_P15, aad: '', ct: GCM_C15, tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  {
    name: 'test case 16', key: GCM_K15, iv: 'cafebabefacedbaddecaf888',
    pt: GCM_P15.slice(0, 120), aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    ct: GCM_C15.slice(0, 120), tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

const RFC8439_2_8_2 = {
  key: range(0x80, 0x9f),
  nonce: hex('070000004041424344454647'),
  aad: hex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
  ciphertext:
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
    '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116',
  tag: '1ae10b594f09e26a7e902ecbd0600691',
};

// ---------------------------------------------------------------------------

// The node provider's fallback key import (DER) runs the same vectors.
const variants = [
  ...providers.map((p) => ({ p, label: `${p.name} provider`, derImport: false })),
  { p: nodeCrypto, label: 'node provider, DER key import fallback', derImport: true },
];

for (const { p, label, derImport } of variants) {
  describe(`RFC vectors: ${label}`, () => {
    if (derImport) {
      beforeAll(() => _forceDerKeyImport(true));
      afterAll(() => _forceDerKeyImport(false));
    }
    it('RFC 7748 §5.2 X25519 scalar multiplication', () => {
      for (const v of RFC7748_5_2) expect(toHex(p.x25519(hex(v.scalar), hex(v.u)))).toBe(v.out);
    });

    it('RFC 7748 §5.2 iterated X25519, 1 and 1,000 iterations', () => {
      // k = u = 9; then repeatedly k, u = X25519(k, u), k.
      let k = hex('09' + '00'.repeat(31));
      let u = k;
      for (let i = 1; i <= 1000; i++) {
        const next = p.x25519(k, u);
        u = k;
        k = next;
        if (i === 1) expect(toHex(k)).toBe(RFC7748_ITERATED[1]);
      }
      expect(toHex(k)).toBe(RFC7748_ITERATED[1000]);
    });

    it('RFC 7748 §6.1 Diffie-Hellman', () => {
      const v = RFC7748_6_1;
      expect(toHex(p.x25519PublicKey(hex(v.alicePrivate)))).toBe(v.alicePublic);
      expect(toHex(p.x25519PublicKey(hex(v.bobPrivate)))).toBe(v.bobPublic);
      expect(toHex(p.x25519(hex(v.alicePrivate), hex(v.bobPublic)))).toBe(v.shared);
      expect(toHex(p.x25519(hex(v.bobPrivate), hex(v.alicePublic)))).toBe(v.shared);
    });

    for (const v of RFC8032_7_1) {
      it(`RFC 8032 §7.1 Ed25519 ${v.name}`, () => {
        const seed = hex(v.secret), msg = hex(v.message);
        expect(toHex(p.ed25519PublicKey(seed))).toBe(v.public);
        expect(toHex(p.ed25519Sign(seed, msg))).toBe(v.signature);
        expect(p.ed25519Verify(hex(v.public), msg, hex(v.signature))).toBe(true);
        const other = Uint8Array.from([...msg, 0]);
        expect(p.ed25519Verify(hex(v.public), other, hex(v.signature))).toBe(false);
      });
    }

    it('RFC 5869 Appendix A.1–A.3 HKDF-SHA256', () => {
      for (const v of RFC5869_A) expect(toHex(p.hkdfSha256(v.ikm, v.salt, v.info, v.length)), v.name).toBe(v.okm);
    });

    it('RFC 4231 §4.2 HMAC-SHA256 test case 1, FIPS 180-2 SHA-256/512 of "abc"', () => {
      expect(toHex(p.hmacSha256(hex('0b'.repeat(20)), ascii('Hi There'))))
        .toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
      expect(toHex(p.sha256(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(toHex(p.sha512(ascii('abc')))).toBe(
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      );
    });

    for (const v of GCM_SPEC) {
      it(`AES-256-GCM, GCM specification ${v.name}`, () => {
        const key = hex(v.key), iv = hex(v.iv), aad = hex(v.aad);
        expect(toHex(p.aes256GcmEncrypt(key, iv, hex(v.pt), aad))).toBe(v.ct + v.tag);
        expect(toHex(p.aes256GcmDecrypt(key, iv, hex(v.ct + v.tag), aad))).toBe(v.pt);
      });
    }

    it('RFC 8439 §2.8.2 ChaCha20-Poly1305', () => {
      const v = RFC8439_2_8_2;
      const sealed = p.chacha20Poly1305Encrypt(v.key, v.nonce, v.plaintext, v.aad);
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(toHex(p.chacha20Poly1305Decrypt(v.key, v.nonce, sealed, v.aad))).toBe(toHex(v.plaintext));
    });
  });
}

// ---------------------------------------------------------------------------
// ML-KEM-768 against libsodium's independent implementation

describe('ML-KEM-768 against libsodium-wrappers', () => {
  beforeAll(async () => {
    await sodium.ready;
  });

  // Seeds and encapsulation randomness: SHA-512 of a counter, so the run is deterministic.
  const seeds = Array.from({ length: 8 }, (_, i) => sha512(Uint8Array.of(0x6b, 0x65, 0x6d, i)));
  const messages = seeds.map((s) => sha512(s).subarray(0, 32));

  for (const p of providers) {
    it(`${p.name}: same keys, same deterministic encapsulation, cross-decapsulation both ways`, () => {
      expect(sodium.crypto_kem_mlkem768_SEEDBYTES).toBe(64);
      seeds.forEach((seed, i) => {
        const m = messages[i]!;
        const ours = p.mlKem768KeyPair(seed);
        const theirs = sodium.crypto_kem_mlkem768_seed_keypair(seed);
        expect(toHex(ours.publicKey), `public key, seed ${i}`).toBe(toHex(theirs.publicKey));
        expect(toHex(ours.secretKey), `secret key, seed ${i}`).toBe(toHex(theirs.privateKey));

        const encOurs = p.mlKem768Encapsulate(ours.publicKey, m);
        const encTheirs = sodium.crypto_kem_mlkem768_enc_deterministic(theirs.publicKey, m);
        expect(toHex(encOurs.ciphertext), `ciphertext, seed ${i}`).toBe(toHex(encTheirs.ciphertext));
        expect(toHex(encOurs.sharedSecret), `shared secret, seed ${i}`).toBe(toHex(encTheirs.sharedSecret));

        // libsodium encapsulates (randomly) → we decapsulate, and the reverse.
        const fromSodium = sodium.crypto_kem_mlkem768_enc(theirs.publicKey);
        expect(toHex(p.mlKem768Decapsulate(fromSodium.ciphertext, ours.secretKey))).toBe(toHex(fromSodium.sharedSecret));
        expect(toHex(sodium.crypto_kem_mlkem768_dec(encOurs.ciphertext, theirs.privateKey))).toBe(toHex(encOurs.sharedSecret));

        // Implicit rejection agrees too: a flipped bit gives the same pseudorandom secret.
        const tampered = Uint8Array.from(encOurs.ciphertext);
        tampered[i * 100]! ^= 1;
        const rejected = p.mlKem768Decapsulate(tampered, ours.secretKey);
        expect(toHex(rejected)).not.toBe(toHex(encOurs.sharedSecret));
        expect(toHex(rejected)).toBe(toHex(sodium.crypto_kem_mlkem768_dec(tampered, theirs.privateKey)));
      });
    });
  }
});

// ---------------------------------------------------------------------------
// The two providers against each other

/** The value as hex, or the error's class and code: both providers must agree on either. */
function outcome(fn: () => Uint8Array | boolean): string {
  try {
    const r = fn();
    return typeof r === 'boolean' ? String(r) : toHex(r);
  } catch (e) {
    return e instanceof ProtocolError ? `${e.name}:${e.code}` : `RAW ${String(e)}`;
  }
}

function agree(fn: (p: CryptoProvider) => Uint8Array | boolean): void {
  expect(outcome(() => fn(portableCrypto))).toBe(outcome(() => fn(nodeCrypto)));
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bytes12 = fc.uint8Array({ minLength: 12, maxLength: 12 });
const anyBytes = fc.uint8Array({ maxLength: 300 });

describe('node and portable providers agree on random inputs', () => {
  it('x25519 public keys and shared secrets', () => {
    fc.assert(fc.property(bytes32, bytes32, (a, b) => {
      agree((p) => p.x25519PublicKey(a));
      agree((p) => p.x25519(a, p.x25519PublicKey(b)));
      agree((p) => p.x25519(a, b)); // b as a raw u-coordinate: any 32 bytes
    }), { numRuns: 150 });
  });

  it('ed25519 public keys, signatures and verification', () => {
    fc.assert(fc.property(bytes32, anyBytes, fc.nat(), (seed, msg, flip) => {
      agree((p) => p.ed25519PublicKey(seed));
      agree((p) => p.ed25519Sign(seed, msg));
      const pk = nodeCrypto.ed25519PublicKey(seed);
      const sig = nodeCrypto.ed25519Sign(seed, msg);
      agree((p) => p.ed25519Verify(pk, msg, sig));
      const bad = Uint8Array.from(sig);
      bad[flip % 64]! ^= 1 << (flip % 8);
      agree((p) => p.ed25519Verify(pk, msg, bad));
      const badKey = Uint8Array.from(pk);
      badKey[flip % 32]! ^= 1 << (flip % 8);
      agree((p) => p.ed25519Verify(badKey, msg, sig));
    }), { numRuns: 150 });
  });

  it('hkdf-sha256, hmac-sha256, sha-256, sha-512', () => {
    // Short outputs and long info take different code paths in the node provider.
    const lengths = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 8160 }));
    const infos = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1000, maxLength: 1100 }));
    fc.assert(fc.property(anyBytes, anyBytes, infos, lengths, (ikm, salt, info, length) => {
      agree((p) => p.hkdfSha256(ikm, salt, info, length));
      agree((p) => p.hmacSha256(salt, ikm));
      agree((p) => p.sha256(ikm));
      agree((p) => p.sha512(ikm));
    }), { numRuns: 150 });
  });

  it('aes-256-gcm and chacha20-poly1305, including cross-decryption', () => {
    fc.assert(fc.property(bytes32, bytes12, anyBytes, anyBytes, (key, nonce, pt, aad) => {
      agree((p) => p.aes256GcmEncrypt(key, nonce, pt, aad));
      agree((p) => p.chacha20Poly1305Encrypt(key, nonce, pt, aad));
      const gcm = nodeCrypto.aes256GcmEncrypt(key, nonce, pt, aad);
      expect(toHex(portableCrypto.aes256GcmDecrypt(key, nonce, gcm, aad))).toBe(toHex(pt));
      const chacha = portableCrypto.chacha20Poly1305Encrypt(key, nonce, pt, aad);
      expect(toHex(nodeCrypto.chacha20Poly1305Decrypt(key, nonce, chacha, aad))).toBe(toHex(pt));
    }), { numRuns: 150 });
  });
});

// ---------------------------------------------------------------------------
// Ed25519 edge cases where OpenSSL, noble and RFC 8032 readings differ

describe('node and portable providers agree on Ed25519 edge cases', () => {
  const { Point } = ed25519;
  const L = Point.Fn.ORDER;
  const SPKI = hex('302a300506032b6570032100');
  const rawOpenssl = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
    opensslVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' }), sig);
  const scalarBytes = (n: bigint): Uint8Array => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
    return out;
  };
  const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint =>
    bytesToNumberLE(sha512.create().update(r).update(a).update(m).digest()) % L;
  // The eight points of order dividing 8, from one point of order 8.
  const T8 = Point.fromBytes(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
  const torsion = [Point.ZERO];
  for (let i = 1; i < 8; i++) torsion.push(torsion[i - 1]!.add(T8));
  const msg = ascii('edge case');

  it('small-order public keys are rejected by both, even where raw OpenSSL accepts', () => {
    expect(new Set(torsion.map((t) => t.toHex())).size).toBe(8);
    let opensslAccepted = 0;
    for (const t of torsion) {
      const a = t.toBytes();
      // Find (R, S) with [S]B = R + [k]A, which exists because [k]A only depends on k mod 8.
      for (let s = 1n; ; s++) {
        const j = Number(s % 8n);
        const r = Point.BASE.multiply(s).subtract(t.multiplyUnsafe(BigInt(j))).toBytes();
        if (challenge(r, a, msg) % 8n !== BigInt(j) % BigInt(8)) continue;
        const sig = Uint8Array.from([...r, ...scalarBytes(s)]);
        if (rawOpenssl(a, msg, sig)) opensslAccepted++;
        expect(nodeCrypto.ed25519Verify(a, msg, sig), t.toHex()).toBe(false);
        expect(portableCrypto.ed25519Verify(a, msg, sig), t.toHex()).toBe(false);
        break;
      }
    }
    expect(opensslAccepted, 'the constructed signatures should fool raw OpenSSL').toBeGreaterThan(0);
  });

  it('non-canonical public key encodings (y >= p) are rejected by both', () => {
    // y = p + 1 encodes the identity non-canonically; (R = [s]B, s) then verifies under raw OpenSSL.
    const p = (1n << 255n) - 19n;
    for (const y of [p, p + 1n, p + 2n, (1n << 255n) - 1n]) {
      for (const sign of [0, 0x80]) {
        const a = scalarBytes(y);
        a[31]! |= sign;
        const sig = Uint8Array.from([...Point.BASE.toBytes(), ...scalarBytes(1n)]);
        agree((pr) => pr.ed25519Verify(a, msg, sig));
        expect(nodeCrypto.ed25519Verify(a, msg, sig)).toBe(false);
      }
    }
  });

  it('R with a small-order component: cofactorless in both (noble\'s default cofactored verify differs)', () => {
    const seed = hex('11'.repeat(32));
    const { scalar: a } = ed25519.utils.getExtendedPublicKey(seed);
    const A = nodeCrypto.ed25519PublicKey(seed);
    let cofactoredOnly = 0;
    for (let i = 1; i < 8; i++) {
      const rScalar = BigInt(1000 + i);
      const R = Point.BASE.multiply(rScalar).add(torsion[i]!).toBytes();
      const k = challenge(R, A, msg);
      const sig = Uint8Array.from([...R, ...scalarBytes((rScalar + k * a) % L)]);
      if (ed25519.verify(sig, msg, A)) cofactoredOnly++;
      expect(nodeCrypto.ed25519Verify(A, msg, sig)).toBe(false);
      expect(portableCrypto.ed25519Verify(A, msg, sig)).toBe(false);
    }
    expect(cofactoredOnly, 'noble\'s cofactored check should accept these').toBe(7);
  });

  it('A with a small-order component: both give the same answer', () => {
    const seed = hex('22'.repeat(32));
    const { scalar: a } = ed25519.utils.getExtendedPublicKey(seed);
    let accepted = 0;
    for (let i = 1; i < 8; i++) {
      const A = Point.BASE.multiply(a).add(torsion[i]!).toBytes();
      for (let r = 1n; r <= 24n; r++) {
        const R = Point.BASE.multiply(r).toBytes();
        const sig = Uint8Array.from([...R, ...scalarBytes((r + challenge(R, A, msg) * a) % L)]);
        agree((p) => p.ed25519Verify(A, msg, sig));
        if (nodeCrypto.ed25519Verify(A, msg, sig)) accepted++;
      }
    }
    // Cofactorless accepts exactly when [k]T = 0, so some but not all.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(7 * 24);
  });

  it('S >= L and S with the top bits set are rejected by both', () => {
    const seed = hex('33'.repeat(32));
    const A = nodeCrypto.ed25519PublicKey(seed);
    const sig = nodeCrypto.ed25519Sign(seed, msg);
    const s = bytesToNumberLE(sig.subarray(32));
    for (const s2 of [s + L, s + 2n * L, s + 15n * L, L, (1n << 256n) - 1n]) {
      const bad = Uint8Array.from([...sig.subarray(0, 32), ...scalarBytes(s2)]);
      expect(nodeCrypto.ed25519Verify(A, msg, bad)).toBe(false);
      expect(portableCrypto.ed25519Verify(A, msg, bad)).toBe(false);
    }
  });
});
