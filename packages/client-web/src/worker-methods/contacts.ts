/** Contacts and their keys: add from a contact card, list, names, safety numbers and accepting a changed one. */
import { contactNames, freeAlias, noteContactOrigin, parseContactCard, setContactNickname, type ContactNames, type ContactRow } from '@sigilo/client';
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
      const known = c.store.getContact(found.accountId);
      if (known?.alias !== undefined) {
        // A contact added by this username before the app noted it: its alias is that handle, not a name given.
        noteContactOrigin(c.store, found.accountId, { username: found.username, ...(known.alias === found.username && !contactNames(c.store, found.accountId).autoAlias ? { autoAlias: known.alias } : {}) });
        return known;
      }
      // The username is a handle the app chose, not a name the person gave: the contact's own name shows instead.
      const row = c.addContact(freeAlias(c.store, found.accountId, found.username), found.accountId, undefined);
      noteContactOrigin(c.store, found.accountId, { username: found.username, autoAlias: row.alias });
      return row;
    },
    /**
     * Adds someone who wrote (not a contact yet) to the contacts, with an alias made from their profile name (the CLI's
     * handle; the app shows their own name, or the nickname given later). A contact already is returned as it is.
     */
    addToContacts(accountId: Uint8Array): ContactRow {
      const c = ctx.need();
      const known = c.store.getContact(accountId);
      if (known?.alias !== undefined) return known;
      const row = c.addContact(freeAlias(c.store, accountId, c.profiles.nameOf(accountId)), accountId, undefined);
      noteContactOrigin(c.store, accountId, { autoAlias: row.alias });
      return row;
    },
    /** The name this person gives a contact on this device (undefined or blank: none, their own name shows); INVALID_INPUT as a profile name. */
    setContactNickname: (accountId: Uint8Array, nickname: string | undefined): ContactNames => setContactNickname(ctx.need().store, accountId, nickname),
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
