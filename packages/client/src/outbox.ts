/**
 * The outbox (client.md §3): every Content to send is queued in the store in
 * the transaction that makes it, then sent in order, per conversation; a
 * failure holds that conversation back and is retried with backoff.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { bytesEqual, ProtocolError } from '@sigilo/protocol';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { toHex, unrefTimer } from './bytes.js';
import { ServerRequestError } from './connection.js';
import { assertSendable } from './contacts.js';
import type { Engine } from './engine.js';
import { envelopeId } from './envelope-ids.js';
import { ClientError } from './errors.js';
import { GROUP_ID_LENGTH } from './groups.js';
import { deliverContent } from './pairwise-send.js';

/** Queues a content for `to` (and a sync copy for this account's other devices) in the outbox. */
export function queueContent(engine: Engine, to: Uint8Array, content: Parameters<typeof create<typeof ContentSchema>>[1], sync: Parameters<typeof create<typeof ContentSchema>>[1] | undefined, messageId = engine.ctx.random(16)): number {
  return engine.store.enqueueOutbox({
    recipient: to,
    content: contentBytes(engine, content),
    syncContent: sync ? toBinary(ContentSchema, create(ContentSchema, sync)) : undefined,
    messageId,
    createdAt: engine.now(),
  });
}

/** An encoded Content to a peer, with what every pairwise Content carries (access key, profile key, checkpoint gossip). */
export function contentBytes(engine: Engine, content: Parameters<typeof create<typeof ContentSchema>>[1]): Uint8Array {
  const c = create(ContentSchema, content);
  if (engine.accessKey) c.senderAccessKey = engine.accessKey;
  c.senderProfileKey = engine.profiles.ownKey();
  c.ktCheckpoint = engine.kt.gossip() ?? '';
  return toBinary(ContentSchema, c);
}

export function queueSync(engine: Engine, content: Parameters<typeof create<typeof ContentSchema>>[1]): void {
  const me = engine.requireAccount();
  queueContent(engine, me.accountId, content, undefined);
}

/** Sends everything in the outbox, in order; stops at the first failure and leaves the rest queued. */
export function flush(engine: Engine): Promise<void> {
  if (engine.flushing) return engine.flushing.then(() => flushOnce(engine));
  return flushOnce(engine);
}

