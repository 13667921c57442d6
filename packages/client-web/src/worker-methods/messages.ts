/** Conversations and messages: the chat list's summaries, a conversation's messages, send, read, typing, delete. */
import { contactNames, givenName, type MessageQuote, type MessageRow, type MessageStatus, type SigiloClient } from '@sigilo/client';
import { forget, keepQuote, withQuotes } from './quotes.js';
import type { HostContext } from './context.js';

/** One row of the chat list. */
export interface ConversationSummary {
  /** The contact's account id (16 bytes) or the group id (32 bytes). */
  readonly id: Uint8Array;
  readonly kind: 'direct' | 'group';
  /** The group's name; for a person, the alias, else the contact's profile name, else undefined (the fields below tell them apart). */
  readonly name: string | undefined;
  /** A person in the contacts (one with an alias), as opposed to someone who wrote or shares a group. Groups: true. */
  readonly contact: boolean;
  /** The name this person gave the contact (a nickname, or an alias they typed); groups: undefined. */
  readonly nickname: string | undefined;
  /** The name the contact chose for themselves (their encrypted profile), once fetched. */
  readonly profileName: string | undefined;
  /** The username the contact was found by, if they were. */
  readonly username: string | undefined;
  readonly last: { readonly text: string; readonly outgoing: boolean; readonly status: MessageStatus; readonly timestamp: number; readonly deleted: boolean; readonly attachments: number } | undefined;
  readonly unread: number;
  readonly mutedUntil: number;
  /** A new safety number waits to be accepted (sending is blocked). */
  readonly identityChanged: boolean;
  /** Confidential mode is on (client.md §15): new messages stay in memory only. */
  readonly confidential: boolean;
  /** The disappearing timer new messages carry (ms; 0 off), the organisation's maximum applied (client.md §14). */
  readonly disappearingMs: number;
}

/** A message as the page gets it: `confidential` when it is held in the engine's memory only (never stored). */
export type PageMessage = MessageRow & { readonly confidential?: true };

/** Marks the rows that are not in the store: confidential ones, kept in memory (client.md §15). */
export function markMemoryOnly(c: SigiloClient, rows: readonly MessageRow[]): PageMessage[] {
  return rows.map((m) => (m.notice || m.groupChange || c.store.getMessage(m.conversation, m.messageId) ? m : { ...m, confidential: true as const }));
}

function summarise(ctx: HostContext, id: Uint8Array): { last: ConversationSummary['last']; unread: number } {
  const all = ctx.need().store.listMessages(id, -1);
  let unread = 0;
  let lastRow: MessageRow | undefined;
  for (const m of all) {
    // Membership changes and the empty group-setup row are not messages: no preview, no unread.
    if (m.groupChange || (!m.text && !m.attachments?.length && !m.deleted)) continue;
    lastRow = m;
    if (!m.outgoing && !m.deleted && m.status !== 'read') unread++;
  }
  const last = lastRow && { text: lastRow.text, outgoing: lastRow.outgoing, status: lastRow.status, timestamp: lastRow.timestamp, deleted: lastRow.deleted, attachments: lastRow.attachments?.length ?? 0 };
  return { last, unread };
}

export function messageMethods(ctx: HostContext) {
  return {
    /** Every conversation (contacts and groups) with its last message and unread count, newest first. */
    conversations(): ConversationSummary[] {
      const c = ctx.need();
      const out: ConversationSummary[] = [];
      for (const k of c.store.listContacts()) {
        const names = contactNames(c.store, k.accountId);
        const profileName = c.profiles.nameOf(k.accountId);
        out.push({ id: k.accountId, kind: 'direct', name: k.alias ?? profileName, contact: k.alias !== undefined, nickname: givenName(k.alias, names), profileName, username: names.username, ...summarise(ctx, k.accountId), mutedUntil: k.mutedUntil, identityChanged: k.pendingIdentityKey !== undefined, confidential: c.confidential(k.accountId), disappearingMs: c.disappearingTimer(k.accountId) });
      }
      for (const g of c.store.listGroups()) {
        out.push({ id: g.groupId, kind: 'group', name: g.name, contact: true, nickname: undefined, profileName: undefined, username: undefined, ...summarise(ctx, g.groupId), mutedUntil: g.mutedUntil, identityChanged: false, confidential: false, disappearingMs: c.disappearingTimer(g.groupId) });
      }
      return out.sort((a, b) => (b.last?.timestamp ?? 0) - (a.last?.timestamp ?? 0));
    },
    /** The last `limit` messages of a conversation, oldest first: the stored ones and the confidential ones in memory (marked). */
    listMessages: (conversation: Uint8Array, limit: number): PageMessage[] => markMemoryOnly(ctx.need(), withQuotes(ctx.need(), conversation, ctx.need().listMessages(conversation, limit))),
    /** Sends a text; with `quote`, a reply to that message (none in confidential mode: its text would be kept with the reply). */
    async sendText(to: Uint8Array, body: string, quote?: MessageQuote): Promise<MessageRow> {
      const c = ctx.need();
      if (!quote || c.confidential(to)) return c.sendText(to, body);
      const row = await c.sendText(to, body, { quote });
      keepQuote(c, to, row.messageId, quote);
      return row;
    },
    markRead: (conversation: Uint8Array, messageIds?: Uint8Array[]) => ctx.need().markRead(conversation, messageIds),
    typing: (conversation: Uint8Array, started: boolean) => ctx.need().typing(conversation, started),
    async deleteForEveryone(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
      await ctx.need().deleteForEveryone(conversation, messageId);
      forget(ctx.need(), conversation, messageId);
    },
    async deleteForMe(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
      await ctx.need().deleteForMe(conversation, messageId);
      forget(ctx.need(), conversation, messageId);
    },
  };
}
