/**
 * The inbox (client.md §4.1): deliveries are decrypted and applied in
 * batches, each in one store transaction, and acknowledged only after it
 * commits; their effects (events, delivery receipts, timers) follow.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { assertSenderMatchesSession, bytesEqual, decodeOneTimePreKeyRecord, decodePqPreKeyRecord, decodeSessionRecord, decodeSignedPreKeyRecord, decryptMessage, decryptPreKeyMessage, DuplicateMessageError, encodeSessionRecord, InvalidCertificateError, messageType, parsePreKeyMessage, ProtocolError, type SessionRecord, unsealSender } from '@sigilo/protocol';
import { type Content, ContentSchema, type DataMessage, ReceiptMessage_Type, TypingMessage_Action } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { refreshServerKeys } from './account.js';
import { prefetchAgreements, prefetchUnseal, type UnsealedCache } from './agreement-prefetch.js';
import { toHex, unrefTimer, yieldTurn } from './bytes.js';
import { checkIncomingIdentity, contact } from './contacts.js';
import type { Engine } from './engine.js';
import { acceptQuote } from './quotes.js';
import { ClientError } from './errors.js';
import { type ClientEvent, TYPING_EXPIRY_MS } from './events.js';
import { confidentialOn, keepInMemory, memoryMessages, setMemoryStatus, storeConfidential, wipeConfidential } from './confidential.js';
import * as disappearing from './disappearing.js';
import { answerHistoryRequest, installCatchUp } from './link-catch-up.js';
import { revokedUnaccepted } from './org-trust/org-trust.js';
import { acceptPointers } from './media/pointer.js';
import { flushSoon, queueContent } from './outbox.js';
import { unpad } from './padding.js';
import { applySignedReceiptsSync, receiveSignedReceipt } from './signed-receipts.js';
import { receiveSmp } from './smp-verification.js';
import { armTypingExpiry, oweReceipt, rank } from './status.js';
import type { MessageRow, MessageStatus } from './store/port.js';

/** Deliveries decrypted and stored per transaction (and acknowledged together). */
const INBOX_BATCH = 256;

/** What applying a batch of deliveries produces, acted on after its transaction commits. */
export interface InboxEffects {
  readonly events: ClientEvent[];
  readonly followUps: (() => void)[];
  readonly receipts: Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>;
  /** Sealed deliveries signed by a server key we do not know: kept (not acknowledged) until the keys are refreshed. */
  readonly unknownSigner: Deliver[];
  readonly sessions: Map<string, { accountId: Uint8Array; deviceId: number; record: SessionRecord | undefined; dirty: boolean }>;
  /** Sealed envelopes of the batch already opened (agreement-prefetch.ts). */
  readonly unsealed?: UnsealedCache | undefined;
}

