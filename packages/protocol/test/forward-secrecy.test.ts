/**
 * Forward secrecy: a copy of a party's record taken after it received message k
 * (a device seized now) reads none of the messages it had already received,
 * within one chain and across DH ratchet steps; it holds no key for them, not
 * even the chain keys that derived them. And the first flight of a session that
 * used a one-time prekey cannot be re-derived from the responder's long-term
 * keys once that one-time prekey is deleted.
 */
import { describe, expect, it } from 'vitest';
import {
  DecryptionError, DuplicateMessageError, InvalidPrekeyError,
  bytesEqual, decodeRatchetMessage, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage,
  generateSignedPreKey, parsePreKeyMessage,
  type SessionRecord,
} from '../src/index.js';
import { encodePreKeyMessage } from '../src/ratchet/message.js';
import { expandMessageKey, kdfChainKey } from '../src/ratchet/kdf.js';
import { context, makeParty, providers, type Party } from './support/fixtures.js';
import {
  containsBytes, dec, enc, establish, expectRejectedUnchanged, expectThrows, expectThrowsOneOf, innerRatchetMessage, roundTripRecord,
} from './support/sessions.js';

/** A sent message with the secrets that protected it, read from the sender's record just before sending. */
interface Sent {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly chainKey: Uint8Array;
  readonly messageKey: Uint8Array;
  readonly aesKey: Uint8Array;
}

function send(ctx: ReturnType<typeof context>, record: SessionRecord, text: string): { record: SessionRecord; sent: Sent } {
  const s = record.current!;
  const { messageKey } = kdfChainKey(ctx.crypto, s.sendingChainKey);
  const { key } = expandMessageKey(ctx.crypto, messageKey);
  const out = encryptMessage(ctx, record, enc(text));
  const header = decodeRatchetMessage(innerRatchetMessage(out.message));
  expect(header.counter).toBe(s.sendingCounter);
  return {
    record: roundTripRecord(out.record),
    sent: { text, bytes: out.message, ratchetKey: header.ratchetKey, counter: header.counter, chainKey: s.sendingChainKey.slice(), messageKey, aesKey: key.slice() },
  };
}

function receive(ctx: ReturnType<typeof context>, record: SessionRecord, m: Sent): SessionRecord {
  const d = decryptMessage(ctx, record, innerRatchetMessage(m.bytes));
  expect(dec(d.plaintext)).toBe(m.text);
  return roundTripRecord(d.record);
}