export function flushOnce(engine: Engine): Promise<void> {
  if (engine.flushing || !engine.connection?.isOpen) return engine.flushing ?? Promise.resolve();
  engine.flushing = (async () => {
    const me = engine.requireAccount();
    /** Recipients whose earlier entries are held back: their later entries wait too (order per conversation). */
    const held = new Set<string>();
    let retryInMs: number | undefined;
    for (const item of engine.store.listOutbox()) {
      if (!engine.connection?.isOpen) return;
      const key = toHex(item.recipient);
      if (held.has(key)) continue;
      try {
        if (item.recipient.length === GROUP_ID_LENGTH) {
          await engine.groups.deliver(item); // a group message (groups.ts)
        } else {
          if (!bytesEqual(item.recipient, me.accountId)) assertSendable(engine, item.recipient);
          await deliverContent(engine, item.recipient, item.content, item.messageId);
        }
      } catch (e) {
        if (e instanceof ClientError && (e.code === 'IDENTITY_CHANGED' || e.code === 'CERTIFICATE_REVOKED')) {
          held.add(key);
          continue; // held until accepted; other conversations go on
        }
        if (isPermanent(e) || item.attempts >= MAX_ATTEMPTS) {
          // Retrying cannot help (no such account, a malformed bundle, refused…): drop it, mark it failed, go on.
          const reason = (e as Error).message;
          engine.store.transaction(() => {
            engine.store.removeOutbox(item.seq);
            if (engine.store.getMessage(item.recipient, item.messageId)?.outgoing) engine.store.setMessageStatus(item.recipient, item.messageId, 'failed');
          });
          engine.emit({ type: 'status', conversation: item.recipient, messageId: item.messageId, status: 'failed' });
          engine.emit({ type: 'send-failed', conversation: item.recipient, messageId: item.messageId, reason, code: errorCode(e), permanent: true });
          continue;
        }
        engine.store.bumpOutbox(item.seq);
        held.add(key);
        const after = e instanceof ServerRequestError && e.frame.body.case === 'error' ? e.frame.body.value.retryAfterMs : 0;
        retryInMs = Math.max(retryInMs ?? 0, after);
        engine.emit({ type: 'send-failed', conversation: item.recipient, messageId: item.messageId, reason: `${(e as Error).message} (will retry)`, code: errorCode(e), permanent: false });
        continue;
      }
      // The copy for this account's other devices: it never holds the outbox back, and a failed one is queued again. It goes under an
      // envelope id of its own, so the server cannot pair it with the (sealed) copy to the recipient (envelope-ids.ts).
      const syncId = envelopeId(engine.ctx.crypto, engine.identity, item.messageId, me.accountId);
      const syncLost = item.syncContent !== undefined && await deliverContent(engine, me.accountId, item.syncContent, syncId).then(() => false, () => true);
      engine.store.transaction(() => {
        engine.store.removeOutbox(item.seq);
        // A sync copy that failed (e.g. the connection dropped) is queued on its own under the same id, so it is not lost.
        if (syncLost) engine.store.enqueueOutbox({ recipient: me.accountId, content: item.syncContent!, syncContent: undefined, messageId: syncId, createdAt: engine.now() });
        const m = engine.store.getMessage(item.recipient, item.messageId);
        if (m && m.outgoing && m.status === 'pending') engine.store.setMessageStatus(item.recipient, item.messageId, 'sent');
      });
      if (syncLost) retryInMs ??= 0; // and sent again soon even if nothing else wakes the outbox
      const m = engine.store.getMessage(item.recipient, item.messageId);
      if (m?.outgoing && m.status === 'sent') engine.emit({ type: 'status', conversation: item.recipient, messageId: item.messageId, status: 'sent' });
    }
    if (retryInMs !== undefined) {
      engine.flushBackoffMs = Math.min(60_000, Math.max(retryInMs, engine.flushBackoffMs ? engine.flushBackoffMs * 2 : 1000));
      flushSoon(engine, engine.flushBackoffMs);
    } else {
      engine.flushBackoffMs = 0;
    }
  })().finally(() => { engine.flushing = undefined; });
  return engine.flushing;
}

export function flushSoon(engine: Engine, delayMs: number): void {
  if (engine.flushTimer) return;
  engine.flushTimer = setTimeout(() => {
    engine.flushTimer = undefined;
    flush(engine).catch(() => { /* retried by the timer the failure set */ });
  }, delayMs);
  unrefTimer(engine.flushTimer!);
}

/** Runs `fn` while no outbox flush runs (a flush asked for meanwhile starts after it): groups.ts sends outbox rows itself. */
export async function exclusive<T>(engine: Engine, fn: () => Promise<T>): Promise<T> {
  while (engine.flushing) await engine.flushing.catch(() => {});
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  engine.flushing = held;
  try {
    return await fn();
  } finally {
    if (engine.flushing === held) engine.flushing = undefined;
    release();
  }
}

/** Server answers that no retry can fix. */
const PERMANENT_SERVER_ERRORS = new Set(['NOT_FOUND', 'INVALID_ARGUMENT', 'MESSAGE_TOO_LARGE', 'UNAUTHORIZED', 'UNKNOWN_FRAME', 'TIMER_TOO_LONG']);
/** Attempts before a queued entry is given up (a transient failure that never clears). */
const MAX_ATTEMPTS = 50;
function errorCode(e: unknown): string | undefined {
  if (e instanceof ServerRequestError) return e.serverCode;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
function isPermanent(e: unknown): boolean {
  if (e instanceof ServerRequestError) return PERMANENT_SERVER_ERRORS.has(e.serverCode ?? '');
  // A bundle or key that does not verify will not verify next time either.
  if (e instanceof ProtocolError) return true;
  return e instanceof ClientError && e.code === 'INVALID_INPUT';
}
