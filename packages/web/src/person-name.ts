/**
 * Which name a chat or person is shown by (web.md §4.2), as Signal and WhatsApp do:
 * 1. the nickname this person gave the contact (Contact info), or an alias they typed when adding a card;
 * 2. the name the organisation certified (identity CA, certificate in force): never marked;
 * 3. the name the contact chose themselves (their profile): plain for a contact (with "~" only when it holds a
 *    badge's words, names.ts); for someone NOT in the contacts always "~Name" and "Not in your contacts", since
 *    anyone can call themselves "Bruno Silva" (the CLI prints "~Name … (not in your contacts …)" likewise);
 * 4. @username, where the contact was found by it; else the first digits of the account id.
 */
import { plainName, shownName } from './names.js';
import { certificateOf } from './sdk/org.js';
import { hex, shortId } from './sdk/ids.js';

export interface Named {
  readonly id: Uint8Array;
  readonly name: string | undefined;
  readonly kind?: 'direct' | 'group';
  readonly contact?: boolean;
  readonly nickname?: string | undefined;
  readonly profileName?: string | undefined;
  readonly username?: string | undefined;
}

export interface ShownPerson {
  readonly text: string;
  /** The name holds a badge's words ("Name not verified" tag). */
  readonly claim: boolean;
  /** A name the person chose themselves while not in the contacts ("Not in your contacts" tag, banner). */
  readonly stranger: boolean;
  /** The name is the one the organisation certified. */
  readonly certified: boolean;
}

/** The certified name of a contact whose certificate is in force, else undefined. */
export function certifiedName(id: string): string | undefined {
  const c = certificateOf(id);
  return c?.state === 'certified' ? plainName(c.name) || undefined : undefined;
}

export function personName(c: Named): ShownPerson {
  const none = { claim: false, stranger: false, certified: false };
  if (c.kind !== 'direct') {
    const s = shownName(c.name);
    return s ? { ...none, text: s.text, claim: s.claim } : { ...none, text: shortId(c.id) };
  }
  const given = shownName(c.nickname);
  if (given) return { ...none, text: given.text, claim: given.claim };
  const cert = certifiedName(hex(c.id));
  if (cert) return { ...none, text: cert, certified: true };
  const own = shownName(c.profileName);
  if (own) {
    if (c.contact) return { ...none, text: own.text, claim: own.claim };
    return { ...none, text: own.claim ? own.text : `~${own.text}`, claim: own.claim, stranger: true };
  }
  if (c.username) return { ...none, text: `@${c.username}` };
  // A summary from before these fields, or a contact without any name: the alias (the CLI's handle), else the id.
  const s = shownName(c.name);
  return s ? { ...none, text: s.text, claim: s.claim } : { ...none, text: shortId(c.id) };
}