export function drainInbox(engine: Engine): void {
  if (engine.inboxRunning || engine.inboxTimer) return;
  const generation = engine.generation;
  engine.inboxRunning = (async () => {
    /** The acknowledgements and effects of the batches so far, in order. */
    let effects: Promise<unknown> = Promise.resolve();
    while (engine.inbox.length > 0) {
      const batch = engine.inbox.splice(0, INBOX_BATCH);
      const events: ClientEvent[] = [];
      const followUps: (() => void)[] = [];
      const acks: bigint[] = [];
      const receipts = new Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>();
      const sessions = new Map<string, { accountId: Uint8Array; deviceId: number; record: SessionRecord | undefined; dirty: boolean }>();
      const unknownSigner: Deliver[] = [];
      if (engine.prefetch && engine.account) {
        let privateKey: Uint8Array | undefined;
        try { privateKey = engine.identity.agreement.privateKey; } catch { /* not registered: nothing to unseal */ }
        // The only awaits before the batch's transaction: between batches the loop yields anyway.
        if (privateKey) await prefetchAgreements(engine.prefetch.agree, privateKey, batch, engine.prefetch.cache);
        if (privateKey && engine.prefetch.symmetric) {
          await prefetchUnseal(engine.ctx, engine.prefetch.symmetric, engine.identity, engine.trustedKeys(), engine.sealedCache, batch, engine.prefetch.unsealed);
        }
      }
      try {
        engine.store.transaction(() => {
          for (const d of batch) {
            if (receiveOne(engine, d, { events, followUps, receipts, sessions, unknownSigner, unsealed: engine.prefetch?.unsealed })) acks.push(d.serverId);
          }
          // Each session is decoded once per batch and written once, in the same transaction.
          for (const s of sessions.values()) if (s.dirty && s.record) engine.store.putSession(s.accountId, s.deviceId, encodeSessionRecord(s.record));
          // One delivery receipt per sender per batch, through the outbox (survives a restart).
          const now = BigInt(engine.now());
          for (const { to, ids, groupId } of receipts.values()) {
            queueContent(engine, to, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.DELIVERY, messageIds: ids, timestamp: now, groupId } } }, undefined);
          }
        });
      } catch (e) {
        // The store failed (disk full, …): nothing of this batch was kept and nothing is
        // acknowledged; the server keeps it. Try again later, without spinning.
        engine.inbox.unshift(...batch);
        engine.emit({ type: 'undecryptable', reason: `could not store incoming messages (${(e as Error).message}); they stay on the server and will be retried` });
        if (!engine.inboxTimer && engine.generation === generation) {
          engine.inboxTimer = setTimeout(() => { engine.inboxTimer = undefined; drainInbox(engine); }, 5_000);
          unrefTimer(engine.inboxTimer!);
        }
        return;
      } finally {
        engine.prefetch?.cache.clear();
        engine.prefetch?.unsealed.clear();
      }
      // Acknowledged only once what they produced is durable (the server then forgets them), and
      // their effects follow, in batch order. The next batch is decrypted meanwhile: a store that
      // writes behind (IndexedDB) overlaps its write with that work instead of idling.
      const durable = acks.length ? engine.durable() : Promise.resolve();
      effects = Promise.all([effects, durable]).then(() => {
        if (acks.length) engine.connection?.post({ case: 'ack', value: { serverIds: acks } });
        // Messages whose countdown ran out (a message read, or sent, on another device long ago) go before anything
        // shows them (client.md §14).
        let expired: { removed: Set<string>; files: string[] } = { removed: new Set(), files: [] };
        try { expired = disappearing.removeExpired(engine, events); } catch { /* tried again at the next timer */ }
        for (const e of events) if (!(e.type === 'message' && expired.removed.has(`${toHex(e.message.conversation)}:${toHex(e.message.messageId)}`))) engine.emit(e);
        if (expired.files.length) void disappearing.removeFiles(engine, expired.files);
        disappearing.scheduleExpiry(engine);
        for (const f of followUps) f();
        if (receipts.size) flushSoon(engine, 0);
      });
      effects.catch(() => { /* a failed write: nothing more is acknowledged; the loop ends when it awaits this */ });
      if (unknownSigner.length) {
        await effects;
        await refreshServerKeys(engine).catch(() => {});
        engine.inbox.unshift(...unknownSigner);
      }
      await yieldTurn();
    }
    await effects;
  })().catch(() => { /* reported through events; never an unhandled rejection */ })
    .finally(() => { engine.inboxRunning = undefined; if (engine.inbox.length && !engine.inboxTimer) drainInbox(engine); });
}

/**
 * Decrypts and applies one delivery inside the inbox transaction. Returns whether it may
 * be acknowledged: true when it was applied, or can never be decrypted (a duplicate, a
 * forgery): such messages would otherwise come back forever.
 */
