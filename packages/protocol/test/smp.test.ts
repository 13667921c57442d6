/**
 * SMP over ristretto255 (spec/smp.md): results, the man in the middle, every
 * proof and every element check, replays, aborts, the state machine, and the
 * frozen vector spec/vectors/smp.json.
 */
import { readFileSync } from 'node:fs';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  SmpExchange, smpSecret, smpSessionBinding, normaliseSmpAnswer, identityKeyPairFromPrivate, generateIdentityKeyPair, fromHex, toHex,
  SmpProofError, SmpInvalidElementError, SmpReplayError, SmpUnexpectedMessageError, DecodeError, InvalidArgumentError, NoSessionError,
  UnsupportedVersionError, type CryptoProvider, type ProtocolContext, type SmpParties, type IdentityKeyPair, type SmpEvent,
} from '../src/index.js';
import { SmpMessageSchema, type SmpMessage } from '../src/gen/sigilo/client/v1/smp_pb.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { makeParty, providers, seededRandom } from './support/fixtures.js';
import { establish } from './support/sessions.js';
import { replay } from './support/replay.js';

const L = ristretto255.Point.Fn.ORDER;
const ctxOf = (crypto: CryptoProvider, seed: string): ProtocolContext => ({ crypto, random: seededRandom(seed) });

interface Side { ctx: ProtocolContext; id: IdentityKeyPair; smp: SmpExchange; parties: SmpParties }

function pair(crypto: CryptoProvider = nodeCrypto, seed = 'smp') {
  const setup = ctxOf(crypto, `${seed}-identities`);
  const a = generateIdentityKeyPair(setup), b = generateIdentityKeyPair(setup);
  const binding = new Uint8Array([...a.publicKey, ...b.publicKey, ...setup.random(32)]);
  const alice: Side = { ctx: ctxOf(crypto, `${seed}-a`), id: a, smp: SmpExchange.idle(), parties: { ourIdentityKey: a.publicKey, theirIdentityKey: b.publicKey, sessionBinding: binding } };
  const bob: Side = { ctx: ctxOf(crypto, `${seed}-b`), id: b, smp: SmpExchange.idle(), parties: { ourIdentityKey: b.publicKey, theirIdentityKey: a.publicKey, sessionBinding: binding } };
  return { alice, bob };
}

const QUESTION = 'Name of the café where we met?';
function sent(e: SmpEvent): Uint8Array {
  if (e.type === 'continue') return e.message;
  if (e.type === 'result' && e.message) return e.message;
  throw new Error(`expected a message, got ${e.type}`);
}

/** The four messages of a whole exchange, with the results. */
function runAll(alice: Side, bob: Side, answerA: string, answerB: string) {
  const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, answerA);
  expect(bob.smp.receive(bob.ctx, smp1)).toEqual({ type: 'question', question: QUESTION });
  const smp2 = bob.smp.answer(bob.ctx, bob.parties, answerB);
  const smp3 = sent(alice.smp.receive(alice.ctx, smp2));
  const e4 = bob.smp.receive(bob.ctx, smp3);
  const smp4 = sent(e4);
  const e5 = alice.smp.receive(alice.ctx, smp4);
  return { smp1, smp2, smp3, smp4, bobResult: e4.type === 'result' ? e4.result : undefined, aliceResult: e5.type === 'result' ? e5.result : undefined };
}

describe.each(providers)('SMP results with the $name provider', (crypto) => {
  it('the same answer on both sides: both learn "match"', () => {
    const { alice, bob } = pair(crypto);
    const r = runAll(alice, bob, 'Café Nicola', 'café  nicola ');
    expect([r.aliceResult, r.bobResult]).toEqual(['match', 'match']);
    expect(alice.smp.phase).toBe('finished');
    expect(bob.smp.result).toBe('match');
  });

  it('a wrong answer: both learn only "no match"', () => {
    const { alice, bob } = pair(crypto, 'smp-mismatch');
    const r = runAll(alice, bob, 'Café Nicola', 'A Brasileira');
    expect([r.aliceResult, r.bobResult]).toEqual(['no-match', 'no-match']);
  });
});

