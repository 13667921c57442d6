/**
 * Sender keys (groups.md §3): round trips, every delivery pattern (in order,
 * reordered, dropped, duplicated), replays, tampering, a foreign signing key,
 * the skip bounds, forward secrecy within the chain, and hostile bytes into
 * every decoder. Every failed call must leave the caller's record valid and
 * unchanged; no call modifies its inputs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DecodeError, DuplicateMessageError, InvalidArgumentError, InvalidKeyError, InvalidSignatureError,
  TooManySkippedError, UnsupportedVersionError,
  MAX_SENDER_KEY_FUTURE, MAX_SENDER_KEY_SKIPPED, SENDER_KEY_MESSAGE_BYTE,
  createSenderKey, isOwnSenderKey, processSenderKeyDistribution, senderKeyDecrypt, senderKeyDistribution, senderKeyEncrypt,
  senderKeyMessageDistributionId, senderKeyMessageIteration, senderKeyRecordDistributionId,
  type CryptoProvider,
} from '../src/index.js';
import { SenderKeyDistributionMessageSchema } from '../src/gen/sigilo/protocol/v1/group_pb.js';
import { SenderKeyRecordStructureSchema } from '../src/gen/sigilo/protocol/v1/storage_pb.js';
import { kdfChainKey } from '../src/ratchet/kdf.js';
import { decodeProto, encodeProto } from '../src/proto.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { context, providers } from './support/fixtures.js';
import { bytesHex, containsBytes, dec, enc, expectOnlyProtocolErrors, expectThrows, expectThrowsOneOf } from './support/sessions.js';

/** The sender's record after `n` messages, and those messages. */
function sendMany(ctx: ReturnType<typeof context>, record: Uint8Array, n: number, prefix = 'm') {
  const messages: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const out = senderKeyEncrypt(ctx, record, enc(`${prefix}${i}`));
    record = out.record;
    messages.push(out.message);
  }
  return { record, messages };
}

/** A failed decrypt must throw `cls` and leave the record bytes identical. */
function expectRejected(ctx: ReturnType<typeof context>, record: Uint8Array, message: Uint8Array, cls: Parameters<typeof expectThrows>[1] | readonly Parameters<typeof expectThrows>[1][], what = '') {
  const before = record.slice();
  const msgBefore = message.slice();
  if (Array.isArray(cls)) expectThrowsOneOf(() => senderKeyDecrypt(ctx, record, message), cls, what);
  else expectThrows(() => senderKeyDecrypt(ctx, record, message), cls as Parameters<typeof expectThrows>[1], what);
  expect(bytesHex(record), `${what}: record changed`).toBe(bytesHex(before));
  expect(bytesHex(message), `${what}: message changed`).toBe(bytesHex(msgBefore));
}

