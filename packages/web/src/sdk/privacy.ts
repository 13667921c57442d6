/**
 * Confidential mode (client.md §15) and the server's retention policy (server.md §8) on the page.
 *
 * Confidential messages are in the engine's memory (the Worker) and, while shown, in this page's memory; never in
 * IndexedDB, OPFS, localStorage or a draft. They leave the screen and both memories when the mode is left (by either
 * side: the engine's 'confidential-wiped' event), when their chat is closed, and when the page is hidden
 * (visibilitychange), whichever comes first.
 */
import { signal } from '@preact/signals';
import type { PolicyWords, ServerPolicy } from '@sigilo/client/server-policy';
import { sdk } from './client.js';
import { fromHex, hex } from './ids.js';
import { confidentialChats, drafts, messages, noteConfidential, replyTo, wipes } from './state.js';

export { confidentialChats, noteConfidential };
import type { MessageRow } from './types.js';
import { refreshConversation, refreshConversations } from './refresh.js';
import { forgetMessageMedia } from './attachments.js';
import type { Dict } from '../i18n/index.js';

/** A row the page shows; `confidential` when it lives in memory only. */
export type ShownMessage = MessageRow & { readonly confidential?: true };
export const isConfidential = (m: MessageRow): boolean => (m as ShownMessage).confidential === true;

/** Switches the mode of a 1:1 chat (both sides see the notice; leaving it wipes both sides). */
export async function setConfidentialMode(id: string, on: boolean): Promise<void> {
  await sdk().call.setConfidential(fromHex(id), on);
  noteConfidential(id, on);
  if (!on) wipeFromScreen(id);
  await Promise.all([refreshConversation(id).catch(() => undefined), refreshConversations().catch(() => undefined)]);
}

/** Removes a chat's confidential messages from the page: rows, reply being written, decrypted media. */
export function wipeFromScreen(id: string): void {
  wipes.count++;
  const rows = messages.value.get(id);
  if (rows?.some(isConfidential)) {
    for (const m of rows) if (isConfidential(m)) forgetMessageMedia(hex(m.messageId));
    const next = new Map(messages.value);
    next.set(id, rows.filter((m) => !isConfidential(m)));
    messages.value = next;
  }
  const replying = replyTo.value.get(id);
  if (replying && isConfidential(replying)) {
    const next = new Map(replyTo.value);
    next.delete(id);
    replyTo.value = next;
  }
}

/** Wipes the confidential messages of one chat (closed) or of all (page hidden), on the page and in the engine. */
export function wipeConfidential(id?: string): void {
  if (id) wipeFromScreen(id); else for (const k of messages.value.keys()) wipeFromScreen(k);
  // A draft in a confidential chat is plaintext of the mode too (drafts are in memory only, but outlive the chat).
  for (const k of id ? [id] : [...confidentialChats.value]) if (confidentialChats.value.has(k)) drafts.delete(k);
  void sdk().call.wipeConfidential(id ? fromHex(id) : undefined).catch(() => undefined);
}

let watching = false;
/** From the moment the app is ready: a hidden page keeps no confidential message. */
export function watchVisibility(): void {
  if (watching) return;
  watching = true;
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') wipeConfidential(); });
  // A page put in the back/forward cache, or being unloaded, is hidden as well.
  window.addEventListener('pagehide', () => wipeConfidential());
}

/** The server's policy: undefined until read, 'none' when it publishes none, 'offline' when it could not be read. */
export const serverPolicy = signal<ServerPolicy | 'none' | 'offline' | undefined>(undefined);

export async function loadServerPolicy(): Promise<void> {
  try {
    serverPolicy.value = (await sdk().call.serverPolicy()) ?? 'none';
  } catch {
    if (serverPolicy.value === undefined) serverPolicy.value = 'offline';
  }
}

/** The organisation's maximum disappearing timer (ms; 0 none), as last read. */
export const maxTimerMs = (): number => (typeof serverPolicy.value === 'object' ? serverPolicy.value.maxDisappearingTimerMs : 0);

/** The policy's facts in the person's language (the same facts, in the same order, as `sigilo whoami`). */
export function policyWords(d: Dict, duration: (ms: number) => string): PolicyWords {
  return {
    duration,
    undelivered: d.policyUndelivered, attachments: d.policyAttachments,
    lastSeenDay: d.policyLastSeenDay, noConnectionTimes: d.policyNoConnectionTimes,
    maxTimer: d.policyMaxTimer, noMaxTimer: d.policyNoMaxTimer, push: d.policyPush, noPush: d.policyNoPush,
  };
}