describe('SMP secret', () => {
  it('is the same on both sides and depends on the identity keys, the session, the question and the answer', () => {
    const { alice, bob } = pair();
    const x = smpSecret(nodeCrypto, alice.parties, 'q', 'Answer');
    expect(smpSecret(nodeCrypto, bob.parties, 'q', '  answer ')).toBe(x);
    expect(smpSecret(nodeCrypto, { ...bob.parties, sessionBinding: new Uint8Array(160) }, 'q', 'answer')).not.toBe(x);
    expect(smpSecret(nodeCrypto, bob.parties, 'q?', 'answer')).not.toBe(x);
    const other = generateIdentityKeyPair(ctxOf(nodeCrypto, 'other'));
    expect(smpSecret(nodeCrypto, { ...bob.parties, ourIdentityKey: other.publicKey }, 'q', 'answer')).not.toBe(x);
  });

  it('normalises answers (NFKC, case, white space) and refuses an empty one', () => {
    expect(normaliseSmpAnswer('  The\tLIBRARY\n ')).toBe('the library');
    expect(normaliseSmpAnswer('ﬁle')).toBe('file');
    const { alice } = pair();
    expect(() => smpSecret(nodeCrypto, alice.parties, 'q', '   ')).toThrow(InvalidArgumentError);
    expect(() => smpSecret(nodeCrypto, { ...alice.parties, theirIdentityKey: new Uint8Array(10) }, 'q', 'a')).toThrow();
  });

  it('the session binding is the same on both ends of a real session, differs between sessions, and needs a session', () => {
    const ctx = ctxOf(nodeCrypto, 'binding-session');
    const alice = makeParty(ctx), bob = makeParty(ctx);
    const s1 = establish(ctx, alice, bob, { reply: true });
    expect(toHex(smpSessionBinding(s1.a))).toBe(toHex(smpSessionBinding(s1.b)));
    expect(smpSessionBinding(s1.a).length).toBe(160);
    const s2 = establish(ctx, alice, bob, { reply: true });
    expect(toHex(smpSessionBinding(s2.a))).not.toBe(toHex(smpSessionBinding(s1.a)));
    expect(() => smpSessionBinding(undefined)).toThrow(NoSessionError);
  });
});

describe('SMP against a man in the middle', () => {
  it('a relay between two sessions with the right answer fails on both sides', () => {
    // Mallory holds a session with Alice (as "Bob", with her own key M1) and one with Bob (as "Alice", key M2),
    // and relays every SMP message unchanged. Both honest sides give the right answer.
    const setup = ctxOf(nodeCrypto, 'mitm');
    const a = generateIdentityKeyPair(setup), b = generateIdentityKeyPair(setup), m1 = generateIdentityKeyPair(setup), m2 = generateIdentityKeyPair(setup);
    const bindingAM = new Uint8Array([...a.publicKey, ...m1.publicKey, ...setup.random(32)]);
    const bindingMB = new Uint8Array([...m2.publicKey, ...b.publicKey, ...setup.random(32)]);
    const alice: Side = { ctx: ctxOf(nodeCrypto, 'mitm-a'), id: a, smp: SmpExchange.idle(), parties: { ourIdentityKey: a.publicKey, theirIdentityKey: m1.publicKey, sessionBinding: bindingAM } };
    const bob: Side = { ctx: ctxOf(nodeCrypto, 'mitm-b'), id: b, smp: SmpExchange.idle(), parties: { ourIdentityKey: b.publicKey, theirIdentityKey: m2.publicKey, sessionBinding: bindingMB } };
    const r = runAll(alice, bob, 'Café Nicola', 'Café Nicola');
    expect([r.aliceResult, r.bobResult]).toEqual(['no-match', 'no-match']);
  });

  it('the same relay with the sessions\' identity keys but another session binding also fails', () => {
    const { alice, bob } = pair(nodeCrypto, 'binding');
    bob.parties = { ...bob.parties, sessionBinding: new Uint8Array(bob.parties.sessionBinding).fill(1, 128) };
    const r = runAll(alice, bob, 'x', 'x');
    expect([r.aliceResult, r.bobResult]).toEqual(['no-match', 'no-match']);
  });
});

// --- tampering -------------------------------------------------------------------

type StepName = 'smp1' | 'smp2' | 'smp3' | 'smp4';
/** Runs an honest exchange up to the delivery of `step`, returning the message and its receiver. */
function upTo(step: StepName, seed: string) {
  const { alice, bob } = pair(nodeCrypto, seed);
  const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
  if (step === 'smp1') return { message: smp1, receiver: bob };
  bob.smp.receive(bob.ctx, smp1);
  const smp2 = bob.smp.answer(bob.ctx, bob.parties, 'same');
  if (step === 'smp2') return { message: smp2, receiver: alice };
  const smp3 = sent(alice.smp.receive(alice.ctx, smp2));
  if (step === 'smp3') return { message: smp3, receiver: bob };
  return { message: sent(bob.smp.receive(bob.ctx, smp3)), receiver: alice };
}

