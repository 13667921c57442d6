/**
 * The organisation's certificates as the page shows them (spec/trust.md §6): the CA this device pinned,
 * this account's and every contact's certificate status, re-read when the chat list changes and when the
 * engine reports a new CRL or certificate (an `org-trust` event, pushed by the server at once).
 */
import { effect, signal } from '@preact/signals';
import type { ContactCertificate, OrgTrustView } from '@sigilo/client-web';
import { sdk } from './client.js';
import { fromHex } from './ids.js';
import { refreshConversations } from './refresh.js';
import { conversations } from './state.js';

export type { ContactCertificate, OrgTrustView };

export const orgTrust = signal<OrgTrustView | undefined>(undefined);

export async function refreshOrgTrust(): Promise<void> {
  orgTrust.value = await sdk().call.orgTrust();
}

/** Fetches the certificates from the server (a contact just added has none on this device yet), then re-reads them. */
export async function fetchOrgTrust(): Promise<void> {
  await sdk().call.fetchOrgTrust();
  await refreshOrgTrust();
}

/** A contact's certificate, or undefined where the organisation has no identity CA. */
export function certificateOf(id: string): ContactCertificate | undefined {
  const v = orgTrust.value;
  return v?.ca ? v.contacts[id] : undefined;
}

/** A revoked certificate not accepted yet: the contact is held like a changed safety number (sending is blocked). */
export function revokedHeld(id: string): boolean {
  const c = certificateOf(id);
  return c?.state === 'revoked' && !c.accepted;
}

/** After checking with the contact in person: lets the held messages go (this certificate only). */
export async function acceptRevoked(id: string): Promise<void> {
  await sdk().call.acceptRevokedCertificate(fromHex(id));
  await Promise.all([refreshOrgTrust(), refreshConversations()]);
}

effect(() => { if (conversations.value) void refreshOrgTrust().catch(() => undefined); });
