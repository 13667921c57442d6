/** Receiving group messages (groups.md §6.4): multi-recipient sealed deliveries, decrypted with the sender key, and what they carry. */
import { fromBinary } from '@bufbuild/protobuf';
import { bytesEqual, DuplicateMessageError, type GroupState, SEALED_CONTENT_SENDER_KEY, senderKeyDecrypt, senderKeyMessageDistributionId, unsealMultiRecipient } from '@sigilo/protocol';
import { type Content, ContentSchema, type DataMessage, TypingMessage_Action } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { ClientError } from './errors.js';
import { TYPING_EXPIRY_MS } from './events.js';
import { type GroupEngine, type GroupInboxEffects, hex, MAX_PENDING_GROUP_MESSAGES, openLog, PENDING_TTL_MS, REQUEST_INTERVAL_MS, type Sender } from './group-log.js';
import { armTypingExpiry, oweReceipt, rank } from './status.js';
import { enqueue } from './group-queue.js';
import { incoming } from './disappearing-timer.js';
import { acceptPointers } from './media/pointer.js';
import { unpad } from './padding.js';
import type { MessageRow, MessageStatus, SenderKeyRow } from './store/port.js';

/**
 * A Deliver with a recipient header: a multi-recipient sealed group message.
 * Throws ProtocolError/ClientError for what can never be read (the client
 * acknowledges and reports it).
 */
export function receiveMulti(ge: GroupEngine, d: Deliver, out: GroupInboxEffects): void {
  const me = ge.h.account();
  const opened = unsealMultiRecipient(ge.h.ctx, ge.h.identity(), d.recipientHeader, d.content, ge.h.trustedKeys(), Number(d.serverTimestamp), ge.h.sealedCache);
  if (opened.contentType !== SEALED_CONTENT_SENDER_KEY) throw new ClientError('INVALID_INPUT', 'a multi-recipient message that is not a sender-key message');
  const sender: Sender = { accountId: opened.sender.accountId, deviceId: opened.sender.deviceId, identityKey: opened.sender.identityKey };
  if (bytesEqual(sender.accountId, me.accountId) && sender.deviceId === me.deviceId) return; // our own echo
  const distributionId = senderKeyMessageDistributionId(opened.content);
  const key = ge.h.store.getSenderKey(sender.accountId, sender.deviceId, distributionId);
  if (!key) {
    keepPending(ge, sender, distributionId, opened.content, Number(d.serverTimestamp), out);
    return;
  }
  decryptWith(ge, key, sender, opened.content, out);
}

/**
 * No sender key yet: keep the message (still encrypted) and ask its sender's devices for the key. Its group is not
 * known until the key comes (the sealed message does not name it), so the request names none.
 */
export function keepPending(ge: GroupEngine, sender: Sender, distributionId: Uint8Array, message: Uint8Array, serverTimestamp: number, out: GroupInboxEffects): void {
  const groupId = new Uint8Array(0);
  const now = ge.h.now();
  const waiting = ge.h.store.pendingGroupMessages(sender.accountId, sender.deviceId, distributionId);
  const lastAsked = Math.max(0, ...waiting.map((w) => w.requestedAt));
  const dropped = ge.h.store.addPendingGroupMessage({
    accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sender.identityKey, distributionId, groupId,
    message, serverTimestamp, receivedAt: now, requestedAt: 0,
  }, MAX_PENDING_GROUP_MESSAGES, now - PENDING_TTL_MS);
  if (dropped) out.events.push({ type: 'undecryptable', reason: `${dropped} group message(s) waited too long for their sender key and were dropped` });
  if (now - lastAsked < REQUEST_INTERVAL_MS) return;
  ge.h.store.markPendingGroupMessagesRequested(sender.accountId, sender.deviceId, distributionId, now);
  enqueue(ge, sender.accountId, { body: { case: 'senderKeyRequest', value: { groupId, distributionId } } });
  out.followUps.push(() => ge.h.flushSoon(0));
}

/**
 * Decrypts a sender-key message with a stored key and applies it. The key was
 * distributed by this account/device (it is stored under them), and the
 * certificate names the same account/device; the sender must be a current
 * member whose identity key is the one in the log.
 */
