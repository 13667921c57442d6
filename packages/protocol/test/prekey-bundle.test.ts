/**
 * Prekey bundles (protocol.md §3): encoding round trip, and the checks an
 * initiator runs before using one: both signatures by the bundle's identity,
 * binding id, key and last-resort flag; lengths and key shapes. A refused
 * bundle throws the typed error from verifyPreKeyBundle and from
 * initiateSession alike, and leaves an existing record as it was.
 */
import { describe, expect, it } from 'vitest';
import {
  DecodeError, InvalidKeyError, InvalidSignatureError,
  concatBytes, decodePreKeyBundle, decryptPreKeyMessage, encodePqPreKeyPayload, encodePreKeyBundle, encodeSessionRecord,
  encodeSignedPreKeyPayload, encryptMessage, initiateSession, makePreKeyBundle, parsePreKeyMessage, verifyPreKeyBundle,
  type PreKeyBundle,
} from '../src/index.js';
import { PreKeyBundleSchema } from '../src/gen/sigilo/protocol/v1/wire_pb.js';
import { encodeProto } from '../src/proto.js';
import { bundleOf, context, makeParty, providers, responderKeys } from './support/fixtures.js';
import { bytesHex, dec, enc, establish, expectThrows, flipBit } from './support/sessions.js';
import { nodeCrypto as nodeCryptoForSmallOrder } from '../src/crypto/node.js';
import { assertIdentityKey, encodeSignedPreKeyPayload as encodeSpkPayload, verifySignedPreKey as verifySpk } from '../src/keys.js';

type ErrorClass = typeof InvalidKeyError | typeof InvalidSignatureError | typeof DecodeError;

