/**
 * Post-compromise security: an attacker who copied Alice's record reads her
 * traffic for a while (the compromise is real), but once one round trip with
 * fresh ratchet keys has happened (Bob → Alice, Alice → Bob), the copy, advanced
 * as far as the attacker can advance it, reads nothing new in either direction.
 */
import { describe, expect, it } from 'vitest';
import {
  DecryptionError, ProtocolError, decodeRatchetMessage, decryptMessage, encodeSessionRecord, encryptMessage,
  type ProtocolContext, type SessionRecord,
} from '../src/index.js';
import { context, makeParty, providers, seededRandom } from './support/fixtures.js';
import { dec, enc, establish, exchange, expectRejectedUnchanged, innerRatchetMessage, mirrorOfSender, roundTripRecord } from './support/sessions.js';

/** The record with its current receiving chain relabelled to `ratchetKey`: tries the chain key whatever public key it was announced under. */
function relabelled(record: SessionRecord, ratchetKey: Uint8Array): SessionRecord[] {
  const s = record.current!;
  const [chain, ...rest] = s.receivingChains;
  if (!chain) return [];
  return [{ current: { ...s, receivingChains: [{ ...chain, ratchetKey }, ...rest] }, previous: [] }];
}

/**
 * Everything the attacker tries on one intercepted message, with every record
 * version it has: the copy as it is, its sending chain turned into a receiving
 * chain, and both relabelled to the message's ratchet key.
 */
function attackerReads(ctx: ProtocolContext, copies: readonly SessionRecord[], message: Uint8Array): string | undefined {
  const inner = innerRatchetMessage(message);
  const { ratchetKey } = decodeRatchetMessage(inner);
  for (const copy of copies) {
    const views = [copy, mirrorOfSender(copy), ...relabelled(copy, ratchetKey), ...relabelled(mirrorOfSender(copy), ratchetKey)];
    for (const view of views) {
      try {
        return dec(decryptMessage(ctx, view, inner).plaintext);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }
  }
  return undefined;
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('post-compromise security ($name)', ({ crypto }) => {
  const ctx = context(crypto, `pcs/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  // The attacker runs the engine with its own randomness: it cannot know the keys Alice will generate.
  const attacker: ProtocolContext = { crypto, random: seededRandom(`attacker/${crypto.name}`) };

  for (const when of ['while Alice still sends prekey messages', 'mid-conversation'] as const) {
    it(`a copy of Alice's record taken ${when} stops working after one round trip`, () => {
      let { a, b } = establish(ctx, alice, bob, { reply: when === 'mid-conversation' });
      if (when === 'mid-conversation') {
        ({ from: a, to: b } = exchange(ctx, a, b, 'warm-up 1'));
        ({ from: b, to: a } = exchange(ctx, b, a, 'warm-up 2'));
        ({ from: a, to: b } = exchange(ctx, a, b, 'warm-up 3'));
      }
      const stolen = roundTripRecord(a);

      // The compromise is real: Alice's next message ...
      const a1 = encryptMessage(ctx, a, enc('alice, compromised'));
      a = a1.record;
      expect(attackerReads(attacker, [stolen], a1.message)).toBe('alice, compromised');
      b = exchangeReceive(ctx, b, a1.message);
      // ... and Bob's next message (his new ratchet key meets Alice's stolen one) are readable.
      const b1 = encryptMessage(ctx, b, enc('bob, compromised'));
      b = b1.record;
      const advanced = decryptMessage(attacker, stolen, b1.message); // the attacker advances its copy
      expect(dec(advanced.plaintext)).toBe('bob, compromised');
      a = decryptMessage(ctx, a, b1.message).record; // Alice generates a fresh ratchet key here

      // One round trip with fresh ratchet keys: Alice → Bob on her fresh key, Bob → Alice on his.
      const a2 = encryptMessage(ctx, a, enc('alice, healed'));
      a = a2.record;
      const copies = [stolen, advanced.record];
      expect(attackerReads(attacker, copies, a2.message)).toBeUndefined();
      b = exchangeReceive(ctx, b, a2.message);
      const b2 = encryptMessage(ctx, b, enc('bob, healed'));
      b = b2.record;
      expect(attackerReads(attacker, copies, b2.message)).toBeUndefined();
      a = decryptMessage(ctx, a, b2.message).record;

      // And later traffic in both directions stays closed, whatever the attacker replays into its copies.
      for (let i = 0; i < 3; i++) {
        const x = encryptMessage(ctx, a, enc(`alice ${i}`));
        a = x.record;
        expect(attackerReads(attacker, copies, x.message)).toBeUndefined();
        b = exchangeReceive(ctx, b, x.message);
        const y = encryptMessage(ctx, b, enc(`bob ${i}`));
        b = y.record;
        expect(attackerReads(attacker, copies, y.message)).toBeUndefined();
        a = decryptMessage(ctx, a, y.message).record;
      }
      // The specific failure is an authentication failure, and the attacker's copy is left as it was.
      const z = encryptMessage(ctx, b, enc('bob, last'));
      expectRejectedUnchanged(advanced.record, (r) => decryptMessage(attacker, r, z.message), DecryptionError, 'advanced copy');
      expectRejectedUnchanged(stolen, (r) => decryptMessage(attacker, r, z.message), DecryptionError, 'stolen copy');
      // The healed session itself is fine.
      expect(dec(decryptMessage(ctx, a, z.message).plaintext)).toBe('bob, last');
      // Nothing of the healed state is in the attacker's hands.
      const healed = a.current!;
      for (const copy of copies) {
        const bytes = Buffer.from(encodeSessionRecord(copy));
        expect(bytes.includes(Buffer.from(healed.rootKey))).toBe(false);
        expect(bytes.includes(Buffer.from(healed.sendingRatchet.privateKey))).toBe(false);
      }
    });
  }

  it('without the fresh ratchet keys there is no healing: the attacker keeps reading a one-way stream', () => {
    let { a, b } = establish(ctx, alice, bob, { reply: true });
    const stolen = roundTripRecord(a);
    for (let i = 0; i < 5; i++) {
      const x = encryptMessage(ctx, a, enc(`one-way ${i}`));
      a = x.record;
      b = exchangeReceive(ctx, b, x.message);
      // Until Bob replies, Alice's sending chain is the one the attacker holds.
      expect(attackerReads(attacker, [stolen], x.message)).toBe(`one-way ${i}`);
    }
  });
});

function exchangeReceive(ctx: ProtocolContext, b: SessionRecord, message: Uint8Array): SessionRecord {
  return decryptMessage(ctx, b, innerRatchetMessage(message)).record;
}