export function decryptWith(ge: GroupEngine, key: SenderKeyRow, sender: Sender, message: Uint8Array, out: GroupInboxEffects): void {
  const me = ge.h.account();
  const log = openLog(ge, key.groupId);
  const member = log?.state.members.find((m) => bytesEqual(m.accountId, sender.accountId));
  const fromSelf = bytesEqual(sender.accountId, me.accountId);
  if (!log) {
    // The key came before the group's log: the message waits (still encrypted) and is read when the log arrives.
    ge.h.store.addPendingGroupMessage({
      accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sender.identityKey, distributionId: key.distributionId, groupId: key.groupId,
      message, serverTimestamp: 0, receivedAt: ge.h.now(), requestedAt: ge.h.now(),
    }, MAX_PENDING_GROUP_MESSAGES, ge.h.now() - PENDING_TTL_MS);
    return;
  }
  if (!member) {
    out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message from someone who is not a member was dropped' });
    return;
  }
  const expected = fromSelf ? ge.h.identity().publicKey : member.identityKey;
  if (!bytesEqual(sender.identityKey, expected)) {
    out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message whose sender identity differs from the group\'s member list was dropped' });
    return;
  }
  let plaintext: Uint8Array;
  try {
    const r = senderKeyDecrypt(ge.h.ctx, key.record, message);
    ge.h.store.putSenderKey({ ...key, record: r.record });
    plaintext = r.plaintext;
  } catch (e) {
    if (e instanceof DuplicateMessageError) return;
    throw e;
  }
  let content: Content;
  try {
    content = fromBinary(ContentSchema, unpad(plaintext));
  } catch {
    out.events.push({ type: 'undecryptable', reason: 'a group message decrypted but its content is malformed' });
    return;
  }
  const b = content.body;
  if (b.case === 'data') {
    if (!bytesEqual(b.value.groupId, key.groupId) || b.value.private) {
      out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message naming another group was dropped' });
      return;
    }
    learnAccessKey(ge, sender.accountId, content);
    storeGroupData(ge, b.value, key.groupId, sender.accountId, log.state, out);
  } else if (b.case === 'delete') {
    if (!bytesEqual(b.value.groupId, key.groupId)) {
      out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a deletion naming another group was dropped' });
      return;
    }
    receiveDelete(ge, key.groupId, b.value.messageId, sender.accountId, true, out);
  } else if (b.case === 'typing') {
    if (!bytesEqual(b.value.groupId, key.groupId) || fromSelf) return;
    receiveTyping(ge, key.groupId, sender.accountId, b.value.action === TypingMessage_Action.STARTED, Number(b.value.timestamp), out);
  } else {
    out.events.push({ type: 'undecryptable', reason: 'a group message carried content that is only valid pairwise' });
  }
}

/**
 * Delete for everyone (groups.md §6.4): only the author's own message, as 1:1 (client.md §4.3). A private message
 * inside the group is deleted only by a pairwise deletion (the group's sender key reaches members it was not for).
 */
export function receiveDelete(ge: GroupEngine, groupId: Uint8Array, messageId: Uint8Array, from: Uint8Array, withSenderKey: boolean, out: GroupInboxEffects): void {
  const m = ge.h.store.getMessage(groupId, messageId);
  if (!m || m.deleted || !bytesEqual(m.author, from) || (withSenderKey && m.privateWith)) return;
  ge.h.store.markMessageDeleted(groupId, messageId);
  out.events.push({ type: 'deleted', conversation: groupId, messageId });
}

export function learnAccessKey(ge: GroupEngine, from: Uint8Array, content: Content): void {
  if (bytesEqual(from, ge.h.account().accountId)) return;
  const c = ge.h.contact(from);
  if (c.pendingIdentityKey) return;
  ge.h.learnProfileKey(from, content.senderProfileKey);
  if (content.senderAccessKey.length !== 16) return;
  if (!c.accessKey || !bytesEqual(c.accessKey, content.senderAccessKey)) ge.h.store.putContact({ ...c, accessKey: content.senderAccessKey });
}

/** Stores a group message (the author's, or this account's from another device) and queues a delivery receipt. */
export function storeGroupData(ge: GroupEngine, m: DataMessage, groupId: Uint8Array, author: Uint8Array, state: GroupState, out: GroupInboxEffects): void {
  if (m.messageId.length !== 16) return;
  const me = ge.h.account().accountId;
  const fromSelf = bytesEqual(author, me);
  const attachments = acceptPointers(m.attachments);
  // A timer change in a group is an admin's (client.md §14); anyone else's is ignored.
  const admin = state.members.some((x) => bytesEqual(x.accountId, author) && x.role === 'admin');
  const timer = incoming(ge.h.store, m, groupId, author, fromSelf, out.events, admin, ge.h.now());
  if (!timer) return;
  const row: MessageRow = {
    messageId: m.messageId, conversation: groupId, author, outgoing: fromSelf, timestamp: Number(m.timestamp), text: m.text,
    status: fromSelf ? 'sent' : 'received', deleted: false, receivedAt: ge.h.now(), ...(attachments.length ? { attachments } : {}), ...timer,
  };
  if (m.confidential || ge.h.memoryOnly()) {
    // Confidential (client.md §15): shown, never stored.
    if (!ge.h.keepInMemory(row)) return;
    if (!fromSelf) oweReceipt(out.receipts, author, m.messageId, groupId);
    out.events.push({ type: 'message', message: row });
    return;
  }
  if (!ge.h.store.insertMessage(row)) return;
  if (attachments.length) ge.h.store.setMessageAttachments(groupId, m.messageId, attachments);
  if (fromSelf) {
    for (const x of state.members) if (!bytesEqual(x.accountId, me)) ge.h.store.putGroupReceipt(groupId, m.messageId, x.accountId, 'sent');
  } else {
    oweReceipt(out.receipts, author, m.messageId, groupId);
  }
  out.events.push({ type: 'message', message: row });
}