export function receiveOne(engine: Engine, d: Deliver, out: InboxEffects): boolean {
  const { events } = out;
  const me = engine.requireAccount();
  let sender: { accountId: Uint8Array; deviceId: number; identityKey: Uint8Array | undefined };
  let body: Uint8Array;
  let sealedIdentity: Uint8Array | undefined;
  try {
    if (d.recipientHeader.length > 0) {
      // A multi-recipient sealed group message (groups.md): decrypted with the sender's sender key.
      engine.groups.receiveMulti(d, out);
      return true;
    }
    if (d.sealed) {
      // The certificate is checked at the time the server accepted the message (protocol.md §6.3).
      const opened = out.unsealed?.get(d) ?? unsealSender(engine.ctx, engine.identity, d.content, engine.trustedKeys(), Number(d.serverTimestamp), engine.sealedCache);
      out.unsealed?.delete(d);
      sender = { accountId: opened.sender.accountId, deviceId: opened.sender.deviceId, identityKey: opened.sender.identityKey };
      sealedIdentity = opened.sender.identityKey;
      body = opened.content;
    } else {
      sender = { accountId: d.senderAccountId, deviceId: d.senderDeviceId, identityKey: undefined };
      body = d.content;
    }
    const sessionKey = `${toHex(sender.accountId)}.${sender.deviceId}`;
    let cached = out.sessions.get(sessionKey);
    if (!cached) {
      const stored = engine.store.getSession(sender.accountId, sender.deviceId);
      cached = { accountId: sender.accountId, deviceId: sender.deviceId, record: stored ? decodeSessionRecord(stored) : undefined, dirty: false };
      out.sessions.set(sessionKey, cached);
    }
    const existing = cached.record;
    let record: SessionRecord;
    let plaintext: Uint8Array;
    let remoteIdentity: Uint8Array;
    if (messageType(body) === 'prekey') {
      const msg = parsePreKeyMessage(body);
      // A later prekey message of a session we already hold needs no prekeys (protocol.md §4.3).
      const known = existing !== undefined && [existing.current, ...existing.previous].some((st) => st && bytesEqual(st.baseKey, msg.baseKey));
      const spk = known ? undefined : engine.store.getPreKey('signed', msg.signedPreKeyId);
      const otk = known || msg.oneTimePreKeyId === undefined ? undefined : engine.store.getPreKey('one-time', msg.oneTimePreKeyId);
      const pq = known ? undefined : engine.store.getPreKey('pq', msg.pqPreKeyId) ?? engine.store.getPreKey('pq-last-resort', msg.pqPreKeyId);
      const result = decryptPreKeyMessage(engine.ctx, existing, engine.identity, {
        signedPreKey: spk ? decodeSignedPreKeyRecord(spk) : undefined,
        oneTimePreKey: otk ? decodeOneTimePreKeyRecord(otk) : undefined,
        pqPreKey: pq ? decodePqPreKeyRecord(pq) : undefined,
      }, msg);
      if (result.consumed) {
        if (result.consumed.oneTimePreKeyId !== undefined) engine.store.deletePreKey('one-time', result.consumed.oneTimePreKeyId);
        engine.store.deletePreKey('pq', result.consumed.pqPreKeyId); // the last-resort key is kept (different kind)
      }
      ({ record, plaintext, remoteIdentity } = result);
    } else {
      ({ record, plaintext, remoteIdentity } = decryptMessage(engine.ctx, existing, body));
    }
    if (sealedIdentity) assertSenderMatchesSession({ accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sealedIdentity }, remoteIdentity);
    // From an identity the user has not accepted (yet): shown, but it may not act on the conversation.
    // Or whose organisation certificate is revoked and not accepted (spec/trust.md §6.3: like a changed safety number).
    const unaccepted = checkIncomingIdentity(engine, sender.accountId, remoteIdentity, me.accountId, events)
      || (!bytesEqual(sender.accountId, me.accountId) && revokedUnaccepted(engine, sender.accountId));
    cached.record = record;
    cached.dirty = true;
    // A device of this account the cached list lacks (just linked): ask for the list again before the next sync copy.
    if (engine.ownDevices && bytesEqual(sender.accountId, me.accountId) && !engine.ownDevices.includes(sender.deviceId)) engine.ownDevices = undefined;
    let content: Content;
    try {
      content = fromBinary(ContentSchema, unpad(plaintext));
    } catch {
      events.push({ type: 'undecryptable', reason: 'a message decrypted but its content is malformed' });
      return true;
    }
    // Every pairwise Content carries the sender's profile key, group ones included (client.md §11.1).
    if (!unaccepted) engine.profiles.learnKey(sender.accountId, content.senderProfileKey);
    if (content.ktCheckpoint) {
      const note = content.ktCheckpoint;
      out.followUps.push(() => { void engine.kt.receiveGossip(engine.connection, note).catch(() => {}); });
    }
    if (content.body.case === 'smp') {
      receiveSmp(engine, content.body.value, { accountId: sender.accountId, deviceId: sender.deviceId, identityKey: remoteIdentity }, out, unaccepted);
      return true;
    }
    if (content.body.case === 'signedReceipt') {
      receiveSignedReceipt(engine, content.body.value, { accountId: sender.accountId, identityKey: remoteIdentity }, out, unaccepted);
      return true;
    }
    if (engine.groups.applyPairwise(content, { accountId: sender.accountId, deviceId: sender.deviceId, identityKey: remoteIdentity }, out, unaccepted)) return true;
    apply(engine, content, sender.accountId, me.accountId, out, unaccepted);
    return true;
  } catch (e) {
    if (e instanceof DuplicateMessageError) return true;
    if (e instanceof InvalidCertificateError && /unknown server key/.test(e.message) && engine.keysRefreshedAt < engine.now() - 60_000) {
      // The server may have a new certificate key: keep the message (no ack), refresh the keys, try again.
      out.unknownSigner.push(d);
      return false;
    }
    if (e instanceof ProtocolError || e instanceof ClientError) {
      events.push({ type: 'undecryptable', reason: `${e.code}: ${e.message}` });
      return true;
    }
    throw e;
  }
}

