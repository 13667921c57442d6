/**
 * One-to-one messages (client.md §3): texts, deletions for everyone or for
 * me, a conversation's history deleted and mutes, each stored and queued in
 * one transaction with its copy for this account's other devices.
 */
import { bytesEqual } from '@sigilo/protocol';
import { assertSendable, contact } from './contacts.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { GROUP_ID_LENGTH } from './groups.js';
import { type Attachment, pointerFromAttachment } from './media/pointer.js';
import { confidentialOn, sendConfidential } from './confidential.js';
import * as disappearing from './disappearing.js';
import { flush, queueContent, queueSync } from './outbox.js';
import type { MessageQuote, MessageRow } from './store/port.js';
import { acceptQuote } from './quotes.js';

/**
 * Sends a text: stored as pending and queued in one transaction (so it survives a
 * restart and is sent when the connection is back), then sent at once if online.
 */
export async function sendText(engine: Engine, to: Uint8Array, body: string, options: { quote?: MessageQuote } = {}): Promise<MessageRow> {
  if (to.length === GROUP_ID_LENGTH) return engine.groups.sendText(to, body);
  assertSendable(engine, to);
  if (confidentialOn(engine, to)) return sendConfidential(engine, to, body);
  return sendData(engine, to, { text: body, ...(options.quote ? { quote: checkQuote(options.quote) } : {}) });
}

function checkQuote(q: MessageQuote): MessageQuote {
  const ok = acceptQuote(q);
  if (!ok) throw new ClientError('INVALID_INPUT', 'a reply quotes a message by its 16-byte id and its author\'s 16-byte account id');
  return ok;
}

/** A notice this account sends (client.md §14, §15): the conversation's new timer, or confidential mode switched. */
export type OutgoingNotice = { notice: 'timer'; timerMs: number } | { notice: 'confidential-on' | 'confidential-off' };

/**
 * The 1:1 send path for a DataMessage (text, attachments, notices): the message is stored as
 * pending and queued, with its copy for this account's other devices, in one
 * transaction (`alsoInTransaction` joins it), then sent at once if online.
 */
export async function sendData(engine: Engine, to: Uint8Array, fields: { text: string; attachments?: readonly Attachment[]; notice?: OutgoingNotice; quote?: MessageQuote; notBefore?: number }, alsoInTransaction?: (row: MessageRow) => void): Promise<MessageRow> {
  const me = engine.requireAccount();
  const messageId = engine.ctx.random(16);
  // notBefore: a timer change is stamped after the one it replaces, whatever this device's clock says (client.md §14.1).
  const now = Math.max(engine.now(), fields.notBefore ?? 0);
  const attachments = fields.attachments ?? [];
  const n = fields.notice;
  // A notice carries no timer of its own and never disappears; every other message carries the conversation's (client.md §14).
  const timer = n ? { data: {}, row: {} } : disappearing.outgoing(engine.store, to, now);
  const noticeData = n?.notice === 'timer' ? { timerUpdate: true, expireTimer: Math.ceil(n.timerMs / 1000) }
    : n ? { confidentialUpdate: true, confidential: n.notice === 'confidential-on' } : {};
  const data = { messageId, timestamp: BigInt(now), text: fields.text, attachments: attachments.map(pointerFromAttachment), ...timer.data, ...noticeData,
    ...(fields.quote ? { quote: fields.quote } : {}) };
  const row: MessageRow = {
    messageId, conversation: to, author: me.accountId, outgoing: true, timestamp: now, text: fields.text, status: 'pending', deleted: false, receivedAt: now,
    ...(attachments.length ? { attachments } : {}), ...timer.row,
    ...(n ? { notice: n.notice, ...(n.notice === 'timer' ? { expireTimerMs: n.timerMs } : {}) } : {}),
    ...(fields.quote ? { quote: fields.quote } : {}),
  };
  engine.store.transaction(() => {
    engine.store.insertMessage(row);
    if (attachments.length) engine.store.setMessageAttachments(to, messageId, attachments);
    queueContent(engine, to, { body: { case: 'data', value: data } },
      { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: to, message: data } } } } }, messageId);
    alsoInTransaction?.(row);
  });
  if (row.expiresAt) disappearing.scheduleExpiry(engine);
  await flush(engine);
  const stored = engine.store.getMessage(to, messageId);
  return stored ? (fields.quote ? { ...stored, quote: fields.quote } : stored) : row;
}

/** Deletes one of this account's messages for everyone in the conversation. */
export async function deleteForEveryone(engine: Engine, conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
  if (conversation.length === GROUP_ID_LENGTH) return engine.groups.deleteForEveryone(conversation, messageId); // groups.ts: to every member
  const me = engine.requireAccount();
  const m = engine.store.getMessage(conversation, messageId);
  if (!m) throw new ClientError('NOT_FOUND', 'no such message');
  if (!bytesEqual(m.author, me.accountId)) throw new ClientError('INVALID_INPUT', 'only your own messages can be deleted for everyone; use delete for me');
  const del = { messageId, timestamp: BigInt(engine.now()) };
  engine.store.transaction(() => {
    engine.store.markMessageDeleted(conversation, messageId);
    queueContent(engine, conversation, { body: { case: 'delete', value: del } },
      { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: conversation, delete: del } } } } });
  });
  await flush(engine);
}

/** Deletes a message on this person's devices only. */
export async function deleteForMe(engine: Engine, conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
  engine.store.transaction(() => {
    engine.store.removeMessage(conversation, messageId);
    queueSync(engine, { body: { case: 'sync', value: { body: { case: 'deleteForMe', value: { conversationAccountId: conversation, messageId } } } } });
  });
  await flush(engine);
}

/** Deletes a conversation's history on all of this person's devices. */
export async function deleteHistory(engine: Engine, conversation: Uint8Array): Promise<number> {
  const before = engine.now();
  const n = engine.store.transaction(() => {
    const removed = engine.store.deleteHistory(conversation, before);
    queueSync(engine, { body: { case: 'sync', value: { body: { case: 'deleteHistory', value: { conversationAccountId: conversation, before: BigInt(before) } } } } });
    return removed;
  });
  await flush(engine);
  return n;
}

/** Mutes notifications for a conversation until `until` (Unix ms; 0 unmutes), on all devices. */
export async function mute(engine: Engine, conversation: Uint8Array, until: number): Promise<void> {
  engine.store.transaction(() => {
    if (conversation.length === GROUP_ID_LENGTH) engine.groups.mute(conversation, until);
    else engine.store.putContact({ ...contact(engine, conversation), mutedUntil: until });
    queueSync(engine, { body: { case: 'sync', value: { body: { case: 'mute', value: { conversationAccountId: conversation, until: BigInt(until) } } } } });
  });
  await flush(engine);
}
