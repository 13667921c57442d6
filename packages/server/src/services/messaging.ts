/**
 * Sends (identified and sealed), acknowledgements and sender certificates.
 *
 * Sealed sends are authorised by the recipient's unidentified-access key
 * (spec/server.md §Sealed sender): the server compares SHA-256(key) with what
 * the recipient set, in constant time, and stores the message with no sender.
 * An unknown recipient and a wrong key give the same UNAUTHORIZED error, so
 * sealed sends do not reveal which accounts exist.
 */
import { issueSenderCertificate } from '@sigilo/protocol';
import type { Ack, ClientFrame, MultiSealedSend, OutgoingMessage, SealedSend, Send } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { hash, timingSafeEqual } from 'node:crypto';
import { ACCOUNT_ID_LENGTH } from '../auth.js';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, ServerError, StaleDevicesError, invalidArgument, isStorageFull, StorageFullError } from '../errors.js';
import { toHex } from '../ids.js';
import { labels } from '../metrics.js';
import { deviceListDiff, excusedKeyless, type EnqueueRequest, type SealedRecipientRecord } from '../storage/port.js';
import type { SendTurn } from '../send-gate.js';
import { ACCESS_KEY_LENGTH, accessKeyHash } from './accounts.js';
import { applyExpiryHint } from './expiry-hint.js';
import { storedTimes } from './stored-times.js';

export const MESSAGE_ID_LENGTH = 16;

/** The input of dedupKeyOf for the usual lengths, reused: hash() reads it before it returns. */
const DEDUP_INPUT = new Uint8Array(ACCOUNT_ID_LENGTH + MESSAGE_ID_LENGTH);

/** SHA-256(recipient || message id): the only trace of a message id the server keeps after delivery. */
function dedupKeyOf(recipient: Uint8Array, messageId: Uint8Array): Uint8Array {
  const length = recipient.length + messageId.length;
  const input = length === DEDUP_INPUT.length ? DEDUP_INPUT : new Uint8Array(length);
  input.set(recipient, 0);
  input.set(messageId, recipient.length);
  return hash('sha256', input, 'buffer');
}
const MAX_ENTRIES = 100;
const MAX_ACK_IDS = 1000;
/** Server ids are row ids below 2^53; a larger one in an Ack names no message. */
const MAX_SERVER_ID = BigInt(Number.MAX_SAFE_INTEGER);

function checkMessages(ctx: ServerContext, recipient: Uint8Array, messageId: Uint8Array, messages: readonly OutgoingMessage[]): void {
  if (recipient.length !== ACCOUNT_ID_LENGTH) throw invalidArgument(`recipient_account_id must be ${ACCOUNT_ID_LENGTH} bytes`);
  if (messageId.length !== MESSAGE_ID_LENGTH) throw invalidArgument(`message_id must be ${MESSAGE_ID_LENGTH} random bytes`);
  if (messages.length === 0) throw invalidArgument('a send must carry at least one per-device message');
  if (messages.length > MAX_ENTRIES) throw invalidArgument(`a send may carry at most ${MAX_ENTRIES} per-device messages`);
  const max = ctx.config.limits.maxMessageBytes;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    // At most MAX_ENTRIES, usually one or two: comparing with the earlier ones costs less than a Set per send.
    for (let j = 0; j < i; j++) if (messages[j]!.deviceId === m.deviceId) throw invalidArgument('each device may appear only once in a send');
    if (m.content.length === 0) throw invalidArgument('a per-device message must not be empty');
    if (m.content.length > max) {
      throw new ServerError('MESSAGE_TOO_LARGE', `a per-device message is ${m.content.length} bytes, above the server's limit of ${max}; send large content as an attachment`);
    }
  }
}

/** A send as the services build it; enqueue adds the dedup key and the stored times. */
type SendRequest = Omit<EnqueueRequest, 'dedupKey' | 'createdAt' | 'expiresAt' | 'dedupExpiresAt'>;