/** An owner record moved to `iteration` without encrypting (test shortcut: the chain is derived directly). */
function ownRecordAt(crypto: CryptoProvider, record: Uint8Array, iteration: number): Uint8Array {
  const r = decodeProto(SenderKeyRecordStructureSchema, record, 'record');
  let ck = r.chainKey;
  for (let i = r.iteration; i < iteration; i++) ck = kdfChainKey(crypto, ck).chainKey;
  return encodeProto(SenderKeyRecordStructureSchema, { ...r, chainKey: ck, iteration });
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('sender keys ($name)', ({ crypto }) => {
  const ctx = context(crypto, `sender-key/${crypto.name}`);

  it('round trip: the receiver decrypts what the owner encrypts, in order', () => {
    const own = createSenderKey(ctx);
    expect(own.distributionId.length).toBe(16);
    expect(isOwnSenderKey(own.record)).toBe(true);
    const got = processSenderKeyDistribution(ctx, own.distribution);
    expect(bytesHex(got.distributionId)).toBe(bytesHex(own.distributionId));
    expect(got.iteration).toBe(0);
    expect(isOwnSenderKey(got.record)).toBe(false);
    expect(bytesHex(senderKeyRecordDistributionId(got.record))).toBe(bytesHex(own.distributionId));
    let rx = got.record;
    const { messages } = sendMany(ctx, own.record, 5);
    messages.forEach((m, i) => {
      expect(m[0]).toBe(SENDER_KEY_MESSAGE_BYTE);
      expect(bytesHex(senderKeyMessageDistributionId(m))).toBe(bytesHex(own.distributionId));
      expect(senderKeyMessageIteration(m)).toBe(i);
      const out = senderKeyDecrypt(ctx, rx, m);
      expect(dec(out.plaintext)).toBe(`m${i}`);
      rx = out.record;
    });
  });

  it('an empty and a large plaintext round-trip; the message is the plaintext plus 101 bytes', () => {
    const own = createSenderKey(ctx);
    let rx = processSenderKeyDistribution(ctx, own.distribution).record;
    let tx = own.record;
    for (const size of [0, 1, 65_536]) {
      const pt = new Uint8Array(size).map((_, i) => i * 7);
      const out = senderKeyEncrypt(ctx, tx, pt);
      tx = out.record;
      expect(out.message.length).toBe(size + 101);
      const d = senderKeyDecrypt(ctx, rx, out.message);
      rx = d.record;
      expect(bytesHex(d.plaintext)).toBe(bytesHex(pt));
    }
  });

  it('a replay is DuplicateMessageError and leaves the record unchanged', () => {
    const own = createSenderKey(ctx);
    let rx = processSenderKeyDistribution(ctx, own.distribution).record;
    const { messages } = sendMany(ctx, own.record, 3);
    rx = senderKeyDecrypt(ctx, rx, messages[2]!).record; // 0 and 1 are now skipped keys
    rx = senderKeyDecrypt(ctx, rx, messages[0]!).record;
    for (const m of [messages[0]!, messages[2]!]) expectRejected(ctx, rx, m, DuplicateMessageError, 'replay');
    expect(dec(senderKeyDecrypt(ctx, rx, messages[1]!).plaintext)).toBe('m1');
  });

  it('a message signed by another key is InvalidSignatureError (distribution with a foreign signing key)', () => {
    const own = createSenderKey(ctx);
    const d = decodeProto(SenderKeyDistributionMessageSchema, own.distribution, 'd');
    const otherSeed = ctx.random(32);
    const forged = encodeProto(SenderKeyDistributionMessageSchema, { ...d, signingKey: crypto.ed25519PublicKey(otherSeed) });
    const rx = processSenderKeyDistribution(ctx, forged).record;
    const { messages } = sendMany(ctx, own.record, 1);
    expectRejected(ctx, rx, messages[0]!, InvalidSignatureError, 'foreign key in the distribution');

    // And the other way: a message made with the right chain but signed with another key.
    const rogueOwn = encodeProto(SenderKeyRecordStructureSchema, {
      ...decodeProto(SenderKeyRecordStructureSchema, own.record, 'r'), signingPrivate: otherSeed, signingPublic: crypto.ed25519PublicKey(otherSeed),
    });
    const rogue = senderKeyEncrypt(ctx, rogueOwn, enc('not from the owner')).message;
    const honest = processSenderKeyDistribution(ctx, own.distribution).record;
    expectRejected(ctx, honest, rogue, InvalidSignatureError, 'message signed by another key');
  });

  it('every flipped bit of a message is rejected without touching the record', () => {
    const own = createSenderKey(ctx);
    const rx = processSenderKeyDistribution(ctx, own.distribution).record;
    const m = senderKeyEncrypt(ctx, own.record, enc('flip')).message;
    // node: every bit; portable (slower verification): every byte, one bit each.
    const bits = crypto === nodeCrypto ? [0, 1, 2, 3, 4, 5, 6, 7] : [5];
    for (let i = 0; i < m.length; i++) {
      for (const bit of bits) {
        const bad = m.slice();
        bad[i]! ^= 1 << bit;
        expectRejected(ctx, rx, bad, [InvalidSignatureError, DecodeError, UnsupportedVersionError, InvalidArgumentError], `byte ${i} bit ${bit}`);
      }
    }
    expect(dec(senderKeyDecrypt(ctx, rx, m).plaintext)).toBe('flip');
  });

  it('truncated and extended messages are rejected', () => {
    const own = createSenderKey(ctx);
    const rx = processSenderKeyDistribution(ctx, own.distribution).record;
    const m = senderKeyEncrypt(ctx, own.record, enc('cut')).message;
    for (let n = 0; n < m.length; n++) expectRejected(ctx, rx, m.subarray(0, n), [DecodeError, InvalidSignatureError], `prefix ${n}`);
    const longer = new Uint8Array(m.length + 1);
    longer.set(m);
    expectRejected(ctx, rx, longer, InvalidSignatureError, 'extended');
  });

  it('the skip bound: at most MAX_SENDER_KEY_FUTURE iterations ahead; skipped keys kept up to MAX_SENDER_KEY_SKIPPED', () => {
    expect(MAX_SENDER_KEY_FUTURE).toBe(2000);
    expect(MAX_SENDER_KEY_SKIPPED).toBe(2000);
    const own = createSenderKey(ctx);
    const rx0 = processSenderKeyDistribution(ctx, own.distribution).record;
    const at = (n: number) => senderKeyEncrypt(ctx, ownRecordAt(crypto, own.record, n), enc(`at ${n}`)).message;
    expectRejected(ctx, rx0, at(2001), TooManySkippedError, '2001 ahead');
    let rx = senderKeyDecrypt(ctx, rx0, at(2000)).record; // keys 0..1999 kept
    rx = senderKeyDecrypt(ctx, rx, at(4000)).record;      // 1999 more: the oldest 1999 are evicted
    expectRejected(ctx, rx, at(0), DuplicateMessageError, 'evicted key');
    expectRejected(ctx, rx, at(1998), DuplicateMessageError, 'evicted key');
    expect(dec(senderKeyDecrypt(ctx, rx, at(1999)).plaintext)).toBe('at 1999');
    expect(dec(senderKeyDecrypt(ctx, rx, at(3999)).plaintext)).toBe('at 3999');
  });

  it('forward secrecy: a record never holds the keys of messages it consumed, nor earlier chain keys', () => {
    const own = createSenderKey(ctx);
    const initial = decodeProto(SenderKeyRecordStructureSchema, own.record, 'r').chainKey;
    const chain: Uint8Array[] = [initial];
    const mkeys: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) {
      const s = kdfChainKey(crypto, chain[i]!);
      mkeys.push(s.messageKey);
      chain.push(s.chainKey);
    }
    const { record: sender, messages } = sendMany(ctx, own.record, 6);
    let rx = processSenderKeyDistribution(ctx, own.distribution).record;
    for (let i = 0; i < 4; i++) rx = senderKeyDecrypt(ctx, rx, messages[i]!).record;
    for (let i = 0; i < 4; i++) {
      expect(containsBytes(rx, mkeys[i]!), `message key ${i} still in the record`).toBe(false);
      expect(containsBytes(rx, chain[i]!), `chain key ${i} still in the record`).toBe(false);
      expectRejected(ctx, rx, messages[i]!, DuplicateMessageError, `consumed ${i}`);
    }
    expect(containsBytes(sender, chain[5]!)).toBe(false); // the owner moved on too

    // A record made from a later distribution (iteration 4) cannot open 0..3.
    const later = processSenderKeyDistribution(ctx, senderKeyDistribution(ownRecordAt(crypto, own.record, 4)));
    expect(later.iteration).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(containsBytes(later.record, chain[i]!)).toBe(false);
      expectRejected(ctx, later.record, messages[i]!, DuplicateMessageError, `before the distribution ${i}`);
    }
    expect(dec(senderKeyDecrypt(ctx, later.record, messages[5]!).plaintext)).toBe('m5');
  });

  it('a distribution for a record already held keeps that record (no replay reopened); another signing key is refused', () => {
    const own = createSenderKey(ctx);
    let rx = processSenderKeyDistribution(ctx, own.distribution).record;
    const { messages } = sendMany(ctx, own.record, 3);
    for (const m of messages) rx = senderKeyDecrypt(ctx, rx, m).record;
    const again = processSenderKeyDistribution(ctx, own.distribution, rx);
    expect(bytesHex(again.record)).toBe(bytesHex(rx));
    expect(again.iteration).toBe(3);
    expectRejected(ctx, again.record, messages[0]!, DuplicateMessageError, 'replay after re-distribution');
    const d = decodeProto(SenderKeyDistributionMessageSchema, own.distribution, 'd');
    const other = encodeProto(SenderKeyDistributionMessageSchema, { ...d, signingKey: crypto.ed25519PublicKey(ctx.random(32)) });
    expectThrows(() => processSenderKeyDistribution(ctx, other, rx), InvalidKeyError, 'conflicting key');
    const stranger = createSenderKey(ctx);
    expectThrows(() => processSenderKeyDistribution(ctx, stranger.distribution, rx), InvalidArgumentError, 'another distribution id');
  });

  it('roles: the owner record encrypts and distributes, a receiver record only decrypts; records of other keys are refused', () => {
    const own = createSenderKey(ctx);
    const rx = processSenderKeyDistribution(ctx, own.distribution).record;
    expectThrows(() => senderKeyEncrypt(ctx, rx, enc('x')), InvalidArgumentError, 'receiver encrypts');
    expectThrows(() => senderKeyDistribution(rx), InvalidArgumentError, 'receiver distributes');
    const m = senderKeyEncrypt(ctx, own.record, enc('x')).message;
    expectThrows(() => senderKeyDecrypt(ctx, own.record, m), InvalidArgumentError, 'owner decrypts');
    const other = processSenderKeyDistribution(ctx, createSenderKey(ctx).distribution).record;
    expectRejected(ctx, other, m, InvalidArgumentError, 'another sender key');
    expect(bytesHex(senderKeyDistribution(own.record))).toBe(bytesHex(own.distribution));
  });

  it('an exhausted chain refuses to encrypt', () => {
    const own = createSenderKey(ctx);
    const r = decodeProto(SenderKeyRecordStructureSchema, own.record, 'r');
    const last = encodeProto(SenderKeyRecordStructureSchema, { ...r, iteration: 0xfffffffe });
    const out = senderKeyEncrypt(ctx, last, enc('last'));
    expectThrows(() => senderKeyEncrypt(ctx, out.record, enc('one too many')), InvalidArgumentError);
  });

  it('no function modifies its inputs', () => {
    const own = createSenderKey(ctx);
    const ownBefore = own.record.slice();
    const distBefore = own.distribution.slice();
    const rx = processSenderKeyDistribution(ctx, own.distribution).record;
    const rxBefore = rx.slice();
    const pt = enc('do not touch');
    const out = senderKeyEncrypt(ctx, own.record, pt);
    const msgBefore = out.message.slice();
    senderKeyDecrypt(ctx, rx, out.message);
    senderKeyDistribution(own.record);
    expect(bytesHex(own.record)).toBe(bytesHex(ownBefore));
    expect(bytesHex(own.distribution)).toBe(bytesHex(distBefore));
    expect(bytesHex(rx)).toBe(bytesHex(rxBefore));
    expect(bytesHex(out.message)).toBe(bytesHex(msgBefore));
    expect(dec(pt)).toBe('do not touch');
  });
});

