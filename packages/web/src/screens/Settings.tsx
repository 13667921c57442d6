/**
 * Settings: a list of sections. Screens that add settings (devices, notifications, …) add a row to
 * SETTINGS_ROWS below pointing at their route.
 */
import type { FunctionComponent } from 'preact';
import { lang, LANGS, setLang, t, type Dict } from '../i18n/index.js';
import { me } from '../sdk/state.js';
import { orgTrust } from '../sdk/org.js';
import { navigate } from '../router.js';
import { Header } from '../components/Header.js';
import { ProfileName } from '../components/ProfileName.js';
import { UsernameField } from '../components/UsernameField.js';
import { NotificationSettings } from '../components/NotificationSettings.js';
import { PushSettings } from '../components/PushSettings.js';
import { Avatar } from '../components/Avatar.js';
import { ReleaseInfo } from '../components/ReleaseInfo.js';
import { hex } from '../sdk/ids.js';
import { OwnCertificate } from '../components/OwnCertificate.js';
import { CardIcon, PhoneIcon, ServerIcon } from '../components/Icons.js';
import '../trust.css';

/** Rows that open another screen: an icon, the label's i18n key and the route. */
export const SETTINGS_ROWS: readonly { icon: FunctionComponent; label: keyof Dict; route: string }[] = [
  { icon: CardIcon, label: 'myCard', route: 'me' },
  { icon: PhoneIcon, label: 'devices', route: 'settings/devices' },
  { icon: ServerIcon, label: 'serverPolicy', route: 'settings/server' },
];

export function Settings() {
  const d = t();
  const self = me.value;
  return <section class="screen" aria-labelledby="settings-h">
    <Header title={d.settings} id="settings-h" />
    <div class="page settings">
      {self && <div class="me-row"><Avatar name={self.name ?? '#'} id={hex(self.accountId)} /><div><strong>{self.name}</strong><div class="hint">{d.deviceLabel(self.deviceId)}</div></div></div>}
      <ul class="settings-list">
        <li class="settings-field"><ProfileName /></li>
        <li class="settings-field"><UsernameField /></li>
        {SETTINGS_ROWS.map((r) => <li key={r.route}><button type="button" class="row-button" onClick={() => navigate(r.route)}><span aria-hidden="true" class="row-icon"><r.icon /></span>{d[r.label] as string}</button></li>)}
        {orgTrust.value?.ca && <li class="settings-field"><OwnCertificate /></li>}
        <li class="settings-field"><NotificationSettings /></li>
        <li class="settings-field"><PushSettings /></li>
        <li class="settings-field">
          <label for="lang">{d.language}</label>
          <select id="lang" value={lang.value} onChange={(e) => setLang((e.target as HTMLSelectElement).value as typeof LANGS[number])}>
            <option value="es">Español</option><option value="pt">Português</option><option value="en">English</option>
          </select>
        </li>
        <li class="settings-field"><ReleaseInfo /></li>
      </ul>
    </div>
  </section>;
}
