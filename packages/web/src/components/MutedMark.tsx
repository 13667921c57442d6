/** The crossed-out bell shown beside a muted chat (in the chat list and the chat's top bar). */
import { Icon } from './Icon.js';
import { t } from '../i18n/index.js';

export function MutedMark() {
  const label = t().mutedLabel;
  return <span class="muted-icon" role="img" aria-label={label} title={label}><Icon name="bellOff" size="1.1em" /></span>;
}
