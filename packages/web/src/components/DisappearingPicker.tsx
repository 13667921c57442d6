/** Chat settings › Disappearing messages: off or a timer; shown only when the engine has disappearing messages. */
import { useEffect } from 'preact/hooks';
import { notice } from '../sdk/state.js';
import { disappearing, loadDisappearing, setDisappearing, TIMERS } from '../sdk/settings.js';
import { errorText } from '../errors.js';
import { loadServerPolicy, maxTimerMs } from '../sdk/privacy.js';
import { t } from '../i18n/index.js';

import { timerLabel } from '../format.js';

export { timerLabel };

export function DisappearingPicker({ id }: { id: string }) {
  const d = t();
  useEffect(() => { void loadDisappearing(id).catch(() => undefined); void loadServerPolicy(); }, [id]);
  const current = disappearing.value.get(id);
  if (current === undefined) return null;
  // The organisation's maximum (server.md §8): nothing longer is offered, nor "off"; the maximum itself always is.
  const max = maxTimerMs();
  const allowed = max > 0 ? [...TIMERS.filter((ms) => ms < max), max] : TIMERS;
  // A timer the other side set that is not among these (say 2 minutes) is shown as it is.
  const options = allowed.includes(current) || current === 0 ? allowed : [...allowed, current].sort((a, b) => a - b);
  return <fieldset class="settings-group" aria-describedby="disappearing-hint">
    <legend>{d.disappearing}</legend>
    <p class="hint" id="disappearing-hint">{d.disappearingHint}{max > 0 ? ` ${d.timerMaxHint(timerLabel(max))}` : ''}</p>
    <select id="disappearing" aria-label={d.disappearing} value={String(current)}
      onChange={(e) => void setDisappearing(id, Number((e.target as HTMLSelectElement).value)).catch((err) => { notice.value = { kind: 'error', text: errorText(err) }; })}>
      {max <= 0 && <option value="0">{d.disappearingOff}</option>}
      {options.map((ms) => <option key={ms} value={String(ms)}>{timerLabel(ms)}</option>)}
    </select>
  </fieldset>;
}
