/** Settings: language, the app's verified version and release key; more sections are added by their screens. */
import { lang, LANGS, setLang, t } from '../i18n/index.js';
import { ReleaseInfo } from '../components/ReleaseInfo.js';
import { navigate } from '../router.js';
import { Header } from '../components/Header.js';
import { ProfileName } from '../components/ProfileName.js';
import { NotificationSettings } from '../components/NotificationSettings.js';

export function Settings() {
  const d = t();
  return <section class="screen" aria-labelledby="settings-h">
    <Header title={d.settings} id="settings-h" />
    <div class="page">
      <ProfileName />
      <button type="button" class="row-button" onClick={() => navigate('me')}>{d.myCard}</button>
      <button type="button" class="row-button" onClick={() => navigate('settings/devices')}>{d.devices}</button>
      <NotificationSettings />
      <label for="lang">{d.language}</label>
      <select id="lang" value={lang.value} onChange={(e) => setLang((e.target as HTMLSelectElement).value as typeof LANGS[number])}>
        <option value="es">Español</option><option value="pt">Português</option><option value="en">English</option>
      </select>
      <ReleaseInfo />
    </div>
  </section>;
}
