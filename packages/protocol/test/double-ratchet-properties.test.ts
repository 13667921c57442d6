/**
 * Property tests of the Double Ratchet between two parties: random interleavings
 * of sends in both directions, with delivery reordered (within a window far
 * below MAX_SKIP_PER_CHAIN), dropped and duplicated. Every record is stored as
 * bytes and decoded again before each step, as a real store would.
 *
 * Properties:
 *  - every delivered (non-dropped) message decrypts exactly once, content intact;
 *  - every duplicate delivery is rejected with a typed error and leaves the
 *    record unchanged: DuplicateMessageError while the recipient still remembers
 *    the message's chain (MAX_RECEIVING_CHAINS chains per session);
 *  - no call, successful or not, modifies the record object it was given.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  DecryptionError, DuplicateMessageError, MAX_RECEIVING_CHAINS, MAX_SKIP_PER_CHAIN, TooManySkippedError,
  bytesEqual, decodeRatchetMessage, decodeSessionRecord, decryptMessage, decryptPreKeyMessage, encodeSessionRecord,
  encryptMessage, initiateSession, messageType,
  type ResponderKeys, type SessionRecord,
} from '../src/index.js';
import { bundleOf, makeParty, providers, seededRandom, type Party } from './support/fixtures.js';
import { bytesHex, expectRejectedUnchanged, innerRatchetMessage } from './support/sessions.js';

type Side = 'A' | 'B';
type Dir = 'AB' | 'BA';
type Action =
  | { readonly t: 'send'; readonly from: Side; readonly len: number }
  | { readonly t: 'deliver'; readonly dir: Dir; readonly pick: number }
  | { readonly t: 'drop'; readonly dir: Dir; readonly pick: number }
  | { readonly t: 'dup'; readonly dir: Dir; readonly pick: number };

/** Delivery picks among the oldest WINDOW in-flight messages: bounded reordering. */
const WINDOW = 12;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('send' as const), from: fc.constantFrom<Side>('A', 'B'), len: fc.nat(40) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('deliver' as const), dir: fc.constantFrom<Dir>('AB', 'BA'), pick: fc.nat(WINDOW - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), dir: fc.constantFrom<Dir>('AB', 'BA'), pick: fc.nat(WINDOW - 1) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('dup' as const), dir: fc.constantFrom<Dir>('AB', 'BA'), pick: fc.nat(1000) }) },
);

const scenarioArb = fc.record({
  seed: fc.nat(),
  oneTime: fc.boolean(),
  lastResort: fc.boolean(),
  actions: fc.array(actionArb, { minLength: 1, maxLength: 90 }),
  flushReversed: fc.boolean(),
});

interface Sent {
  readonly id: number;
  readonly dir: Dir;
  readonly bytes: Uint8Array;
  readonly plaintext: Uint8Array;
}

function content(from: Side, id: number, len: number): Uint8Array {
  const head = new TextEncoder().encode(`${from}#${id}|`);
  const out = new Uint8Array(head.length + len);
  out.set(head);
  for (let i = 0; i < len; i++) out[head.length + i] = (id * 131 + i * 7 + len) & 0xff;
  return out;
}

/** Does `record` still know the receiving chain (or the session) `message` belongs to? */
function remembersChain(record: SessionRecord, message: Uint8Array): boolean {
  const { ratchetKey } = decodeRatchetMessage(innerRatchetMessage(message));
  const states = [...(record.current ? [record.current] : []), ...record.previous];
  return states.some((s) => s.receivingChains.some((c) => bytesEqual(c.ratchetKey, ratchetKey)));
}

class Conversation {
  readonly ctxA;
  readonly ctxB;
  recA: Uint8Array;
  recB: Uint8Array | undefined;
  bobKeys: ResponderKeys;
  readonly flight: Record<Dir, Sent[]> = { AB: [], BA: [] };
  readonly delivered: Record<Dir, Sent[]> = { AB: [], BA: [] };
  readonly decrypted = new Set<number>();
  readonly dropped = new Set<number>();
  nextId = 0;
  sent = 0;
  duplicates = 0;
  forgottenDuplicates = 0;

