/**
 * What this device knows about how to call a contact besides the alias (client.md §4.2). The alias is the CLI's
 * handle (`sigilo send ana`: letters, digits, "_", "." and "-"), so it cannot hold a name like "Bruno Silva";
 * beside it, in the encrypted store's meta (one record per contact, this device only: not in links or backups):
 * - `nickname`: the name the person gave the contact themselves (any printable text, as a profile name);
 * - `username`: the username the contact was found by (shown as @username);
 * - `autoAlias`: an alias the app chose (the username, or one made from the profile name when a person who wrote
 *   was added to contacts), which is a handle and not a name the person gave, so apps show the contact's own name.
 */
import { toHex } from './bytes.js';
import { checkProfileName } from './profiles.js';
import type { ClientStore } from './store/port.js';

export interface ContactNames {
  readonly nickname?: string;
  readonly username?: string;
  readonly autoAlias?: string;
}

const key = (accountId: Uint8Array) => `contact.names.${toHex(accountId)}`;
const enc = new TextEncoder(), dec = new TextDecoder();

export function contactNames(store: ClientStore, accountId: Uint8Array): ContactNames {
  const b = store.getMeta(key(accountId));
  if (!b) return {};
  try {
    const v = JSON.parse(dec.decode(b)) as Record<string, unknown>;
    const pick = (k: string) => (typeof v[k] === 'string' ? { [k]: v[k] as string } : {});
    return { ...pick('nickname'), ...pick('username'), ...pick('autoAlias') };
  } catch {
    return {};
  }
}

function put(store: ClientStore, accountId: Uint8Array, names: ContactNames): void {
  const empty = names.nickname === undefined && names.username === undefined && names.autoAlias === undefined;
  store.setMeta(key(accountId), empty ? undefined : enc.encode(JSON.stringify(names)));
}

/**
 * Sets (or, with undefined or blank text, removes) the nickname this person gives a contact on this device; the same
 * rule as a profile name (1–64 characters, no control characters), INVALID_INPUT otherwise.
 */
export function setContactNickname(store: ClientStore, accountId: Uint8Array, nickname: string | undefined): ContactNames {
  const next = { ...contactNames(store, accountId) } as { nickname?: string; username?: string; autoAlias?: string };
  if (nickname === undefined || nickname.trim() === '') delete next.nickname;
  else next.nickname = checkProfileName(nickname);
  put(store, accountId, next);
  return next;
}

/** Notes how the app named a contact it added itself: the username it was found by and/or the alias it chose. */
export function noteContactOrigin(store: ClientStore, accountId: Uint8Array, o: { username?: string; autoAlias?: string }): void {
  put(store, accountId, { ...contactNames(store, accountId), ...o });
}

/**
 * The name the person gave the contact, if any: the nickname, else an alias they typed themselves (one the app
 * chose, `autoAlias`, is not a name they gave).
 */
export function givenName(alias: string | undefined, names: ContactNames): string | undefined {
  return names.nickname ?? (alias !== undefined && alias !== names.autoAlias ? alias : undefined);
}

/** An alias for `wanted` (a name: letters and digits kept, the rest made "_"), not held by another contact. */
export function freeAlias(store: ClientStore, accountId: Uint8Array, wanted: string | undefined): string {
  const cleaned = (wanted ?? '').normalize('NFC').replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^_+|_+$/g, '');
  const base = [...cleaned].slice(0, 56).join('') || `contact-${toHex(accountId).slice(0, 6)}`;
  for (let i = 1; ; i++) {
    const alias = i === 1 ? base : `${base}-${i}`;
    const holder = store.contactByAlias(alias);
    if (!holder || toHex(holder.accountId) === toHex(accountId)) return alias;
  }
}
