/**
 * Browser notifications for messages that arrive while the tab is hidden (issue 13 point 7): silent for muted
 * chats, and the text of a message never appears unless the person turned "show message text" on (off by
 * default: a locked phone's screen or a shared desktop shows notifications to anyone nearby).
 * Preferences are two flags in localStorage (no message content, no identities).
 */
import { signal } from '@preact/signals';
import type { MessageRow } from './types.js';
import { confidentialChats, conversations } from './state.js';
import { hex } from './ids.js';
import { personName } from '../person-name.js';
import { navigate, routeTo, routeToken } from '../router.js';
import { t } from '../i18n/index.js';

const KEY_ON = 'sigilo.notify';
const KEY_TEXT = 'sigilo.notify.text';

function readFlag(key: string): boolean {
  try { return localStorage.getItem(key) === '1'; } catch { return false; }
}
function writeFlag(key: string, on: boolean): void {
  try { if (on) localStorage.setItem(key, '1'); else localStorage.removeItem(key); } catch { /* private mode: kept for this visit */ }
}

export const notifyOn = signal(readFlag(KEY_ON));
export const notifyText = signal(readFlag(KEY_TEXT));
/** The browser's answer: 'default' (not asked), 'granted', 'denied', or 'unsupported'. */
export const notifyPermission = signal<NotificationPermission | 'unsupported'>(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

/** Turns notifications on (asking the browser's permission) or off; the resulting state. */
export async function setNotify(on: boolean): Promise<boolean> {
  if (on && typeof Notification !== 'undefined' && Notification.permission !== 'granted') {
    notifyPermission.value = await Notification.requestPermission();
  }
  const enabled = on && notifyPermission.value === 'granted';
  notifyOn.value = enabled;
  writeFlag(KEY_ON, enabled);
  return enabled;
}

export function setNotifyText(on: boolean): void {
  notifyText.value = on;
  writeFlag(KEY_TEXT, on);
}

/** What a notification for `m` says, or undefined when none is due (tab visible, muted chat, own message, off). */
export function notificationFor(m: MessageRow, o: { hidden: boolean; now?: number }): { title: string; body: string; tag: string; chat: string } | undefined {
  if (!notifyOn.value || !o.hidden || m.outgoing || m.deleted || m.groupChange) return undefined;
  const chat = hex(m.conversation);
  const summary = conversations.value?.find((c) => hex(c.id) === chat);
  if (summary && summary.mutedUntil > (o.now ?? Date.now())) return undefined;
  const d = t();
  // Confidential (client.md §15): a notification that names no one and says nothing but that a message came.
  if ((m as { confidential?: true }).confidential || confidentialChats.value.has(chat)) return { title: 'Sigilo', body: d.newMessage, tag: `sigilo-${routeToken(chat)}`, chat };
  // Someone not in the contacts is "~Name" here too (person-name.ts): a notification is where a posed name works best.
  const title = summary ? personName(summary).text : d.someone;
  const attachment = m.attachments?.[0];
  const what = m.text || (attachment ? (attachment.voiceNote ? d.voiceNote : attachment.contentType.startsWith('image/') ? d.photo : attachment.contentType.startsWith('video/') ? d.video : d.file) : d.newMessage);
  return { title, body: notifyText.value ? what : d.newMessage, tag: `sigilo-${routeToken(chat)}`, chat };
}

/** Called for every message event: shows a notification when one is due. */
export function notifyMessage(m: MessageRow): void {
  const n = notificationFor(m, { hidden: document.visibilityState === 'hidden' });
  if (!n || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  const options: NotificationOptions = { body: n.body, tag: n.tag, icon: '/icons/icon-192.png', silent: false };
  try {
    const shown = new Notification(n.title, options);
    shown.onclick = () => { window.focus(); navigate(routeTo('chat', n.chat)); shown.close(); };
  } catch {
    // Android's Chrome shows notifications only through the service worker.
    void navigator.serviceWorker?.ready.then((r) => r.showNotification(n.title, options)).catch(() => undefined);
  }
}