describe('sender keys across providers and delivery orders', () => {
  it('node encrypts, portable decrypts, and the reverse', () => {
    for (const [a, b] of [[providers[0]!, providers[1]!], [providers[1]!, providers[0]!]] as const) {
      const ca = context(a, 'x-a');
      const cb = context(b, 'x-b');
      const own = createSenderKey(ca);
      let rx = processSenderKeyDistribution(cb, own.distribution).record;
      const { messages } = sendMany(ca, own.record, 3);
      for (const [i, m] of messages.entries()) {
        const out = senderKeyDecrypt(cb, rx, m);
        expect(dec(out.plaintext)).toBe(`m${i}`);
        rx = out.record;
      }
    }
  });

  it('property: in order, reordered, dropped and duplicated deliveries: each message opens exactly once, duplicates are refused unchanged', () => {
    const scenario = fc.record({
      count: fc.integer({ min: 1, max: 40 }),
      deliveries: fc.array(fc.nat(), { maxLength: 80 }),
      seed: fc.nat(),
    });
    fc.assert(fc.property(scenario, ({ count, deliveries, seed }) => {
      const ctx = context(nodeCrypto, `prop/${seed}`);
      const own = createSenderKey(ctx);
      const { messages } = sendMany(ctx, own.record, count);
      let rx = processSenderKeyDistribution(ctx, own.distribution).record;
      const opened = new Set<number>();
      for (const pick of deliveries) {
        const i = pick % count;
        if (opened.has(i)) {
          expectRejected(ctx, rx, messages[i]!, DuplicateMessageError, `duplicate ${i}`);
        } else {
          const out = senderKeyDecrypt(ctx, rx, messages[i]!);
          expect(dec(out.plaintext)).toBe(`m${i}`);
          rx = out.record;
          opened.add(i);
        }
      }
      // Whatever was dropped so far still opens afterwards, each once.
      for (let i = 0; i < count; i++) {
        if (opened.has(i)) continue;
        const out = senderKeyDecrypt(ctx, rx, messages[i]!);
        expect(dec(out.plaintext)).toBe(`m${i}`);
        rx = out.record;
      }
      for (let i = 0; i < count; i++) expectRejected(ctx, rx, messages[i]!, DuplicateMessageError, `after all ${i}`);
    }), { numRuns: 60 });
  });
});

