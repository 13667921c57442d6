/**
 * The Socialist Millionaire Protocol over ristretto255 (spec/smp.md): two
 * devices learn whether they hold the same secret, and nothing else. The
 * secret binds both identity keys, the session and the answer, so a man in
 * the middle (who holds two sessions with two other identity keys) fails even
 * with the right answer.
 *
 * The steps are those of OTR v3's SMP, written additively in a prime-order
 * group (g = the ristretto255 base point, ℓ its order):
 *
 *   SMP1 (A): a2, a3 random; g2a = a2·g, g3a = a3·g; proofs 1, 2 of a2, a3
 *   SMP2 (B): b2, b3 random; g2b, g3b; proofs 3, 4; g2 = b2·g2a, g3 = b3·g3a;
 *             r random; Pb = r·g3, Qb = r·g + y·g2; proof 5 (same r, y)
 *   SMP3 (A): g2 = a2·g2b, g3 = a3·g3b; s random; Pa = s·g3, Qa = s·g + x·g2;
 *             proof 6; Ra = a3·(Qa − Qb); proof 7 (Ra uses a3 of g3a)
 *   SMP4 (B): Rb = b3·(Qa − Qb); proof 8; match ⇔ b3·Ra = Pa − Pb
 *   end  (A): match ⇔ a3·Rb = Pa − Pb
 *
 * Each proof's challenge is SHA-512("Sigilo-SMP-v1-proof" ‖ prefix ‖ exchange id ‖ points) mod ℓ
 * with its own prefix byte 1..8. Pure and synchronous: randomness comes from
 * the context, nothing is stored here (the client stores `encode()`).
 */
import { ristretto255 } from '@noble/curves/ed25519.js';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  SmpMessageSchema, SmpStateRecordSchema,
  type Smp1, type Smp2, type Smp3, type Smp4,
} from './gen/sigilo/client/v1/smp_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual, concatBytes, utf8, writeU32 } from './bytes.js';
import {
  DecodeError, InvalidArgumentError, NoSessionError, SmpInvalidElementError, SmpProofError, SmpReplayError, SmpUnexpectedMessageError, UnsupportedVersionError,
} from './errors.js';
import { assertIdentityKey, type ProtocolContext } from './keys.js';
import { decodeProto } from './proto.js';
import type { SessionRecord } from './ratchet/session-record.js';

export const SMP_VERSION = 1;
export const SMP_EXCHANGE_ID_LENGTH = 16;
/** How many finished exchange ids a state remembers to refuse their replay. */
export const SMP_REMEMBERED_EXCHANGES = 32;
/** Longest question, in UTF-8 bytes, and longest normalised answer. */
export const SMP_MAX_QUESTION_BYTES = 512;
export const SMP_MAX_ANSWER_BYTES = 1024;

type Point = InstanceType<typeof ristretto255.Point>;
const G = ristretto255.Point.BASE;
const IDENTITY = ristretto255.Point.ZERO;
const L = ristretto255.Point.Fn.ORDER;
const PROOF_LABEL = utf8('Sigilo-SMP-v1-proof');
const SECRET_LABEL = utf8('Sigilo-SMP-v1-secret');

// --- scalars and points ------------------------------------------------------

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
function scalarBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) { out[i] = Number(n & 0xffn); n >>= 8n; }
  return out;
}
const mod = (n: bigint) => ((n % L) + L) % L;
/** A uniform scalar in [1, ℓ): 64 random bytes reduced mod ℓ (a zero is drawn again). */
function randomScalar(ctx: ProtocolContext): bigint {
  for (;;) {
    const n = mod(leToBigint(ctx.random(64)));
    if (n !== 0n) return n;
  }
}
/** Multiplies by a secret, non-zero scalar (constant time). */
const mulSecret = (p: Point, n: bigint) => p.multiply(n);
/** Multiplies by a public scalar, which may be zero (a received response). */
const mulPublic = (p: Point, n: bigint) => p.multiplyUnsafe(n);