/** The copy cannot read `m`, and nothing in its bytes or its skipped keys would let it. */
function assertCannotRead(ctx: ReturnType<typeof context>, copy: SessionRecord, m: Sent, what: string): void {
  const bytes = encodeSessionRecord(copy);
  expect(containsBytes(bytes, m.messageKey), `${what}: message key still stored`).toBe(false);
  expect(containsBytes(bytes, m.chainKey), `${what}: chain key that derived it still stored`).toBe(false);
  expect(containsBytes(bytes, m.aesKey), `${what}: AES key still stored`).toBe(false);
  for (const s of [copy.current!, ...copy.previous]) {
    expect(s.skippedKeys.some((k) => k.counter === m.counter && bytesEqual(k.ratchetKey, m.ratchetKey)), `${what}: skipped key kept`).toBe(false);
  }
  expectRejectedUnchanged(copy, (r) => decryptMessage(ctx, r, innerRatchetMessage(m.bytes)), [DuplicateMessageError, DecryptionError], what);
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('forward secrecy ($name)', ({ crypto }) => {
  const ctx = context(crypto, `fs/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);

  it('within one chain: a copy of the record taken after message k reads none of messages 1..k', () => {
    let { a, b } = establish(ctx, alice, bob, { reply: true });
    const sent: Sent[] = [];
    for (let i = 1; i <= 6; i++) {
      const s = send(ctx, a, `a${i}`);
      a = s.record;
      sent.push(s.sent);
    }
    for (let k = 1; k <= sent.length; k++) {
      b = receive(ctx, b, sent[k - 1]!);
      const copy = roundTripRecord(b); // what an attacker seizes
      for (let i = 1; i <= k; i++) assertCannotRead(ctx, copy, sent[i - 1]!, `k=${k}, message ${i}`);
      for (let i = 1; i <= k; i++) expectThrows(() => decryptMessage(ctx, copy, sent[i - 1]!.bytes), DuplicateMessageError);
      // The copy is a working record: the next message still decrypts with it.
      if (k < sent.length) expect(dec(decryptMessage(ctx, copy, sent[k]!.bytes).plaintext)).toBe(`a${k + 1}`);
    }
    // The sender keeps nothing either: Alice's record holds no key of a message she already sent.
    const aBytes = encodeSessionRecord(a);
    for (const m of sent) {
      expect(containsBytes(aBytes, m.messageKey)).toBe(false);
      expect(containsBytes(aBytes, m.chainKey)).toBe(false);
    }
  });

  it('out of order: received messages are unreadable from the copy, only skipped (not yet received) ones remain', () => {
    let { a, b } = establish(ctx, alice, bob, { reply: true });
    const sent: Sent[] = [];
    for (let i = 1; i <= 4; i++) {
      const s = send(ctx, a, `a${i}`);
      a = s.record;
      sent.push(s.sent);
    }
    b = receive(ctx, b, sent[2]!); // a3 first: keys for a1, a2 are kept as skipped keys
    b = receive(ctx, b, sent[0]!); // then a1
    const copy = roundTripRecord(b);
    assertCannotRead(ctx, copy, sent[0]!, 'a1');
    assertCannotRead(ctx, copy, sent[2]!, 'a3');
    expect(dec(decryptMessage(ctx, copy, sent[1]!.bytes).plaintext)).toBe('a2');
    expect(dec(decryptMessage(ctx, copy, sent[3]!.bytes).plaintext)).toBe('a4');
  });

  it('across DH ratchet steps: no earlier message in either direction, no earlier root or ratchet key', () => {
    let { a, b, first } = establish(ctx, alice, bob);
    const toBob: Sent[] = [];
    const toAlice: Sent[] = [];
    const bobSnapshots: SessionRecord[] = [b];
    const aliceSnapshots: SessionRecord[] = [a];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 2; i++) {
        const s = send(ctx, b, `b${round}.${i}`);
        b = s.record;
        toAlice.push(s.sent);
      }
      for (const m of toAlice.slice(-2)) a = receive(ctx, a, m);
      for (let i = 0; i < 3; i++) {
        const s = send(ctx, a, `a${round}.${i}`);
        a = s.record;
        toBob.push(s.sent);
      }
      for (const m of toBob.slice(-3)) b = receive(ctx, b, m);
      bobSnapshots.push(b);
      aliceSnapshots.push(a);
    }
    const bobCopy = roundTripRecord(b);
    const aliceCopy = roundTripRecord(a);
    toBob.forEach((m, i) => assertCannotRead(ctx, bobCopy, m, `Bob's copy, message to Bob #${i}`));
    toAlice.forEach((m, i) => assertCannotRead(ctx, aliceCopy, m, `Alice's copy, message to Alice #${i}`));
    // Nor the first (prekey) message, nor any key of a message the copy's owner sent.
    expectRejectedUnchanged(bobCopy, (r) => decryptMessage(ctx, r, innerRatchetMessage(first)), [DuplicateMessageError, DecryptionError], 'first message');
    const bobBytes = encodeSessionRecord(bobCopy);
    const aliceBytes = encodeSessionRecord(aliceCopy);
    for (const m of toAlice) expect(containsBytes(bobBytes, m.chainKey) || containsBytes(bobBytes, m.messageKey)).toBe(false);
    for (const m of toBob) expect(containsBytes(aliceBytes, m.chainKey) || containsBytes(aliceBytes, m.messageKey)).toBe(false);
    // Root keys and ratchet private keys of earlier steps are gone too (they would re-derive old chains).
    for (const snap of [...bobSnapshots.slice(0, -1), ...aliceSnapshots.slice(0, -1)]) {
      const s = snap.current!;
      expect(containsBytes(bobBytes, s.rootKey) || containsBytes(aliceBytes, s.rootKey), 'old root key kept').toBe(false);
      expect(containsBytes(bobBytes, s.sendingRatchet.privateKey) || containsBytes(aliceBytes, s.sendingRatchet.privateKey), 'old ratchet private key kept').toBe(false);
    }
  });

  describe('the first flight, from the responder\'s long-term keys', () => {
    function bobsLongTermKeys(p: Party) {
      // A seized device: identity, signed prekey and the (last-resort) PQ prekey; the one-time EC prekey was deleted on use.
      return { signedPreKey: p.signedPreKey, pqPreKey: p.lastResortPqPreKey, oneTimePreKey: undefined };
    }

    it('with a one-time prekey: re-deriving the session fails once the one-time prekey is deleted', () => {
      const { first, consumed } = establish(ctx, alice, bob, { oneTime: true, lastResort: true });
      expect(consumed).toEqual({ oneTimePreKeyId: bob.oneTimePreKeys[0]!.id, pqPreKeyId: bob.lastResortPqPreKey.id });
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, bobsLongTermKeys(bob), first), InvalidPrekeyError);
      // Removing the one-time prekey id from the message does not help: its DH is part of the secret.
      const pm = parsePreKeyMessage(first);
      const stripped = encodePreKeyMessage({ ...pm, oneTimePreKeyId: undefined });
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, bobsLongTermKeys(bob), stripped), DecryptionError);
      // Nor does another one-time prekey relabelled with the deleted one's id.
      const impostor = { id: pm.oneTimePreKeyId!, keyPair: bob.oneTimePreKeys[1]!.keyPair };
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, { ...bobsLongTermKeys(bob), oneTimePreKey: impostor }, first), DecryptionError);
      // Control: with the one-time prekey still present the same call succeeds.
      const ok = decryptPreKeyMessage(ctx, undefined, bob.identity, { ...bobsLongTermKeys(bob), oneTimePreKey: bob.oneTimePreKeys[0] }, first);
      expect(dec(ok.plaintext)).toBe('hello bob');
    });

    it('without a one-time prekey: the first flight rests on the signed prekey, and is safe once it is rotated away', () => {
      const { first } = establish(ctx, alice, bob, { oneTime: false, lastResort: true });
      // The known PQXDH limitation: identity + signed prekey + last-resort PQ key re-derive it ...
      expect(dec(decryptPreKeyMessage(ctx, undefined, bob.identity, bobsLongTermKeys(bob), first).plaintext)).toBe('hello bob');
      // ... until the signed prekey is rotated and the old one deleted.
      const rotated = generateSignedPreKey(ctx, bob.identity, bob.signedPreKey.id + 1, 0);
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, { ...bobsLongTermKeys(bob), signedPreKey: rotated }, first), InvalidPrekeyError);
      const relabelled = { id: bob.signedPreKey.id, keyPair: rotated.keyPair };
      expectThrowsOneOf(() => decryptPreKeyMessage(ctx, undefined, bob.identity, { ...bobsLongTermKeys(bob), signedPreKey: relabelled }, first), [DecryptionError]);
    });
  });
});