function sameBundle(a: PreKeyBundle, b: PreKeyBundle): void {
  expect(bytesHex(a.identityKey)).toBe(bytesHex(b.identityKey));
  expect(a.deviceId).toBe(b.deviceId);
  expect(a.signedPreKey.id).toBe(b.signedPreKey.id);
  expect(bytesHex(a.signedPreKey.publicKey)).toBe(bytesHex(b.signedPreKey.publicKey));
  expect(bytesHex(a.signedPreKey.signature)).toBe(bytesHex(b.signedPreKey.signature));
  expect(a.oneTimePreKey?.id).toBe(b.oneTimePreKey?.id);
  expect(a.oneTimePreKey && bytesHex(a.oneTimePreKey.publicKey)).toBe(b.oneTimePreKey && bytesHex(b.oneTimePreKey.publicKey));
  expect(a.pqPreKey.id).toBe(b.pqPreKey.id);
  expect(a.pqPreKey.lastResort).toBe(b.pqPreKey.lastResort);
  expect(bytesHex(a.pqPreKey.publicKey)).toBe(bytesHex(b.pqPreKey.publicKey));
  expect(bytesHex(a.pqPreKey.signature)).toBe(bytesHex(b.pqPreKey.signature));
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('prekey bundles ($name)', ({ crypto }) => {
  const ctx = context(crypto, `bundle/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const carol = makeParty(ctx);
  const good = bundleOf(bob);
  // Alice already has a session with Carol in this record: a refused bundle must not disturb it.
  const existing = establish(ctx, alice, carol).a;

  /** The bundle is refused with `cls` by verification and by session setup, which leaves `existing` alone. */
  function refused(bundle: PreKeyBundle, cls: ErrorClass, what: string): void {
    expectThrows(() => verifyPreKeyBundle(crypto, bundle), cls, `${what} (verify)`);
    const before = bytesHex(encodeSessionRecord(existing));
    expectThrows(() => initiateSession(ctx, alice.identity, bundle, existing), cls, `${what} (initiate)`);
    expect(bytesHex(encodeSessionRecord(existing)), what).toBe(before);
  }

  describe('encoding', () => {
    for (const [name, opts] of [
      ['with a one-time prekey', {}],
      ['without a one-time prekey', { oneTime: false }],
      ['with the last-resort PQ key', { lastResort: true }],
      ['last-resort PQ key, no one-time prekey', { oneTime: false, lastResort: true }],
    ] as const) {
      it(`round trip, ${name}`, () => {
        const bundle = bundleOf(bob, opts);
        const bytes = encodePreKeyBundle(bundle);
        const decoded = decodePreKeyBundle(bytes);
        sameBundle(decoded, bundle);
        expect(bytesHex(encodePreKeyBundle(decoded))).toBe(bytesHex(bytes));
        expect(() => verifyPreKeyBundle(crypto, decoded)).not.toThrow();
        // And the decoded bundle starts a working session.
        const a = initiateSession(ctx, alice.identity, decoded);
        const m = encryptMessage(ctx, a, enc('via decoded bundle')).message;
        const d = decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, parsePreKeyMessage(m)), m);
        expect(dec(d.plaintext)).toBe('via decoded bundle');
      });
    }

    it('makePreKeyBundle publishes public keys only', () => {
      const bytes = encodePreKeyBundle(good);
      for (const secret of [bob.identity.signing.privateKey, bob.identity.agreement.privateKey, bob.signedPreKey.keyPair.privateKey,
        bob.oneTimePreKeys[0]!.keyPair.privateKey, bob.pqPreKey.keyPair.secretKey.subarray(0, 32)]) {
        expect(Buffer.from(bytes).includes(Buffer.from(secret))).toBe(false);
      }
    });
  });

  describe('signatures', () => {
    it('a valid bundle verifies', () => {
      expect(() => verifyPreKeyBundle(crypto, good)).not.toThrow();
      expect(() => verifyPreKeyBundle(crypto, bundleOf(bob, { oneTime: false, lastResort: true }))).not.toThrow();
    });

    it('bad signed-prekey signature (any byte)', () => {
      for (const i of [0, 1, 31, 32, 33, 63]) {
        refused({ ...good, signedPreKey: { ...good.signedPreKey, signature: flipBit(good.signedPreKey.signature, i, i % 8) } }, InvalidSignatureError, `SPK signature byte ${i}`);
      }
      refused({ ...good, signedPreKey: { ...good.signedPreKey, signature: new Uint8Array(64) } }, InvalidSignatureError, 'zero SPK signature');
    });

    it('the signed prekey signature binds its id and key', () => {
      refused({ ...good, signedPreKey: { ...good.signedPreKey, id: good.signedPreKey.id + 1 } }, InvalidSignatureError, 'SPK id relabelled');
      refused({ ...good, signedPreKey: { ...good.signedPreKey, publicKey: carol.signedPreKey.keyPair.publicKey } }, InvalidSignatureError, 'SPK key replaced');
      refused({ ...good, signedPreKey: { ...good.signedPreKey, publicKey: flipBit(good.signedPreKey.publicKey, 0, 0) } }, InvalidSignatureError, 'SPK key bit');
      // A signature by another identity, over exactly this prekey.
      const byCarol = crypto.ed25519Sign(carol.identity.signing.privateKey, encodeSignedPreKeyPayload(good.signedPreKey.id, good.signedPreKey.publicKey));
      refused({ ...good, signedPreKey: { ...good.signedPreKey, signature: byCarol } }, InvalidSignatureError, 'SPK signed by another identity');
    });

    it('bad PQ signature', () => {
      for (const i of [0, 17, 32, 63]) {
        refused({ ...good, pqPreKey: { ...good.pqPreKey, signature: flipBit(good.pqPreKey.signature, i, i % 8) } }, InvalidSignatureError, `PQ signature byte ${i}`);
      }
      refused({ ...good, pqPreKey: { ...good.pqPreKey, publicKey: flipBit(good.pqPreKey.publicKey, 600, 3) } }, InvalidSignatureError, 'PQ key byte');
      refused({ ...good, pqPreKey: { ...good.pqPreKey, id: good.pqPreKey.id ^ 1 } }, InvalidSignatureError, 'PQ id relabelled');
      // The signed-prekey signature does not stand in for the PQ one (domain separation).
      refused({ ...good, pqPreKey: { ...good.pqPreKey, signature: good.signedPreKey.signature } }, InvalidSignatureError, 'SPK signature as PQ signature');
    });

    it('a PQ key with its last-resort flag flipped, either way', () => {
      refused({ ...good, pqPreKey: { ...good.pqPreKey, lastResort: true } }, InvalidSignatureError, 'one-time key claimed as last resort');
      const lr = bundleOf(bob, { lastResort: true });
      refused({ ...lr, pqPreKey: { ...lr.pqPreKey, lastResort: false } }, InvalidSignatureError, 'last-resort key claimed as one-time');
      // The flag is what is signed: payloads differ in exactly that byte.
      const a = encodePqPreKeyPayload(1, false, new Uint8Array(4));
      const b = encodePqPreKeyPayload(1, true, new Uint8Array(4));
      expect([...a].filter((x, i) => x !== b[i])).toHaveLength(1);
    });

    it('a swapped identity', () => {
      refused({ ...good, identityKey: carol.identity.publicKey }, InvalidSignatureError, 'Carol\'s identity on Bob\'s prekeys');
      refused({ ...good, identityKey: concatBytes(carol.identity.publicKey.subarray(0, 32), good.identityKey.subarray(32)) }, InvalidSignatureError, 'signing half swapped');
      // Carol's whole bundle with Bob's identity.
      refused({ ...bundleOf(carol), identityKey: bob.identity.publicKey }, InvalidSignatureError, 'Bob\'s identity on Carol\'s prekeys');
    });

    it('the agreement half of the identity is not covered by the prekey signatures, but by the AD: swapping it yields a dead session', () => {
      const swapped = { ...good, identityKey: concatBytes(good.identityKey.subarray(0, 32), carol.identity.agreement.publicKey) };
      expect(() => verifyPreKeyBundle(crypto, swapped)).not.toThrow();
      const a = initiateSession(ctx, alice.identity, swapped);
      // The session names a different 64-byte identity than Bob's (what safety numbers compare) ...
      expect(bytesHex(a.current!.remoteIdentity)).not.toBe(bytesHex(bob.identity.publicKey));
      // ... and Bob cannot read it.
      const m = encryptMessage(ctx, a, enc('to whom?')).message;
      expect(() => decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, parsePreKeyMessage(m)), m)).toThrow();
    });
  });

  describe('lengths and key shapes', () => {
    it('wrong lengths in a bundle object → InvalidKeyError', () => {
      refused({ ...good, identityKey: good.identityKey.subarray(0, 63) }, InvalidKeyError, 'identity 63 bytes');
      refused({ ...good, identityKey: concatBytes(good.identityKey, new Uint8Array(1)) }, InvalidKeyError, 'identity 65 bytes');
      refused({ ...good, signedPreKey: { ...good.signedPreKey, publicKey: good.signedPreKey.publicKey.subarray(0, 31) } }, InvalidKeyError, 'SPK 31 bytes');
      refused({ ...good, oneTimePreKey: { ...good.oneTimePreKey!, publicKey: new Uint8Array(33) } }, InvalidKeyError, 'OPK 33 bytes');
      refused({ ...good, pqPreKey: { ...good.pqPreKey, publicKey: good.pqPreKey.publicKey.subarray(0, 1183) } }, InvalidKeyError, 'PQ key 1183 bytes');
      // A signature of the wrong length simply does not verify.
      refused({ ...good, signedPreKey: { ...good.signedPreKey, signature: good.signedPreKey.signature.subarray(0, 63) } }, InvalidSignatureError, 'SPK signature 63 bytes');
    });

    it('wrong lengths in an encoded bundle → InvalidKeyError; missing parts → DecodeError', () => {
      const enc = (b: object) => encodeProto(PreKeyBundleSchema, b);
      const base = { identityKey: good.identityKey, deviceId: 1, signedPreKey: good.signedPreKey, oneTimePreKey: good.oneTimePreKey, pqPreKey: good.pqPreKey };
      expectThrows(() => decodePreKeyBundle(enc({ ...base, identityKey: new Uint8Array(32) })), InvalidKeyError);
      expectThrows(() => decodePreKeyBundle(enc({ ...base, signedPreKey: { ...good.signedPreKey, publicKey: new Uint8Array(33) } })), InvalidKeyError);
      expectThrows(() => decodePreKeyBundle(enc({ ...base, oneTimePreKey: { id: 5, publicKey: new Uint8Array(0) } })), InvalidKeyError);
      expectThrows(() => decodePreKeyBundle(enc({ ...base, pqPreKey: { ...good.pqPreKey, publicKey: new Uint8Array(1185) } })), InvalidKeyError);
      expectThrows(() => decodePreKeyBundle(enc({ ...base, signedPreKey: undefined })), DecodeError);
      expectThrows(() => decodePreKeyBundle(enc({ ...base, pqPreKey: undefined })), DecodeError);
      expectThrows(() => decodePreKeyBundle(Uint8Array.of(0xff, 0xff, 0xff)), DecodeError);
    });

    it('a non-canonical or low-order signed prekey is refused even when properly signed', () => {
      const signedBundle = (publicKey: Uint8Array) => makePreKeyBundle(bob.identity, 1, {
        ...bob.signedPreKey,
        keyPair: { ...bob.signedPreKey.keyPair, publicKey },
        signature: crypto.ed25519Sign(bob.identity.signing.privateKey, encodeSignedPreKeyPayload(bob.signedPreKey.id, publicKey)),
      }, bob.pqPreKey);
      // Top bit set: the same X25519 key under other bytes.
      refused(signedBundle(flipBit(bob.signedPreKey.keyPair.publicKey, 31, 7)), InvalidKeyError, 'SPK top bit');
      // Low-order points pass the shape check but make a DH with them all zeros: session setup refuses them.
      for (const [name, key] of [['SPK = 0', new Uint8Array(32)], ['SPK = 1', Uint8Array.of(1, ...new Uint8Array(31))]] as const) {
        const before = bytesHex(encodeSessionRecord(existing));
        expectThrows(() => initiateSession(ctx, alice.identity, signedBundle(key), existing), InvalidKeyError, name);
        expect(bytesHex(encodeSessionRecord(existing))).toBe(before);
      }
    });
  });
});

describe('points of small order are refused as published keys', () => {
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  ].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

  it('each really has small order (every agreement with it is all zeros)', () => {
    for (const u of smallOrder) expect(() => nodeCryptoForSmallOrder.x25519(new Uint8Array(32).fill(9), u)).toThrow(InvalidKeyError);
  });

  it('as a signed prekey or an identity agreement key, even correctly signed', () => {
    const ctx = context(nodeCryptoForSmallOrder, 'small-order');
    const bob = makeParty(ctx);
    for (const u of smallOrder) {
      expect(() => verifySpk(ctx.crypto, bob.identity.publicKey, 9, u, ctx.crypto.ed25519Sign(bob.identity.signing.privateKey, encodeSpkPayload(9, u)))).toThrow(InvalidKeyError);
      const identity = new Uint8Array(bob.identity.publicKey);
      identity.set(u, 32);
      expect(() => assertIdentityKey(identity)).toThrow(InvalidKeyError);
    }
  });
});