/** Reads a received element: 32 bytes, a canonical ristretto255 encoding, not the identity. */
function readPoint(bytes: Uint8Array, field: string): Point {
  if (bytes.length !== 32) throw new SmpInvalidElementError(field, 'not 32 bytes');
  let p: Point;
  try {
    p = ristretto255.Point.fromBytes(bytes);
  } catch {
    throw new SmpInvalidElementError(field, 'not a canonical ristretto255 encoding');
  }
  if (p.equals(IDENTITY)) throw new SmpInvalidElementError(field, 'the identity element');
  return p;
}
/** Reads a received scalar: 32 bytes little-endian, below ℓ. */
function readScalar(bytes: Uint8Array, field: string): bigint {
  if (bytes.length !== 32) throw new SmpInvalidElementError(field, 'not 32 bytes');
  const n = leToBigint(bytes);
  if (n >= L) throw new SmpInvalidElementError(field, 'a scalar not below the group order');
  return n;
}

function challenge(crypto: CryptoProvider, prefix: number, exchangeId: Uint8Array, points: readonly Point[]): bigint {
  const h = crypto.sha512(concatBytes(PROOF_LABEL, Uint8Array.of(prefix), exchangeId, ...points.map((p) => p.toBytes())));
  return mod(leToBigint(h));
}

/** Proof of knowledge of `secret` in `secret·g` with prefix `prefix`: (c, d = r − secret·c). */
function proveKnowledge(ctx: ProtocolContext, prefix: number, exchangeId: Uint8Array, secret: bigint) {
  const r = randomScalar(ctx);
  const c = challenge(ctx.crypto, prefix, exchangeId, [mulSecret(G, r)]);
  return { c, d: mod(r - secret * c) };
}
function checkKnowledge(crypto: CryptoProvider, prefix: number, exchangeId: Uint8Array, element: Point, c: bigint, d: bigint, proof: string): void {
  if (challenge(crypto, prefix, exchangeId, [mulPublic(G, d).add(mulPublic(element, c))]) !== c) throw new SmpProofError(proof);
}

// --- the secret --------------------------------------------------------------

/** The parties' keys and session, as the client passes them to `start` and `answer`. */
export interface SmpParties {
  /** Our 64-byte identity public key. */
  readonly ourIdentityKey: Uint8Array;
  /** The peer device's 64-byte identity public key, as our session holds it. */
  readonly theirIdentityKey: Uint8Array;
  /** smpSessionBinding(record) of the session the exchange runs in (both sides derive the same). */
  readonly sessionBinding: Uint8Array;
}

/**
 * The session binding both sides derive: the current session's associated
 * data IK_initiator ‖ IK_responder ‖ EK_initiator (160 bytes, identical on both
 * ends of one Double Ratchet session, protocol.md §4).
 */
export function smpSessionBinding(record: SessionRecord | undefined): Uint8Array {
  const current = record?.current;
  if (!current) throw new NoSessionError('no session with this device: exchange a message first, then verify');
  return current.associatedData.slice();
}

/**
 * The answer as both sides compare it: Unicode NFKC, case folded (toLowerCase),
 * leading and trailing white space removed and inner runs of white space made
 * one space. "  Lisbon  " and "lisbon" compare equal.
 */