async function enqueue(ctx: ServerContext, req: SendRequest, recipientHex: string, kind: string, expiresHint: bigint, turn?: SendTurn): Promise<Reply> {
  const started = performance.now();
  // The connection's earlier sends go to the relay first (send-gate.ts); the relay keeps that order.
  const wait = turn?.wait();
  if (wait) await wait;
  const now = ctx.now();
  const dedupKey = dedupKeyOf(req.recipient, req.messageId);
  const times = storedTimes(now, ctx.config.retention.undeliveredMs, ctx.config.retention.dedupMs);
  const expiresAt = applyExpiryHint(ctx, expiresHint, now, times.expiresAt);
  // Every field written out: `{ ...req, dedupKey, ...times, expiresAt }` allocated ~1.5 KB more per send in V8
  // (a sampling heap profile of the call alone), and the request lives until its batch commits.
  const stored = ctx.relay.enqueue({
    recipient: req.recipient, messageId: req.messageId, dedupKey, entries: req.entries, sender: req.sender, excludeDeviceId: req.excludeDeviceId,
    createdAt: times.createdAt, expiresAt, dedupExpiresAt: times.dedupExpiresAt,
  }, recipientHex);
  turn?.pass();
  const r = await stored;
  ctx.metrics.sends.inc(labels(kind, r.status));
  switch (r.status) {
    case 'stored':
    case 'duplicate':
      ctx.metrics.sendLatency.observe((performance.now() - started) / 1000);
      return { body: { case: 'sendResult', value: { messageId: req.messageId, serverTimestamp: BigInt(now), duplicate: r.status === 'duplicate' } } };
    case 'stale':
      throw new StaleDevicesError(r.current, r.missing, r.extra);
    case 'no-account':
      throw kind === 'sealed'
        ? new ServerError('UNAUTHORIZED', 'sealed send refused: check the recipient and its access key')
        : new ServerError('NOT_FOUND', 'no such account on this server; check the recipient');
    case 'failed':
      if (isStorageFull(r.error)) {
        ctx.log.error('storage full: a send was refused');
        throw new StorageFullError();
      }
      throw r.error;
  }
}

/**
 * Online-only sends (typing indicators): checked like any send, pushed to the
 * recipient's connected devices, stored nowhere, not deduplicated.
 */
async function relayOnline(ctx: ServerContext, req: SendRequest, recipientHex: string, kind: string): Promise<Reply> {
  const devices = await ctx.storage.listDevices(req.recipient);
  if (devices.length === 0) {
    throw kind === 'sealed'
      ? new ServerError('UNAUTHORIZED', 'sealed send refused: check the recipient and its access key')
      : new ServerError('NOT_FOUND', 'no such account on this server; check the recipient');
  }
  const current = devices.map((d) => d.deviceId).filter((id) => id !== req.excludeDeviceId);
  const keyless = excusedKeyless(devices.map((d) => d.deviceId), devices.filter((d) => d.keyless).map((d) => d.deviceId));
  const stale = deviceListDiff(current, req.entries.map((e) => e.deviceId), keyless);
  if (stale) throw new StaleDevicesError(stale.current, stale.missing, stale.extra);
  const now = ctx.now();
  for (const e of req.entries) {
    ctx.hub.pushEphemeral(recipientHex, e.deviceId, {
      serverId: 0, messageId: req.messageId, createdAt: now, sealed: req.sender === undefined,
      senderAccountId: req.sender?.accountId, senderDeviceId: req.sender?.deviceId, content: e.content,
    });
  }
  ctx.metrics.sends.inc(labels(kind, 'online_only'));
  return { body: { case: 'sendResult', value: { messageId: req.messageId, serverTimestamp: BigInt(now), duplicate: false } } };
}

/** The bucket of messages to one account (identified from other accounts, sealed, multi-recipient sealed). */
const inboundKey = (recipientHex: string) => `in:${recipientHex}`;

export async function identifiedSend(ctx: ServerContext, s: Session, m: Send, turn?: SendTurn): Promise<Reply> {
  checkMessages(ctx, m.recipientAccountId, m.messageId, m.messages);
  let wait = ctx.sendBuckets.take(s.accountHex, ctx.now());
  if (typeof wait !== 'number') wait = await wait; // shared by the nodes: a bus round trip
  if (wait > 0) throw new RateLimitedError(wait, 'messages from this account', 'account_sends');
  const recipientHex = toHex(m.recipientAccountId);
  const toSelf = recipientHex === s.accountHex;
  if (toSelf && m.messages.some((x) => x.deviceId === s.deviceId)) throw invalidArgument('do not send a message to the sending device itself');
  // A flood of many senders to one account: every message to another account also counts against the recipient's inbound bucket.
  let inbound = toSelf ? 0 : ctx.sendBuckets.take(inboundKey(recipientHex), ctx.now());
  if (typeof inbound !== 'number') inbound = await inbound;
  if (inbound > 0) throw new RateLimitedError(inbound, 'messages to this recipient', 'recipient_messages');
  const req: SendRequest = {
    recipient: m.recipientAccountId,
    messageId: m.messageId,
    entries: m.messages, // each has deviceId and content (QueueEntry)
    sender: { accountId: s.accountId, deviceId: s.deviceId },
    excludeDeviceId: toSelf ? s.deviceId : undefined,
  };
  return m.onlineOnly ? relayOnline(ctx, req, recipientHex, 'identified') : enqueue(ctx, req, recipientHex, 'identified', m.expiresHint, turn);
}

