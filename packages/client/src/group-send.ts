/** Sending in a group (groups.md §6): texts, private messages, typing, read receipts, deletions, and the multi-recipient sealed send. */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { bytesEqual, SEALED_CONTENT_SENDER_KEY, sealMultiRecipient, senderKeyEncrypt } from '@sigilo/protocol';
import { type Content, ContentSchema, type DataMessage, ReceiptMessage_Type, TypingMessage_Action } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { type ClientBody, ServerRequestError } from './connection.js';
import { envelopeId } from './envelope-ids.js';
import { ClientError } from './errors.js';
import { type GroupEngine, has, hex, requireMember, unique } from './group-log.js';
import { enqueue, sendNow } from './group-queue.js';
import { outgoing as outgoingTimer, startCountdown } from './disappearing-timer.js';
import { pad } from './padding.js';
import { currentSenderKey } from './sender-keys.js';
import type { MessageRow, OutboxRow } from './store/port.js';

/** A text to the group: stored as pending and queued (recipient = the group id), then sent at once when online. */
export async function sendGroupText(ge: GroupEngine, groupId: Uint8Array, text: string, extra: GroupDataExtra = {}, alsoInTransaction?: (row: MessageRow) => void, notBefore = 0): Promise<MessageRow> {
  const me = ge.h.account();
  const { log } = requireMember(ge, groupId);
  if (ge.h.memoryOnly()) throw new ClientError('INVALID_INPUT', 'this device keeps messages in memory only, and group messages are queued in the store: send them from another device');
  const messageId = ge.h.ctx.random(16);
  const now = Math.max(ge.h.now(), notBefore); // notBefore: see sendData (messages.ts)
  // A timer change is a notice (client.md §14); every other message carries the group's timer.
  const timer = extra.timerUpdate ? { data: {}, row: { notice: 'timer' as const, expireTimerMs: (extra.expireTimer ?? 0) * 1000 } } : outgoingTimer(ge.h.store, groupId, now);
  const data = { ...extra, ...timer.data, messageId, timestamp: BigInt(now), text, groupId, private: false };
  const row: MessageRow = { messageId, conversation: groupId, author: me.accountId, outgoing: true, timestamp: now, text, status: 'pending', deleted: false, receivedAt: now, ...timer.row };
  ge.h.store.transaction(() => {
    alsoInTransaction?.(row);
    ge.h.store.insertMessage(row);
    for (const m of log.state.members) if (!bytesEqual(m.accountId, me.accountId)) ge.h.store.putGroupReceipt(groupId, messageId, m.accountId, 'sent');
    enqueue(ge, groupId, { body: { case: 'data', value: data } }, undefined, messageId);
  });
  if (row.expiresAt) ge.h.expiryChanged();
  await ge.h.flush().catch(() => {});
  return ge.h.store.getMessage(groupId, messageId) ?? row;
}

/** What a group DataMessage may carry besides its text: attachments, or a timer change (client.md §14). */
export interface GroupDataExtra {
  readonly attachments?: DataMessage['attachments'];
  readonly timerUpdate?: boolean;
  readonly expireTimer?: number;
}

/**
 * A private message to one member, inside the group: encrypted pairwise to that
 * account (and copied to this account's other devices), shown in the group's
 * conversation to the two of them only.
 */
export async function sendPrivateInGroup(ge: GroupEngine, groupId: Uint8Array, to: Uint8Array, text: string): Promise<MessageRow> {
  const me = ge.h.account();
  const { log } = requireMember(ge, groupId);
  if (bytesEqual(to, me.accountId)) throw new ClientError('INVALID_INPUT', 'a private message goes to another member');
  if (!log.state.members.some((m) => bytesEqual(m.accountId, to))) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
  if (ge.h.store.getContact(to)?.pendingIdentityKey) {
    throw new ClientError('IDENTITY_CHANGED', 'this member\'s safety number changed: compare it (`sigilo verify NAME`) and accept it before sending');
  }
  const messageId = ge.h.ctx.random(16);
  const now = ge.h.now();
  const timer = outgoingTimer(ge.h.store, groupId, now);
  const data = { messageId, timestamp: BigInt(now), text, groupId, private: true, ...timer.data };
  const row: MessageRow = {
    messageId, conversation: groupId, author: me.accountId, outgoing: true, timestamp: now, text, status: 'pending', deleted: false, receivedAt: now, privateWith: to, ...timer.row,
  };
  ge.h.store.transaction(() => {
    ge.h.store.insertMessage(row);
    ge.h.store.setMessagePrivateWith(groupId, messageId, to);
    ge.h.store.putGroupReceipt(groupId, messageId, to, 'sent');
    // Queued under the group (so ticks and order follow the group's conversation); the sync copy names the recipient.
    enqueue(ge, groupId, { body: { case: 'data', value: data } },
      { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: to, message: data } } } } }, messageId);
  });
  await ge.h.flush().catch(() => {});
  return ge.h.store.getMessage(groupId, messageId) ?? row;
}