export function normaliseSmpAnswer(answer: string): string {
  return answer.normalize('NFKC').toLowerCase().trim().replace(/\s+/gu, ' ');
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  writeU32(out, 0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/**
 * x = SHA-512("Sigilo-SMP-v1-secret" ‖ IK_low ‖ IK_high ‖ len ‖ binding ‖ len ‖ question ‖ len ‖ answer) mod ℓ,
 * IK_low/IK_high the two identity keys in byte order, lengths u32 big-endian,
 * question and normalised answer in UTF-8 (smp.md §2).
 */
export function smpSecret(crypto: CryptoProvider, parties: SmpParties, question: string, answer: string): bigint {
  assertIdentityKey(parties.ourIdentityKey);
  assertIdentityKey(parties.theirIdentityKey);
  if (!(parties.sessionBinding instanceof Uint8Array) || parties.sessionBinding.length === 0) throw new InvalidArgumentError('session binding must be non-empty bytes');
  const normal = utf8(normaliseSmpAnswer(answer));
  if (normal.length === 0) throw new InvalidArgumentError('the answer is empty');
  if (normal.length > SMP_MAX_ANSWER_BYTES) throw new InvalidArgumentError(`the answer is longer than ${SMP_MAX_ANSWER_BYTES} bytes`);
  const [low, high] = compareBytes(parties.ourIdentityKey, parties.theirIdentityKey) <= 0
    ? [parties.ourIdentityKey, parties.theirIdentityKey] : [parties.theirIdentityKey, parties.ourIdentityKey];
  const h = crypto.sha512(concatBytes(SECRET_LABEL, low, high, lengthPrefixed(parties.sessionBinding), lengthPrefixed(utf8(question)), lengthPrefixed(normal)));
  return mod(leToBigint(h));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// --- the state machine -------------------------------------------------------

export type SmpResult = 'match' | 'no-match';

/**
 * idle: nothing running. awaiting-smp2: we asked (SMP1 sent). awaiting-answer:
 * the peer asked, the user has not answered yet. awaiting-smp3: we answered
 * (SMP2 sent). awaiting-smp4: SMP3 sent. finished: a result. aborted: over
 * without a result (either side aborted, or a check failed).
 */
export type SmpPhase = 'idle' | 'awaiting-smp2' | 'awaiting-answer' | 'awaiting-smp3' | 'awaiting-smp4' | 'finished' | 'aborted';
const PHASES: readonly SmpPhase[] = ['idle', 'awaiting-smp2', 'awaiting-answer', 'awaiting-smp3', 'awaiting-smp4', 'finished', 'aborted'];

interface State {
  readonly phase: SmpPhase;
  readonly exchangeId?: Uint8Array;
  readonly question?: string;
  /** x or y once known. */
  readonly secret?: bigint;
  /** Per phase (see encode): awaiting-smp2 [a2, a3]; awaiting-smp3 [b3]; awaiting-smp4 [a3]. */
  readonly scalars: readonly bigint[];
  /** awaiting-answer [g2a, g3a]; awaiting-smp3 [g2, g3, g3a, Pb, Qb]; awaiting-smp4 [g3b, Pa − Pb, Qa − Qb]. */
  readonly points: readonly Point[];
  readonly result?: SmpResult;
  /** Exchange ids that are over (finished, aborted or abandoned), newest last. */
  readonly finished: readonly Uint8Array[];
}

/** What a received message did. `message`: send it to the peer (inside the session). */
export type SmpEvent =
  | { readonly type: 'question'; readonly question: string }
  | { readonly type: 'continue'; readonly message: Uint8Array }
  | { readonly type: 'result'; readonly result: SmpResult; readonly message?: Uint8Array }
  | { readonly type: 'aborted' };

const IN_PROGRESS: ReadonlySet<SmpPhase> = new Set(['awaiting-smp2', 'awaiting-answer', 'awaiting-smp3', 'awaiting-smp4']);

/**
 * One device's SMP state with one peer device. Methods either succeed and move
 * to the next phase, or throw a typed error: SmpReplayError and
 * SmpUnexpectedMessageError leave the state unchanged; SmpProofError and
 * SmpInvalidElementError leave it `aborted` (send `abortMessage()`).
 */
export class SmpExchange {
  #s: State;

  private constructor(state: State) { this.#s = state; }

  /** A fresh state with nothing running. */
  static idle(): SmpExchange { return new SmpExchange({ phase: 'idle', scalars: [], points: [], finished: [] }); }

  get phase(): SmpPhase { return this.#s.phase; }
  /** The running (or last) exchange's id. */
  get exchangeId(): Uint8Array | undefined { return this.#s.exchangeId?.slice(); }
  /** The question of the running or last exchange. */
  get question(): string | undefined { return this.#s.question; }
  get result(): SmpResult | undefined { return this.#s.result; }

  /**
   * Asks `question` with our `answer`: returns SMP1 to send. Allowed when
   * nothing runs; a running exchange is abandoned first (send its abort).
   */
  start(ctx: ProtocolContext, parties: SmpParties, question: string, answer: string): Uint8Array {
    if (utf8(question).length > SMP_MAX_QUESTION_BYTES) throw new InvalidArgumentError(`the question is longer than ${SMP_MAX_QUESTION_BYTES} bytes`);
    const x = smpSecret(ctx.crypto, parties, question, answer);
    const exchangeId = ctx.random(SMP_EXCHANGE_ID_LENGTH);
    const a2 = randomScalar(ctx), a3 = randomScalar(ctx);
    const p2 = proveKnowledge(ctx, 1, exchangeId, a2);
    const p3 = proveKnowledge(ctx, 2, exchangeId, a3);
    const message = encodeMessage(exchangeId, {
      case: 'smp1',
      value: { question, g2a: mulSecret(G, a2).toBytes(), c2: scalarBytes(p2.c), d2: scalarBytes(p2.d), g3a: mulSecret(G, a3).toBytes(), c3: scalarBytes(p3.c), d3: scalarBytes(p3.d) },
    });
    this.#s = { phase: 'awaiting-smp2', exchangeId, question, secret: x, scalars: [a2, a3], points: [], finished: this.#retired() };
    return message;
  }

  /** Answers the peer's question (phase awaiting-answer): returns SMP2 to send. */
  answer(ctx: ProtocolContext, parties: SmpParties, answer: string): Uint8Array {
    const s = this.#s;
    if (s.phase !== 'awaiting-answer') throw new SmpUnexpectedMessageError('no question is waiting for an answer');
    const exchangeId = s.exchangeId!;
    const y = smpSecret(ctx.crypto, parties, s.question!, answer);
    const [g2a, g3a] = s.points as [Point, Point];
    const b2 = randomScalar(ctx), b3 = randomScalar(ctx);
    const p2 = proveKnowledge(ctx, 3, exchangeId, b2);
    const p3 = proveKnowledge(ctx, 4, exchangeId, b3);
    const g2 = mulSecret(g2a, b2), g3 = mulSecret(g3a, b3);
    const r4 = randomScalar(ctx), r5 = randomScalar(ctx), r6 = randomScalar(ctx);
    const pb = mulSecret(g3, r4);
    const qb = mulSecret(G, r4).add(mulSecret(g2, y));
    const cp = challenge(ctx.crypto, 5, exchangeId, [mulSecret(g3, r5), mulSecret(G, r5).add(mulSecret(g2, r6))]);
    const message = encodeMessage(exchangeId, {
      case: 'smp2',
      value: {
        g2b: mulSecret(G, b2).toBytes(), c2: scalarBytes(p2.c), d2: scalarBytes(p2.d),
        g3b: mulSecret(G, b3).toBytes(), c3: scalarBytes(p3.c), d3: scalarBytes(p3.d),
        pb: pb.toBytes(), qb: qb.toBytes(), cp: scalarBytes(cp), d5: scalarBytes(mod(r5 - r4 * cp)), d6: scalarBytes(mod(r6 - y * cp)),
      },
    });
    this.#s = { ...s, phase: 'awaiting-smp3', secret: y, scalars: [b3], points: [g2, g3, g3a, pb, qb] };
    return message;
  }

  /**
   * Abandons the running exchange: returns the abort message to send (none
   * when nothing runs). After a failed check the state is already aborted and
   * this returns the abort for that exchange.
   */
  abort(): Uint8Array | undefined {
    const s = this.#s;
    if (s.phase === 'aborted') return encodeMessage(s.exchangeId!, { case: 'abort', value: {} });
    if (!IN_PROGRESS.has(s.phase)) return undefined;
    const message = encodeMessage(s.exchangeId!, { case: 'abort', value: {} });
    this.#s = { phase: 'aborted', exchangeId: s.exchangeId, question: s.question, scalars: [], points: [], finished: this.#retired() };
    return message;
  }

  /** The abort message of the current (or last) exchange, to send after a failed check. */
  abortMessage(): Uint8Array | undefined {
    return this.#s.exchangeId ? encodeMessage(this.#s.exchangeId, { case: 'abort', value: {} }) : undefined;
  }

  /** Handles one SMP message from the peer (smp.md §5). */
  receive(ctx: ProtocolContext, bytes: Uint8Array): SmpEvent {
    const m = decodeProto(SmpMessageSchema, bytes, 'SMP message');
    if (m.version !== SMP_VERSION) throw new UnsupportedVersionError(`SMP version ${m.version} is not supported`);
    if (m.exchangeId.length !== SMP_EXCHANGE_ID_LENGTH) throw new DecodeError('SMP exchange id must be 16 bytes');
    const s = this.#s;
    const id = m.exchangeId;
    const isCurrent = s.exchangeId !== undefined && bytesEqual(s.exchangeId, id);
    if (s.finished.some((f) => bytesEqual(f, id))) throw new SmpReplayError();
    if (isCurrent && (s.phase === 'finished' || s.phase === 'aborted')) throw new SmpReplayError();
    const step = m.step;
    switch (step.case) {
      case 'smp1': return this.#onSmp1(ctx, id, isCurrent, step.value);
      case 'abort': {
        if (!isCurrent || !IN_PROGRESS.has(s.phase)) throw new SmpUnexpectedMessageError('SMP abort for an exchange that is not running: ignored');
        this.#s = { phase: 'aborted', exchangeId: id, question: s.question, scalars: [], points: [], finished: this.#retired() };
        return { type: 'aborted' };
      }
      case undefined: throw new DecodeError('SMP message has no step');
      default: break;
    }
    if (!isCurrent) throw new SmpUnexpectedMessageError('SMP message for another exchange: ignored');
    const expected = step.case === 'smp2' ? 'awaiting-smp2' : step.case === 'smp3' ? 'awaiting-smp3' : 'awaiting-smp4';
    if (s.phase !== expected) {
      // A step this side already passed is a replay; one it has not reached yet is out of order.
      const order: Record<string, number> = { 'awaiting-smp2': 2, 'awaiting-answer': 1, 'awaiting-smp3': 3, 'awaiting-smp4': 4 };
      const at = order[s.phase] ?? 0;
      const n = step.case === 'smp2' ? 2 : step.case === 'smp3' ? 3 : 4;
      if (n < at) throw new SmpReplayError();
      throw new SmpUnexpectedMessageError(`SMP ${step.case} arrived out of order: ignored`);
    }
    try {
      if (step.case === 'smp2') return this.#onSmp2(ctx, id, step.value);
      if (step.case === 'smp3') return this.#onSmp3(ctx, id, step.value);
      return this.#onSmp4(ctx, id, step.value);
    } catch (e) {
      if (e instanceof SmpProofError || e instanceof SmpInvalidElementError) this.#failed(id);
      throw e;
    }
  }

  #onSmp1(ctx: ProtocolContext, id: Uint8Array, isCurrent: boolean, v: Smp1): SmpEvent {
    const s = this.#s;
    if (isCurrent) throw new SmpReplayError();
    if (s.phase === 'awaiting-smp2' && compareBytes(id, s.exchangeId!) > 0) {
      // Both asked at once: the exchange with the smaller id goes on; the peer drops its own by the same rule.
      throw new SmpUnexpectedMessageError('the peer asked at the same time; our question goes first (smp.md §5)');
    }
    if (utf8(v.question).length > SMP_MAX_QUESTION_BYTES) throw new DecodeError('SMP question is too long');
    // A new exchange replaces a running one: the peer has abandoned it.
    const finished = this.#retired();
    try {
      const g2a = readPoint(v.g2a, 'smp1.g2a');
      const c2 = readScalar(v.c2, 'smp1.c2');
      const d2 = readScalar(v.d2, 'smp1.d2');
      const g3a = readPoint(v.g3a, 'smp1.g3a');
      const c3 = readScalar(v.c3, 'smp1.c3');
      const d3 = readScalar(v.d3, 'smp1.d3');
      checkKnowledge(ctx.crypto, 1, id, g2a, c2, d2, 'smp1.c2');
      checkKnowledge(ctx.crypto, 2, id, g3a, c3, d3, 'smp1.c3');
      this.#s = { phase: 'awaiting-answer', exchangeId: id, question: v.question, scalars: [], points: [g2a, g3a], finished };
      return { type: 'question', question: v.question };
    } catch (e) {
      this.#s = { phase: 'aborted', exchangeId: id, question: v.question, scalars: [], points: [], finished: remember(finished, id) };
      throw e;
    }
  }

  #onSmp2(ctx: ProtocolContext, id: Uint8Array, v: Smp2): SmpEvent {
    const s = this.#s;
    const [a2, a3] = s.scalars as [bigint, bigint];
    const x = s.secret!;
    const g2b = readPoint(v.g2b, 'smp2.g2b');
    const c2 = readScalar(v.c2, 'smp2.c2');
    const d2 = readScalar(v.d2, 'smp2.d2');
    const g3b = readPoint(v.g3b, 'smp2.g3b');
    const c3 = readScalar(v.c3, 'smp2.c3');
    const d3 = readScalar(v.d3, 'smp2.d3');
    const pb = readPoint(v.pb, 'smp2.pb');
    const qb = readPoint(v.qb, 'smp2.qb');
    const cpb = readScalar(v.cp, 'smp2.cp');
    const d5b = readScalar(v.d5, 'smp2.d5');
    const d6b = readScalar(v.d6, 'smp2.d6');
    checkKnowledge(ctx.crypto, 3, id, g2b, c2, d2, 'smp2.c2');
    checkKnowledge(ctx.crypto, 4, id, g3b, c3, d3, 'smp2.c3');
    const g2 = mulSecret(g2b, a2), g3 = mulSecret(g3b, a3);
    const t1 = mulPublic(g3, d5b).add(mulPublic(pb, cpb));
    const t2 = mulPublic(G, d5b).add(mulPublic(g2, d6b)).add(mulPublic(qb, cpb));
    if (challenge(ctx.crypto, 5, id, [t1, t2]) !== cpb) throw new SmpProofError('smp2.cp');

    const r4 = randomScalar(ctx), r5 = randomScalar(ctx), r6 = randomScalar(ctx), r7 = randomScalar(ctx);
    const pa = mulSecret(g3, r4);
    const qa = mulSecret(G, r4).add(mulSecret(g2, x));
    const cp = challenge(ctx.crypto, 6, id, [mulSecret(g3, r5), mulSecret(G, r5).add(mulSecret(g2, r6))]);
    const qab = qa.subtract(qb);
    const ra = mulSecret(qab, a3);
    const cr = challenge(ctx.crypto, 7, id, [mulSecret(G, r7), mulSecret(qab, r7)]);
    const message = encodeMessage(id, {
      case: 'smp3',
      value: {
        pa: pa.toBytes(), qa: qa.toBytes(), cp: scalarBytes(cp), d5: scalarBytes(mod(r5 - r4 * cp)), d6: scalarBytes(mod(r6 - x * cp)),
        ra: ra.toBytes(), cr: scalarBytes(cr), d7: scalarBytes(mod(r7 - a3 * cr)),
      },
    });
    this.#s = { ...s, phase: 'awaiting-smp4', scalars: [a3], points: [g3b, pa.subtract(pb), qab] };
    return { type: 'continue', message };
  }

  #onSmp3(ctx: ProtocolContext, id: Uint8Array, v: Smp3): SmpEvent {
    const s = this.#s;
    const [b3] = s.scalars as [bigint];
    const [g2, g3, g3a, pb, qb] = s.points as [Point, Point, Point, Point, Point];
    const pa = readPoint(v.pa, 'smp3.pa');
    const qa = readPoint(v.qa, 'smp3.qa');
    const cp = readScalar(v.cp, 'smp3.cp');
    const d5 = readScalar(v.d5, 'smp3.d5');
    const d6 = readScalar(v.d6, 'smp3.d6');
    const ra = readPoint(v.ra, 'smp3.ra');
    const cr = readScalar(v.cr, 'smp3.cr');
    const d7 = readScalar(v.d7, 'smp3.d7');
    const t1 = mulPublic(g3, d5).add(mulPublic(pa, cp));
    const t2 = mulPublic(G, d5).add(mulPublic(g2, d6)).add(mulPublic(qa, cp));
    if (challenge(ctx.crypto, 6, id, [t1, t2]) !== cp) throw new SmpProofError('smp3.cp');
    const qab = qa.subtract(qb);
    const u1 = mulPublic(G, d7).add(mulPublic(g3a, cr));
    const u2 = mulPublic(qab, d7).add(mulPublic(ra, cr));
    if (challenge(ctx.crypto, 7, id, [u1, u2]) !== cr) throw new SmpProofError('smp3.cr');

    const r7 = randomScalar(ctx);
    const rb = mulSecret(qab, b3);
    const crb = challenge(ctx.crypto, 8, id, [mulSecret(G, r7), mulSecret(qab, r7)]);
    const message = encodeMessage(id, { case: 'smp4', value: { rb: rb.toBytes(), cr: scalarBytes(crb), d7: scalarBytes(mod(r7 - b3 * crb)) } });
    const result: SmpResult = mulSecret(ra, b3).equals(pa.subtract(pb)) ? 'match' : 'no-match';
    this.#finish(result);
    return { type: 'result', result, message };
  }

  #onSmp4(ctx: ProtocolContext, id: Uint8Array, v: Smp4): SmpEvent {
    const s = this.#s;
    const [a3] = s.scalars as [bigint];
    const [g3b, pab, qab] = s.points as [Point, Point, Point];
    const rb = readPoint(v.rb, 'smp4.rb');
    const cr = readScalar(v.cr, 'smp4.cr');
    const d7 = readScalar(v.d7, 'smp4.d7');
    const u1 = mulPublic(G, d7).add(mulPublic(g3b, cr));
    const u2 = mulPublic(qab, d7).add(mulPublic(rb, cr));
    if (challenge(ctx.crypto, 8, id, [u1, u2]) !== cr) throw new SmpProofError('smp4.cr');
    const result: SmpResult = mulSecret(rb, a3).equals(pab) ? 'match' : 'no-match';
    this.#finish(result);
    return { type: 'result', result };
  }

  #finish(result: SmpResult): void {
    const s = this.#s;
    this.#s = { phase: 'finished', exchangeId: s.exchangeId, question: s.question, result, scalars: [], points: [], finished: this.#retired() };
  }

  #failed(id: Uint8Array): void {
    const s = this.#s;
    this.#s = { phase: 'aborted', exchangeId: id, question: s.question, scalars: [], points: [], finished: this.#retired() };
  }

  /** The finished ids plus the current exchange's, which is over once this returns into a new state. */
  #retired(): Uint8Array[] {
    const s = this.#s;
    return s.exchangeId ? remember(s.finished, s.exchangeId) : [...s.finished];
  }

  /** The state to store between steps (holds secret exponents: store it like a session record). */
  encode(): Uint8Array {
    const s = this.#s;
    return toBinary(SmpStateRecordSchema, create(SmpStateRecordSchema, {
      version: SMP_VERSION,
      phase: PHASES.indexOf(s.phase),
      exchangeId: s.exchangeId ?? new Uint8Array(0),
      question: s.question ?? '',
      secret: s.secret === undefined ? new Uint8Array(0) : scalarBytes(s.secret),
      scalars: s.scalars.map(scalarBytes),
      points: s.points.map((p) => p.toBytes()),
      result: s.result === undefined ? 0 : s.result === 'match' ? 1 : 2,
      finishedIds: [...s.finished],
    }));
  }

  /** Restores a state stored with `encode()`; DecodeError when it is malformed. */
  static decode(bytes: Uint8Array): SmpExchange {
    const r = decodeProto(SmpStateRecordSchema, bytes, 'SMP state');
    if (r.version !== SMP_VERSION) throw new UnsupportedVersionError(`SMP state version ${r.version} is not supported`);
    const phase = PHASES[r.phase];
    if (!phase) throw new DecodeError('SMP state: unknown phase');
    const shape: Record<SmpPhase, [number, number]> = {
      idle: [0, 0], 'awaiting-smp2': [2, 0], 'awaiting-answer': [0, 2], 'awaiting-smp3': [1, 5], 'awaiting-smp4': [1, 3], finished: [0, 0], aborted: [0, 0],
    };
    const [ns, np] = shape[phase];
    if (r.scalars.length !== ns || r.points.length !== np) throw new DecodeError('SMP state: wrong number of values for its phase');
    if (phase !== 'idle' && r.exchangeId.length !== SMP_EXCHANGE_ID_LENGTH) throw new DecodeError('SMP state: exchange id must be 16 bytes');
    if (r.finishedIds.some((f) => f.length !== SMP_EXCHANGE_ID_LENGTH) || r.finishedIds.length > SMP_REMEMBERED_EXCHANGES) throw new DecodeError('SMP state: bad finished ids');
    const needsSecret = phase === 'awaiting-smp2' || phase === 'awaiting-smp3' || phase === 'awaiting-smp4';
    if (needsSecret !== (r.secret.length === 32)) throw new DecodeError('SMP state: secret missing or misplaced');
    try {
      return new SmpExchange({
        phase,
        exchangeId: phase === 'idle' ? undefined : r.exchangeId,
        question: phase === 'idle' ? undefined : r.question,
        secret: needsSecret ? readScalar(r.secret, 'state.secret') : undefined,
        scalars: r.scalars.map((b, i) => readScalar(b, `state.scalar${i}`)),
        points: r.points.map((b, i) => readPoint(b, `state.point${i}`)),
        result: phase === 'finished' ? (r.result === 1 ? 'match' : r.result === 2 ? 'no-match' : failDecode()) : undefined,
        finished: r.finishedIds,
      });
    } catch (e) {
      if (e instanceof SmpInvalidElementError) throw new DecodeError('SMP state: a stored value is malformed');
      throw e;
    }
  }
}

function failDecode(): never { throw new DecodeError('SMP state: finished without a result'); }

function remember(finished: readonly Uint8Array[], id: Uint8Array): Uint8Array[] {
  const out = finished.filter((f) => !bytesEqual(f, id));
  out.push(id);
  return out.slice(-SMP_REMEMBERED_EXCHANGES);
}

type Step =
  | { case: 'smp1'; value: Omit<Smp1, '$typeName'> }
  | { case: 'smp2'; value: Omit<Smp2, '$typeName'> }
  | { case: 'smp3'; value: Omit<Smp3, '$typeName'> }
  | { case: 'smp4'; value: Omit<Smp4, '$typeName'> }
  | { case: 'abort'; value: Record<string, never> };

function encodeMessage(exchangeId: Uint8Array, step: Step): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return toBinary(SmpMessageSchema, create(SmpMessageSchema, { version: SMP_VERSION, exchangeId, step: step as any }));
}
