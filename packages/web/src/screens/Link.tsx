/**
 * Link this browser as a new device: choose the passphrase for this device's store, then show the link
 * code to type on a device already in the account (CLI: `sigilo link --approve CODE`), and wait.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { cancelLink, finishLink, startLink } from '../sdk/actions.js';
import { errorText } from '../errors.js';
import { Header } from '../components/Header.js';
import { PassphraseField, passphraseProblem } from '../components/PassphraseField.js';
import { t } from '../i18n/index.js';
import { QrCode } from '../components/QrCode.js';
import { thisBrowserName } from '../device-kind.js';

export function Link() {
  const d = t();
  const pass = useSignal('');
  const pass2 = useSignal('');
  const code = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => () => { if (code.peek()) void cancelLink(); }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = passphraseProblem(pass.value, pass2.value);
    if (problem) { error.value = problem; return; }
    busy.value = true;
    error.value = undefined;
    try {
      code.value = (await startLink(pass.value)).code;
      await finishLink(thisBrowserName(navigator.userAgent, d.deviceNameOn, d.deviceNameBrowser));
      history.replaceState(null, '', '#/');
    } catch (err) { error.value = errorText(err); } finally { busy.value = false; }
  };
  return <div class="screen onboard-screen">
    <Header title={d.linkTitle} id="link-h" />
    <main class="onboard" aria-labelledby="link-h">
      {code.value === undefined ? <form class="onboard-card" onSubmit={submit}>
        <p>{d.linkIntro}</p>
        <PassphraseField value={pass.value} onInput={(v) => { pass.value = v; }} repeat={pass2.value} onRepeat={(v) => { pass2.value = v; }} idPrefix="link" />
        {error.value && <p role="alert" class="error">{error.value}</p>}
        <button type="submit" class="primary big" disabled={busy.value}>{d.linkStart}</button>
      </form> : <div class="onboard-card">
        <p>{d.linkInstructions}</p>
        <p class="label">{d.linkCodeLabel}</p>
        <p class="link-code" id="link-code"><code>{code.value}</code></p>
        <div class="link-qr"><QrCode text={code.value} label={d.linkQrLabel} size={200} /></div>
        {error.value ? <p role="alert" class="error">{error.value}</p> : <p role="status" class="hint"><span class="spinner" aria-hidden="true" /> {d.linkWaiting}</p>}
      </div>}
    </main>
  </div>;
}