/** Typing in a group: sent with the sender key to the members online now, never queued. */
export async function sendTyping(ge: GroupEngine, groupId: Uint8Array, started: boolean): Promise<void> {
  if (!ge.h.isOnline()) return;
  requireMember(ge, groupId);
  const c = create(ContentSchema, {
    body: { case: 'typing', value: { action: started ? TypingMessage_Action.STARTED : TypingMessage_Action.STOPPED, timestamp: BigInt(ge.h.now()), groupId } },
  });
  await deliverGroup(ge, groupId, toBinary(ContentSchema, c), ge.h.ctx.random(16), true).catch(() => {});
}

/** Marks group messages read; a read receipt (with the group id) goes pairwise to each author, and a sync to this account's devices. */
export async function markGroupRead(ge: GroupEngine, groupId: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
  const me = ge.h.account().accountId;
  const rows = (messageIds
    ? messageIds.map((id) => ge.h.store.getMessage(groupId, id)).filter((m): m is MessageRow => m !== undefined)
    : ge.h.store.listMessages(groupId, 10_000)).filter((m) => !m.outgoing && m.status !== 'read' && !m.deleted && !m.groupChange);
  if (rows.length === 0) return 0;
  const now = BigInt(ge.h.now());
  const byAuthor = new Map<string, { author: Uint8Array; ids: Uint8Array[] }>();
  for (const m of rows) {
    const k = hex(m.author);
    const e = byAuthor.get(k) ?? { author: m.author, ids: [] };
    e.ids.push(m.messageId);
    byAuthor.set(k, e);
  }
  ge.h.store.transaction(() => {
    for (const m of rows) ge.h.store.setMessageStatus(groupId, m.messageId, 'read');
    startCountdown(ge.h.store, groupId, rows.map((m) => m.messageId), Number(now));
    for (const { author, ids } of byAuthor.values()) {
      if (bytesEqual(author, me)) continue;
      enqueue(ge, author, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.READ, messageIds: ids, timestamp: now, groupId } } });
    }
    enqueue(ge, me, { body: { case: 'sync', value: { body: { case: 'read', value: { conversationAccountId: groupId, messageIds: rows.map((m) => m.messageId), readAt: now } } } } });
  });
  ge.h.expiryChanged();
  await ge.h.flush().catch(() => {});
  return rows.length;
}

/**
 * Deletes one of this account's messages in the group for everyone (groups.md §6.4): the DeleteMessage names the
 * group and goes the way the message went (with the sender key to every member, pairwise where the group send is
 * pairwise; pairwise to the other account of a private message), with a copy to this account's other devices.
 */
export async function deleteInGroup(ge: GroupEngine, groupId: Uint8Array, messageId: Uint8Array): Promise<void> {
  const me = ge.h.account();
  requireMember(ge, groupId);
  const m = ge.h.store.getMessage(groupId, messageId);
  if (!m) throw new ClientError('NOT_FOUND', 'no such message in this group');
  if (!bytesEqual(m.author, me.accountId)) throw new ClientError('INVALID_INPUT', 'only your own messages can be deleted for everyone; use delete for me');
  const del = { messageId, timestamp: BigInt(ge.h.now()), groupId };
  ge.h.store.transaction(() => {
    ge.h.store.markMessageDeleted(groupId, messageId);
    enqueue(ge, groupId, { body: { case: 'delete', value: del } },
      { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: groupId, delete: del } } } } });
  });
  await ge.h.flush().catch(() => {});
}

