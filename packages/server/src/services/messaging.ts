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
import type { Ack, OutgoingMessage, SealedSend, Send } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { hash, timingSafeEqual } from 'node:crypto';
import { ACCOUNT_ID_LENGTH } from '../auth.js';
import type { Reply } from '../connection.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, ServerError, StaleDevicesError, invalidArgument, isStorageFull, StorageFullError } from '../errors.js';
import { toHex } from '../ids.js';
import { labels } from '../metrics.js';
import type { EnqueueRequest } from '../storage/port.js';
import { ACCESS_KEY_LENGTH, accessKeyHash } from './accounts.js';

export const MESSAGE_ID_LENGTH = 16;

/** SHA-256(recipient || message id): the only trace of a message id the server keeps after delivery. */
export function dedupKeyOf(recipient: Uint8Array, messageId: Uint8Array): Uint8Array {
  const input = new Uint8Array(recipient.length + messageId.length);
  input.set(recipient, 0);
  input.set(messageId, recipient.length);
  return hash('sha256', input, 'buffer');
}
const MAX_ENTRIES = 100;
const MAX_ACK_IDS = 1000;

function checkMessages(ctx: ServerContext, recipient: Uint8Array, messageId: Uint8Array, messages: readonly OutgoingMessage[]): void {
  if (recipient.length !== ACCOUNT_ID_LENGTH) throw invalidArgument(`recipient_account_id must be ${ACCOUNT_ID_LENGTH} bytes`);
  if (messageId.length !== MESSAGE_ID_LENGTH) throw invalidArgument(`message_id must be ${MESSAGE_ID_LENGTH} random bytes`);
  if (messages.length === 0) throw invalidArgument('a send must carry at least one per-device message');
  if (messages.length > MAX_ENTRIES) throw invalidArgument(`a send may carry at most ${MAX_ENTRIES} per-device messages`);
  const seen = new Set<number>();
  const max = ctx.config.limits.maxMessageBytes;
  for (const m of messages) {
    if (seen.has(m.deviceId)) throw invalidArgument('each device may appear only once in a send');
    seen.add(m.deviceId);
    if (m.content.length === 0) throw invalidArgument('a per-device message must not be empty');
    if (m.content.length > max) {
      throw new ServerError('MESSAGE_TOO_LARGE', `a per-device message is ${m.content.length} bytes, above the server's limit of ${max}; send large content as an attachment`);
    }
  }
}

