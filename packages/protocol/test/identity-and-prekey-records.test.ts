/**
 * Identity keys and prekeys (protocol.md §2–§3): shapes, signatures binding id,
 * key and last-resort flag, id ranges, and the storage encodings a client store
 * keeps (round trip byte-exact; inconsistent or malformed records refused).
 */
import { describe, expect, it } from 'vitest';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  DecodeError, IdentityKeyUnavailableError, InvalidArgumentError, InvalidKeyError, InvalidSignatureError,
  IDENTITY_KEY_LENGTH, MLKEM768_PUBLIC_KEY_LENGTH, MLKEM768_SECRET_KEY_LENGTH,
  decodeIdentityKeyPair, decodeOneTimePreKeyRecord, decodePqPreKeyRecord, decodeSignedPreKeyRecord,
  encodeIdentityKeyPair, encodeOneTimePreKeyRecord, encodePqPreKeyRecord, encodeSignedPreKeyRecord,
  generateIdentityKeyPair, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey, identityAgreementKey,
  identityTokenReference, identityKeyPairFromPrivate, identitySigningKey, tokenIdentityKeyPair, verifyPqPreKey, verifySignedPreKey,
  type IdentitySigner, type TokenKeyReference,
} from '../src/index.js';
import { IdentityKeyPairStructureSchema, PqPreKeyRecordStructureSchema, SignedPreKeyRecordStructureSchema } from '../src/gen/sigilo/protocol/v1/storage_pb.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import { NOW, context, providers, seededRandom } from './support/fixtures.js';
import { bytesHex, expectThrows, flipBit } from './support/sessions.js';

