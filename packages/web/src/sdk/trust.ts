/** Trust actions: the safety number and its QR text, verifying by a scanned code or in person, which contacts are verified. */
import { effect, signal } from '@preact/signals';
import { sdk } from './client.js';
import { fromHex } from './ids.js';
import { refreshConversations } from './refresh.js';
import { conversations } from './state.js';

/** Verified contacts (hex account ids), for the badges in the chat list and the headers. */
export const verifiedIds = signal<ReadonlySet<string>>(new Set());

export async function refreshVerified(): Promise<void> {
  verifiedIds.value = new Set(await sdk().call.verifiedContacts());
}

export const safetyCode = (id: string) => sdk().call.safetyCode(fromHex(id));

/** Checks a scanned (or pasted) code; true when it matched and the contact is now verified. */
export async function verifyScanned(id: string, text: string): Promise<boolean> {
  const ok = await sdk().call.verifyScanned(fromHex(id), text);
  await Promise.all([refreshVerified(), refreshConversations()]);
  return ok;
}

export async function markVerified(id: string): Promise<void> {
  await sdk().call.markVerified(fromHex(id));
  await Promise.all([refreshVerified(), refreshConversations()]);
}

// Every re-read of the chat list (new contact, accepted key, events) re-reads which contacts are verified.
effect(() => { if (conversations.value) void refreshVerified().catch(() => undefined); });
