/**
 * The app's state, as signals: screens read them and re-render; only sdk/actions.ts and sdk/events.ts
 * write them. Nothing here is persisted: the Worker's encrypted store is the only durable copy.
 */
import { computed, signal } from '@preact/signals';
import type { ConversationSummary, MessageRow } from './types.js';

/** Where the person is in the app's life cycle. */
export type Phase =
  | 'starting'
  /** No store on this device: register with an invite, or link to an existing account. */
  | 'welcome'
  /** A store exists: ask for its passphrase. */
  | 'locked'
  /** The store is open and the account registered. */
  | 'ready';

export const phase = signal<Phase>('starting');
/** The connection to the server; `retryAt` (ms) when the engine waits before trying again; `everOnline` since the app opened. */
export const connection = signal<{ state: 'offline' | 'connecting' | 'online'; retryAt?: number; everOnline: boolean }>({ state: 'offline', everOnline: false });
export const me = signal<{ accountId: Uint8Array; deviceId: number; contactCard: string; name: string | undefined } | undefined>(undefined);
export const conversations = signal<readonly ConversationSummary[] | undefined>(undefined);
/** The open conversation's messages (oldest first), by conversation id (hex). */
export const messages = signal<ReadonlyMap<string, readonly MessageRow[]>>(new Map());
/** Typing indicators: conversation id (hex) → until when (ms). */
export const typingUntil = signal<ReadonlyMap<string, number>>(new Map());
/** Browser storage was not made persistent (navigator.storage.persist refused). */
export const notPersisted = signal(false);
/** A problem shown in a banner until dismissed: an i18n key's text, already resolved by the caller. */
export const notice = signal<{ kind: 'error' | 'info'; text: string } | undefined>(undefined);
/** Per-chat drafts (kept in memory only: a draft is plaintext, it never goes to localStorage). */
export const drafts = new Map<string, string>();
/** A message chosen to reply to, per chat. */
export const replyTo = signal<ReadonlyMap<string, MessageRow>>(new Map());

export const totalUnread = computed(() => (conversations.value ?? []).reduce((n, c) => n + c.unread, 0));

/** The chats (hex) in confidential mode (client.md §15), as last heard from summaries and the engine's events. */
export const confidentialChats = signal<ReadonlySet<string>>(new Set());

export function noteConfidential(id: string, on: boolean): void {
  if (confidentialChats.value.has(id) === on) return;
  const next = new Set(confidentialChats.value);
  if (on) next.add(id); else next.delete(id);
  confidentialChats.value = next;
}

/** Disappearing-message timers by chat (ms; 0 off; undefined: this engine has none), as last read. */
export const disappearing = signal<ReadonlyMap<string, number | undefined>>(new Map());

/** Takes the timers of the chat list's summaries (a change only where one differs, so the list does not redraw for nothing). */
export function noteTimers(timers: readonly (readonly [string, number])[]): void {
  if (timers.every(([id, ms]) => disappearing.value.get(id) === ms)) return;
  const next = new Map(disappearing.value);
  for (const [id, ms] of timers) next.set(id, ms);
  disappearing.value = next;
}

/** Counts wipes of confidential messages: a read of a chat's rows that a wipe overtook drops its confidential rows. */
export const wipes = { count: 0 };