async function enqueue(ctx: ServerContext, req: Omit<EnqueueRequest, 'dedupKey' | 'createdAt' | 'expiresAt' | 'dedupExpiresAt'>, kind: string): Promise<Reply> {
  const started = performance.now();
  const now = ctx.now();
  const dedupKey = dedupKeyOf(req.recipient, req.messageId);
  const r = await ctx.relay.enqueue({
    ...req,
    dedupKey,
    createdAt: now,
    expiresAt: now + ctx.config.retention.undeliveredMs,
    dedupExpiresAt: now + ctx.config.retention.dedupMs,
  });
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
async function relayOnline(ctx: ServerContext, req: Omit<EnqueueRequest, 'dedupKey' | 'createdAt' | 'expiresAt' | 'dedupExpiresAt'>, kind: string): Promise<Reply> {
  const devices = await ctx.storage.listDevices(req.recipient);
  if (devices.length === 0) {
    throw kind === 'sealed'
      ? new ServerError('UNAUTHORIZED', 'sealed send refused: check the recipient and its access key')
      : new ServerError('NOT_FOUND', 'no such account on this server; check the recipient');
  }
  const current = devices.map((d) => d.deviceId).filter((id) => id !== req.excludeDeviceId);
  const sent = new Set(req.entries.map((e) => e.deviceId));
  const missing = current.filter((id) => !sent.has(id));
  const extra = [...sent].filter((id) => !current.includes(id)).sort((a, b) => a - b);
  if (missing.length || extra.length) throw new StaleDevicesError(current, missing, extra);
  const now = ctx.now();
  const recipientHex = toHex(req.recipient);
  for (const e of req.entries) {
    ctx.hub.get(recipientHex, e.deviceId)?.pushEphemeral({
      serverId: 0, messageId: req.messageId, createdAt: now, sealed: req.sender === undefined,
      senderAccountId: req.sender?.accountId, senderDeviceId: req.sender?.deviceId, content: e.content,
    });
  }
  ctx.metrics.sends.inc(labels(kind, 'online_only'));
  return { body: { case: 'sendResult', value: { messageId: req.messageId, serverTimestamp: BigInt(now), duplicate: false } } };
}

export async function identifiedSend(ctx: ServerContext, s: Session, m: Send): Promise<Reply> {
  checkMessages(ctx, m.recipientAccountId, m.messageId, m.messages);
  const wait = ctx.sendBuckets.take(s.accountHex, ctx.now());
  if (wait > 0) throw new RateLimitedError(wait, 'messages from this account');
  const toSelf = toHex(m.recipientAccountId) === s.accountHex;
  if (toSelf && m.messages.some((x) => x.deviceId === s.deviceId)) throw invalidArgument('do not send a message to the sending device itself');
  const req = {
    recipient: m.recipientAccountId,
    messageId: m.messageId,
    entries: m.messages.map((x) => ({ deviceId: x.deviceId, content: x.content })),
    sender: { accountId: s.accountId, deviceId: s.deviceId },
    excludeDeviceId: toSelf ? s.deviceId : undefined,
  };
  return m.onlineOnly ? relayOnline(ctx, req, 'identified') : enqueue(ctx, req, 'identified');
}

export async function sealedSend(ctx: ServerContext, m: SealedSend): Promise<Reply> {
  checkMessages(ctx, m.recipientAccountId, m.messageId, m.messages);
  if (m.accessKey.length !== 0 && m.accessKey.length !== ACCESS_KEY_LENGTH) throw invalidArgument(`access_key must be ${ACCESS_KEY_LENGTH} bytes`);
  // Built only when refused: an Error captures a stack trace, too costly for every send.
  const unauthorized = () => new ServerError('UNAUTHORIZED', 'sealed send refused: check the recipient and its access key (fetch the recipient\'s profile again)');
  const account = await ctx.storage.getAccount(m.recipientAccountId);
  if (!account) throw unauthorized();
  let allowed = account.unrestricted;
  if (!allowed && account.accessKeyHash && m.accessKey.length === ACCESS_KEY_LENGTH) {
    allowed = timingSafeEqual(accessKeyHash(m.accessKey), account.accessKeyHash);
  }
  if (!allowed) {
    ctx.metrics.sends.inc(labels('sealed', 'unauthorized'));
    throw unauthorized();
  }
  // Sealed sends have no sender to charge: they count against the recipient.
  const wait = ctx.sendBuckets.take(`sealed:${toHex(m.recipientAccountId)}`, ctx.now());
  if (wait > 0) throw new RateLimitedError(wait, 'sealed messages to this recipient');
  const req = {
    recipient: m.recipientAccountId,
    messageId: m.messageId,
    entries: m.messages.map((x) => ({ deviceId: x.deviceId, content: x.content })),
    sender: undefined,
    excludeDeviceId: undefined,
  };
  return m.onlineOnly ? relayOnline(ctx, req, 'sealed') : enqueue(ctx, req, 'sealed');
}

export async function ack(ctx: ServerContext, s: Session, m: Ack, wantsReply: boolean): Promise<Reply> {
  if (m.serverIds.length > MAX_ACK_IDS) throw invalidArgument(`acknowledge at most ${MAX_ACK_IDS} messages per frame`);
  const ids = m.serverIds.filter((id) => id <= BigInt(Number.MAX_SAFE_INTEGER)).map(Number);
  await ctx.relay.ack({ accountId: s.accountId, deviceId: s.deviceId, serverIds: ids });
  return wantsReply ? { body: { case: 'ok', value: {} } } : undefined;
}

export async function senderCertificate(ctx: ServerContext, s: Session): Promise<Reply> {
  const expires = ctx.now() + ctx.config.senderCertificateMs;
  const certificate = issueSenderCertificate(ctx.crypto, ctx.certificateKey, {
    accountId: s.accountId, deviceId: s.deviceId, identityKey: s.identityKey, expires,
  });
  return { body: { case: 'senderCertificate', value: { certificate, expires: BigInt(expires) } } };
}
