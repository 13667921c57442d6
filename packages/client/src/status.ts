/**
 * Message status (client.md §10.4): its wire numbers (history, backups), its
 * rank (a status never goes back), the delivery receipts a batch of the inbox
 * owes, and the expiry of typing indicators, shared by the 1:1 and group paths.
 */
import { toHex, unrefTimer } from './bytes.js';
import { TYPING_EXPIRY_MS } from './events.js';
import type { MessageStatus } from './store/port.js';

const WIRE_STATUS: readonly MessageStatus[] = ['pending', 'sent', 'delivered', 'read', 'received', 'failed'];
export function statusToWire(s: MessageStatus): number { return Math.max(0, WIRE_STATUS.indexOf(s)); }
export function statusFromWire(n: number): MessageStatus { return WIRE_STATUS[n] ?? 'received'; }

/** How far a message got: a status never goes back to a lower rank. */
export function rank(s: MessageStatus): number {
  return ({ pending: 0, failed: 0, sent: 1, received: 1, delivered: 2, read: 3 } as const)[s];
}

/** Delivery receipts owed after an inbox batch: one per sender (and group), listing the messages. */
export type OwedReceipts = Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>;

/** Notes that `author` is owed a delivery receipt for `messageId` (in `groupId` when given). */
export function oweReceipt(receipts: OwedReceipts, author: Uint8Array, messageId: Uint8Array, groupId?: Uint8Array): void {
  const key = groupId ? `${toHex(author)}:${toHex(groupId)}` : toHex(author);
  const r = receipts.get(key) ?? (groupId ? { to: author, ids: [], groupId } : { to: author, ids: [] });
  r.ids.push(messageId);
  receipts.set(key, r);
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * (Re)arms the expiry of a typing indicator under `key`: a started indicator with no update for
 * TYPING_EXPIRY_MS calls `expire`; a stopped one just clears the timer.
 */
export function armTypingExpiry(timers: Map<string, Timer>, key: string, started: boolean, expire: () => void): void {
  const t = timers.get(key);
  if (t) clearTimeout(t);
  timers.delete(key);
  if (!started) return;
  const timer = setTimeout(() => {
    timers.delete(key);
    expire();
  }, TYPING_EXPIRY_MS);
  unrefTimer(timer);
  timers.set(key, timer);
}