  constructor(readonly crypto: CryptoProvider, readonly alice: Party, readonly bob: Party, seed: number, oneTime: boolean, lastResort: boolean) {
    this.ctxA = { crypto, random: seededRandom(`A/${seed}`) };
    this.ctxB = { crypto, random: seededRandom(`B/${seed}`) };
    this.recA = encodeSessionRecord(initiateSession(this.ctxA, alice.identity, bundleOf(bob, { oneTime, lastResort })));
    this.recB = undefined;
    this.bobKeys = {
      signedPreKey: bob.signedPreKey,
      oneTimePreKey: oneTime ? bob.oneTimePreKeys[0] : undefined,
      pqPreKey: lastResort ? bob.lastResortPqPreKey : bob.pqPreKey,
    };
  }

  /** Loads a stored record, runs `op`, checks `op` did not modify the loaded object, stores the result. */
  private step<T extends { record: SessionRecord }>(side: Side, op: (r: SessionRecord | undefined) => T): T {
    const stored = side === 'A' ? this.recA : this.recB;
    const loaded = stored ? decodeSessionRecord(stored) : undefined;
    const out = op(loaded);
    if (stored && loaded) expect(bytesHex(encodeSessionRecord(loaded)), 'input record was modified').toBe(bytesHex(stored));
    const encoded = encodeSessionRecord(out.record);
    // The stored form restores to a record that encodes identically.
    expect(bytesHex(encodeSessionRecord(decodeSessionRecord(encoded)))).toBe(bytesHex(encoded));
    if (side === 'A') this.recA = encoded;
    else this.recB = encoded;
    return out;
  }

  send(from: Side, len: number): void {
    if (from === 'B' && !this.recB) return; // Bob cannot write before he has a session
    const id = this.nextId++;
    const plaintext = content(from, id, len);
    const out = this.step(from, (r) => encryptMessage(from === 'A' ? this.ctxA : this.ctxB, r!, plaintext));
    const dir: Dir = from === 'A' ? 'AB' : 'BA';
    this.flight[dir].push({ id, dir, bytes: out.message, plaintext });
    this.sent++;
  }

  private receive(m: Sent, r: SessionRecord | undefined) {
    if (m.dir === 'BA') return decryptMessage(this.ctxA, r, m.bytes);
    if (messageType(m.bytes) === 'prekey') {
      return decryptPreKeyMessage(this.ctxB, r, this.bob.identity, this.bobKeys, m.bytes);
    }
    return decryptMessage(this.ctxB, r, m.bytes);
  }

  deliver(dir: Dir, pick: number): void {
    const queue = this.flight[dir];
    if (queue.length === 0) return;
    const [m] = queue.splice(pick % Math.min(WINDOW, queue.length), 1);
    const out = this.step(dir === 'AB' ? 'B' : 'A', (r) => this.receive(m!, r));
    expect(bytesHex(out.plaintext), `message ${m!.id} content`).toBe(bytesHex(m!.plaintext));
    expect(this.decrypted.has(m!.id), `message ${m!.id} decrypted twice`).toBe(false);
    this.decrypted.add(m!.id);
    if (dir === 'AB' && 'consumed' in out && out.consumed) {
      // The application deletes the one-time prekeys a new session used (the last-resort PQ key stays).
      expect(out.consumed.oneTimePreKeyId).toBe(this.bobKeys.oneTimePreKey?.id);
      expect(out.consumed.pqPreKeyId).toBe(this.bobKeys.pqPreKey?.id);
      this.bobKeys = { ...this.bobKeys, oneTimePreKey: undefined, pqPreKey: this.bobKeys.pqPreKey === this.bob.lastResortPqPreKey ? this.bob.lastResortPqPreKey : undefined };
    }
    this.delivered[dir].push(m!);
  }

  drop(dir: Dir, pick: number): void {
    const queue = this.flight[dir];
    if (queue.length === 0) return;
    const [m] = queue.splice(pick % Math.min(WINDOW, queue.length), 1);
    this.dropped.add(m!.id);
  }

  duplicate(dir: Dir, pick: number): void {
    const done = this.delivered[dir];
    if (done.length === 0) return;
    const m = done[pick % done.length]!;
    const side: Side = dir === 'AB' ? 'B' : 'A';
    const stored = (side === 'A' ? this.recA : this.recB)!;
    const record = decodeSessionRecord(stored);
    this.duplicates++;
    if (remembersChain(record, m.bytes)) {
      expectRejectedUnchanged(record, (r) => this.receive(m, r), DuplicateMessageError, `duplicate of message ${m.id}`);
    } else {
      // The chain has dropped out of the remembered ones: still rejected, but the
      // engine can no longer tell a replay from a forgery.
      this.forgottenDuplicates++;
      expectRejectedUnchanged(record, (r) => this.receive(m, r), [DuplicateMessageError, DecryptionError, TooManySkippedError], `old duplicate of message ${m.id}`);
    }
    expect(bytesHex(encodeSessionRecord(record))).toBe(bytesHex(stored));
  }

