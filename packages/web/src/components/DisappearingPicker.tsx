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
  const allowed = max > 0 ? [...TIMERS.filter((x) => x.ms < max), { ms: max, n: 0, unit: 'h' as const }] : TIMERS;
  const options = allowed.some((x) => x.ms === current) || current === 0 ? allowed : [...allowed, { ms: current, n: 0, unit: 'h' as const }].sort((a, b) => a.ms - b.ms);
  return <fieldset class="settings-group" aria-describedby="disappearing-hint">
    <legend>{d.disappearing}</legend>
    <p class="hint" id="disappearing-hint">{d.disappearingHint}{max > 0 ? ` ${d.timerMaxHint(timerLabel(max))}` : ''}</p>
    <select id="disappearing" aria-label={d.disappearing} value={String(current)}
      onChange={(e) => void setDisappearing(id, Number((e.target as HTMLSelectElement).value)).catch((err) => { notice.value = { kind: 'error', text: errorText(err) }; })}>
      {max <= 0 && <option value="0">{d.disappearingOff}</option>}
      {options.map((x) => <option key={x.ms} value={String(x.ms)}>{timerLabel(x.ms)}</option>)}
    </select>
  </fieldset>;
}
