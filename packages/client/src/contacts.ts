/**
 * Contacts and the identity keys learnt for them (client.md §4.2): trust on
 * first use; a different key later is kept aside and blocks sending until the
 * person accepts it (verification.ts).
 */
import { bytesEqual } from '@sigilo/protocol';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import { formatAccountId } from './ids.js';
import { assertNotRevoked } from './org-trust/org-trust.js';
import type { ContactRow } from './store/port.js';

/** Adds or renames a contact from a contact card or account id. */
export function addContact(engine: Engine, alias: string, accountId: Uint8Array, accessKey: Uint8Array | undefined, profileKey?: Uint8Array): ContactRow {
  if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(alias)) throw new ClientError('INVALID_INPUT', 'a contact name is 1–64 letters, digits, "_", "." or "-"');
  const me = engine.accountId;
  if (me && bytesEqual(me, accountId)) throw new ClientError('INVALID_INPUT', 'that is your own account');
  const byAlias = engine.store.contactByAlias(alias);
  if (byAlias && !bytesEqual(byAlias.accountId, accountId)) throw new ClientError('INVALID_INPUT', `the name "${alias}" is taken by another contact`);
  const c = contact(engine, accountId);
  const row = { ...c, alias, accessKey: accessKey ?? c.accessKey };
  engine.store.transaction(() => {
    engine.store.putContact(row);
    if (profileKey) engine.profiles.learnKey(accountId, profileKey);
  });
  return row;
}

export function resolveContact(engine: Engine, nameOrId: string): ContactRow {
  const byAlias = engine.store.contactByAlias(nameOrId);
  if (byAlias) return byAlias;
  for (const c of engine.store.listContacts()) if (formatAccountId(c.accountId) === nameOrId.toLowerCase()) return c;
  throw new ClientError('UNKNOWN_CONTACT', `no contact "${nameOrId}": add it with \`sigilo contacts add NAME CARD\``);
}

export function assertSendable(engine: Engine, to: Uint8Array): void {
  const c = engine.store.getContact(to);
  if (c?.pendingIdentityKey) {
    throw new ClientError('IDENTITY_CHANGED', 'this contact\'s safety number changed: compare it (`sigilo verify NAME`) and accept it with `sigilo verify NAME --accept` before sending');
  }
  assertNotRevoked(engine, to);
}

export function contact(engine: Engine, accountId: Uint8Array): ContactRow {
  return engine.store.getContact(accountId) ?? {
    accountId, alias: undefined, identityKey: undefined, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0,
  };
}

/**
 * Trust on first use; a different key later is kept aside and blocks sending until accepted.
 * Returns whether `identityKey` is such a not-yet-accepted key.
 */
export function checkIncomingIdentity(engine: Engine, accountId: Uint8Array, identityKey: Uint8Array, self: Uint8Array, events: ClientEvent[]): boolean {
  if (bytesEqual(accountId, self)) {
    if (!bytesEqual(identityKey, engine.identity.publicKey)) throw new ClientError('IDENTITY_CHANGED', 'a message claiming to be from this account has another identity key');
    return false;
  }
  const c = contact(engine, accountId);
  if (!c.identityKey) {
    engine.store.putContact({ ...c, identityKey: identityKey });
    return false;
  }
  if (bytesEqual(c.identityKey, identityKey)) return false;
  if (!(c.pendingIdentityKey && bytesEqual(c.pendingIdentityKey, identityKey))) {
    engine.store.putContact({ ...c, pendingIdentityKey: identityKey, verified: false });
    events.push({ type: 'identity-changed', accountId });
  }
  return true;
}
