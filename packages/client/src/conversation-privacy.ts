/**
 * The privacy settings of a conversation that its participants see change (client.md §14, §15): the disappearing
 * timer (1:1 and groups; in a group, admins set it) and confidential mode (1:1). Each change is a notice message
 * ("ana set disappearing messages to 1 day") that every participant's devices show and apply.
 */
import { toHex } from './bytes.js';
import { contact } from './contacts.js';
import { confidentialOn, storeConfidential, wipeConfidential } from './confidential.js';
import * as disappearing from './disappearing.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { GROUP_ID_LENGTH } from './groups.js';
import { sendData } from './messages.js';
import type { MessageRow } from './store/port.js';

/**
 * Sets a conversation's disappearing timer (ms; 0 off) and tells its participants. Refused: a timer outside 30 s to
 * 4 weeks (INVALID_INPUT), longer than the organisation allows or off under a maximum (TIMER_TOO_LONG), in a group by
 * a member who is no admin (INVALID_INPUT).
 */
export async function setDisappearingTimer(engine: Engine, conversation: Uint8Array, timerMs: number): Promise<MessageRow> {
  disappearing.checkTimer(timerMs);
  if (engine.connection?.isOpen) await disappearing.refreshPolicy(engine).catch(() => {});
  disappearing.checkAllowed(engine.store, timerMs);
  const me = engine.requireAccount();
  // Stamped after the change in force, so a change made after seeing another always wins (client.md §14.1).
  const apply = (row: MessageRow) => { disappearing.applyTimerChange(engine.store, conversation, timerMs, disappearing.timerStamp(row.timestamp, me.accountId, row.messageId)); };
  if (conversation.length === GROUP_ID_LENGTH) {
    const info = engine.groups.info(conversation);
    if (info.myRole !== 'admin') throw new ClientError('INVALID_INPUT', 'only the group\'s admins can change its disappearing timer');
    const row = await engine.groups.sendText(conversation, '', { timerUpdate: true, expireTimer: Math.ceil(timerMs / 1000) }, apply, disappearing.nextChangeAt(engine.store, conversation));
    engine.emit({ type: 'disappearing-timer', conversation, timerMs, by: me.accountId });
    return row;
  }
  contact(engine, conversation);
  const row = await sendData(engine, conversation, { text: '', notice: { notice: 'timer', timerMs }, notBefore: disappearing.nextChangeAt(engine.store, conversation) }, apply);
  engine.emit({ type: 'disappearing-timer', conversation, timerMs, by: me.accountId });
  return row;
}

/** The timer new messages of a conversation carry (ms; 0 off), the organisation's maximum applied. */
export function disappearingTimer(engine: Engine, conversation: Uint8Array): number {
  return disappearing.effectiveTimerMs(engine.store, conversation);
}

/**
 * Switches confidential mode for a 1:1 conversation and tells the other side (both see the notice). Leaving it wipes
 * the conversation's confidential messages from memory here, and on the other side when the notice arrives.
 */
export async function setConfidential(engine: Engine, conversation: Uint8Array, on: boolean): Promise<MessageRow> {
  const me = engine.requireAccount();
  if (conversation.length === GROUP_ID_LENGTH) throw new ClientError('INVALID_INPUT', 'confidential mode is for 1:1 conversations');
  contact(engine, conversation);
  const row = await sendData(engine, conversation, { text: '', notice: { notice: on ? 'confidential-on' : 'confidential-off' } }, () => storeConfidential(engine, conversation, on));
  if (!on) wipeConfidential(engine, conversation);
  engine.emit({ type: 'confidential', conversation, on, by: me.accountId });
  return row;
}

export { confidentialOn };

/** The privacy settings of every known conversation, for a device being linked (ProvisionMessage 100-101). */
export function privacySettings(engine: Engine): { timers: LinkedTimer[]; confidentialConversations: Uint8Array[] } {
  const ids = [...engine.store.listContacts().map((c) => c.accountId), ...engine.store.listGroups().map((g) => g.groupId)];
  return {
    // With the stamp of the change in force, also when that change turned the timer off: the new device then
    // orders a change that crossed it as this device did (client.md §14.1).
    timers: ids.map((id) => ({
      conversationId: id,
      expireTimer: Math.ceil(disappearing.conversationTimerMs(engine.store, id) / 1000),
      stamp: disappearing.currentStamp(engine.store, id),
    })).filter((t) => t.expireTimer > 0 || t.stamp !== ''),
    confidentialConversations: ids.filter((id) => engine.store.getMeta(`confidential.${toHex(id)}`)?.[0] === 1),
  };
}

interface LinkedTimer { readonly conversationId: Uint8Array; readonly expireTimer: number; readonly stamp?: string }

/** timerStamp's shape; a stamp dated further ahead than a received change may be is dropped (disappearing-timer.ts). */
const STAMP = /^(\d{16}):[0-9a-f]{32}:[0-9a-f]{2,64}$/;

/** Installs what privacySettings gave (inside the linking transaction). */
export function installPrivacySettings(engine: Engine, s: { timers: readonly LinkedTimer[]; confidentialConversations: readonly Uint8Array[] }): void {
  for (const t of s.timers) {
    if (t.conversationId.length !== 16 && t.conversationId.length !== GROUP_ID_LENGTH) continue;
    const ms = Math.min(t.expireTimer * 1000, disappearing.MAX_DISAPPEARING_MS);
    const timer = ms >= disappearing.MIN_DISAPPEARING_MS ? ms : 0;
    const at = STAMP.exec(t.stamp ?? '');
    if (at && Number(at[1]) <= engine.now() + disappearing.MAX_CHANGE_AHEAD_MS) disappearing.applyTimerChange(engine.store, t.conversationId, timer, t.stamp!);
    else disappearing.storeTimer(engine.store, t.conversationId, timer);
  }
  for (const id of s.confidentialConversations) if (id.length === 16) storeConfidential(engine, id, true);
}
