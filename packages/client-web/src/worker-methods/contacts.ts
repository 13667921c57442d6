/** Contacts and their keys: add from a contact card, list, names, safety numbers and accepting a changed one. */
import { parseContactCard, type ContactRow } from '@sigilo/client';
import type { HostContext } from './context.js';

export function contactMethods(ctx: HostContext) {
  return {
    addContact: (alias: string, accountId: Uint8Array, accessKey: Uint8Array | undefined, profileKey?: Uint8Array): ContactRow => ctx.need().addContact(alias, accountId, accessKey, profileKey),
    /** Adds (or renames) a contact from the text of a contact card or contact link; INVALID_INPUT names a typo. */
    addContactCard(alias: string, card: string): ContactRow {
      const parsed = parseContactCard(card.replace(/^.*#contact=/, ''));
      return ctx.need().addContact(alias, parsed.accountId, parsed.accessKey, parsed.profileKey);
    },
    /**
     * Starts a chat by username (client.md §11.2): looks it up (by its hash) and adds the account as a contact named
     * by the username, so that someone without a profile name shows as their username, not as an id. An existing
     * contact is returned as it is. INVALID_INPUT for a malformed username, NOT_FOUND when nobody holds it.
     */
    async addContactByUsername(text: string): Promise<ContactRow> {
      const c = ctx.need();
      const found = await c.usernames.lookup(text.trim().replace(/^@/, ''));
      return c.store.getContact(found.accountId) ?? c.addContact(found.username, found.accountId, undefined);
    },
    /** This account's username, as claimed from this device (or received when it was linked). */
    username: (): string | undefined => ctx.need().usernames.current,
    /** Claims a username (sent to the server as its hash); INVALID_INPUT for a malformed one or one someone else holds. */
    setUsername: (text: string): Promise<string> => ctx.need().usernames.set(text.trim().replace(/^@/, '')),
    listContacts: (): ContactRow[] => ctx.need().store.listContacts(),
    /** The contact's name from their encrypted profile, once fetched. */
    profileName: (accountId: Uint8Array): string | undefined => ctx.need().profiles.nameOf(accountId),
    /** Fetches the profiles of contacts not read for a while (names shown in the chat list). */
    refreshProfiles: (): Promise<number> => ctx.need().profiles.refresh(),
    safetyNumber: (accountId: Uint8Array) => ctx.need().safetyNumber(accountId),
    /** Accepts a contact's changed identity key (after comparing safety numbers), unblocking sends. */
    acceptIdentity: (accountId: Uint8Array, verified?: boolean): void => ctx.need().acceptIdentity(accountId, verified),
  };
}
