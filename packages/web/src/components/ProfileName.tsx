/** Settings › Profile: the name contacts see (kept in the encrypted profile). */
import '../settings.css';
import { useSignal } from '@preact/signals';
import { me, notice } from '../sdk/state.js';
import { setProfileName } from '../sdk/settings.js';
import { errorText } from '../errors.js';
import { t } from '../i18n/index.js';

export function ProfileName() {
  const d = t();
  const name = useSignal(me.value?.name ?? '');
  const busy = useSignal(false);
  const save = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    try {
      await setProfileName(name.value);
      notice.value = { kind: 'info', text: d.profileSaved };
    } catch (err) {
      notice.value = { kind: 'error', text: errorText(err) };
    } finally { busy.value = false; }
  };
  return <form class="settings-group profile" onSubmit={(e) => void save(e)}>
    <h2>{d.profile}</h2>
    <label for="profile-name">{d.profileName}</label>
    <div class="inline-field">
      <input id="profile-name" maxLength={64} required autocomplete="name" aria-describedby="profile-hint" value={name.value} onInput={(e) => { name.value = (e.target as HTMLInputElement).value; }} />
      <button type="submit" class="primary" disabled={busy.value || !name.value.trim() || name.value.trim() === (me.value?.name ?? '')}>{d.saveFile}</button>
    </div>
    <p class="hint" id="profile-hint">{d.profileNameHint}</p>
  </form>;
}
