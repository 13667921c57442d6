/**
 * Session records (protocol.md §7): the encoding round trip is byte-exact and
 * behaviour-exact (a restored record continues the conversation exactly as the
 * original would, given the same randomness: the engine keeps nothing outside
 * the record); versions and structure are checked; previous states carry late
 * messages after a session is replaced, and are bounded.
 */
import { describe, expect, it } from 'vitest';
import {
  DecodeError, DecryptionError, DuplicateMessageError, MAX_PREVIOUS_STATES, MAX_RECEIVING_CHAINS, NoSessionError, SESSION_RECORD_VERSION,
  UnsupportedVersionError, EMPTY_SESSION_RECORD,
  decodeSessionRecord, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage, initiateSession,
  messageType, parsePreKeyMessage,
  type ProtocolContext, type SessionRecord,
} from '../src/index.js';
import { SessionRecordStructureSchema } from '../src/gen/sigilo/protocol/v1/storage_pb.js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { bundleOf, context, makeParty, providers, responderKeys, seededRandom } from './support/fixtures.js';
import { bytesHex, dec, enc, establish, exchange, expectRejectedUnchanged, expectThrows, roundTripRecord } from './support/sessions.js';

/** A JSON-comparable view of a record: bytes as hex, every field kept. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return bytesHex(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

function reencode(bytes: Uint8Array, change: (m: ReturnType<typeof fromBinary<typeof SessionRecordStructureSchema>>) => void): Uint8Array {
  const m = fromBinary(SessionRecordStructureSchema, bytes);
  change(m);
  return toBinary(SessionRecordStructureSchema, m);
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('session records ($name)', ({ crypto }) => {
  const ctx = context(crypto, `record/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);

  /** Records in many shapes: empty, pending initiator, fresh responder, skipped keys, old chains, previous states. */
  function sampleRecords(): [string, SessionRecord][] {
    const out: [string, SessionRecord][] = [['empty', EMPTY_SESSION_RECORD]];
    let { a, b } = establish(ctx, alice, bob);
    out.push(['initiator, pending', a], ['responder, fresh', b]);
    const held: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const s = encryptMessage(ctx, b, enc(`held ${i}`));
      b = s.record;
      held.push(s.message);
    }
    a = decryptMessage(ctx, a, held[2]!).record; // two skipped keys
    out.push(['with skipped keys', a]);
    for (let i = 0; i < MAX_RECEIVING_CHAINS + 1; i++) {
      ({ from: a, to: b } = exchange(ctx, a, b, `a${i}`));
      ({ from: b, to: a } = exchange(ctx, b, a, `b${i}`));
    }
    out.push(['many chains', a], ['many chains, responder', b]);
    const again = establish(ctx, alice, bob, { existingA: a, existingB: b });
    out.push(['with a previous state', again.a], ['responder with a previous state', again.b]);
    return out;
  }

  it('encode → decode → encode is byte-exact, and decode keeps every field', () => {
    for (const [name, record] of sampleRecords()) {
      const bytes = encodeSessionRecord(record);
      const decoded = decodeSessionRecord(bytes);
      expect(bytesHex(encodeSessionRecord(decoded)), name).toBe(bytesHex(bytes));
      expect(plain(decoded), name).toEqual(plain(record));
    }
    expect(decodeSessionRecord(encodeSessionRecord(EMPTY_SESSION_RECORD))).toEqual({ current: undefined, previous: [] });
  });

  it('a restored record continues the conversation exactly as the original, given the same randomness', () => {
    // One script, run twice from the same seeds: once keeping objects, once storing and restoring at every step.
    function run(restore: boolean): string[] {
      const ctxA: ProtocolContext = { crypto, random: seededRandom('behaviour/a') };
      const ctxB: ProtocolContext = { crypto, random: seededRandom('behaviour/b') };
      const keep = (r: SessionRecord) => (restore ? roundTripRecord(r) : r);
      const log: string[] = [];
      let a = keep(initiateSession(ctxA, alice.identity, bundleOf(bob)));
      let b: SessionRecord | undefined;
      const script = ['A', 'A', 'B', 'A', 'B', 'B', 'A', 'A', 'A', 'B'] as const;
      const pendingForB: Uint8Array[] = [];
      script.forEach((who, i) => {
        if (who === 'A') {
          const s = encryptMessage(ctxA, a, enc(`a${i}`));
          a = keep(s.record);
          log.push(bytesHex(s.message));
          pendingForB.push(s.message);
          if (i % 2 === 0) return; // some of Alice's messages wait, to be delivered out of order
        } else {
          const s = encryptMessage(ctxB, b!, enc(`b${i}`));
          b = keep(s.record);
          log.push(bytesHex(s.message));
          const d = decryptMessage(ctxA, a, s.message);
          a = keep(d.record);
          log.push(dec(d.plaintext));
        }
        while (pendingForB.length > 0) {
          const m = pendingForB.pop()!; // newest first
          const d = messageType(m) === 'prekey'
            ? decryptPreKeyMessage(ctxB, b, bob.identity, responderKeys(bob, parsePreKeyMessage(m)), m)
            : decryptMessage(ctxB, b, m);
          b = keep(d.record);
          log.push(dec(d.plaintext));
        }
      });
      log.push(bytesHex(encodeSessionRecord(a)), bytesHex(encodeSessionRecord(b!)));
      return log;
    }
    const kept = run(false);
    const restored = run(true);
    expect(restored).toEqual(kept);
    // And running it again gives the same transcript: nothing is remembered between calls.
    expect(run(true)).toEqual(kept);
  });

  it('the same call on the same record with the same randomness gives the same result', () => {
    const { a, b } = establish(ctx, alice, bob, { reply: true });
    const m = encryptMessage(ctx, b, enc('ratchet step')).message;
    const one = decryptMessage({ crypto, random: seededRandom('same') }, a, m);
    const two = decryptMessage({ crypto, random: seededRandom('same') }, roundTripRecord(a), m);
    expect(bytesHex(encodeSessionRecord(two.record))).toBe(bytesHex(encodeSessionRecord(one.record)));
  });

  describe('version and structure', () => {
    const { a } = establish(ctx, alice, bob, { reply: true });
    const valid = encodeSessionRecord(a);

    it(`version ${SESSION_RECORD_VERSION} only: others → UnsupportedVersionError`, () => {
      for (const version of [0, 2, 3, 255, 0xffffffff]) {
        expectThrows(() => decodeSessionRecord(reencode(valid, (m) => { m.version = version; })), UnsupportedVersionError, `version ${version}`);
      }
      expectThrows(() => decodeSessionRecord(reencode(encodeSessionRecord(EMPTY_SESSION_RECORD), (m) => { m.version = 2; })), UnsupportedVersionError);
      expect(() => decodeSessionRecord(reencode(valid, (m) => { m.version = 1; }))).not.toThrow();
    });

    it('structural limits and key lengths → DecodeError', () => {
      const state = fromBinary(SessionRecordStructureSchema, valid).current!;
      expectThrows(() => decodeSessionRecord(reencode(valid, (m) => { m.previous = new Array(MAX_PREVIOUS_STATES + 1).fill(state); })), DecodeError, 'too many previous states');
      expect(() => decodeSessionRecord(reencode(valid, (m) => { m.previous = new Array(MAX_PREVIOUS_STATES).fill(state); }))).not.toThrow();
      expectThrows(() => decodeSessionRecord(reencode(valid, (m) => { m.current!.receivingChains = new Array(MAX_RECEIVING_CHAINS + 1).fill(state.receivingChains[0]); })), DecodeError, 'too many chains');
      const cases: [string, (m: ReturnType<typeof fromBinary<typeof SessionRecordStructureSchema>>) => void][] = [
        ['root key', (m) => { m.current!.rootKey = new Uint8Array(31); }],
        ['sending chain key', (m) => { m.current!.sendingChainKey = new Uint8Array(33); }],
        ['identity', (m) => { m.current!.remoteIdentity = new Uint8Array(32); }],
        ['associated data', (m) => { m.current!.associatedData = new Uint8Array(64); }],
        ['ratchet private key', (m) => { m.current!.sendingRatchetPrivate = new Uint8Array(0); }],
        ['base key', (m) => { m.current!.baseKey = new Uint8Array(0); }],
        ['receiving chain key', (m) => { m.current!.receivingChains[0]!.chainKey = new Uint8Array(16); }],
        ['a previous state', (m) => { m.previous = [{ ...state, rootKey: new Uint8Array(1) }]; }],
      ];
      for (const [what, change] of cases) expectThrows(() => decodeSessionRecord(reencode(valid, change)), DecodeError, what);
    });

    it('an empty record has no session', () => {
      const empty = decodeSessionRecord(encodeSessionRecord(EMPTY_SESSION_RECORD));
      expectThrows(() => encryptMessage(ctx, empty, enc('x')), NoSessionError);
      const m = encryptMessage(ctx, a, enc('x')).message;
      expectThrows(() => decryptMessage(ctx, empty, m), NoSessionError);
      expectThrows(() => decryptMessage(ctx, undefined, m), NoSessionError);
    });
  });

  describe('previous states', () => {
    it('Alice re-initiates while Bob still has the old session; late messages on the old session still decrypt, both ways', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'old session'));
      // In flight on the old session when Alice starts the new one: two from Alice, one from Bob.
      const lateA1 = encryptMessage(ctx, a, enc('late from Alice 1'));
      a = lateA1.record;
      const lateA2 = encryptMessage(ctx, a, enc('late from Alice 2'));
      a = lateA2.record;
      const lateB = encryptMessage(ctx, b, enc('late from Bob'));
      b = lateB.record;
      const oldBase = bytesHex(a.current!.baseKey);

      a = initiateSession(ctx, alice.identity, bundleOf(bob), a);
      expect(a.previous).toHaveLength(1);
      expect(bytesHex(a.previous[0]!.baseKey)).toBe(oldBase);
      const p = encryptMessage(ctx, a, enc('new session'));
      a = p.record;
      expect(messageType(p.message)).toBe('prekey');
      const got = decryptPreKeyMessage(ctx, b, bob.identity, responderKeys(bob, parsePreKeyMessage(p.message)), p.message);
      expect(dec(got.plaintext)).toBe('new session');
      expect(got.consumed).toBeDefined();
      b = roundTripRecord(got.record);
      expect(b.previous).toHaveLength(1);
      expect(bytesHex(b.previous[0]!.baseKey)).toBe(oldBase);

      // The late messages arrive, on the old session, from both sides.
      let d = decryptMessage(ctx, b, lateA2.message);
      expect(dec(d.plaintext)).toBe('late from Alice 2');
      b = roundTripRecord(d.record);
      d = decryptMessage(ctx, a, lateB.message);
      expect(dec(d.plaintext)).toBe('late from Bob');
      a = roundTripRecord(d.record);
      d = decryptMessage(ctx, b, lateA1.message);
      expect(dec(d.plaintext)).toBe('late from Alice 1');
      b = roundTripRecord(d.record);
      // Each side still holds both sessions, and they keep talking.
      expect(a.previous).toHaveLength(1);
      expect(b.previous).toHaveLength(1);
      for (let i = 0; i < 3; i++) {
        ({ from: a, to: b } = exchange(ctx, a, b, `after ${i}`));
        ({ from: b, to: a } = exchange(ctx, b, a, `reply ${i}`));
      }
      // Replays of the late messages are still refused.
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, lateA1.message), [DuplicateMessageError, DecryptionError], 'late replay');
    });

    it(`at most MAX_PREVIOUS_STATES (${MAX_PREVIOUS_STATES}) previous states, oldest dropped`, () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      const oldest = encryptMessage(ctx, a, enc('on the first session'));
      a = oldest.record;
      const bases: string[] = [bytesHex(a.current!.baseKey)];
      for (let i = 0; i < MAX_PREVIOUS_STATES + 1; i++) {
        const next = establish(ctx, alice, bob, { existingA: a, existingB: b });
        a = next.a;
        b = next.b;
        bases.push(bytesHex(a.current!.baseKey));
      }
      expect(a.previous).toHaveLength(MAX_PREVIOUS_STATES);
      expect(b.previous).toHaveLength(MAX_PREVIOUS_STATES);
      // Newest first; the first session is gone from both.
      expect([a.current!, ...a.previous].map((s) => bytesHex(s.baseKey))).toEqual(bases.slice(1).reverse());
      expect([b.current!, ...b.previous].map((s) => bytesHex(s.baseKey))).toEqual(bases.slice(1).reverse());
      expect(bytesHex(encodeSessionRecord(roundTripRecord(b)))).toBe(bytesHex(encodeSessionRecord(b)));
      // A late message on the dropped session is refused with a typed error, nothing changed.
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, oldest.message), DecryptionError, 'dropped session');
    });
  });
});
