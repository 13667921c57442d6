/**
 * A scripted conversation for spec/vectors/ratchet-states.json, shared by the
 * vector generator and the frozen-vector test so both run the same operations
 * and draw randomness in the same order. Unlike transcript.ts it keeps
 * snapshots of Bob's record (one holding skipped message keys, older receiving
 * chains without chain keys) and makes failed decryption attempts (a tampered
 * message on the current chain, a tampered message that starts a new chain, a
 * replay), recording each one's error, Bob's random draws before and after,
 * and that his record is unchanged (protocol.md §5.4, §7).
 */
import {
  ProtocolError, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage, initiateSession, parsePreKeyMessage, toHex,
  type IdentityKeyPair, type PreKeyBundle, type ProtocolContext, type Random, type ResponderKeys, type SessionRecord,
} from '../../src/index.js';

export type StatesEvent =
  | { op: 'send'; from: 'alice' | 'bob'; text: string }
  | { op: 'receive'; index: number }
  /** Bob tries a copy of message `index` with its last byte (the last tag byte) flipped: must fail. */
  | { op: 'receiveTampered'; index: number }
  /** Bob receives message `index` again: must fail as a duplicate. */
  | { op: 'receiveAgain'; index: number }
  | { op: 'snapshot'; name: string };

export interface StatesParties {
  readonly alice: { ctx: ProtocolContext; identity: IdentityKeyPair };
  readonly bob: { ctx: ProtocolContext; identity: IdentityKeyPair; keys: ResponderKeys };
  readonly bundle: PreKeyBundle;
}

export interface FailedAttempt {
  readonly op: 'receiveTampered' | 'receiveAgain';
  readonly index: number;
  /** The bytes Bob was given (hex). */
  readonly message: string;
  readonly error: string;
  /** Bob's random draws so far, before and after the attempt. */
  readonly bobDrawsBefore: number;
  readonly bobDrawsAfter: number;
  /** Whether Bob's encoded record is byte for byte the same after the attempt. */
  readonly recordUnchanged: boolean;
}

export interface StatesResult {
  readonly messages: { from: 'alice' | 'bob'; text: string; message: Uint8Array }[];
  readonly received: string[];
  readonly snapshots: Record<string, string>;
  readonly failures: FailedAttempt[];
  readonly alice: SessionRecord;
  readonly bob: SessionRecord;
}

/** Counts the draws a Random makes, without changing them. */
export function counting(random: Random): Random & { count: () => number } {
  let n = 0;
  const fn = ((length: number) => { n++; return random(length); }) as Random & { count: () => number };
  fn.count = () => n;
  return fn;
}

export function runStates(p: StatesParties, events: readonly StatesEvent[], expected?: readonly Uint8Array[]): StatesResult {
  const bobRandom = counting(p.bob.ctx.random);
  const bobCtx: ProtocolContext = { crypto: p.bob.ctx.crypto, random: bobRandom };
  let alice = initiateSession(p.alice.ctx, p.alice.identity, p.bundle);
  let bob: SessionRecord | undefined;
  const messages: StatesResult['messages'] = [];
  const received: string[] = [];
  const snapshots: Record<string, string> = {};
  const failures: FailedAttempt[] = [];
  const bytesOf = (index: number) => expected?.[index] ?? messages[index]!.message;

  const bobReceive = (bytes: Uint8Array): Uint8Array => {
    if (bytes[0] === 0x12) {
      const out = decryptPreKeyMessage(bobCtx, bob, p.bob.identity, p.bob.keys, parsePreKeyMessage(bytes));
      bob = out.record;
      return out.plaintext;
    }
    const out = decryptMessage(bobCtx, bob, bytes);
    bob = out.record;
    return out.plaintext;
  };

  for (const e of events) {
    switch (e.op) {
      case 'send': {
        const r = encryptMessage(e.from === 'alice' ? p.alice.ctx : bobCtx, e.from === 'alice' ? alice : bob!, new TextEncoder().encode(e.text));
        if (e.from === 'alice') alice = r.record; else bob = r.record;
        messages.push({ from: e.from, text: e.text, message: r.message });
        break;
      }
      case 'receive': {
        const bytes = bytesOf(e.index);
        let plaintext: Uint8Array;
        if (messages[e.index]!.from === 'alice') plaintext = bobReceive(bytes);
        else {
          const out = decryptMessage(p.alice.ctx, alice, bytes);
          alice = out.record;
          plaintext = out.plaintext;
        }
        received.push(new TextDecoder().decode(plaintext));
        break;
      }
      case 'receiveTampered':
      case 'receiveAgain': {
        if (messages[e.index]!.from !== 'alice') throw new Error('failed attempts are made on Bob\'s side');
        const bytes = bytesOf(e.index).slice();
        if (e.op === 'receiveTampered') bytes[bytes.length - 1] ^= 0x01;
        const before = encodeSessionRecord(bob!);
        const drawsBefore = bobRandom.count();
        let error = 'none';
        try {
          bobReceive(bytes);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          error = err.code;
        }
        failures.push({
          op: e.op, index: e.index, message: toHex(bytes), error, bobDrawsBefore: drawsBefore, bobDrawsAfter: bobRandom.count(),
          recordUnchanged: toHex(encodeSessionRecord(bob!)) === toHex(before),
        });
        break;
      }
      case 'snapshot':
        snapshots[e.name] = toHex(encodeSessionRecord(bob!));
        break;
    }
  }
  return { messages, received, snapshots, failures, alice, bob: bob! };
}

/**
 * Alice's second chain (messages 2–4) reaches Bob out of order: message 3
 * first (so message 2's key is skipped), then a new chain from Alice
 * (message 6, PN = 3) moves the rest of that chain (message 4's key) into the
 * skipped keys and leaves the chain without its chain key. Failed attempts:
 * a tampered message on the current chain (no draw), a tampered message
 * that starts a new chain (one draw, discarded), a replay (no draw).
 */
export const STATES_EVENTS: readonly StatesEvent[] = [
  { op: 'send', from: 'alice', text: 'a0: first, a prekey message' },
  { op: 'receive', index: 0 },
  { op: 'send', from: 'bob', text: 'b0: reply' },
  { op: 'receive', index: 1 },
  { op: 'send', from: 'alice', text: 'a1: chain 2, n = 0' },
  { op: 'send', from: 'alice', text: 'a2: chain 2, n = 1' },
  { op: 'send', from: 'alice', text: 'a3: chain 2, n = 2' },
  { op: 'receive', index: 3 },
  { op: 'snapshot', name: 'oneSkippedKey' },
  { op: 'receiveTampered', index: 4 },
  { op: 'send', from: 'bob', text: 'b1: second reply' },
  { op: 'receive', index: 5 },
  { op: 'send', from: 'alice', text: 'a4: chain 3, n = 0, PN = 3' },
  { op: 'receiveTampered', index: 6 },
  { op: 'receive', index: 6 },
  { op: 'snapshot', name: 'twoSkippedKeysOnAnOlderChain' },
  { op: 'receive', index: 2 },
  { op: 'receive', index: 4 },
  { op: 'receiveAgain', index: 4 },
  { op: 'send', from: 'bob', text: 'b2: after the failed attempts' },
  { op: 'receive', index: 7 },
  { op: 'snapshot', name: 'final' },
];
