/** Later visits: the passphrase opens the encrypted store (wrong passphrase: say so, keep the field). */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { prewarm, startOver, unlock } from '../sdk/actions.js';
import { errorText } from '../errors.js';
import { t } from '../i18n/index.js';

export function Unlock() {
  const d = t();
  const pass = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => { performance.mark('sigilo-unlock-shown'); prewarm(); }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = undefined;
    try { await unlock(pass.value); } catch (err) { error.value = errorText(err); } finally { busy.value = false; }
  };
  return <main class="onboard" aria-labelledby="start-h">
    <form class="onboard-card" onSubmit={submit}>
      <img src="/icons/icon.svg" alt="" width={64} height={64} class="logo" />
      <h1 id="start-h">{d.unlockTitle}</h1>
      <p class="center">{d.unlockText}</p>
      <label for="pass">{d.passphrase}</label>
      <input id="pass" type="password" autocomplete="current-password" value={pass.value} required autofocus
        aria-invalid={error.value ? 'true' : undefined} aria-describedby={error.value ? 'unlock-error' : undefined}
        onInput={(e) => { pass.value = (e.target as HTMLInputElement).value; }} />
      {error.value && <p id="unlock-error" role="alert" class="error">{error.value}</p>}
      <button type="submit" class="primary big" disabled={busy.value || !pass.value}>{busy.value ? d.unlocking : d.unlock}</button>
      <p class="hint">{d.forgotPassphrase}</p>
      <button type="button" class="link-button" onClick={() => { if (confirm(d.startOverConfirm)) void startOver().catch((err) => { error.value = errorText(err); }); }}>{d.startOver}</button>
    </form>
  </main>;
}
