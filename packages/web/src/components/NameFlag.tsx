/** "Name not verified": beside a chosen name that holds a badge's words (names.ts, web.md §4.2). */
import { t } from '../i18n/index.js';

export function NameFlag({ compact }: { compact?: boolean }) {
  const d = t();
  return <span class={`name-flag${compact ? ' compact' : ''}`} data-name-flag title={d.nameNotVerifiedHint}>{d.nameNotVerified}</span>;
}