function edit(message: Uint8Array, step: StepName, field: string, f: (old: Uint8Array) => Uint8Array): Uint8Array {
  const m: SmpMessage = fromBinary(SmpMessageSchema, message);
  if (m.step.case !== step) throw new Error('wrong step');
  const v = m.step.value as unknown as Record<string, Uint8Array>;
  v[field] = f(v[field]!);
  return toBinary(SmpMessageSchema, m);
}

const le = (n: bigint) => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(n & 0xffn); n >>= 8n; } return o; };
const fromLe = (b: Uint8Array) => { let n = 0n; for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!); return n; };
const otherPoint = () => ristretto255.Point.BASE.multiply(0x5eed5eedn).toBytes();
const plusOne = (b: Uint8Array) => le((fromLe(b) + 1n) % L);

// Which proof covers which field (smp.md §4).
const PROOFS: readonly { step: StepName; proof: string; fields: readonly string[]; points: readonly string[] }[] = [
  { step: 'smp1', proof: 'smp1.c2', fields: ['c2', 'd2'], points: ['g2a'] },
  { step: 'smp1', proof: 'smp1.c3', fields: ['c3', 'd3'], points: ['g3a'] },
  { step: 'smp2', proof: 'smp2.c2', fields: ['c2', 'd2'], points: ['g2b'] },
  { step: 'smp2', proof: 'smp2.c3', fields: ['c3', 'd3'], points: ['g3b'] },
  { step: 'smp2', proof: 'smp2.cp', fields: ['cp', 'd5', 'd6'], points: ['pb', 'qb'] },
  { step: 'smp3', proof: 'smp3.cp', fields: ['cp', 'd5', 'd6'], points: ['pa', 'qa'] },
  { step: 'smp3', proof: 'smp3.cr', fields: ['cr', 'd7'], points: ['ra'] },
  { step: 'smp4', proof: 'smp4.cr', fields: ['cr', 'd7'], points: ['rb'] },
];

