/**
 * PQXDH session setup (protocol.md §4): both roles, with and without a one-time
 * EC prekey, with a one-time or the last-resort PQ prekey; the shared secret
 * recomputed independently from the specification's formula; both providers
 * agree; AD = IK_A ‖ IK_B ‖ EK_A binds both identities and the base key; `consumed`; repeated prekey
 * messages on one session; the first reply ends prekey messages.
 */
import { describe, expect, it } from 'vitest';
import {
  DecryptionError, InvalidPrekeyError,
  concatBytes, decodeRatchetMessage, decodeSessionRecord, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage,
  initiateSession, messageType, parsePreKeyMessage, pqxdhInitiate, pqxdhRespond, utf8,
  type ProtocolContext, type SessionRecord,
} from '../src/index.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import { bundleOf, context, makeParty, providers, responderKeys, seededRandom, type Party } from './support/fixtures.js';
import { bytesHex, dec, enc, establish, exchange, expectRejectedUnchanged, expectThrows } from './support/sessions.js';

const variants = [
  { name: 'one-time EC prekey, one-time PQ prekey', oneTime: true, lastResort: false },
  { name: 'no one-time EC prekey, one-time PQ prekey', oneTime: false, lastResort: false },
  { name: 'one-time EC prekey, last-resort PQ prekey', oneTime: true, lastResort: true },
  { name: 'no one-time EC prekey, last-resort PQ prekey', oneTime: false, lastResort: true },
] as const;

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('PQXDH ($name)', ({ crypto }) => {
  const ctx = context(crypto, `pqxdh/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const carol = makeParty(ctx);

  for (const v of variants) {
    describe(v.name, () => {
      it('both roles agree: first message, reply, and onwards', () => {
        const bundle = bundleOf(bob, v);
        let a = initiateSession(ctx, alice.identity, bundle);
        const first = encryptMessage(ctx, a, enc('first'));
        a = first.record;
        const pm = parsePreKeyMessage(first.message);
        expect(pm.oneTimePreKeyId).toBe(v.oneTime ? bob.oneTimePreKeys[0]!.id : undefined);
        expect(pm.pqPreKeyId).toBe(v.lastResort ? bob.lastResortPqPreKey.id : bob.pqPreKey.id);
        expect(pm.signedPreKeyId).toBe(bob.signedPreKey.id);
        const got = decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, pm), first.message);
        expect(dec(got.plaintext)).toBe('first');
        expect(bytesHex(got.remoteIdentity)).toBe(bytesHex(alice.identity.publicKey));
        // `consumed` names exactly the prekeys the message used.
        expect(got.consumed).toEqual({ oneTimePreKeyId: pm.oneTimePreKeyId, pqPreKeyId: pm.pqPreKeyId });
        let b = got.record;
        ({ from: b, to: a } = exchange(ctx, b, a, 'reply'));
        ({ from: a, to: b } = exchange(ctx, a, b, 'onwards'));
        expect(messageType(encryptMessage(ctx, a, enc('x')).message)).toBe('ratchet');
      });

      it('the shared secret is the specification\'s formula, on both sides', () => {
        const bundle = bundleOf(bob, v);
        const init = pqxdhInitiate(ctx, alice.identity, bundle);
        const msg = {
          identityKey: alice.identity.publicKey,
          baseKey: init.baseKey.publicKey,
          signedPreKeyId: bundle.signedPreKey.id,
          oneTimePreKeyId: bundle.oneTimePreKey?.id,
          pqPreKeyId: bundle.pqPreKey.id,
          pqCiphertext: init.pqCiphertext,
        };
        const resp = pqxdhRespond(ctx, bob.identity, responderKeys(bob, msg), msg);
        expect(bytesHex(resp.sharedKey)).toBe(bytesHex(init.sharedKey));
        // Recomputed from §4.1 with the other provider's primitives.
        const other = crypto === nodeCrypto ? portableCrypto : nodeCrypto;
        const dhs = [
          other.x25519(alice.identity.agreement.privateKey, bob.signedPreKey.keyPair.publicKey),
          other.x25519(init.baseKey.privateKey, bob.identity.agreement.publicKey),
          other.x25519(init.baseKey.privateKey, bob.signedPreKey.keyPair.publicKey),
          ...(v.oneTime ? [other.x25519(init.baseKey.privateKey, bob.oneTimePreKeys[0]!.keyPair.publicKey)] : []),
        ];
        const pqKey = v.lastResort ? bob.lastResortPqPreKey : bob.pqPreKey;
        const ss = other.mlKem768Decapsulate(init.pqCiphertext, pqKey.keyPair.secretKey);
        const sk = other.hkdfSha256(concatBytes(new Uint8Array(32).fill(0xff), ...dhs, ss), new Uint8Array(32), utf8('Sigilo_PQXDH_CURVE25519_SHA-256_ML-KEM-768'), 32);
        expect(bytesHex(init.sharedKey)).toBe(bytesHex(sk));
        const ad = concatBytes(alice.identity.publicKey, bob.identity.publicKey, init.baseKey.publicKey);
        expect(bytesHex(init.associatedData)).toBe(bytesHex(ad));
        expect(bytesHex(resp.associatedData)).toBe(bytesHex(ad));
      });
    });
  }

  it('the initiator\'s first ratchet step is RatchetInitAlice on SK and SPK_B, with the draws in the specified order', () => {
    const seed = `draws/${crypto.name}`;
    const viaSession = initiateSession({ crypto, random: seededRandom(seed) }, alice.identity, bundleOf(bob)).current!;
    const replay: ProtocolContext = { crypto, random: seededRandom(seed) };
    const init = pqxdhInitiate(replay, alice.identity, bundleOf(bob)); // draws EK_A, then m
    const ratchetPrivate = replay.random(32); // then the first ratchet key
    const dh = crypto.x25519(ratchetPrivate, bob.signedPreKey.keyPair.publicKey);
    const out = crypto.hkdfSha256(dh, init.sharedKey, utf8('Sigilo_Ratchet_v1'), 64);
    expect(bytesHex(viaSession.sendingRatchet.privateKey)).toBe(bytesHex(ratchetPrivate));
    expect(bytesHex(viaSession.rootKey)).toBe(bytesHex(out.subarray(0, 32)));
    expect(bytesHex(viaSession.sendingChainKey)).toBe(bytesHex(out.subarray(32, 64)));
    expect(bytesHex(viaSession.baseKey)).toBe(bytesHex(init.baseKey.publicKey));
    expect(bytesHex(viaSession.pendingPreKey!.pqCiphertext)).toBe(bytesHex(init.pqCiphertext));
  });

  it('AD = IK_A ‖ IK_B ‖ EK_A on both sides, identities recorded', () => {
    const { a, b } = establish(ctx, alice, bob, { reply: true });
    const ad = bytesHex(concatBytes(alice.identity.publicKey, bob.identity.publicKey, a.current!.baseKey));
    expect(bytesHex(a.current!.associatedData)).toBe(ad);
    expect(bytesHex(b.current!.associatedData)).toBe(ad);
    expect(bytesHex(a.current!.localIdentity)).toBe(bytesHex(alice.identity.publicKey));
    expect(bytesHex(a.current!.remoteIdentity)).toBe(bytesHex(bob.identity.publicKey));
    expect(bytesHex(b.current!.localIdentity)).toBe(bytesHex(bob.identity.publicKey));
    expect(bytesHex(b.current!.remoteIdentity)).toBe(bytesHex(alice.identity.publicKey));
  });

  describe('a recipient whose session was set up with a different initiator identity', () => {
    it('cannot read Alice\'s messages (session state with Carol as the initiator)', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'in sync'));
      const m = encryptMessage(ctx, a, enc('for Bob, from Alice')).message;
      const asIfCarol: SessionRecord = {
        current: { ...b.current!, remoteIdentity: carol.identity.publicKey, associatedData: concatBytes(carol.identity.publicKey, bob.identity.publicKey, b.current!.baseKey) },
        previous: [],
      };
      expectRejectedUnchanged(asIfCarol, (r) => decryptMessage(ctx, r, m), DecryptionError, 'AD with Carol');
      expect(dec(decryptMessage(ctx, b, m).plaintext)).toBe('for Bob, from Alice');
    });

    it('cannot be made to run PQXDH under a claimed identity (whole identity, or only its signing half)', () => {
      const a = initiateSession(ctx, alice.identity, bundleOf(bob));
      const m = encryptMessage(ctx, a, enc('hello')).message;
      const pm = parsePreKeyMessage(m);
      for (const identityKey of [carol.identity.publicKey, concatBytes(carol.identity.publicKey.subarray(0, 32), alice.identity.publicKey.subarray(32))]) {
        expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, pm), { ...pm, identityKey }), DecryptionError);
      }
      // The responder's own identity matters too: Carol's identity with Bob's prekeys derives another secret.
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, carol.identity, responderKeys(bob, pm), m), DecryptionError);
    });
  });

  describe('responder prekeys', () => {
    const a = initiateSession(ctx, alice.identity, bundleOf(bob));
    const m = encryptMessage(ctx, a, enc('hello')).message;
    const pm = parsePreKeyMessage(m);
    const keys = responderKeys(bob, pm);
    const { b: existing } = establish(ctx, carol, bob);

    it('a missing or mismatched prekey is InvalidPrekeyError, and nothing changes', () => {
      for (const [what, k] of [
        ['no signed prekey', { ...keys, signedPreKey: undefined }],
        ['another signed prekey id', { ...keys, signedPreKey: { ...bob.signedPreKey, id: bob.signedPreKey.id + 1 } }],
        ['no PQ prekey (used)', { ...keys, pqPreKey: undefined }],
        ['the last-resort PQ key instead', { ...keys, pqPreKey: bob.lastResortPqPreKey }],
        ['no one-time prekey (used)', { ...keys, oneTimePreKey: undefined }],
        ['another one-time prekey', { ...keys, oneTimePreKey: bob.oneTimePreKeys[1] }],
        ['nothing at all', {}],
      ] as const) {
        expectRejectedUnchanged(existing, (r) => decryptPreKeyMessage(ctx, r, bob.identity, k, m), InvalidPrekeyError, what);
        expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, k, m), InvalidPrekeyError, what);
      }
      // And with the right keys it works; the session of the other identity is dropped, not kept
      // as a previous state (nothing may bring an old identity's session back, protocol.md §7).
      const ok = decryptPreKeyMessage(ctx, existing, bob.identity, keys, m);
      expect(ok.record.previous).toHaveLength(0);
      expect(bytesHex(ok.record.current!.remoteIdentity)).toBe(bytesHex(alice.identity.publicKey));
    });
  });

  describe('several prekey messages on one session', () => {
    it('Alice sends three before Bob replies: each decrypts, in any order, without a new session or any prekey', () => {
      for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
        let a = initiateSession(ctx, alice.identity, bundleOf(bob));
        const sent: Uint8Array[] = [];
        for (let i = 0; i < 3; i++) {
          const s = encryptMessage(ctx, a, enc(`m${i}`));
          a = s.record;
          sent.push(s.message);
        }
        const parsed = sent.map((m) => parsePreKeyMessage(m));
        // Every one carries the same session setup: base key, ids and PQ ciphertext.
        for (const p of parsed) {
          expect(bytesHex(p.baseKey)).toBe(bytesHex(parsed[0]!.baseKey));
          expect(bytesHex(p.pqCiphertext)).toBe(bytesHex(parsed[0]!.pqCiphertext));
          expect([p.signedPreKeyId, p.oneTimePreKeyId, p.pqPreKeyId]).toEqual([parsed[0]!.signedPreKeyId, parsed[0]!.oneTimePreKeyId, parsed[0]!.pqPreKeyId]);
        }
        expect(parsed.map((p) => decodeRatchetMessage(p.message).counter)).toEqual([0, 1, 2]);
        const [firstIndex, ...rest] = order as [number, ...number[]];
        const got = decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, parsed[firstIndex]!), sent[firstIndex]!);
        expect(dec(got.plaintext)).toBe(`m${firstIndex}`);
        expect(got.consumed).toBeDefined();
        let b = got.record;
        const baseKey = bytesHex(b.current!.baseKey);
        for (const i of rest) {
          // The prekeys are gone by now (consumed): the later messages must not need them.
          const d = decryptPreKeyMessage(ctx, b, bob.identity, {}, sent[i]!);
          expect(dec(d.plaintext)).toBe(`m${i}`);
          expect(d.consumed).toBeUndefined();
          expect(d.record.previous).toHaveLength(0);
          expect(bytesHex(d.record.current!.baseKey)).toBe(baseKey);
          b = d.record;
        }
        ({ from: b, to: a } = exchange(ctx, b, a, 'reply'));
      }
    });

    it('Bob\'s reply stops Alice sending prekey messages', () => {
      let { a, b } = establish(ctx, alice, bob);
      expect(a.current!.pendingPreKey).toBeDefined();
      expect(messageType(encryptMessage(ctx, a, enc('still pending')).message)).toBe('prekey');
      const r = encryptMessage(ctx, b, enc('reply'));
      b = r.record;
      a = decryptMessage(ctx, a, r.message).record;
      expect(a.current!.pendingPreKey).toBeUndefined();
      // It stays so across storage.
      const stored = encodeSessionRecord(a);
      for (let i = 0; i < 3; i++) {
        const s = encryptMessage(ctx, a, enc(`ratchet ${i}`));
        a = s.record;
        expect(messageType(s.message)).toBe('ratchet');
        const d = decryptMessage(ctx, b, s.message);
        expect(dec(d.plaintext)).toBe(`ratchet ${i}`);
        b = d.record;
      }
      expect(decodeSessionRecord(stored).current!.pendingPreKey).toBeUndefined();
    });
  });
});

describe('PQXDH across providers', () => {
  const pool = context(nodeCrypto, 'pqxdh/cross');
  const alice = makeParty(pool);
  const bob = makeParty(pool);

  function converse(ctxA: ProtocolContext, ctxB: ProtocolContext, a0: Party, b0: Party): Uint8Array[] {
    const transcript: Uint8Array[] = [];
    let { a, b, first } = establish(ctxA, a0, b0, { ctxB });
    transcript.push(first, encodeSessionRecord(a), encodeSessionRecord(b));
    for (let i = 0; i < 4; i++) {
      const r = exchange(ctxB, b, a, `b${i}`, ctxA);
      b = r.from; a = r.to;
      const s = exchange(ctxA, a, b, `a${i}`, ctxB);
      a = s.from; b = s.to;
      transcript.push(r.message, s.message, encodeSessionRecord(a), encodeSessionRecord(b));
    }
    return transcript;
  }

  it('node on one side, portable on the other, both ways', () => {
    converse(context(nodeCrypto, 'x1'), context(portableCrypto, 'x2'), alice, bob);
    converse(context(portableCrypto, 'x3'), context(nodeCrypto, 'x4'), alice, bob);
  });

  it('the same seeds give byte-identical messages and records with either provider', () => {
    const viaNode = converse(context(nodeCrypto, 'same-a'), context(nodeCrypto, 'same-b'), alice, bob);
    const viaPortable = converse(context(portableCrypto, 'same-a'), context(portableCrypto, 'same-b'), alice, bob);
    expect(viaPortable.map(bytesHex)).toEqual(viaNode.map(bytesHex));
  });
});
