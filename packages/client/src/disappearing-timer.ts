/**
 * Disappearing messages (client.md §14). A conversation has a timer (off, or
 * 30 s to 4 weeks); every message carries the timer in force when it was sent
 * (DataMessage.expire_timer), so every device of every participant applies the
 * same one, whatever it believes the conversation's setting is. The countdown
 * starts when the message is sent (the author's devices) or read (the
 * recipient's devices; a read on another device of the account starts it at
 * that device's read time, SyncMessage.Read.read_at). At zero the row is
 * deleted from the store (its attachment pointers, keys and thumbnails with
 * it) and the files this device downloaded for it are deleted.
 *
 * The organisation's maximum (server policy retention.maxDisappearingTimer)
 * applies to every conversation: a longer timer cannot be set (TIMER_TOO_LONG),
 * a received longer one is shortened to it, and a conversation with no timer
 * uses the maximum.
 *
 * Timer changes that cross (client.md §14.1) converge: each change is ordered by (its timestamp, its author's account
 * id, its message id), every device applies the greatest it has seen and ignores an older change that arrives later.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ContentSchema, type DataMessage } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { toHex } from './bytes.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import { durationWords } from './server-policy.js';
import type { ClientStore, MessageRow } from './store/port.js';

export const MIN_DISAPPEARING_MS = 30_000;
export const MAX_DISAPPEARING_MS = 28 * 86_400_000;
/** Expiry hints given to the server are rounded up to a whole hour (server.md §8.3): the exact timer stays inside the message. */
export const EXPIRY_HINT_STEP_MS = 3_600_000;

export const enc = new TextEncoder();
const dec = new TextDecoder();
const timerKey = (conversation: Uint8Array) => `disappearing.timer.${toHex(conversation)}`;
export const POLICY_MAX_KEY = 'disappearing.policy-max';
export const filesKey = (conversation: Uint8Array, messageId: Uint8Array) => `disappearing.files.${toHex(conversation)}.${toHex(messageId)}`;
const readNumber = (b: Uint8Array | undefined) => (b ? Number(dec.decode(b)) || 0 : 0);

/** The organisation's maximum timer as last read from the server (0: none). */
export function policyMaxMs(store: ClientStore): number {
  return readNumber(store.getMeta(POLICY_MAX_KEY));
}

const withMax = (ms: number, max: number) => (max <= 0 ? ms : ms <= 0 ? max : Math.min(ms, max));

/** The timer set for a conversation (0: off), before the organisation's maximum. */
export function conversationTimerMs(store: ClientStore, conversation: Uint8Array): number {
  return readNumber(store.getMeta(timerKey(conversation)));
}

/** The timer new messages in a conversation carry: its setting under the organisation's maximum. */
export function effectiveTimerMs(store: ClientStore, conversation: Uint8Array): number {
  return withMax(conversationTimerMs(store, conversation), policyMaxMs(store));
}

/** A valid timer: 0 (off) or 30 s to 4 weeks. */
export function checkTimer(ms: number): void {
  if (!Number.isSafeInteger(ms) || (ms !== 0 && (ms < MIN_DISAPPEARING_MS || ms > MAX_DISAPPEARING_MS))) {
    throw new ClientError('INVALID_INPUT', 'a disappearing timer is off or between 30 seconds and 4 weeks (e.g. 1h, 1d, 1w)');
  }
}

/** Refuses a timer the organisation does not allow (TIMER_TOO_LONG; "off" is longer than any maximum). */
export function checkAllowed(store: ClientStore, ms: number): void {
  const max = policyMaxMs(store);
  if (max > 0 && (ms === 0 || ms > max)) {
    throw new ClientError('TIMER_TOO_LONG', `your organisation makes messages disappear after at most ${durationWords(max)}: choose that or a shorter timer`);
  }
}

/** Sets the conversation's timer on this device (from this account's change or one received). */
export function storeTimer(store: ClientStore, conversation: Uint8Array, ms: number): void {
  store.setMeta(timerKey(conversation), ms > 0 ? enc.encode(String(ms)) : undefined);
}

const stampKey = (conversation: Uint8Array) => `disappearing.timer-stamp.${toHex(conversation)}`;
const STAMP_DIGITS = 16; // milliseconds since 1970 fit in 16 digits until the year 318857
/**
 * How far ahead of this device's clock a received timer change may be dated and still apply (client.md §14.1). A
 * change dated further ahead is ignored: otherwise a peer could date one in the far future, so that every later
 * change is stamped after it (nextChangeAt) with a date no clock reaches, or past the stamp's 16 digits, where a
 * later change sorts as older and the peer's timer is locked for good.
 */
export const MAX_CHANGE_AHEAD_MS = 7 * 86_400_000;

/**
 * A timer change's place in the order every device applies (client.md §14.1): its timestamp, then its author's
 * account id, then its message id. As a string that sorts the same way (fixed-width fields).
 */
export function timerStamp(timestamp: number, author: Uint8Array, messageId: Uint8Array): string {
  return `${String(Math.max(0, Math.trunc(timestamp))).padStart(STAMP_DIGITS, '0')}:${toHex(author)}:${toHex(messageId)}`;
}

/** The stamp of the change the conversation's timer comes from ('' when none is known: a linked device's first setting). */
export function currentStamp(store: ClientStore, conversation: Uint8Array): string {
  const b = store.getMeta(stampKey(conversation));
  return b ? dec.decode(b) : '';
}

/** The earliest timestamp a new change of this conversation's timer may carry to come after the current one. */
export function nextChangeAt(store: ClientStore, conversation: Uint8Array): number {
  const s = currentStamp(store, conversation);
  return s ? Number(s.slice(0, STAMP_DIGITS)) + 1 : 0;
}