export function apply(engine: Engine, content: Content, from: Uint8Array, self: Uint8Array, { events, followUps, receipts }: InboxEffects, unaccepted = false): void {
  const fromSelf = bytesEqual(from, self);
  // A sender whose new identity key is not accepted can show a text, nothing more: no receipts,
  // deletions or access-key changes on the conversation with the accepted identity.
  if (unaccepted && content.body.case !== 'data') return;
  if (!fromSelf && !unaccepted && content.senderAccessKey.length === 16) {
    const c = contact(engine, from);
    if (!c.accessKey || !bytesEqual(c.accessKey, content.senderAccessKey)) engine.store.putContact({ ...c, accessKey: content.senderAccessKey });
  }
  const now = engine.now();
  const b = content.body;
  switch (b.case) {
    case 'data': {
      if (fromSelf) return;
      // Settings of the conversation are no text: an unaccepted sender may not turn its timer off or leave confidential mode (which wipes).
      if (unaccepted && (b.value.timerUpdate || b.value.confidentialUpdate)) return;
      const row = storeData(engine, b.value, from, from, false, 'received', now, events);
      if (row) {
        oweReceipt(receipts, from, row.messageId);
      }
      return;
    }
    case 'receipt': {
      const status: MessageStatus = b.value.type === ReceiptMessage_Type.READ ? 'read' : 'delivered';
      for (const id of b.value.messageIds) {
        const m = engine.store.getMessage(from, id) ?? memoryMessages(engine, from).find((x) => bytesEqual(x.messageId, id));
        if (!m || !m.outgoing || rank(m.status) >= rank(status)) continue;
        if (setMemoryStatus(engine, from, id, status)) {
          events.push({ type: 'status', conversation: from, messageId: id, status });
          continue;
        }
        engine.store.setMessageStatus(from, id, status);
        events.push({ type: 'status', conversation: from, messageId: id, status });
      }
      return;
    }
    case 'typing': {
      if (fromSelf) return;
      const started = b.value.action === TypingMessage_Action.STARTED && Number(b.value.timestamp) > now - TYPING_EXPIRY_MS;
      events.push({ type: 'typing', conversation: from, started, expiresAt: started ? now + TYPING_EXPIRY_MS : now });
      followUps.push(() => armTypingExpiry(engine.typingTimers, toHex(from), started, () => engine.emit({ type: 'typing', conversation: from, started: false, expiresAt: engine.now() })));
      return;
    }
    case 'delete': {
      const m = engine.store.getMessage(from, b.value.messageId);
      if (m && bytesEqual(m.author, from) && !m.deleted) {
        engine.store.markMessageDeleted(from, b.value.messageId);
        events.push({ type: 'deleted', conversation: from, messageId: b.value.messageId });
      }
      return;
    }
    case 'sync': {
      if (!fromSelf) return; // only this account's own devices may sync
      const s = b.value.body;
      switch (s.case) {
        case 'sent':
          if (s.value.message) storeData(engine, s.value.message, s.value.destinationAccountId, self, true, 'sent', now, events);
          if (s.value.delete) {
            engine.store.markMessageDeleted(s.value.destinationAccountId, s.value.delete.messageId);
            events.push({ type: 'deleted', conversation: s.value.destinationAccountId, messageId: s.value.delete.messageId });
          }
          return;
        case 'read':
          // Read on another device: the countdowns start at its reading time (client.md §14).
          disappearing.startCountdown(engine.store, s.value.conversationAccountId, s.value.messageIds, Number(s.value.readAt) || now);
          for (const id of s.value.messageIds) {
            const m = engine.store.getMessage(s.value.conversationAccountId, id);
            if (m && !m.outgoing && m.status !== 'read') {
              engine.store.setMessageStatus(s.value.conversationAccountId, id, 'read');
              events.push({ type: 'status', conversation: s.value.conversationAccountId, messageId: id, status: 'read' });
            }
          }
          return;
        case 'deleteHistory':
          engine.store.deleteHistory(s.value.conversationAccountId, Number(s.value.before));
          events.push({ type: 'history-deleted', conversation: s.value.conversationAccountId });
          return;
        case 'mute': {
          const c = contact(engine, s.value.conversationAccountId);
          engine.store.putContact({ ...c, mutedUntil: Number(s.value.until) });
          return;
        }
        case 'deleteForMe':
          engine.store.removeMessage(s.value.conversationAccountId, s.value.messageId);
          events.push({ type: 'deleted', conversation: s.value.conversationAccountId, messageId: s.value.messageId });
          return;
        case 'historyRequest':
          if (answerHistoryRequest(engine, s.value.linkToken)) followUps.push(() => flushSoon(engine, 0));
          return;
        case 'historyCatchUp':
          installCatchUp(engine, s.value.linkToken, s.value.entries, s.value.last, events);
          return;
        case 'signedReceipts':
          applySignedReceiptsSync(engine, s.value.conversationAccountId, s.value.on);
          return;
        default:
          return;
      }
    }
    default:
  }
}

