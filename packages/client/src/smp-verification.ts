/**
 * Verifying a contact by a shared secret: the Socialist Millionaire Protocol
 * (spec/smp.md) run inside the end-to-end session (client.md §4.4). One
 * exchange state per peer account, between this device and one device of the
 * peer, kept in the (encrypted) store's meta: it holds secret exponents.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  bytesEqual, decodeSessionRecord, ProtocolError, SmpExchange, SmpInvalidElementError, SmpProofError, smpSessionBinding, type SmpParties,
} from '@sigilo/protocol';
import type { SmpStep } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { SmpMessageSchema } from '@sigilo/protocol/gen/sigilo/client/v1/smp_pb';
import { fromBase64, toBase64, toHex } from './bytes.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';

/** What the inbox collects while applying a batch (inbox.ts InboxEffects). */
type Effects = { readonly events: ClientEvent[]; readonly followUps: (() => void)[] };
import { flush, flushSoon, queueContent } from './outbox.js';

/** SMP starts allowed per contact per hour (smp.md: 3 per hour SHOULD). */
export const SMP_STARTS_PER_HOUR = 3;
const HOUR_MS = 3_600_000;

interface Stored {
  /** The peer device the exchange runs with. */
  device: number;
  /** SmpExchange.encode(), base64. */
  state: string;
  /** When we started exchanges (Unix ms), for the rate limit. */
  starts: number[];
}

const metaKey = (peer: Uint8Array) => `smp.${toHex(peer)}`;

function load(engine: Engine, peer: Uint8Array): { device: number; exchange: SmpExchange; starts: number[] } {
  const raw = engine.store.getMeta(metaKey(peer));
  if (!raw) return { device: 0, exchange: SmpExchange.idle(), starts: [] };
  try {
    const s = JSON.parse(new TextDecoder().decode(raw)) as Stored;
    return { device: s.device, exchange: SmpExchange.decode(fromBase64(s.state)), starts: s.starts };
  } catch {
    return { device: 0, exchange: SmpExchange.idle(), starts: [] }; // unreadable state: start over
  }
}

function save(engine: Engine, peer: Uint8Array, device: number, exchange: SmpExchange, starts: number[]): void {
  const s: Stored = { device, state: toBase64(exchange.encode()), starts };
  engine.store.setMeta(metaKey(peer), new TextEncoder().encode(JSON.stringify(s)));
}

/** The parties of an exchange with `peer`'s device `device`, from the session we hold with it. */
function parties(engine: Engine, peer: Uint8Array, device: number): SmpParties {
  const stored = engine.store.getSession(peer, device);
  const record = stored ? decodeSessionRecord(stored) : undefined;
  if (!record?.current) throw new ClientError('NOT_FOUND', 'no session with this contact yet: exchange a message first, then verify');
  return { ourIdentityKey: engine.identity.publicKey, theirIdentityKey: record.current.remoteIdentity, sessionBinding: smpSessionBinding(record) };
}

function queueStep(engine: Engine, peer: Uint8Array, device: number, message: Uint8Array): void {
  queueContent(engine, peer, { body: { case: 'smp', value: { message: fromBinary(SmpMessageSchema, message), deviceId: device } } }, undefined);
}

function requireContact(engine: Engine, peer: Uint8Array) {
  const c = engine.store.getContact(peer);
  if (!c?.identityKey) throw new ClientError('NOT_FOUND', 'no identity known for this contact yet: exchange a message first, then verify');
  if (c.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', 'this contact\'s identity key changed: accept it first (`sigilo trust NAME`), then verify');
  return c;
}

/** Asks `question` with our `answer` (client.md §4.4): sends SMP1 to the contact's first device. Rate-limited per contact. */
export async function startSmp(engine: Engine, peer: Uint8Array, question: string, answer: string): Promise<void> {
  engine.requireAccount();
  requireContact(engine, peer);
  const devices = engine.store.sessionDevices(peer).sort((a, b) => a - b);
  if (devices.length === 0) throw new ClientError('NOT_FOUND', 'no session with this contact yet: exchange a message first, then verify');
  const device = devices[0]!;
  const now = engine.now();
  engine.store.transaction(() => {
    const { exchange, device: oldDevice, starts } = load(engine, peer);
    const recent = starts.filter((t) => t > now - HOUR_MS);
    if (recent.length >= SMP_STARTS_PER_HOUR) {
      throw new ClientError('INVALID_INPUT', `at most ${SMP_STARTS_PER_HOUR} verifications per contact per hour: try again later`);
    }
    const abandoned = exchange.abort();
    if (abandoned) queueStep(engine, peer, oldDevice, abandoned);
    let step: Uint8Array;
    try {
      step = exchange.start(engine.ctx, parties(engine, peer, device), question, answer);
    } catch (e) {
      if (e instanceof ProtocolError) throw new ClientError('INVALID_INPUT', e.message);
      throw e;
    }
    save(engine, peer, device, exchange, [...recent, now]);
    queueStep(engine, peer, device, step);
  });
  await flush(engine);
}