/** Applies a timer change if it is newer than the one in force (by timerStamp); false when it is older and ignored. */
export function applyTimerChange(store: ClientStore, conversation: Uint8Array, ms: number, stamp: string): boolean {
  if (stamp <= currentStamp(store, conversation)) return false;
  storeTimer(store, conversation, ms);
  store.setMeta(stampKey(conversation), enc.encode(stamp));
  return true;
}

/** The DataMessage fields and row fields of a message this account sends now. */
export function outgoing(store: ClientStore, conversation: Uint8Array, now: number): { data: Pick<DataMessage, 'expireTimer'>; row: Pick<MessageRow, 'expireTimerMs' | 'expiresAt'> } {
  const ms = effectiveTimerMs(store, conversation);
  if (ms <= 0) return { data: { expireTimer: 0 }, row: {} };
  return { data: { expireTimer: Math.ceil(ms / 1000) }, row: { expireTimerMs: ms, expiresAt: now + ms } };
}

/**
 * The row fields of a stored DataMessage (received, or sent from another device of this account). A timer change
 * is applied to the conversation unless a newer one is in force (applyTimerChange) and becomes a notice row; `mayChangeTimer` false (a group member who is no admin), or a change
 * dated more than MAX_CHANGE_AHEAD_MS after `now`, keeps the setting and shows nothing (undefined: not stored).
 */
export function incoming(
  store: ClientStore, m: DataMessage, conversation: Uint8Array, author: Uint8Array, outgoingCopy: boolean, events: ClientEvent[], mayChangeTimer: boolean, now: number,
): Pick<MessageRow, 'expireTimerMs' | 'expiresAt' | 'notice'> | undefined {
  const carried = Math.min(m.expireTimer * 1000, MAX_DISAPPEARING_MS);
  if (m.timerUpdate) {
    if (!mayChangeTimer || Number(m.timestamp) > now + MAX_CHANGE_AHEAD_MS) return undefined;
    const ms = carried > 0 ? Math.max(carried, MIN_DISAPPEARING_MS) : 0;
    // An older change that arrives after a newer one (crossing changes) is shown where it belongs in time, not applied.
    if (!applyTimerChange(store, conversation, ms, timerStamp(Number(m.timestamp), author, m.messageId))) return { notice: 'timer', expireTimerMs: ms };
    events.push({ type: 'disappearing-timer', conversation, timerMs: withMax(ms, policyMaxMs(store)), by: author });
    return { notice: 'timer', expireTimerMs: ms };
  }
  const ms = withMax(carried, policyMaxMs(store));
  if (ms <= 0) return {};
  // The author's devices count from the sending time; the reader's from the reading.
  return { expireTimerMs: ms, ...(outgoingCopy ? { expiresAt: Number(m.timestamp) + ms } : {}) };
}

/** Starts the countdown of read messages that carry a timer (inside markRead's transaction, or a Read sync's). */
export function startCountdown(store: ClientStore, conversation: Uint8Array, messageIds: readonly Uint8Array[], readAt: number): void {
  for (const id of messageIds) {
    const m = store.getMessage(conversation, id);
    if (m?.expireTimerMs && !m.expiresAt && !m.notice) store.setMessageExpiry(conversation, id, readAt + m.expireTimerMs);
  }
}

/** Remembers a file downloaded for a disappearing message, so it is deleted with it. */
export function rememberDownload(store: ClientStore, conversation: Uint8Array, messageId: Uint8Array, path: string): void {
  const m = store.getMessage(conversation, messageId);
  if (!m?.expireTimerMs) return;
  const key = filesKey(conversation, messageId);
  const paths = listFiles(store, key);
  if (!paths.includes(path)) store.setMeta(key, enc.encode(JSON.stringify([...paths, path])));
}

export function listFiles(store: ClientStore, key: string): string[] {
  const b = store.getMeta(key);
  if (!b) return [];
  try {
    const v = JSON.parse(dec.decode(b)) as unknown;
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The expiry hint for the server (server.md §8.3) of an encoded Content: the send time plus the timer a disappearing
 * DataMessage carries, rounded up to the hour; 0 for everything else.
 */
export function expiryHint(content: Uint8Array, now: number): bigint {
  let c;
  try {
    c = fromBinary(ContentSchema, content);
  } catch {
    return 0n;
  }
  const data = c.body.case === 'data' ? c.body.value : c.body.case === 'sync' && c.body.value.body.case === 'sent' ? c.body.value.body.value.message : undefined;
  if (!data || data.timerUpdate || data.expireTimer <= 0) return 0n;
  return BigInt(Math.ceil((now + data.expireTimer * 1000) / EXPIRY_HINT_STEP_MS) * EXPIRY_HINT_STEP_MS);
}

/** "30s", "5m", "1h", "1d", "1w", "4w" or "off" → ms (0 off); INVALID_INPUT otherwise. For CLIs and settings screens. */
export function parseTimer(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === '0') return 0;
  const m = /^(\d+)\s*(s|m|h|d|w)$/.exec(t);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
  const ms = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : NaN;
  if (!Number.isSafeInteger(ms)) throw new ClientError('INVALID_INPUT', `"${text.slice(0, 20)}" is not a timer: use e.g. 30s, 5m, 1h, 1d, 1w or off`);
  checkTimer(ms);
  return ms;
}

/** A timer in words ("1 day", "off"). */
export function formatTimer(ms: number): string {
  return ms > 0 ? durationWords(ms) : 'off';
}
