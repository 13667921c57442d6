/**
 * A tag beside a name the person chose themselves (names.ts, person-name.ts, web.md §4.2): "Name not verified" when it
 * holds a badge's words, "Not a contact" when someone outside the contacts goes by it (its title and screen-reader
 * text: "Name chosen by them; not in your contacts").
 */
import { t } from '../i18n/index.js';

export function NameFlag({ compact, stranger }: { compact?: boolean; stranger?: boolean }) {
  const d = t();
  if (stranger) {
    return <span class={`name-flag stranger${compact ? ' compact' : ''}`} data-name-flag="stranger" title={d.notContactHint}>
      <span aria-hidden="true">{d.notContact}</span><span class="visually-hidden">{d.notContactHint}</span>
    </span>;
  }
  return <span class={`name-flag${compact ? ' compact' : ''}`} data-name-flag title={d.nameNotVerifiedHint}>{d.nameNotVerified}</span>;
}

/** The tags a shown name needs (none for a contact's or a certified name). */
export function NameFlags({ p, compact }: { p: { claim: boolean; stranger: boolean } | undefined; compact?: boolean }) {
  // One tag: someone outside the contacts is the stronger warning (their name is marked "~" either way).
  return p?.stranger ? <NameFlag stranger compact={compact} /> : p?.claim ? <NameFlag compact={compact} /> : null;
}
