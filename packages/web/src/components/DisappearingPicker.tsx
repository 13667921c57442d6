/** Chat settings › Disappearing messages: off or a timer; shown only when the engine has disappearing messages. */
import { useEffect } from 'preact/hooks';
import { notice } from '../sdk/state.js';
import { disappearing, loadDisappearing, setDisappearing, TIMERS } from '../sdk/settings.js';
import { errorText } from '../errors.js';
import { t } from '../i18n/index.js';

/** "1 day", "8 hours", … for a timer in ms (any value, not only those offered). */
export function timerLabel(ms: number): string {
  const d = t();
  const known = TIMERS.find((x) => x.ms === ms);
  if (known) return d.timer(known.n, known.unit);
  if (ms % (7 * 86_400_000) === 0) return d.timer(ms / (7 * 86_400_000), 'w');
  if (ms % 86_400_000 === 0) return d.timer(ms / 86_400_000, 'd');
  if (ms % 3_600_000 === 0) return d.timer(ms / 3_600_000, 'h');
  if (ms % 60_000 === 0) return d.timer(ms / 60_000, 'm');
  return d.timer(Math.round(ms / 1000), 's');
}

export function DisappearingPicker({ id }: { id: string }) {
  const d = t();
  useEffect(() => { void loadDisappearing(id).catch(() => undefined); }, [id]);
  const current = disappearing.value.get(id);
  if (current === undefined) return null;
  const options = TIMERS.some((x) => x.ms === current) || current === 0 ? TIMERS : [...TIMERS, { ms: current, n: 0, unit: 'h' as const }];
  return <fieldset class="settings-group" aria-describedby="disappearing-hint">
    <legend>{d.disappearing}</legend>
    <p class="hint" id="disappearing-hint">{d.disappearingHint}</p>
    <select id="disappearing" aria-label={d.disappearing} value={String(current)}
      onChange={(e) => void setDisappearing(id, Number((e.target as HTMLSelectElement).value)).catch((err) => { notice.value = { kind: 'error', text: errorText(err) }; })}>
      <option value="0">{d.disappearingOff}</option>
      {options.map((x) => <option key={x.ms} value={String(x.ms)}>{timerLabel(x.ms)}</option>)}
    </select>
  </fieldset>;
}