describe('sender key decoders take hostile bytes', () => {
  const ctx = context(nodeCrypto, 'sender-key-decoders');
  const own = createSenderKey(ctx);
  const rx = processSenderKeyDistribution(ctx, own.distribution).record;
  const message = senderKeyEncrypt(ctx, own.record, enc('hostile')).message;
  const cases: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ['distribution', own.distribution, (b) => processSenderKeyDistribution(ctx, b)],
    ['distribution with existing', own.distribution, (b) => processSenderKeyDistribution(ctx, own.distribution, b)],
    ['own record (encrypt)', own.record, (b) => senderKeyEncrypt(ctx, b, enc('x'))],
    ['own record (distribution)', own.record, (b) => senderKeyDistribution(b)],
    ['receiver record (decrypt)', rx, (b) => senderKeyDecrypt(ctx, b, message)],
    ['message (decrypt)', message, (b) => senderKeyDecrypt(ctx, rx, b)],
    ['message (distribution id)', message, (b) => senderKeyMessageDistributionId(b)],
  ];

  it.each(cases)('%s: every truncated prefix gives a typed error', (_name, valid, fn) => {
    for (let n = 0; n < valid.length; n++) {
      expectOnlyProtocolErrors(() => fn(valid.subarray(0, n)), `prefix ${n}`);
    }
  });

  it.each(cases)('%s: random bytes and random edits give only typed errors', (_name, valid, fn) => {
    const edited = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const out = valid.slice();
      out[at % out.length] = v;
      return out;
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), edited), (bytes) => {
      expectOnlyProtocolErrors(() => fn(bytes), 'hostile');
    }), { numRuns: 200 });
  });

  it('an unknown record or distribution version is UnsupportedVersionError; other lengths are DecodeError or InvalidKeyError', () => {
    const r = decodeProto(SenderKeyRecordStructureSchema, own.record, 'r');
    expectThrows(() => senderKeyEncrypt(ctx, encodeProto(SenderKeyRecordStructureSchema, { ...r, version: 2 }), enc('x')), UnsupportedVersionError);
    expectThrows(() => senderKeyEncrypt(ctx, encodeProto(SenderKeyRecordStructureSchema, { ...r, chainKey: new Uint8Array(31) }), enc('x')), DecodeError);
    const d = decodeProto(SenderKeyDistributionMessageSchema, own.distribution, 'd');
    expectThrows(() => processSenderKeyDistribution(ctx, encodeProto(SenderKeyDistributionMessageSchema, { ...d, version: 2 })), UnsupportedVersionError);
    expectThrows(() => processSenderKeyDistribution(ctx, encodeProto(SenderKeyDistributionMessageSchema, { ...d, distributionId: new Uint8Array(15) })), DecodeError);
    expectThrows(() => processSenderKeyDistribution(ctx, encodeProto(SenderKeyDistributionMessageSchema, { ...d, signingKey: new Uint8Array(33) })), InvalidKeyError);
    const v2 = message.slice();
    v2[0] = 0x23;
    expectThrows(() => senderKeyMessageDistributionId(v2), UnsupportedVersionError);
    const ratchetType = message.slice();
    ratchetType[0] = 0x11;
    expectThrows(() => senderKeyMessageDistributionId(ratchetType), DecodeError);
  });
});
