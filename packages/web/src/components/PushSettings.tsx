/**
 * Settings › Notifications › When Sigilo is closed: push (an empty wake-up through the browser's push service) or
 * none (messages only while the app is open). Any reason push is not in use is said in plain words (sdk/push.ts).
 */
import { useEffect } from 'preact/hooks';
import '../settings.css';
import { choosePush, loadPushOffer, pushBusy, pushChoice, pushPending, pushProblem, serverPushes, type PushProblem } from '../sdk/push.js';
import { t, type Dict } from '../i18n/index.js';

const PROBLEM: Record<PushProblem, keyof Dict> = {
  'server-off': 'pushServerOff', refused: 'pushRefused', unreachable: 'pushUnreachable', denied: 'pushDenied', unsupported: 'pushUnsupported', offline: 'pushOffline',
};

export function PushSettings() {
  const d = t();
  useEffect(() => { void loadPushOffer(); }, []);
  const choice = pushPending.value ?? pushChoice.value;
  const problem = pushProblem.value;
  const busy = pushBusy.value;
  return <fieldset class="settings-group" id="push-settings" aria-busy={busy ? 'true' : undefined}>
    <legend>{d.pushTitle}</legend>
    <label class={serverPushes.value === false ? 'check unavailable' : 'check'}><input type="radio" name="push" id="push-on" value="push" checked={choice === 'push'} disabled={busy || serverPushes.value === false}
      aria-describedby="push-on-hint" onChange={() => void choosePush('push')} />{d.pushOn}</label>
    <p class="hint" id="push-on-hint">{d.pushOnHint}</p>
    <label class="check"><input type="radio" name="push" id="push-off" value="open" checked={choice === 'open'} disabled={busy}
      aria-describedby="push-off-hint" onChange={() => void choosePush('open')} />{d.pushOff}</label>
    <p class="hint" id="push-off-hint">{d.pushOffHint}</p>
    <p role="status" id="push-status" class={problem === 'server-off' ? 'push-note' : problem ? 'error' : 'hint'}>
      {busy ? d.pushWorking : problem ? d[PROBLEM[problem]] as string : pushChoice.value === 'push' ? d.pushActive : ''}
    </p>
  </fieldset>;
}