export function receiveTyping(ge: GroupEngine, groupId: Uint8Array, from: Uint8Array, startedAction: boolean, timestamp: number, out: GroupInboxEffects): void {
  const now = ge.h.now();
  const started = startedAction && timestamp > now - TYPING_EXPIRY_MS;
  out.events.push({ type: 'typing', conversation: groupId, from, started, expiresAt: started ? now + TYPING_EXPIRY_MS : now });
  out.followUps.push(() => armTypingExpiry(ge.typingTimers, `${hex(groupId)}:${hex(from)}`, started,
    () => ge.h.emit({ type: 'typing', conversation: groupId, from, started: false, expiresAt: ge.h.now() })));
}

export function storePrivate(ge: GroupEngine, m: DataMessage, groupId: Uint8Array, author: Uint8Array, other: Uint8Array, outgoing: boolean, out: GroupInboxEffects): void {
  if (m.messageId.length !== 16 || other.length !== 16 || !ge.h.store.getGroup(groupId)) return;
  const attachments = acceptPointers(m.attachments);
  const timer = incoming(ge.h.store, { ...m, timerUpdate: false }, groupId, author, outgoing, out.events, true, ge.h.now()) ?? {};
  const row: MessageRow = {
    messageId: m.messageId, conversation: groupId, author, outgoing, timestamp: Number(m.timestamp), text: m.text,
    status: outgoing ? 'sent' : 'received', deleted: false, receivedAt: ge.h.now(), privateWith: other, ...(attachments.length ? { attachments } : {}), ...timer,
  };
  if (m.confidential || ge.h.memoryOnly()) {
    if (!ge.h.keepInMemory(row)) return;
    if (!outgoing) oweReceipt(out.receipts, author, m.messageId, groupId);
    out.events.push({ type: 'message', message: row });
    return;
  }
  if (!ge.h.store.insertMessage(row)) return;
  if (attachments.length) ge.h.store.setMessageAttachments(groupId, m.messageId, attachments);
  ge.h.store.setMessagePrivateWith(groupId, m.messageId, other);
  if (outgoing) {
    ge.h.store.putGroupReceipt(groupId, m.messageId, other, 'sent');
  } else {
    oweReceipt(out.receipts, author, m.messageId, groupId);
  }
  out.events.push({ type: 'message', message: row });
}

/** Receipts for this account's group messages: per member, the message's ticks follow the slowest current member. */
export function receiveReceipt(ge: GroupEngine, groupId: Uint8Array, ids: Uint8Array[], status: MessageStatus, from: Uint8Array, out: GroupInboxEffects): void {
  const state = openLog(ge, groupId)?.state;
  if (!state) return;
  for (const id of ids) {
    const m = ge.h.store.getMessage(groupId, id);
    if (!m || !m.outgoing) continue;
    const rows = ge.h.store.listGroupReceipts(groupId, id);
    const mine = rows.find((r) => bytesEqual(r.accountId, from));
    if (!mine || rank(mine.status) >= rank(status)) continue;
    ge.h.store.putGroupReceipt(groupId, id, from, status);
    const current = rows.map((r) => (bytesEqual(r.accountId, from) ? { ...r, status } : r))
      .filter((r) => state.members.some((x) => bytesEqual(x.accountId, r.accountId)) || (m.privateWith && bytesEqual(r.accountId, m.privateWith)));
    if (current.length === 0) continue;
    const slowest = current.reduce((a, r) => (rank(r.status) < rank(a.status) ? r : a)).status;
    if (rank(slowest) > rank(m.status)) {
      ge.h.store.setMessageStatus(groupId, id, slowest);
      out.events.push({ type: 'status', conversation: groupId, messageId: id, status: slowest });
    }
  }
}