describe('SMP: every proof, tampered, fails with its typed error and aborts the exchange', () => {
  const cases = PROOFS.flatMap((p) => [
    ...p.fields.map((field) => ({ ...p, field, name: `${p.proof} proof: ${p.step}.${field} replaced by the scalar + 1`, f: plusOne })),
    ...p.points.map((field) => ({ ...p, field, name: `${p.proof} proof: ${p.step}.${field} replaced by another valid element`, f: otherPoint })),
  ]);
  it.each(cases)('$name', ({ step, field, proof, f }) => {
    const { message, receiver } = upTo(step, `tamper-${step}-${field}`);
    let error: unknown;
    try { receiver.smp.receive(receiver.ctx, edit(message, step, field, f)); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(SmpProofError);
    expect((error as SmpProofError).proof).toBe(proof);
    expect(receiver.smp.phase).toBe('aborted');
    // Nothing more of that exchange is accepted, not even the genuine message.
    expect(() => receiver.smp.receive(receiver.ctx, message)).toThrow(SmpReplayError);
    expect(receiver.smp.abort()).toBeInstanceOf(Uint8Array);
  });

  it('the untampered messages pass (the harness itself is sound)', () => {
    for (const step of ['smp1', 'smp2', 'smp3', 'smp4'] as const) {
      const { message, receiver } = upTo(step, `tamper-${step}-ok`);
      const field = step === 'smp1' || step === 'smp2' ? 'c2' : 'cr';
      expect(() => receiver.smp.receive(receiver.ctx, edit(message, step, field, (b) => b))).not.toThrow();
    }
  });
});

// p = 2^255 − 19 in little-endian: a non-canonical encoding (of zero).
const P_LE = le((1n << 255n) - 19n);
const POINT_FIELDS: readonly [StepName, string][] = [
  ['smp1', 'g2a'], ['smp1', 'g3a'], ['smp2', 'g2b'], ['smp2', 'g3b'], ['smp2', 'pb'], ['smp2', 'qb'],
  ['smp3', 'pa'], ['smp3', 'qa'], ['smp3', 'ra'], ['smp4', 'rb'],
];
const SCALAR_FIELDS: readonly [StepName, string][] = [
  ['smp1', 'c2'], ['smp1', 'd2'], ['smp1', 'c3'], ['smp1', 'd3'],
  ['smp2', 'c2'], ['smp2', 'd2'], ['smp2', 'c3'], ['smp2', 'd3'], ['smp2', 'cp'], ['smp2', 'd5'], ['smp2', 'd6'],
  ['smp3', 'cp'], ['smp3', 'd5'], ['smp3', 'd6'], ['smp3', 'cr'], ['smp3', 'd7'],
  ['smp4', 'cr'], ['smp4', 'd7'],
];

function expectElementError(step: StepName, field: string, f: (b: Uint8Array) => Uint8Array, reason: RegExp) {
  const { message, receiver } = upTo(step, `element-${step}-${field}`);
  let error: unknown;
  try { receiver.smp.receive(receiver.ctx, edit(message, step, field, f)); } catch (e) { error = e; }
  expect(error).toBeInstanceOf(SmpInvalidElementError);
  expect((error as SmpInvalidElementError).field).toBe(`${step}.${field}`);
  expect((error as Error).message).toMatch(reason);
  expect(receiver.smp.phase).toBe('aborted');
}

describe('SMP: every received element is checked', () => {
  it.each(POINT_FIELDS)('%s.%s: a non-canonical encoding is refused', (step, field) => {
    expectElementError(step, field, () => P_LE, /canonical/);
  });
  it.each(POINT_FIELDS)('%s.%s: the identity element is refused', (step, field) => {
    expectElementError(step, field, () => new Uint8Array(32), /identity/);
  });
  it.each(SCALAR_FIELDS)('%s.%s: the same scalar plus the group order (a non-canonical scalar) is refused', (step, field) => {
    expectElementError(step, field, (b) => le(fromLe(b) + L), /group order/);
  });
  it('an element of the wrong length is refused', () => {
    expectElementError('smp2', 'pb', (b) => b.subarray(0, 31), /32 bytes/);
    expectElementError('smp3', 'd7', (b) => new Uint8Array([...b, 0]), /32 bytes/);
  });
  it('a forged SMP1 with the identity as g2a and a proof that holds for it is refused by the element check', () => {
    // With g2a = identity, g2 = identity and the compared values no longer depend on the secret:
    // a proof for it is easy to make (c = H(1, r·g), d = r), so only the element check stops it.
    const { message, receiver } = upTo('smp1', 'forged-identity');
    const m: SmpMessage = fromBinary(SmpMessageSchema, message);
    if (m.step.case !== 'smp1') throw new Error('wrong step');
    const r = 12345n;
    const label = new TextEncoder().encode('Sigilo-SMP-v1-proof');
    const c = leBig(nodeCrypto.sha512(new Uint8Array([...label, 1, ...m.exchangeId, ...ristretto255.Point.BASE.multiply(r).toBytes()]))) % L;
    m.step.value.g2a = new Uint8Array(32);
    m.step.value.c2 = le(c);
    m.step.value.d2 = le(r);
    let error: unknown;
    try { receiver.smp.receive(receiver.ctx, toBinary(SmpMessageSchema, m)); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(SmpInvalidElementError);
    expect((error as SmpInvalidElementError).field).toBe('smp1.g2a');
  });
});

function leBig(b: Uint8Array): bigint { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!); return n; }

// --- state machine -----------------------------------------------------------------

describe('SMP state machine', () => {
  it('a replayed step is refused and the exchange goes on to its result', () => {
    const { alice, bob } = pair(nodeCrypto, 'replay-step');
    const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
    bob.smp.receive(bob.ctx, smp1);
    expect(() => bob.smp.receive(bob.ctx, smp1)).toThrow(SmpReplayError);
    const smp2 = bob.smp.answer(bob.ctx, bob.parties, 'same');
    expect(() => bob.smp.receive(bob.ctx, smp1)).toThrow(SmpReplayError);
    const smp3 = sent(alice.smp.receive(alice.ctx, smp2));
    expect(() => alice.smp.receive(alice.ctx, smp2)).toThrow(SmpReplayError);
    const e4 = bob.smp.receive(bob.ctx, smp3);
    expect(() => bob.smp.receive(bob.ctx, smp3)).toThrow(SmpReplayError);
    const e5 = alice.smp.receive(alice.ctx, sent(e4));
    expect(() => alice.smp.receive(alice.ctx, sent(e4))).toThrow(SmpReplayError);
    expect(e5).toEqual({ type: 'result', result: 'match' });
  });

  it('a whole old exchange replayed is refused, also after a newer exchange', () => {
    const { alice, bob } = pair(nodeCrypto, 'replay-exchange');
    const old = runAll(alice, bob, 'same', 'same');
    runAll(alice, bob, 'same', 'other');
    expect(bob.smp.result).toBe('no-match');
    for (const m of [old.smp1, old.smp3]) expect(() => bob.smp.receive(bob.ctx, m)).toThrow(SmpReplayError);
    for (const m of [old.smp2, old.smp4]) expect(() => alice.smp.receive(alice.ctx, m)).toThrow(SmpReplayError);
    expect(bob.smp.result).toBe('no-match');
    // Replayed into a state that forgot it (a lost state, another session): the question comes back, but the
    // answer is bound to the session, and the old initiator refuses the rest.
    const fresh: Side = { ...bob, smp: SmpExchange.idle() };
    expect(fresh.smp.receive(fresh.ctx, old.smp1).type).toBe('question');
    const smp2 = fresh.smp.answer(fresh.ctx, fresh.parties, 'same');
    expect(() => alice.smp.receive(alice.ctx, smp2)).toThrow(SmpReplayError);
  });

  it('messages out of order or for another exchange are refused and change nothing', () => {
    const { alice, bob } = pair(nodeCrypto, 'order');
    const ref = pair(nodeCrypto, 'order-ref');
    const other = runAll(ref.alice, ref.bob, 'same', 'same');
    const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
    expect(() => alice.smp.receive(alice.ctx, other.smp2)).toThrow(SmpUnexpectedMessageError);
    bob.smp.receive(bob.ctx, smp1);
    // SMP3 of this exchange before Bob answered: build it with a parallel honest run of the same seeds.
    const twin = pair(nodeCrypto, 'order');
    twin.bob.smp.receive(twin.bob.ctx, twin.alice.smp.start(twin.alice.ctx, twin.alice.parties, QUESTION, 'same'));
    const smp3 = sent(twin.alice.smp.receive(twin.alice.ctx, twin.bob.smp.answer(twin.bob.ctx, twin.bob.parties, 'same')));
    expect(() => bob.smp.receive(bob.ctx, smp3)).toThrow(SmpUnexpectedMessageError);
    expect(() => bob.smp.receive(bob.ctx, other.smp3)).toThrow(SmpUnexpectedMessageError);
    expect(() => alice.smp.receive(alice.ctx, smp3)).toThrow(SmpUnexpectedMessageError);
    expect(bob.smp.phase).toBe('awaiting-answer');
    const smp2 = bob.smp.answer(bob.ctx, bob.parties, 'same');
    const e4 = bob.smp.receive(bob.ctx, sent(alice.smp.receive(alice.ctx, smp2)));
    expect(e4.type === 'result' && e4.result).toBe('match');
    expect(() => bob.smp.answer(bob.ctx, bob.parties, 'again')).toThrow(SmpUnexpectedMessageError);
  });

  it('an abort ends the exchange on both sides; its later messages are refused', () => {
    const { alice, bob } = pair(nodeCrypto, 'abort');
    const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
    bob.smp.receive(bob.ctx, smp1);
    const smp2 = bob.smp.answer(bob.ctx, bob.parties, 'same');
    const abort = bob.smp.abort()!;
    expect(bob.smp.phase).toBe('aborted');
    expect(alice.smp.receive(alice.ctx, abort)).toEqual({ type: 'aborted' });
    expect(alice.smp.phase).toBe('aborted');
    expect(() => alice.smp.receive(alice.ctx, smp2)).toThrow(SmpReplayError);
    expect(() => alice.smp.receive(alice.ctx, abort)).toThrow(SmpReplayError);
    expect(alice.smp.result).toBeUndefined();
    // A new exchange works after an abort.
    const r = runAll(alice, bob, 'same', 'same');
    expect([r.aliceResult, r.bobResult]).toEqual(['match', 'match']);
    expect(SmpExchange.idle().abort()).toBeUndefined();
  });

  it('an abort for an exchange that is not running is refused', () => {
    const { alice, bob } = pair(nodeCrypto, 'abort-unknown');
    const other = pair(nodeCrypto, 'abort-unknown-2');
    other.alice.smp.start(other.alice.ctx, other.alice.parties, QUESTION, 'x');
    const abort = other.alice.smp.abort()!;
    expect(() => bob.smp.receive(bob.ctx, abort)).toThrow(SmpUnexpectedMessageError);
    alice.smp.start(alice.ctx, alice.parties, QUESTION, 'x');
    expect(() => alice.smp.receive(alice.ctx, abort)).toThrow(SmpUnexpectedMessageError);
    expect(alice.smp.phase).toBe('awaiting-smp2');
  });

  it('both ask at once: the exchange with the smaller id goes on, the other is refused on both sides', () => {
    const { alice, bob } = pair(nodeCrypto, 'simultaneous');
    const fromAlice = alice.smp.start(alice.ctx, alice.parties, 'A asks', 'same');
    const fromBob = bob.smp.start(bob.ctx, bob.parties, 'B asks', 'same');
    const aliceFirst = Buffer.compare(Buffer.from(alice.smp.exchangeId!), Buffer.from(bob.smp.exchangeId!)) < 0;
    const [winner, loser, winnerMsg, loserMsg] = aliceFirst ? [alice, bob, fromAlice, fromBob] : [bob, alice, fromBob, fromAlice];
    expect(() => winner.smp.receive(winner.ctx, loserMsg)).toThrow(SmpUnexpectedMessageError);
    expect(winner.smp.phase).toBe('awaiting-smp2');
    expect(loser.smp.receive(loser.ctx, winnerMsg).type).toBe('question');
    const e3 = winner.smp.receive(winner.ctx, loser.smp.answer(loser.ctx, loser.parties, 'same'));
    const e4 = loser.smp.receive(loser.ctx, sent(e3));
    expect(e4.type === 'result' && e4.result).toBe('match');
    expect(winner.smp.receive(winner.ctx, sent(e4))).toEqual({ type: 'result', result: 'match' });
  });

  it('a new question while an exchange runs replaces it (the peer gave it up)', () => {
    const { alice, bob } = pair(nodeCrypto, 'restart');
    const first = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
    bob.smp.receive(bob.ctx, first);
    bob.smp.answer(bob.ctx, bob.parties, 'same');
    const second = alice.smp.start(alice.ctx, alice.parties, 'Second question', 'same');
    expect(bob.smp.receive(bob.ctx, second)).toEqual({ type: 'question', question: 'Second question' });
    expect(() => bob.smp.receive(bob.ctx, first)).toThrow(SmpReplayError);
    const e3 = alice.smp.receive(alice.ctx, bob.smp.answer(bob.ctx, bob.parties, 'same'));
    expect(sent(bob.smp.receive(bob.ctx, sent(e3)))).toBeInstanceOf(Uint8Array);
    expect(bob.smp.result).toBe('match');
  });

  it('the state survives encode/decode between every step, and a malformed state is refused', () => {
    const { alice, bob } = pair(nodeCrypto, 'persist');
    const hop = (s: Side) => { s.smp = SmpExchange.decode(s.smp.encode()); };
    const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same'); hop(alice);
    bob.smp.receive(bob.ctx, smp1); hop(bob);
    expect(bob.smp.question).toBe(QUESTION);
    const smp2 = bob.smp.answer(bob.ctx, bob.parties, 'same'); hop(bob);
    const smp3 = sent(alice.smp.receive(alice.ctx, smp2)); hop(alice);
    const e4 = bob.smp.receive(bob.ctx, smp3); hop(bob);
    alice.smp.receive(alice.ctx, sent(e4)); hop(alice);
    expect([alice.smp.result, bob.smp.result]).toEqual(['match', 'match']);
    expect(() => bob.smp.receive(bob.ctx, smp1)).toThrow(SmpReplayError);
    expect(() => SmpExchange.decode(new Uint8Array([0xff, 0xff]))).toThrow(DecodeError);
    expect(() => SmpExchange.decode(new Uint8Array([8, 1, 16, 1]))).toThrow(DecodeError);
  });

  it('a question over 512 bytes is refused when asking and when received', () => {
    const { alice, bob } = pair(nodeCrypto, 'long-question');
    expect(() => alice.smp.start(alice.ctx, alice.parties, 'é'.repeat(257), 'x')).toThrow(InvalidArgumentError);
    expect(alice.smp.phase).toBe('idle');
    const smp1 = alice.smp.start(alice.ctx, alice.parties, 'é'.repeat(256), 'x');
    const m = fromBinary(SmpMessageSchema, smp1);
    if (m.step.case !== 'smp1') throw new Error('wrong step');
    m.step.value.question = 'é'.repeat(257);
    expect(() => bob.smp.receive(bob.ctx, toBinary(SmpMessageSchema, m))).toThrow(DecodeError);
    expect(bob.smp.receive(bob.ctx, smp1).type).toBe('question');
  });

  it('malformed messages are refused with DecodeError or UnsupportedVersionError', () => {
    const { alice, bob } = pair(nodeCrypto, 'malformed');
    const smp1 = alice.smp.start(alice.ctx, alice.parties, QUESTION, 'same');
    const m = fromBinary(SmpMessageSchema, smp1);
    expect(() => bob.smp.receive(bob.ctx, new Uint8Array([0xff]))).toThrow(DecodeError);
    expect(() => bob.smp.receive(bob.ctx, toBinary(SmpMessageSchema, { ...m, version: 2 }))).toThrow(UnsupportedVersionError);
    expect(() => bob.smp.receive(bob.ctx, toBinary(SmpMessageSchema, { ...m, exchangeId: new Uint8Array(15) }))).toThrow(DecodeError);
    expect(() => bob.smp.receive(bob.ctx, toBinary(SmpMessageSchema, { ...m, step: { case: undefined } }))).toThrow(DecodeError);
    expect(bob.smp.phase).toBe('idle');
    expect(bob.smp.receive(bob.ctx, smp1).type).toBe('question');
  });
});

// --- frozen vector ------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const vector: any = JSON.parse(readFileSync(new URL('../../../spec/vectors/smp.json', import.meta.url), 'utf8'));

describe.each(providers)('spec/vectors/smp.json with the $name provider', (crypto) => {
  it.each(vector.runs.map((r: { name: string }) => [r.name, r]))('run "%s": replaying the draws reproduces every message and the results', (_name, run: any) => {
    const a = identityKeyPairFromPrivate(crypto, fromHex(vector.initiator.identitySigningSeed), fromHex(vector.initiator.identityAgreementPrivate));
    const b = identityKeyPairFromPrivate(crypto, fromHex(vector.responder.identitySigningSeed), fromHex(vector.responder.identityAgreementPrivate));
    expect(toHex(a.publicKey)).toBe(vector.initiator.identityPublic);
    expect(toHex(b.publicKey)).toBe(vector.responder.identityPublic);
    const binding = fromHex(vector.sessionBinding);
    const pa = { ourIdentityKey: a.publicKey, theirIdentityKey: b.publicKey, sessionBinding: binding };
    const pb = { ourIdentityKey: b.publicKey, theirIdentityKey: a.publicKey, sessionBinding: binding };
    expect(toHex(le(smpSecret(crypto, pa, run.question, run.initiatorAnswer)))).toBe(run.initiatorSecret);
    expect(toHex(le(smpSecret(crypto, pb, run.question, run.responderAnswer)))).toBe(run.responderSecret);
    const ra = replay(run.initiatorDraws), rb = replay(run.responderDraws);
    const ca = { crypto, random: ra }, cb = { crypto, random: rb };
    const alice = SmpExchange.idle(), bob = SmpExchange.idle();
    const smp1 = alice.start(ca, pa, run.question, run.initiatorAnswer);
    expect(toHex(smp1)).toBe(run.messages.smp1);
    expect(bob.receive(cb, smp1)).toEqual({ type: 'question', question: run.question });
    const smp2 = bob.answer(cb, pb, run.responderAnswer);
    expect(toHex(smp2)).toBe(run.messages.smp2);
    const e3 = alice.receive(ca, smp2);
    expect(toHex(sent(e3))).toBe(run.messages.smp3);
    const e4 = bob.receive(cb, sent(e3));
    expect(toHex(sent(e4))).toBe(run.messages.smp4);
    expect(e4.type === 'result' && e4.result).toBe(run.responderResult);
    const e5 = alice.receive(ca, sent(e4));
    expect(e5).toEqual({ type: 'result', result: run.initiatorResult });
    expect(ra.remaining()).toBe(0);
    expect(rb.remaining()).toBe(0);
  });
});
