/** The state of one of our messages: a clock (sending), ✓ sent, ✓✓ delivered, blue ✓✓ read, ! not sent. */
import type { MessageStatus } from '../sdk/types.js';
import { t } from '../i18n/index.js';

export function Ticks({ status }: { status: MessageStatus }) {
  const d = t();
  const label = status === 'pending' ? d.statusPending : status === 'sent' ? d.statusSent : status === 'delivered' ? d.statusDelivered : status === 'read' ? d.statusRead : status === 'failed' ? d.statusFailed : '';
  if (!label) return null;
  const glyph = status === 'pending' ? '🕓' : status === 'sent' ? '✓' : status === 'failed' ? '!' : '✓✓';
  return <span class={`ticks ticks-${status}`} data-status={status} role="img" aria-label={label} title={label}>{glyph}</span>;
}