  run(actions: readonly Action[], flushReversed: boolean): void {
    for (const a of actions) {
      if (a.t === 'send') this.send(a.from, a.len);
      else if (a.t === 'deliver') this.deliver(a.dir, a.pick);
      else if (a.t === 'drop') this.drop(a.dir, a.pick);
      else this.duplicate(a.dir, a.pick);
    }
    // Deliver whatever is still in flight (Bob's first, then Alice's, or the reverse).
    const order: Dir[] = flushReversed ? ['BA', 'AB'] : ['AB', 'BA'];
    for (const dir of order) while (this.flight[dir].length > 0) this.deliver(dir, flushReversed ? WINDOW - 1 : 0);
    expect(this.decrypted.size + this.dropped.size).toBe(this.sent);
    // And both still talk afterwards.
    this.send('A', 3);
    this.deliver('AB', 0);
    this.send('B', 3);
    this.deliver('BA', 0);
    this.duplicate('AB', this.delivered.AB.length - 1);
    this.duplicate('BA', this.delivered.BA.length - 1);
  }
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('Double Ratchet properties ($name)', ({ crypto }) => {
  const numRuns = crypto.name === 'node' ? 150 : 30;
  const pool = { crypto, random: seededRandom(`parties/${crypto.name}`) };
  const alice = makeParty(pool);
  const bob = makeParty(pool);

  it('reordering stays within the per-chain skip bound', () => {
    // The largest gap a run can create is bounded by the number of messages in it.
    expect(90 + 4).toBeLessThan(MAX_SKIP_PER_CHAIN);
  });

  it('every delivered message decrypts exactly once, intact; duplicates are rejected without touching the record', () => {
    let duplicates = 0;
    let forgotten = 0;
    fc.assert(
      fc.property(scenarioArb, ({ seed, oneTime, lastResort, actions, flushReversed }) => {
        const conv = new Conversation(crypto, alice, bob, seed, oneTime, lastResort);
        conv.run(actions, flushReversed);
        duplicates += conv.duplicates;
        forgotten += conv.forgottenDuplicates;
      }),
      { numRuns },
    );
    // The property exercised what it claims to: duplicates happened, mostly on remembered chains.
    expect(duplicates).toBeGreaterThan(numRuns);
    expect(forgotten).toBeLessThan(duplicates);
  });

  it('a scripted run: prekey messages out of order, a drop, duplicates of prekey and ratchet messages', () => {
    const conv = new Conversation(crypto, alice, bob, 7, true, false);
    conv.run([
      { t: 'send', from: 'A', len: 1 }, { t: 'send', from: 'A', len: 2 }, { t: 'send', from: 'A', len: 3 },
      { t: 'deliver', dir: 'AB', pick: 2 }, // the third prekey message starts Bob's session
      { t: 'dup', dir: 'AB', pick: 0 },
      { t: 'drop', dir: 'AB', pick: 0 },
      { t: 'send', from: 'B', len: 4 }, { t: 'send', from: 'B', len: 0 },
      { t: 'deliver', dir: 'BA', pick: 1 },
      { t: 'deliver', dir: 'AB', pick: 0 }, // the second prekey message arrives late
      { t: 'send', from: 'A', len: 5 }, { t: 'deliver', dir: 'AB', pick: 0 },
      { t: 'dup', dir: 'BA', pick: 0 }, { t: 'dup', dir: 'AB', pick: 1 },
    ], false);
    expect(conv.dropped.size).toBe(1);
    expect(conv.decrypted.size).toBe(conv.sent - 1);
    expect(conv.forgottenDuplicates).toBe(0);
  });

  it('a duplicate on a chain older than the remembered ones is still rejected', () => {
    const conv = new Conversation(crypto, alice, bob, 11, false, true);
    conv.send('A', 1);
    conv.deliver('AB', 0);
    for (let i = 0; i < MAX_RECEIVING_CHAINS + 2; i++) {
      conv.send('B', 1); conv.deliver('BA', 0);
      conv.send('A', 1); conv.deliver('AB', 0);
    }
    const before = conv.forgottenDuplicates;
    conv.duplicate('AB', 0);
    conv.duplicate('BA', 0);
    expect(conv.forgottenDuplicates - before).toBe(2);
  });
});