export async function sealedSend(ctx: ServerContext, m: SealedSend, sourceKey = '?', turn?: SendTurn): Promise<Reply> {
  checkMessages(ctx, m.recipientAccountId, m.messageId, m.messages);
  if (m.accessKey.length !== 0 && m.accessKey.length !== ACCESS_KEY_LENGTH) throw invalidArgument(`access_key must be ${ACCESS_KEY_LENGTH} bytes`);
  // Guessing access keys or accounts draws on the address's shared budget of refused requests (registration-guard.ts).
  ctx.registrationGuard.guess(sourceKey, ctx.now());
  const account = await ctx.storage.getSealedAccess(m.recipientAccountId);
  if (!account) throw sealedRefused(ctx, sourceKey);
  let allowed = account.unrestricted;
  if (!allowed && account.accessKeyHash && m.accessKey.length === ACCESS_KEY_LENGTH) {
    allowed = timingSafeEqual(accessKeyHash(m.accessKey), account.accessKeyHash);
  }
  if (!allowed) {
    ctx.metrics.sends.inc(labels('sealed', 'unauthorized'));
    throw sealedRefused(ctx, sourceKey);
  }
  // Sealed sends have no sender to charge: they count against the recipient.
  const recipientHex = toHex(m.recipientAccountId);
  let wait = ctx.sendBuckets.take(inboundKey(recipientHex), ctx.now());
  if (typeof wait !== 'number') wait = await wait;
  if (wait > 0) throw new RateLimitedError(wait, 'sealed messages to this recipient', 'recipient_messages');
  const req: SendRequest = {
    recipient: m.recipientAccountId,
    messageId: m.messageId,
    entries: m.messages, // each has deviceId and content (QueueEntry)
    sender: undefined,
    excludeDeviceId: undefined,
  };
  return m.onlineOnly ? relayOnline(ctx, req, recipientHex, 'sealed') : enqueue(ctx, req, recipientHex, 'sealed', m.expiresHint, turn);
}

/** A refused sealed send, charged to the source address (an Error captures a stack trace: made only when refused). */
function sealedRefused(ctx: ServerContext, sourceKey: string): ServerError {
  ctx.registrationGuard.refused(sourceKey, ctx.now());
  return new ServerError('UNAUTHORIZED', 'sealed send refused: check the recipient and its access key (fetch the recipient\'s profile again)');
}

export async function ack(ctx: ServerContext, s: Session, m: Ack, wantsReply: boolean): Promise<Reply> {
  if (m.serverIds.length > MAX_ACK_IDS) throw invalidArgument(`acknowledge at most ${MAX_ACK_IDS} messages per frame`);
  const ids: number[] = [];
  for (const id of m.serverIds) if (id <= MAX_SERVER_ID) ids.push(Number(id));
  await ctx.relay.ack({ accountId: s.accountId, deviceId: s.deviceId, serverIds: ids });
  return wantsReply ? { body: { case: 'ok', value: {} } } : undefined;
}

/**
 * A certificate for the session's device, valid senderCertificateLifetime
 * (spec/server.md §5: what bounds a revoked device's sealed sends). The device
 * is looked up again first: a revocation commits before the device's
 * connection is closed, and a request in between must not get a certificate.
 */
export async function senderCertificate(ctx: ServerContext, s: Session): Promise<Reply> {
  if (!(await ctx.storage.getDevice(s.accountId, s.deviceId))) {
    throw new ServerError('AUTH_FAILED', 'this device is no longer registered (it was revoked or its account removed); link it again to use it');
  }
  const expires = ctx.now() + ctx.config.senderCertificateMs;
  const certificate = issueSenderCertificate(ctx.crypto, ctx.certificateKey, {
    accountId: s.accountId, deviceId: s.deviceId, identityKey: s.identityKey, expires,
  });
  return { body: { case: 'senderCertificate', value: { certificate, expires: BigInt(expires) } } };
}

// ---------------------------------------------------------------- multi-recipient sealed sends

/**
 * MultiSealedSend (spec/server.md §5.2): one shared payload for many
 * accounts, each with a small header. Sealed like SealedSend (no sender is
 * known or stored, accepted on any connection), authorised per recipient by
 * its access key, all or nothing: nothing is queued unless every recipient
 * passes. Unknown accounts are refused exactly like a wrong access key, so a
 * multi send reveals no more about which accounts exist than SealedSend.
 */