/** Answers the question `peer` asked (client.md §4.4): sends SMP2. */
export async function answerSmp(engine: Engine, peer: Uint8Array, answer: string): Promise<void> {
  engine.requireAccount();
  requireContact(engine, peer);
  engine.store.transaction(() => {
    const { exchange, device, starts } = load(engine, peer);
    if (exchange.phase !== 'awaiting-answer') throw new ClientError('NOT_FOUND', 'this contact has not asked a verification question (or it was already answered)');
    let step: Uint8Array;
    try {
      step = exchange.answer(engine.ctx, parties(engine, peer, device), answer);
    } catch (e) {
      if (e instanceof ProtocolError) throw new ClientError('INVALID_INPUT', e.message);
      throw e;
    }
    save(engine, peer, device, exchange, starts);
    queueStep(engine, peer, device, step);
  });
  await flush(engine);
}

/** The question `peer` asked that waits for our answer, if any. */
export function pendingSmpQuestion(engine: Engine, peer: Uint8Array): string | undefined {
  const { exchange } = load(engine, peer);
  return exchange.phase === 'awaiting-answer' ? exchange.question : undefined;
}

/** The state of the exchange with `peer`: its phase and, once finished, its result. */
export function smpStatus(engine: Engine, peer: Uint8Array): { phase: string; result?: 'match' | 'no-match'; question?: string } {
  const { exchange } = load(engine, peer);
  return { phase: exchange.phase, result: exchange.result, question: exchange.question };
}

/**
 * Applies one incoming SMP step inside the inbox transaction. Steps from an
 * identity not accepted, for another of our devices, from another device than
 * the exchange's, replayed or out of order are refused: nothing changes.
 */
export function receiveSmp(
  engine: Engine, step: SmpStep, sender: { accountId: Uint8Array; deviceId: number; identityKey: Uint8Array }, out: Effects, unaccepted: boolean,
): void {
  const me = engine.requireAccount();
  if (bytesEqual(sender.accountId, me.accountId)) return;
  if (step.deviceId !== me.deviceId) return; // the exchange runs with another of our devices
  if (!step.message) {
    out.events.push({ type: 'undecryptable', reason: 'SMP step without a message: ignored' });
    return;
  }
  if (unaccepted) {
    out.events.push({ type: 'undecryptable', reason: 'SMP step from an identity key not accepted yet: ignored' });
    return;
  }
  const peer = sender.accountId;
  const bytes = toBinary(SmpMessageSchema, step.message);
  const { exchange, device, starts } = load(engine, peer);
  const isNew = step.message.step.case === 'smp1';
  if (!isNew && device !== sender.deviceId) {
    out.events.push({ type: 'undecryptable', reason: 'SMP step refused: it comes from another device than the exchange\'s' });
    return;
  }
  let event;
  try {
    event = exchange.receive(engine.ctx, bytes);
  } catch (e) {
    if (e instanceof SmpProofError || e instanceof SmpInvalidElementError) {
      // A failed check: the exchange is over without a match; the peer hears the abort.
      save(engine, peer, sender.deviceId, exchange, starts);
      const abort = exchange.abortMessage();
      if (abort) queueStep(engine, peer, sender.deviceId, abort);
      out.followUps.push(() => flushSoon(engine, 0));
      out.events.push({ type: 'smp-result', from: peer, match: false, failed: true });
      return;
    }
    if (e instanceof ProtocolError) {
      out.events.push({ type: 'undecryptable', reason: `SMP step refused (${e.code}): ${e.message}` });
      return;
    }
    throw e;
  }
  save(engine, peer, sender.deviceId, exchange, starts);
  switch (event.type) {
    case 'question':
      out.events.push({ type: 'smp-question', from: peer, question: event.question });
      return;
    case 'continue':
      queueStep(engine, peer, sender.deviceId, event.message);
      out.followUps.push(() => flushSoon(engine, 0));
      return;
    case 'result': {
      if (event.message) {
        queueStep(engine, peer, sender.deviceId, event.message);
        out.followUps.push(() => flushSoon(engine, 0));
      }
      const match = event.result === 'match';
      if (match) {
        // Verified: the identity key the exchange ran with is the contact's accepted one (as acceptIdentity(…, true)).
        const c = engine.store.getContact(peer);
        if (c && !c.pendingIdentityKey && c.identityKey && bytesEqual(c.identityKey, sender.identityKey)) engine.store.putContact({ ...c, verified: true });
      }
      out.events.push({ type: 'smp-result', from: peer, match });
      return;
    }
    case 'aborted':
      out.events.push({ type: 'smp-result', from: peer, match: false, aborted: true });
      return;
  }
}