/** Sends an outbox entry whose recipient is a group id (called by the client's flush, in order). */
export async function deliverGroupRow(ge: GroupEngine, item: OutboxRow): Promise<void> {
  let content: Content;
  try {
    content = fromBinary(ContentSchema, item.content);
  } catch {
    throw new ClientError('INVALID_INPUT', 'a queued group message is damaged and cannot be sent');
  }
  if (content.body.case === 'data' && content.body.value.private) {
    // Private inside the group: pairwise to the one member the sync copy names.
    const sync = item.syncContent ? fromBinary(ContentSchema, item.syncContent) : undefined;
    const to = sync?.body.case === 'sync' && sync.body.value.body.case === 'sent' ? sync.body.value.body.value.destinationAccountId : undefined;
    if (!to || to.length !== 16) throw new ClientError('INVALID_INPUT', 'a queued private message names no recipient and cannot be sent');
    const contact = ge.h.store.getContact(to);
    if (contact?.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', 'this member\'s safety number changed: compare it and accept it before sending');
    await ge.h.deliverContent(to, item.content, item.messageId);
    return;
  }
  if (content.body.case === 'delete') {
    // Deleting a private message: pairwise to the one other account that has it.
    const other = ge.h.store.getMessage(item.recipient, content.body.value.messageId)?.privateWith;
    if (other) {
      await ge.h.deliverContent(other, item.content, item.messageId);
      return;
    }
  }
  await deliverGroup(ge, item.recipient, item.content, item.messageId, false);
}

/**
 * Encrypts `content` once with this device's sender key, seals it once for every
 * member account and uploads it once. Accounts without (or with a refused) access
 * key get the Content pairwise instead.
 */