const MAX_RECIPIENT_HEADER_BYTES = 64;

export interface StaleAccount {
  readonly accountId: Uint8Array;
  readonly current: readonly number[];
  readonly missing: readonly number[];
  readonly extra: readonly number[];
}

/** Some recipients of a MultiSealedSend listed the wrong devices (Error.stale_accounts). */
export class MultiStaleDevicesError extends ServerError {
  constructor(readonly accounts: readonly StaleAccount[]) {
    super('STALE_DEVICES', "some recipients' devices have changed (see stale_accounts) and nothing was queued: encrypt for their current device lists and send again");
  }
}

/** Some recipients of a MultiSealedSend refused it (Error.unauthorized_account_ids): wrong access key, or no such account. */
export class MultiUnauthorizedError extends ServerError {
  constructor(readonly accountIds: readonly Uint8Array[]) {
    super('UNAUTHORIZED', 'sealed send refused for the recipients in unauthorized_account_ids and nothing was queued: check those accounts and their access keys (fetch their profiles again), or leave them out');
  }
}

/**
 * Connection rate-limit tokens a frame costs. A multi-recipient send costs one
 * per recipient account, as the sealed sends it replaces would, so it is never
 * a way around the per-connection limit; capped at the connection burst so that
 * the largest allowed send still passes on a rested connection.
 */
export function frameCost(frame: ClientFrame, connectionBurst: number): number {
  if (frame.body.case !== 'multiSealedSend') return 1;
  return Math.max(1, Math.min(connectionBurst, frame.body.value.recipients.length));
}

function checkMulti(ctx: ServerContext, m: MultiSealedSend): void {
  if (m.messageId.length !== MESSAGE_ID_LENGTH) throw invalidArgument(`message_id must be ${MESSAGE_ID_LENGTH} random bytes`);
  if (m.sharedPayload.length === 0) throw invalidArgument('shared_payload must not be empty');
  const max = ctx.config.limits.maxMessageBytes;
  if (m.sharedPayload.length > max) {
    throw new ServerError('MESSAGE_TOO_LARGE', `the shared payload is ${m.sharedPayload.length} bytes, above the server's limit of ${max}; send large content as an attachment`);
  }
  const maxRecipients = ctx.config.limits.maxMultiRecipients;
  if (m.recipients.length === 0) throw invalidArgument('a multi-recipient send needs at least one recipient');
  if (m.recipients.length > maxRecipients) {
    throw invalidArgument(`a multi-recipient send may have at most ${maxRecipients} recipients; split the recipients over several sends`);
  }
  const seen = new Set<string>();
  for (const r of m.recipients) {
    if (r.accountId.length !== ACCOUNT_ID_LENGTH) throw invalidArgument(`each recipient account_id must be ${ACCOUNT_ID_LENGTH} bytes`);
    const key = Buffer.from(r.accountId).toString('latin1');
    if (seen.has(key)) throw invalidArgument('each account may appear only once in recipients');
    seen.add(key);
    if (r.header.length === 0 || r.header.length > MAX_RECIPIENT_HEADER_BYTES) {
      throw invalidArgument(`each recipient header must be 1 to ${MAX_RECIPIENT_HEADER_BYTES} bytes (got ${r.header.length})`);
    }
    if (r.accessKey.length !== 0 && r.accessKey.length !== ACCESS_KEY_LENGTH) throw invalidArgument(`each access_key must be ${ACCESS_KEY_LENGTH} bytes, or empty for an unrestricted recipient`);
    if (r.deviceIds.length === 0) throw invalidArgument('each recipient must list its devices');
    if (r.deviceIds.length > MAX_ENTRIES) throw invalidArgument(`a recipient may list at most ${MAX_ENTRIES} devices`);
    if (new Set(r.deviceIds).size !== r.deviceIds.length) throw invalidArgument('each device may appear only once in a recipient\'s device_ids');
  }
}

/** The same test SealedSend applies to one recipient: unrestricted, or SHA-256(key) equal (constant time) to the stored hash. */
function accessAllowed(account: SealedRecipientRecord | undefined, presentedHash: Uint8Array | undefined): boolean {
  if (!account) return false;
  if (account.unrestricted) return true;
  return account.accessKeyHash !== undefined && presentedHash !== undefined && timingSafeEqual(presentedHash, account.accessKeyHash);
}

