/** Settings › Notifications: browser notifications on/off (asks the browser) and whether they show the message text. */
import '../settings.css';
import { notifyOn, notifyPermission, notifyText, setNotify, setNotifyText } from '../sdk/notify.js';
import { t } from '../i18n/index.js';

export function NotificationSettings() {
  const d = t();
  const perm = notifyPermission.value;
  return <fieldset class="settings-group" aria-describedby="notify-hint">
    <legend>{d.browserNotifications}</legend>
    <p class="hint" id="notify-hint">{d.notificationsHint}</p>
    {perm === 'unsupported' ? <p class="hint">{d.notificationsUnsupported}</p> : <>
      <label class="check"><input type="checkbox" id="notify-on" checked={notifyOn.value} disabled={perm === 'denied'}
        onChange={(e) => void setNotify((e.target as HTMLInputElement).checked)} />{d.notificationsOn}</label>
      {perm === 'denied' && <p class="error" role="status">{d.notificationsBlocked}</p>}
      <label class="check"><input type="checkbox" id="notify-text" checked={notifyText.value} disabled={!notifyOn.value} aria-describedby="notify-text-hint"
        onChange={(e) => setNotifyText((e.target as HTMLInputElement).checked)} />{d.showText}</label>
      <p class="hint" id="notify-text-hint">{d.showTextHint}</p>
    </>}
  </fieldset>;
}
