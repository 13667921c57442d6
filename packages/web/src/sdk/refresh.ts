/** Re-reads what the Worker holds into the state signals (used by actions and by engine events). */
import { conversations, messages, noteConfidential, noteTimers, wipes } from './state.js';
import { sdk } from './client.js';
import { fromHex, hex } from './ids.js';

/** How many messages of a conversation the view loads. */
export const PAGE = 200;

let fetchingNames = false;

export async function refreshConversations(): Promise<void> {
  const list = await sdk().call.conversations();
  conversations.value = list;
  for (const c of list) if (c.kind === 'direct') noteConfidential(hex(c.id), c.confidential);
  noteTimers(list.map((c) => [hex(c.id), c.disappearingMs]));
  // Someone new wrote: read their name from their encrypted profile (once; the Worker skips fresh ones).
  if (!fetchingNames && list.some((c) => c.kind === 'direct' && c.profileName === undefined && c.nickname === undefined)) {
    fetchingNames = true;
    try {
      if (await sdk().call.refreshProfiles() > 0) conversations.value = await sdk().call.conversations();
    } catch { /* offline: the next refresh tries again */ } finally { fetchingNames = false; }
  }
}

export async function refreshConversation(id: string): Promise<void> {
  const before = wipes.count;
  let rows = await sdk().call.listMessages(fromHex(id), PAGE);
  // Confidential rows read before a wipe that happened meanwhile are not shown again (client.md §15).
  if (wipes.count !== before) rows = rows.filter((m) => !m.confidential);
  const next = new Map(messages.value);
  next.set(id, rows);
  messages.value = next;
}