export async function deliverGroup(ge: GroupEngine, groupId: Uint8Array, content: Uint8Array, messageId: Uint8Array, onlineOnly: boolean): Promise<void> {
  const me = ge.h.account();
  const { log } = requireMember(ge, groupId);
  const state = log.state;
  const connection = ge.h.connection();
  const { key, queued } = ge.h.store.transaction(() => currentSenderKey(ge, groupId, state));
  if (queued.length) await sendNow(ge, queued);

  interface Target { accountId: Uint8Array; identityKey: Uint8Array; accessKey: Uint8Array; header?: Uint8Array }
  const targets: Target[] = [];
  const pairwise: Uint8Array[] = [];
  for (const m of state.members) {
    if (bytesEqual(m.accountId, me.accountId)) continue;
    const c = ge.h.store.getContact(m.accountId);
    if (c?.pendingIdentityKey) {
      if (!onlineOnly) ge.h.emit({ type: 'send-failed', conversation: groupId, messageId, reason: `not sent to ${c.alias ?? 'a member'}: their safety number changed (sigilo verify NAME)` });
      continue;
    }
    if (c?.accessKey) targets.push({ accountId: m.accountId, identityKey: m.identityKey, accessKey: c.accessKey });
    else pairwise.push(m.accountId);
  }
  const ownOthers = (await ge.h.ownDevices(connection)).filter((d) => d !== me.deviceId);
  const myAccessKey = ge.h.accessKey();
  if (ownOthers.length && myAccessKey) targets.push({ accountId: me.accountId, identityKey: ge.h.identity().publicKey, accessKey: myAccessKey });
  else if (ownOthers.length) pairwise.push(me.accountId);

  // Device lists come from the sessions; an account with none gets its bundles fetched (sessions are needed for the pairwise
  // distribution anyway). The server cannot tell which device sent an unauthenticated send, so this account's list names
  // this device too: its copy comes back and is dropped on receipt.
  const others = (id: Uint8Array) => ge.h.store.sessionDevices(id).filter((d) => !(bytesEqual(id, me.accountId) && d === me.deviceId));
  const devicesOf = (id: Uint8Array) => (bytesEqual(id, me.accountId) ? [...others(id), me.deviceId].sort((a, b) => a - b) : others(id));
  for (const t of [...targets]) {
    if (others(t.accountId).length) continue;
    try {
      await ge.h.fetchSessions(connection, t.accountId, []);
    } catch (e) {
      // No device with keys, or a changed identity: nothing can reach them now.
      if (!onlineOnly) ge.h.emit({ type: 'send-failed', conversation: groupId, messageId, reason: `not sent to one member: ${(e as Error).message}` });
    }
    if (!others(t.accountId).length) targets.splice(targets.indexOf(t), 1);
  }

  // Encrypt once; the advanced chain is stored before anything leaves this device.
  const padded = pad(content);
  const message = ge.h.store.transaction(() => {
    const current = ge.h.store.getOwnSenderKey(groupId);
    if (!current?.record || !bytesEqual(current.distributionId, key.distributionId)) throw new ClientError('SERVER_ERROR', 'the group\'s sender key changed during the send; try again');
    const out = senderKeyEncrypt(ge.h.ctx, current.record, padded);
    ge.h.store.updateOwnSenderKeyRecord(groupId, key.distributionId, out.record);
    return out.message;
  });
  await ge.h.store.flush?.();

  const newDevices: Uint8Array[] = [];
  if (targets.length) {
    const certificate = await ge.h.senderCertificate(connection);
    const sealed = sealMultiRecipient(ge.h.ctx, {
      senderCertificate: certificate, contentType: SEALED_CONTENT_SENDER_KEY, content: message, recipientIdentityKeys: targets.map((t) => t.identityKey),
    });
    targets.forEach((t, i) => { t.header = sealed.headers[i]!; });
    let active = targets;
    let sent = false;
    for (let attempt = 0; attempt < 4 && active.length; attempt++) {
      try {
        const anonymous = await ge.h.anonymousConnection();
        await anonymous.request({
          case: 'multiSealedSend',
          value: {
            messageId, sharedPayload: sealed.shared, onlineOnly, expiresHint: ge.h.expiryHint(content),
            recipients: active.map((t) => ({ accountId: t.accountId, deviceIds: devicesOf(t.accountId), header: t.header!, accessKey: t.accessKey })),
          },
        } satisfies ClientBody);
        sent = true;
        break;
      } catch (e) {
        if (!(e instanceof ServerRequestError) || e.frame.body.case !== 'error') throw e;
        const err = e.frame.body.value;
        if (e.serverCode === 'STALE_DEVICES' && err.staleAccounts.length) {
          for (const s of err.staleAccounts) {
            ge.h.store.transaction(() => { for (const d of s.extraDeviceIds) ge.h.store.deleteSession(s.accountId, d); });
            if (bytesEqual(s.accountId, me.accountId)) ge.h.setOwnDevices([...s.currentDeviceIds, me.deviceId]);
            if (s.missingDeviceIds.length) {
              await ge.h.fetchSessions(connection, s.accountId, s.missingDeviceIds).catch(() => {});
              newDevices.push(s.accountId);
            }
          }
          active = active.filter((t) => others(t.accountId).length > 0);
          continue;
        }
        if (e.serverCode === 'UNAUTHORIZED' && err.unauthorizedAccountIds.length) {
          // The access key we hold is wrong or was changed: those accounts get the Content pairwise.
          const refused = err.unauthorizedAccountIds;
          pairwise.push(...active.filter((t) => has(refused, t.accountId)).map((t) => t.accountId));
          active = active.filter((t) => !has(refused, t.accountId));
          continue;
        }
        throw e;
      }
    }
    if (!sent && active.length) throw new ClientError('SERVER_ERROR', 'the members\' device lists kept changing; the message will be sent again');
  }

  // New devices of members (linked since the key was distributed) get the key now instead of asking for it.
  if (newDevices.length && !onlineOnly) {
    const epoch = key.members;
    const give = unique(newDevices).filter((id) => bytesEqual(id, me.accountId) || has(epoch, id));
    const q = ge.h.store.transaction(() => give.map((id) => enqueue(ge, id, { body: { case: 'senderKey', value: { groupId, distribution: key.distribution } } })));
    await sendNow(ge, q);
  }

  // Pairwise fallback: the same Content (a DataMessage with the group id), as the 1:1 path without an access key.
  // Each goes under an envelope id of its own (envelope-ids.ts): an identified copy sharing the id of the sealed
  // send would tell the server who sent that.
  for (const id of unique(pairwise)) {
    const pairwiseId = envelopeId(ge.h.ctx.crypto, ge.h.identity(), messageId, id);
    try {
      await ge.h.deliverContent(id, content, pairwiseId, { onlineOnly });
    } catch {
      if (onlineOnly) continue;
      ge.h.store.enqueueOutbox({ recipient: id, content, syncContent: undefined, messageId: pairwiseId, createdAt: ge.h.now() });
      ge.h.flushSoon(1000);
    }
  }
}
