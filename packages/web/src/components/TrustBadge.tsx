/** A contact's trust state where people look: "Verified" (a check) or "Safety number changed" (a warning); nothing when neither. */
import { verifiedIds } from '../sdk/trust.js';
import { t } from '../i18n/index.js';

export function TrustBadge({ id, changed, compact }: { id: string; changed: boolean; compact?: boolean }) {
  const d = t();
  if (changed) return <span class="trust-badge changed" data-trust="changed" title={d.keyChanged}>⚠{compact ? <span class="visually-hidden">{d.keyChanged}</span> : ` ${d.keyChanged}`}</span>;
  if (verifiedIds.value.has(id)) return <span class="trust-badge verified" data-trust="verified" title={d.verifiedBadge}>✓{compact ? <span class="visually-hidden">{d.verifiedBadge}</span> : ` ${d.verifiedBadge}`}</span>;
  return null;
}