export function storeData(engine: Engine, m: DataMessage, conversation: Uint8Array, author: Uint8Array, outgoing: boolean, status: MessageStatus, now: number, events: ClientEvent[]): MessageRow | undefined {
  if (m.messageId.length !== 16) return undefined;
  const attachments = acceptPointers(m.attachments);
  const quote = acceptQuote(m.quote);
  if (m.confidentialUpdate) {
    // Confidential mode switched (client.md §15): a notice row; leaving it wipes the conversation's confidential messages.
    if (!engine.store.getMessage(conversation, m.messageId)) {
      storeConfidential(engine, conversation, m.confidential);
      if (!m.confidential) wipeConfidential(engine, conversation, events);
      events.push({ type: 'confidential', conversation, on: m.confidential, by: author });
    }
  }
  const notice = m.confidentialUpdate ? { notice: m.confidential ? 'confidential-on' as const : 'confidential-off' as const } : {};
  const timer = m.confidentialUpdate ? {} : disappearing.incoming(engine.store, m, conversation, author, outgoing, events, true, now);
  if (!timer) return undefined; // a timer change dated too far ahead (client.md §14.1)
  const row: MessageRow = {
    messageId: m.messageId, conversation, author, outgoing, timestamp: Number(m.timestamp), text: m.text, status, deleted: false, receivedAt: now,
    ...(attachments.length ? { attachments } : {}), ...timer, ...notice,
  };
  // Confidential (client.md §15): shown and kept in memory, never written to the store. This device's own mode
  // counts too: a peer's plain message (queued before it heard of the switch, or from a client that ignores it) is not stored.
  if ((m.confidential && !m.confidentialUpdate) || (!row.notice && confidentialOn(engine, conversation))) {
    if (!keepInMemory(engine, row)) return undefined;
    events.push({ type: 'message', message: quote ? { ...row, quote } : row });
    return row;
  }
  if (!engine.store.insertMessage(row)) return undefined; // already stored: idempotent
  if (attachments.length) engine.store.setMessageAttachments(conversation, m.messageId, attachments);
  events.push({ type: 'message', message: quote ? { ...row, quote } : row });
  return row;
}
