/**
 * `contacts add` never renames or replaces a contact silently: adding a name that
 * another contact has, or a contact already known under another name, asks first
 * (on a terminal) or needs --yes (scripts); otherwise it is refused and nothing changes.
 */
import { formatAccountId, type SigiloClient } from '@sigilo/client-node';
import { confirm } from './confirm.js';

/** A refused rename or replacement (exit 1; nothing changed). */
export class ContactExistsError extends Error {
  readonly code = 'CONTACT_EXISTS';
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

export interface ContactConflict {
  /** What would change, as a sentence. */
  readonly change: string;
  /** The contact that would lose `name` to the new one (a replacement), if any. */
  readonly displaced: Uint8Array | undefined;
}

export function contactConflict(client: SigiloClient, name: string, accountId: Uint8Array): ContactConflict | undefined {
  // A name the SDK will refuse anyway (its rule, client.addContact) needs no question first.
  if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(name)) return undefined;
  const holder = client.store.contactByAlias(name);
  const known = client.store.getContact(accountId);
  const parts: string[] = [];
  if (holder && !same(holder.accountId, accountId)) parts.push(`"${name}" is already another contact (${formatAccountId(holder.accountId)}); it would lose that name`);
  if (known?.alias && known.alias !== name) parts.push(`this account is already your contact "${known.alias}"; it would be renamed to "${name}"`);
  if (parts.length === 0) return undefined;
  return { change: parts.join(', and '), displaced: holder && !same(holder.accountId, accountId) ? holder.accountId : undefined };
}

/**
 * Settles a conflict: asks on a terminal, goes on with `yes`, refuses otherwise (ClientError
 * ContactExistsError, nothing changed). Once agreed, the displaced contact keeps its account and
 * history under its account id, without a name.
 */
export async function settleContactConflict(client: SigiloClient, conflict: ContactConflict, options: { yes: boolean; interactive: boolean }): Promise<void> {
  if (!options.yes) {
    if (!options.interactive) {
      throw new ContactExistsError(`${conflict.change}. Nothing changed: add --yes to do it anyway`);
    }
    if (!(await confirm(`${conflict.change.charAt(0).toUpperCase()}${conflict.change.slice(1)}. Go on? [y/N] `))) {
      throw new ContactExistsError('nothing changed');
    }
  }
  if (conflict.displaced) {
    const row = client.store.getContact(conflict.displaced);
    if (row) client.store.putContact({ ...row, alias: undefined });
  }
}
