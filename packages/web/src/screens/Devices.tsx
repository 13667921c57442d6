/**
 * Linked devices (issue 13 point 7): the account's devices with their names and when they were last active;
 * linking a new device by typing the code it shows; unlinking one (after a confirmation).
 */
import '../settings.css';
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { DeviceSummary } from '@sigilo/client-web';
import { notice } from '../sdk/state.js';
import { approveDevice, devices, loadDevices, renameDevice, unlinkDevice } from '../sdk/settings.js';
import { errorText } from '../errors.js';
import { Header } from '../components/Header.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { lang, t } from '../i18n/index.js';
import { Icon } from '../components/Icon.js';
import { QrScanner } from '../components/QrScanner.js';
import { deviceIcon } from '../device-kind.js';

/** How often the open list is read again. */
const REFRESH_MS = 4000;
const LOCALES = { en: 'en-GB', es: 'es', pt: 'pt-BR' } as const;
const day = (d: number) => new Date(d * 86_400_000).toLocaleDateString(LOCALES[lang.value], { day: 'numeric', month: 'short', year: 'numeric' });

export function Devices() {
  const d = t();
  const code = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  const unlinking = useSignal<DeviceSummary | undefined>(undefined);
  /** Link pressed, not yet confirmed: a code may come from someone else (a QR sent as an "invite"), so the person confirms. */
  const confirmingLink = useSignal(false);
  const scanning = useSignal(false);
  const renaming = useSignal<{ deviceId: number; name: string } | undefined>(undefined);
  const report = (e: unknown) => { error.value = errorText(e); };
  useEffect(() => {
    void loadDevices().catch(report);
    // A device linked a moment ago appears once it has finished setting itself up: read the list again now and then.
    const timer = setInterval(() => { if (document.visibilityState === 'visible') void loadDevices().catch(() => undefined); }, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const nameOf = (x: DeviceSummary) => x.name ?? d.deviceUnnamed(x.deviceId);
  const askLink = (e: Event) => {
    e.preventDefault();
    if (code.value.trim()) confirmingLink.value = true;
  };
  const approve = async () => {
    confirmingLink.value = false;
    if (!code.value.trim()) return;
    busy.value = true;
    error.value = undefined;
    try {
      const n = await approveDevice(code.value);
      code.value = '';
      notice.value = { kind: 'info', text: d.linked(n) };
    } catch (err) { report(err); } finally { busy.value = false; }
  };
  const rename = async (e: Event) => {
    e.preventDefault();
    const r = renaming.value;
    if (!r || !r.name.trim()) return;
    try {
      await renameDevice(r.deviceId, r.name);
      renaming.value = undefined;
    } catch (err) { report(err); }
  };
  const list = devices.value;
  return <section class="screen devices" aria-labelledby="devices-h">
    <Header title={d.devices} id="devices-h" />
    <div class="page">
      <p class="hint">{d.devicesHint}</p>
      {!list ? <p aria-busy="true"><span class="spinner" aria-hidden="true" /></p>
        : <ul class="device-list">
          {list.map((x) => <li key={x.deviceId} class="device" data-device={x.deviceId}>
            <span class="device-icon" aria-hidden="true"><Icon name={x.current && /Android|iPhone|iPad/.test(navigator.userAgent) ? 'phone' : deviceIcon(nameOf(x))} size="1.6rem" /></span>
            <div class="device-main">
              <p class="device-name">{nameOf(x)}{x.current && <span class="tag">{d.thisDevice}</span>}</p>
              <p class="hint">{d.deviceSeen(day(x.createdDay), day(x.lastSeenDay))}</p>
              {renaming.value?.deviceId === x.deviceId
                ? <form class="device-rename" onSubmit={(e) => void rename(e)}>
                  <label for={`device-name-${x.deviceId}`}>{d.deviceNewName}</label>
                  <div class="row">
                    <input id={`device-name-${x.deviceId}`} maxLength={48} autocomplete="off" value={renaming.value.name}
                      onInput={(e) => { renaming.value = { deviceId: x.deviceId, name: (e.target as HTMLInputElement).value }; }} />
                    <button type="submit" class="primary" disabled={!renaming.value.name.trim()}>{d.save}</button>
                    <button type="button" onClick={() => { renaming.value = undefined; }}>{d.dialogCancel}</button>
                  </div>
                </form>
                : <button type="button" class="device-rename-open" aria-label={`${d.deviceRename}: ${nameOf(x)}`} onClick={() => { renaming.value = { deviceId: x.deviceId, name: x.name ?? '' }; }}>{d.deviceRename}</button>}
            </div>
            {!x.current && <button type="button" class="danger-outline" aria-label={`${d.unlink}: ${nameOf(x)}`} onClick={() => { unlinking.value = x; }}>{d.unlink}</button>}
          </li>)}
        </ul>}
      <form class="settings-group" onSubmit={askLink}>
        <h2>{d.linkNewDevice}</h2>
        <p class="hint" id="link-hint">{d.linkDeviceHint}</p>
        <label for="link-code">{d.linkCode}</label>
        <input id="link-code" autocomplete="off" spellcheck={false} aria-describedby="link-hint" value={code.value} onInput={(e) => { code.value = (e.target as HTMLInputElement).value; }} />
        {/* The new device shows its code as a QR too: scanned here, it fills the field (a person still presses Link). */}
        {scanning.value
          ? <QrScanner idPrefix="link-qr" paste={false} onText={(x) => { scanning.value = false; code.value = x.trim(); }} />
          : <button type="button" onClick={() => { scanning.value = true; }}>{d.linkScan}</button>}
        {busy.value && <p role="status"><span class="spinner" aria-hidden="true" /> {d.linking(0)}</p>}
        {error.value && <p role="alert" class="error">{error.value}</p>}
        <button type="submit" class="primary" disabled={busy.value || !code.value.trim()}>{d.linkApprove}</button>
      </form>
    </div>
    {/* One dialog (one #confirm-text) for both questions: approving a link, unlinking a device. */}
    <ConfirmDialog open={confirmingLink.value || unlinking.value !== undefined}
      text={confirmingLink.value ? d.linkConfirm : unlinking.value ? d.unlinkConfirm(nameOf(unlinking.value)) : ''}
      confirm={confirmingLink.value ? d.linkApprove : d.unlink} cancel={d.dialogCancel} danger
      onCancel={() => { confirmingLink.value = false; unlinking.value = undefined; }}
      onConfirm={() => {
        if (confirmingLink.value) { void approve(); return; }
        const x = unlinking.value!;
        unlinking.value = undefined;
        void unlinkDevice(x.deviceId).then(() => { notice.value = { kind: 'info', text: d.unlinked }; }).catch(report);
      }} />
  </section>;
}