function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return bytesHex(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('identity and prekeys ($name)', ({ crypto }) => {
  const ctx = context(crypto, `keys/${crypto.name}`);
  const identity = generateIdentityKeyPair(ctx);

  describe('identity key pair', () => {
    it('is Ed25519 public ‖ X25519 public, 64 bytes, rebuilt from its private keys', () => {
      expect(identity.publicKey).toHaveLength(IDENTITY_KEY_LENGTH);
      expect(bytesHex(identitySigningKey(identity.publicKey))).toBe(bytesHex(crypto.ed25519PublicKey(identity.signing.privateKey)));
      expect(bytesHex(identityAgreementKey(identity.publicKey))).toBe(bytesHex(crypto.x25519PublicKey(identity.agreement.privateKey)));
      const rebuilt = identityKeyPairFromPrivate(crypto, identity.signing.privateKey, identity.agreement.privateKey);
      expect(plain(rebuilt)).toEqual(plain(identity));
      // The two halves are independent keys.
      expect(bytesHex(identity.signing.privateKey)).not.toBe(bytesHex(identity.agreement.privateKey));
    });

    it('wrong lengths are typed errors', () => {
      expectThrows(() => identityKeyPairFromPrivate(crypto, new Uint8Array(31), identity.agreement.privateKey), InvalidArgumentError);
      expectThrows(() => identityKeyPairFromPrivate(crypto, identity.signing.privateKey, new Uint8Array(33)), InvalidArgumentError);
      expectThrows(() => identitySigningKey(identity.publicKey.subarray(0, 63)), InvalidKeyError);
      expectThrows(() => identityAgreementKey(new Uint8Array(65)), InvalidKeyError);
    });

    it('storage round trip, and an inconsistent record is refused', () => {
      const bytes = encodeIdentityKeyPair(identity);
      const back = decodeIdentityKeyPair(crypto, bytes);
      expect(plain(back)).toEqual(plain(identity));
      expect(bytesHex(encodeIdentityKeyPair(back))).toBe(bytesHex(bytes));
      const m = fromBinary(IdentityKeyPairStructureSchema, bytes);
      const other = generateIdentityKeyPair(ctx);
      const bad = (change: Partial<typeof m>) => toBinary(IdentityKeyPairStructureSchema, { ...m, ...change } as typeof m);
      expectThrows(() => decodeIdentityKeyPair(crypto, bad({ publicKey: other.publicKey })), DecodeError, 'public key of another identity');
      expectThrows(() => decodeIdentityKeyPair(crypto, bad({ publicKey: flipBit(identity.publicKey, 40, 0) })), DecodeError, 'public key one bit off');
      expectThrows(() => decodeIdentityKeyPair(crypto, bad({ signingPrivate: other.signing.privateKey })), DecodeError, 'signing key of another identity');
      expectThrows(() => decodeIdentityKeyPair(crypto, bad({ agreementPrivate: new Uint8Array(16) })), DecodeError, 'short private key');
    });
  });

  describe('identity signing key on a token (trust.md §7.1)', () => {
    // The token is stood in for by a signer that counts its calls: what matters here is that every identity
    // signature goes through the signer and that the stored form holds only the reference.
    const tokenSeed = ctx.random(32);
    const ref: TokenKeyReference = { module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'alice-card', keyId: Uint8Array.of(1, 2, 3) };
    let calls = 0;
    const signer: IdentitySigner = { publicKey: crypto.ed25519PublicKey(tokenSeed), sign: (m) => { calls++; return crypto.ed25519Sign(tokenSeed, m); } };
    const onToken = tokenIdentityKeyPair(crypto, ref, signer, ctx.random(32));

    it('prekeys are signed through the signer and verify against the identity key', () => {
      const before = calls;
      const spk = generateSignedPreKey(ctx, onToken, 3, NOW);
      const pq = generatePqPreKey(ctx, onToken, 4, true, NOW);
      expect(calls - before).toBe(2);
      expect(() => verifySignedPreKey(crypto, onToken.publicKey, 3, spk.keyPair.publicKey, spk.signature)).not.toThrow();
      expect(() => verifyPqPreKey(crypto, onToken.publicKey, 4, true, pq.keyPair.publicKey, pq.signature)).not.toThrow();
    });

    it('the stored form holds the reference and no signing key; it opens only with a token opener', () => {
      const bytes = encodeIdentityKeyPair(onToken);
      const m = fromBinary(IdentityKeyPairStructureSchema, bytes);
      expect(m.signingPrivate).toHaveLength(0);
      expect(bytesHex(bytes)).not.toContain(bytesHex(tokenSeed));
      expect(identityTokenReference(bytes)?.tokenLabel).toBe('alice-card');
      expect(identityTokenReference(encodeIdentityKeyPair(identity))).toBeUndefined();
      const e = expectThrows(() => decodeIdentityKeyPair(crypto, bytes), IdentityKeyUnavailableError, 'no opener (a browser)');
      expect((e as IdentityKeyUnavailableError).reason).toBe('unsupported');
      let opened: TokenKeyReference | undefined;
      const back = decodeIdentityKeyPair(crypto, bytes, (r) => { opened = r; return signer; });
      expect(opened?.tokenLabel).toBe('alice-card');
      expect(bytesHex(opened!.keyId)).toBe('010203');
      expect(bytesHex(back.publicKey)).toBe(bytesHex(onToken.publicKey));
      expect(back.signing.privateKey).toBeUndefined();
      expect(bytesHex(encodeIdentityKeyPair(back))).toBe(bytesHex(bytes));
      // A token whose key is another one than the stored public key is refused.
      expectThrows(() => decodeIdentityKeyPair(crypto, bytes, () => ({ publicKey: identity.signing.publicKey, sign: signer.sign })), DecodeError, 'another key');
      // A record with both a seed and a token reference is refused.
      const both = toBinary(IdentityKeyPairStructureSchema, { ...m, signingPrivate: tokenSeed } as typeof m);
      expectThrows(() => decodeIdentityKeyPair(crypto, both, () => signer), DecodeError, 'seed and token');
    });
  });

  describe('signed prekey', () => {
    const spk = generateSignedPreKey(ctx, identity, 7, NOW);

    it('is signed over label ‖ id ‖ key by the identity', () => {
      expect(spk.id).toBe(7);
      expect(spk.createdAt).toBe(NOW);
      expect(spk.signature).toHaveLength(64);
      expect(() => verifySignedPreKey(crypto, identity.publicKey, 7, spk.keyPair.publicKey, spk.signature)).not.toThrow();
      expectThrows(() => verifySignedPreKey(crypto, identity.publicKey, 8, spk.keyPair.publicKey, spk.signature), InvalidSignatureError);
      expectThrows(() => verifySignedPreKey(crypto, generateIdentityKeyPair(ctx).publicKey, 7, spk.keyPair.publicKey, spk.signature), InvalidSignatureError);
      expectThrows(() => verifySignedPreKey(crypto, identity.publicKey, 7, spk.keyPair.publicKey.subarray(1), spk.signature), InvalidKeyError);
    });

    it('ids are 32-bit unsigned', () => {
      expect(generateSignedPreKey(ctx, identity, 0xffffffff, NOW).id).toBe(0xffffffff);
      for (const id of [-1, 0x100000000, 1.5, Number.NaN]) expectThrows(() => generateSignedPreKey(ctx, identity, id, NOW), InvalidArgumentError, `id ${id}`);
    });

    it('storage round trip; bad lengths refused', () => {
      const bytes = encodeSignedPreKeyRecord(spk);
      const back = decodeSignedPreKeyRecord(bytes);
      expect(plain(back)).toEqual(plain(spk));
      expect(bytesHex(encodeSignedPreKeyRecord(back))).toBe(bytesHex(bytes));
      const m = fromBinary(SignedPreKeyRecordStructureSchema, bytes);
      for (const change of [{ publicKey: new Uint8Array(31) }, { privateKey: new Uint8Array(0) }, { signature: new Uint8Array(63) }]) {
        expectThrows(() => decodeSignedPreKeyRecord(toBinary(SignedPreKeyRecordStructureSchema, { ...m, ...change } as typeof m)), DecodeError);
      }
    });
  });

  describe('one-time prekeys', () => {
    it('consecutive ids, wrapping at 2^32, distinct keys', () => {
      const keys = generateOneTimePreKeys(ctx, 0xfffffffe, 4);
      expect(keys.map((k) => k.id)).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
      expect(new Set(keys.map((k) => bytesHex(k.keyPair.publicKey))).size).toBe(4);
      for (const k of keys) expect(bytesHex(k.keyPair.publicKey)).toBe(bytesHex(crypto.x25519PublicKey(k.keyPair.privateKey)));
      expect(generateOneTimePreKeys(ctx, 5, 0)).toEqual([]);
      expectThrows(() => generateOneTimePreKeys(ctx, -1, 1), InvalidArgumentError);
    });

    it('storage round trip; bad lengths refused', () => {
      const [k] = generateOneTimePreKeys(ctx, 42, 1);
      const bytes = encodeOneTimePreKeyRecord(k!);
      expect(plain(decodeOneTimePreKeyRecord(bytes))).toEqual(plain(k));
      expect(bytesHex(encodeOneTimePreKeyRecord(decodeOneTimePreKeyRecord(bytes)))).toBe(bytesHex(bytes));
      expectThrows(() => decodeOneTimePreKeyRecord(encodeOneTimePreKeyRecord({ id: 1, keyPair: { publicKey: new Uint8Array(32), privateKey: new Uint8Array(31) } })), DecodeError);
    });
  });

  describe('PQ prekeys (one-time and last-resort)', () => {
    const oneTime = generatePqPreKey(ctx, identity, 11, false, NOW);
    const lastResort = generatePqPreKey(ctx, identity, 12, true, NOW);

    it('ML-KEM-768 keys that work, signed with their flag', () => {
      for (const pq of [oneTime, lastResort]) {
        expect(pq.keyPair.publicKey).toHaveLength(MLKEM768_PUBLIC_KEY_LENGTH);
        expect(pq.keyPair.secretKey).toHaveLength(MLKEM768_SECRET_KEY_LENGTH);
        const { ciphertext, sharedSecret } = crypto.mlKem768Encapsulate(pq.keyPair.publicKey, ctx.random(32));
        expect(bytesHex(crypto.mlKem768Decapsulate(ciphertext, pq.keyPair.secretKey))).toBe(bytesHex(sharedSecret));
        expect(() => verifyPqPreKey(crypto, identity.publicKey, pq.id, pq.lastResort, pq.keyPair.publicKey, pq.signature)).not.toThrow();
        expectThrows(() => verifyPqPreKey(crypto, identity.publicKey, pq.id, !pq.lastResort, pq.keyPair.publicKey, pq.signature), InvalidSignatureError);
        expectThrows(() => verifyPqPreKey(crypto, identity.publicKey, pq.id + 1, pq.lastResort, pq.keyPair.publicKey, pq.signature), InvalidSignatureError);
        expectThrows(() => verifyPqPreKey(crypto, identity.publicKey, pq.id, pq.lastResort, pq.keyPair.publicKey.subarray(0, 1000), pq.signature), InvalidKeyError);
      }
      expect(oneTime.lastResort).toBe(false);
      expect(lastResort.lastResort).toBe(true);
    });

    it('storage round trip keeps the flag; bad lengths refused', () => {
      for (const pq of [oneTime, lastResort]) {
        const bytes = encodePqPreKeyRecord(pq);
        const back = decodePqPreKeyRecord(bytes);
        expect(plain(back)).toEqual(plain(pq));
        expect(bytesHex(encodePqPreKeyRecord(back))).toBe(bytesHex(bytes));
      }
      const m = fromBinary(PqPreKeyRecordStructureSchema, encodePqPreKeyRecord(oneTime));
      for (const change of [{ publicKey: new Uint8Array(1183) }, { secretKey: new Uint8Array(2399) }, { signature: new Uint8Array(0) }]) {
        expectThrows(() => decodePqPreKeyRecord(toBinary(PqPreKeyRecordStructureSchema, { ...m, ...change } as typeof m)), DecodeError);
      }
    });
  });
});

describe('key generation across providers', () => {
  it('the same randomness gives the same keys and signatures with either provider', () => {
    const make = (crypto: typeof nodeCrypto) => {
      const c = { crypto, random: seededRandom('keys/cross') };
      const id = generateIdentityKeyPair(c);
      return [encodeIdentityKeyPair(id), encodeSignedPreKeyRecord(generateSignedPreKey(c, id, 1, NOW)),
        ...generateOneTimePreKeys(c, 1, 2).map(encodeOneTimePreKeyRecord), encodePqPreKeyRecord(generatePqPreKey(c, id, 3, true, NOW))].map(bytesHex);
    };
    expect(make(portableCrypto)).toEqual(make(nodeCrypto));
  });
});
