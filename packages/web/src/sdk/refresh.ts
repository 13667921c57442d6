/** Re-reads what the Worker holds into the state signals (used by actions and by engine events). */
import { conversations, messages } from './state.js';
import { sdk } from './client.js';
import { fromHex } from './ids.js';

/** How many messages of a conversation the view loads. */
export const PAGE = 200;

export async function refreshConversations(): Promise<void> {
  conversations.value = await sdk().call.conversations();
}

export async function refreshConversation(id: string): Promise<void> {
  const rows = await sdk().call.listMessages(fromHex(id), PAGE);
  const next = new Map(messages.value);
  next.set(id, rows);
  messages.value = next;
}
