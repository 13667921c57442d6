/**
 * Closing the linking window (client.md §6.1). The approving device takes its
 * history snapshot before the new device exists on the server; until the new
 * device has published its prekeys no sender can address it (the server does
 * not ask for keyless devices, server.md §5.1). What the approving device
 * stores in between would never reach the new device, so:
 *
 *   approving device: remembers (link token, snapshot instant) in its store;
 *   new device:       after its prekeys are published, asks its own devices
 *                     (SyncMessage.HistoryRequest, through the outbox);
 *   approving device: answers with every message stored from the snapshot on
 *                     (SyncMessage.HistoryCatchUp parts, through the outbox);
 *   new device:       installs the entries it lacks (a message sent to it
 *                     directly as well is skipped: the message id is the key).
 *
 * Everything a sender stored on the server before the new device's keys were
 * published is queued for the approving device ahead of the request, and the
 * approving device applies its queue in order, so the answer holds it.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { bytesEqual } from '@sigilo/protocol';
import { type HistoryEntry, HistoryEntrySchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { toHex } from './bytes.js';
import { type Engine, text, untext } from './engine.js';
import type { ClientEvent } from './events.js';
import { acceptPointers, pointerFromAttachment } from './media/pointer.js';
import { queueSync } from './outbox.js';
import { statusFromWire, statusToWire } from './status.js';
import type { MessageRow } from './store/port.js';

export const LINK_TOKEN_LENGTH = 16;
/** How long an approving device keeps a snapshot to answer for (a new device may stay offline a while). */
export const LINK_CATCH_UP_KEPT_MS = 14 * 86_400_000;
/** Encoded entries per HistoryCatchUp part: far below the server's per-message limit after padding and encryption. */
const PART_BYTES = 48 * 1024;

const SNAPSHOTS = 'link.snapshots';
const AWAITING = 'link.awaiting';

interface Snapshot { token: string; since: number; expires: number }

function snapshots(engine: Engine, now: number): Snapshot[] {
  const b = engine.store.getMeta(SNAPSHOTS);
  if (!b) return [];
  try {
    return (JSON.parse(untext.decode(b)) as Snapshot[]).filter((s) => s.expires > now);
  } catch {
    return [];
  }
}

/** On the approving device, before the snapshot is taken: what it stores from `since` on is owed to the device holding `token`. */
export function rememberSnapshot(engine: Engine, token: Uint8Array, since: number): void {
  const list = snapshots(engine, since);
  list.push({ token: toHex(token), since, expires: since + LINK_CATCH_UP_KEPT_MS });
  engine.store.setMeta(SNAPSHOTS, text.encode(JSON.stringify(list)));
}

/** On the new device, in the transaction that installs the account: wait for `token`'s answer and ask for it (sent once the outbox runs, after the prekeys). */
export function requestCatchUp(engine: Engine, token: Uint8Array): void {
  if (token.length !== LINK_TOKEN_LENGTH) return; // an approving device that predates the catch-up
  engine.store.setMeta(AWAITING, token);
  queueSync(engine, { body: { case: 'sync', value: { body: { case: 'historyRequest', value: { linkToken: token } } } } });
}

/** One stored message as a history entry (linking, backup, catch-up). */
export function historyEntry(m: MessageRow): HistoryEntry {
  return create(HistoryEntrySchema, {
    conversationAccountId: m.conversation, messageId: m.messageId, authorAccountId: m.author, timestamp: BigInt(m.timestamp),
    text: m.text, status: statusToWire(m.status), outgoing: m.outgoing, privateWith: m.privateWith ?? new Uint8Array(0),
    attachments: (m.attachments ?? []).map(pointerFromAttachment),
  });
}

/** Whether a stored message is carried to another device of the account (group changes are not: client.md §12; nor disappearing messages and notices: §14). */
export const carried = (m: MessageRow) => !m.deleted && !m.groupChange && !m.expireTimerMs && !m.notice;

/** On the approving device, inside the inbox transaction: answers a HistoryRequest it holds the snapshot for (true: queued). */
export function answerHistoryRequest(engine: Engine, token: Uint8Array): boolean {
  const now = engine.now();
  const list = snapshots(engine, now);
  const snapshot = list.find((s) => s.token === toHex(token));
  if (!snapshot) return false; // another device approved this link (or it expired)
  const entries = engine.store.allMessages().filter((m) => carried(m) && m.receivedAt >= snapshot.since).map(historyEntry);
  engine.store.setMeta(SNAPSHOTS, text.encode(JSON.stringify(list.filter((s) => s !== snapshot))));
  // Nothing came in the window (the usual case): nothing to send; the new device's wait costs it a few bytes of meta.
  if (entries.length === 0) return false;
  const parts: HistoryEntry[][] = [[]];
  let bytes = 0;
  for (const e of entries) {
    const size = toBinary(HistoryEntrySchema, e).length;
    if (bytes + size > PART_BYTES && parts.at(-1)!.length) { parts.push([]); bytes = 0; }
    parts.at(-1)!.push(e);
    bytes += size;
  }
  parts.forEach((p, i) => queueSync(engine, {
    body: { case: 'sync', value: { body: { case: 'historyCatchUp', value: { linkToken: token, entries: p, last: i === parts.length - 1 } } } },
  }));
  return true;
}

/** On the new device, inside the inbox transaction: installs the entries of an answer to its own request; others are ignored. */
export function installCatchUp(engine: Engine, token: Uint8Array, entries: readonly HistoryEntry[], last: boolean, events: ClientEvent[]): void {
  const awaiting = engine.store.getMeta(AWAITING);
  if (!awaiting || !bytesEqual(awaiting, token)) return;
  const now = engine.now();
  for (const e of entries) {
    if (e.messageId.length !== 16) continue;
    const attachments = acceptPointers(e.attachments);
    const row: MessageRow = {
      conversation: e.conversationAccountId, messageId: e.messageId, author: e.authorAccountId, outgoing: e.outgoing,
      timestamp: Number(e.timestamp), text: e.text, status: statusFromWire(e.status), deleted: false, receivedAt: now,
    };
    if (!engine.store.insertMessage(row)) continue; // it reached this device directly too
    if (e.privateWith.length === 16) engine.store.setMessagePrivateWith(e.conversationAccountId, e.messageId, e.privateWith);
    if (attachments.length) engine.store.setMessageAttachments(e.conversationAccountId, e.messageId, attachments);
    events.push({ type: 'message', message: { ...row, ...(e.privateWith.length === 16 ? { privateWith: e.privateWith } : {}), ...(attachments.length ? { attachments } : {}) } });
  }
  if (last) engine.store.setMeta(AWAITING, undefined);
}