export async function multiSealedSend(ctx: ServerContext, m: MultiSealedSend, sourceKey = '?', turn?: SendTurn): Promise<Reply> {
  checkMulti(ctx, m);
  ctx.registrationGuard.guess(sourceKey, ctx.now());
  const started = performance.now();
  // Every presented key is hashed, so unknown accounts cost the same as known ones.
  const presented = m.recipients.map((r) => (r.accessKey.length === ACCESS_KEY_LENGTH ? accessKeyHash(r.accessKey) : undefined));
  const records = await ctx.storage.getSealedRecipients(m.recipients.map((r) => r.accountId));
  const refused = m.recipients.filter((_, i) => !accessAllowed(records[i], presented[i])).map((r) => r.accountId);
  if (refused.length) {
    ctx.registrationGuard.refused(sourceKey, ctx.now());
    ctx.metrics.sends.inc(labels('multi_sealed', 'unauthorized'));
    throw new MultiUnauthorizedError(refused);
  }
  // As SealedSend: no sender to charge, so each recipient's sealed-send bucket pays one token.
  const now = ctx.now();
  for (const r of m.recipients) {
    let wait = ctx.sendBuckets.take(inboundKey(toHex(r.accountId)), now);
    if (typeof wait !== 'number') wait = await wait;
    if (wait > 0) {
      ctx.metrics.sends.inc(labels('multi_sealed', 'rate_limited'));
      throw new RateLimitedError(wait, 'sealed messages to one of these recipients', 'recipient_messages');
    }
  }
  if (m.onlineOnly) return multiOnline(ctx, m, records as readonly SealedRecipientRecord[]);

  const wait = turn?.wait();
  if (wait) await wait;
  const times = storedTimes(now, ctx.config.retention.undeliveredMs, ctx.config.retention.dedupMs);
  const queued = ctx.relay.enqueueMulti({
    messageId: m.messageId,
    payload: m.sharedPayload,
    recipients: m.recipients.map((x) => ({ recipient: x.accountId, deviceIds: x.deviceIds, header: x.header, dedupKey: dedupKeyOf(x.accountId, m.messageId) })),
    ...times,
    expiresAt: applyExpiryHint(ctx, m.expiresHint, now, times.expiresAt),
  });
  turn?.pass();
  const r = await queued;
  ctx.metrics.sends.inc(labels('multi_sealed', r.status));
  switch (r.status) {
    case 'stored':
    case 'duplicate':
      ctx.metrics.multiRecipients.observe(m.recipients.length);
      ctx.metrics.sendLatency.observe((performance.now() - started) / 1000);
      return { body: { case: 'sendResult', value: { messageId: m.messageId, serverTimestamp: BigInt(now), duplicate: r.status === 'duplicate' } } };
    case 'rejected':
      // An account removed since the access check is refused like any unknown account.
      if (r.unknown.length) throw new MultiUnauthorizedError(r.unknown.map((i) => m.recipients[i]!.accountId));
      throw new MultiStaleDevicesError(r.stale.map((x) => ({ accountId: m.recipients[x.index]!.accountId, current: x.current, missing: x.missing, extra: x.extra })));
    case 'failed':
      if (isStorageFull(r.error)) {
        ctx.log.error('storage full: a send was refused');
        throw new StorageFullError();
      }
      throw r.error;
  }
}

/** online_only: device lists checked as for a stored send, pushed to connected devices, nothing stored or deduplicated. */
function multiOnline(ctx: ServerContext, m: MultiSealedSend, records: readonly SealedRecipientRecord[]): Reply {
  const stale = m.recipients.flatMap((r, i): StaleAccount[] => {
    const diff = deviceListDiff(records[i]!.deviceIds, r.deviceIds, records[i]!.keyless);
    return diff ? [{ accountId: r.accountId, ...diff }] : [];
  });
  if (stale.length) {
    ctx.metrics.sends.inc(labels('multi_sealed', 'stale'));
    throw new MultiStaleDevicesError(stale);
  }
  const now = ctx.now();
  for (const r of m.recipients) {
    const hex = toHex(r.accountId);
    for (const deviceId of r.deviceIds) {
      ctx.hub.pushEphemeral(hex, deviceId, {
        serverId: 0, messageId: m.messageId, createdAt: now, sealed: true,
        senderAccountId: undefined, senderDeviceId: undefined, content: m.sharedPayload, recipientHeader: r.header,
      });
    }
  }
  ctx.metrics.sends.inc(labels('multi_sealed', 'online_only'));
  ctx.metrics.multiRecipients.observe(m.recipients.length);
  return { body: { case: 'sendResult', value: { messageId: m.messageId, serverTimestamp: BigInt(now), duplicate: false } } };
}
