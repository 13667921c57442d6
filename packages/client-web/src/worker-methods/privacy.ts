/**
 * Privacy per chat and the server's policy, for the chat and settings screens: disappearing messages (client.md §14),
 * confidential mode (client.md §15: its messages live in the engine's memory only; the page asks for them to be wiped
 * when the chat closes or the page is hidden), and the server's retention policy (server.md §8).
 */
import { readServerPolicy, type ServerPolicy } from '@sigilo/client';
import type { HostContext } from './context.js';

export function privacyMethods(ctx: HostContext) {
  return {
    /** The timer new messages of the chat carry (ms; 0 off), the organisation's maximum applied. */
    disappearingTimer: (conversation: Uint8Array): number | undefined => ctx.need().disappearingTimer(conversation),
    /** Sets the chat's timer (ms; 0 off) and tells its participants; TIMER_TOO_LONG above the organisation's maximum. */
    async setDisappearingTimer(conversation: Uint8Array, timerMs: number): Promise<void> {
      await ctx.need().setDisappearingTimer(conversation, timerMs);
    },
    /** Whether the chat is in confidential mode (its messages stay in memory only). */
    confidential: (conversation: Uint8Array): boolean => ctx.need().confidential(conversation),
    /** Switches confidential mode for a 1:1 chat; both sides see a notice, and leaving it wipes both sides' messages. */
    async setConfidential(conversation: Uint8Array, on: boolean): Promise<void> {
      await ctx.need().setConfidential(conversation, on);
    },
    /** Forgets the confidential messages of one chat, or (undefined) of every chat: the chat closed, the page was hidden. */
    wipeConfidential(conversation?: Uint8Array): void {
      const c = ctx.need();
      if (conversation) return c.wipeConfidential(conversation);
      for (const k of c.store.listContacts()) c.wipeConfidential(k.accountId);
      for (const g of c.store.listGroups()) c.wipeConfidential(g.groupId);
    },
    /** The server's retention and privacy policy (undefined when it publishes none); needs the server to answer. */
    async serverPolicy(): Promise<ServerPolicy | undefined> {
      return readServerPolicy(await ctx.need().serverInfo());
    },
  };
}
