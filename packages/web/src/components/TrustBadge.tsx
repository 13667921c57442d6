/**
 * A contact's trust state where people look: "Verified" (a drawn check) or "Safety number changed" (a drawn warning);
 * nothing when neither. A filled pill with an icon, one image with its words to assistive technology: names cannot
 * hold a check mark (names.ts, web.md §4.2).
 */
import { verifiedIds } from '../sdk/trust.js';
import { t } from '../i18n/index.js';

const CHECK = 'M6.4 11.6 3 8.2l1.1-1.1 2.3 2.3 5.5-5.5L13 5z';
const WARN = 'M8 1.5 15 14H1L8 1.5Zm-.8 4.3v4.1h1.6V5.8H7.2Zm0 5.2v1.6h1.6V11H7.2Z';
const mark = (d: string) => <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false"><path fill="currentColor" d={d} /></svg>;

export function TrustBadge({ id, changed, compact }: { id: string; changed: boolean; compact?: boolean }) {
  const d = t();
  if (changed) return <span class="trust-badge changed" data-trust="changed" role="img" aria-label={d.keyChanged} title={d.keyChanged}>{mark(WARN)}{compact ? <span class="visually-hidden">{d.keyChanged}</span> : ` ${d.keyChanged}`}</span>;
  if (verifiedIds.value.has(id)) return <span class="trust-badge verified" data-trust="verified" role="img" aria-label={d.verifiedBadge} title={d.verifiedBadge}>{mark(CHECK)}{compact ? <span class="visually-hidden">{d.verifiedBadge}</span> : ` ${d.verifiedBadge}`}</span>;
  return null;
}
