/** Settings › Profile: the username others find this person by (claimed on the server as its hash, client.md §11.2). */
import '../settings.css';
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { notice } from '../sdk/state.js';
import { loadUsername, setUsername, username } from '../sdk/settings.js';
import { errorCode } from '../sdk/client.js';
import { errorText } from '../errors.js';
import { t } from '../i18n/index.js';

export function UsernameField() {
  const d = t();
  const value = useSignal(username.value ?? '');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => {
    void loadUsername().then(() => { if (!value.value) value.value = username.value ?? ''; }).catch(() => undefined);
  }, []);
  const wanted = value.value.trim().replace(/^@/, '').toLowerCase();
  const save = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = undefined;
    try {
      const claimed = await setUsername(wanted);
      value.value = claimed;
      notice.value = { kind: 'info', text: d.usernameSaved(claimed) };
    } catch (err) {
      const taken = errorCode(err) === 'INVALID_INPUT' && /someone else/.test(err instanceof Error ? err.message : '');
      error.value = taken ? d.usernameTaken(wanted) : errorCode(err) === 'INVALID_INPUT' ? d.usernameInvalid : errorText(err);
    } finally { busy.value = false; }
  };
  return <form class="settings-group username" onSubmit={(e) => void save(e)}>
    <label for="username-field">{d.usernameLabel}</label>
    <div class="inline-field">
      <input id="username-field" maxLength={33} autocomplete="username" autocapitalize="none" spellcheck={false} placeholder="ana.lopez"
        aria-describedby={error.value ? 'username-error' : 'username-hint'} aria-invalid={error.value ? true : undefined}
        value={value.value} onInput={(e) => { value.value = (e.target as HTMLInputElement).value; error.value = undefined; }} />
      <button type="submit" class="primary" disabled={busy.value || !wanted || wanted === (username.value ?? '')}>{d.saveFile}</button>
    </div>
    {error.value && <p role="alert" class="error" id="username-error">{error.value}</p>}
    <p class="hint" id="username-hint">{d.usernameHint}</p>
  </form>;
}
