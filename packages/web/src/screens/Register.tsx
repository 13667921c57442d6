/** Register with an invite (from the link's fragment `#invite=CODE` or pasted): name, passphrase, create. */
import { useSignal } from '@preact/signals';
import { register } from '../sdk/actions.js';
import { sdk } from '../sdk/client.js';
import { fetchOrgTrust, orgTrust, refreshOrgTrust } from '../sdk/org.js';
import { fragmentValue } from '../router.js';
import { errorText } from '../errors.js';
import { Header } from '../components/Header.js';
import { PassphraseField, passphraseProblem } from '../components/PassphraseField.js';
import { t } from '../i18n/index.js';
import { thisBrowserName } from '../device-kind.js';

/**
 * Right after registering, where the organisation has an identity CA: asks it to certify this identity under the
 * name given (as `sigilo register --request-certification`). A failure leaves it to Settings › Organisation.
 */
async function requestAtSignUp(name: string): Promise<void> {
  try {
    await fetchOrgTrust();
    if (!orgTrust.value?.ca) return;
    await sdk().call.requestCertification(name);
    await refreshOrgTrust();
  } catch { /* offline or refused: Settings › Organisation offers it again */ }
}

export function Register() {
  const d = t();
  const invite = useSignal(fragmentValue('invite') ?? '');
  const name = useSignal('');
  const pass = useSignal('');
  const pass2 = useSignal('');
  const certify = useSignal(false);
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = passphraseProblem(pass.value, pass2.value);
    if (problem) { error.value = problem; return; }
    busy.value = true;
    error.value = undefined;
    try {
      await register({ invite: invite.value, name: name.value, passphrase: pass.value, deviceName: thisBrowserName(navigator.userAgent, d.deviceNameOn, d.deviceNameBrowser) });
      history.replaceState(null, '', '#/');
      if (certify.value) void requestAtSignUp(name.value.trim());
    } catch (err) { error.value = errorText(err); } finally { busy.value = false; }
  };
  return <div class="screen onboard-screen">
    <Header title={d.haveInvite} id="register-h" />
    <main class="onboard" aria-labelledby="register-h">
      <form class="onboard-card" onSubmit={submit}>
        <label for="invite">{d.inviteCode}</label>
        <input id="invite" value={invite.value} required autocomplete="off" spellcheck={false} aria-describedby="invite-hint"
          onInput={(e) => { invite.value = (e.target as HTMLInputElement).value; }} />
        <p id="invite-hint" class="hint">{d.inviteHint}</p>
        <label for="name">{d.yourName}</label>
        <input id="name" value={name.value} required maxLength={64} autocomplete="name" aria-describedby="name-hint"
          onInput={(e) => { name.value = (e.target as HTMLInputElement).value; }} />
        <p id="name-hint" class="hint">{d.yourNameHint}</p>
        <label class="check"><input type="checkbox" id="cert-at-signup" checked={certify.value} aria-describedby="cert-at-signup-hint"
          onChange={(e) => { certify.value = (e.target as HTMLInputElement).checked; }} /> {d.certAtSignUp}</label>
        <p id="cert-at-signup-hint" class="hint">{d.certAtSignUpHint}</p>
        <PassphraseField value={pass.value} onInput={(v) => { pass.value = v; }} repeat={pass2.value} onRepeat={(v) => { pass2.value = v; }} />
        {error.value && <p role="alert" class="error" id="register-error">{error.value}</p>}
        <button type="submit" class="primary big" disabled={busy.value}>{busy.value ? d.registering : d.register}</button>
      </form>
    </main>
  </div>;
}
