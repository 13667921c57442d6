/** Banners over every screen: integrity warnings, a signed update, the connection, storage, one-off notices. */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { applyUpdate, status, supported, type Problem } from '../integrity.js';
import { connection, notice, notPersisted, phase } from '../sdk/state.js';
import { lang, t } from '../i18n/index.js';

function ProblemText({ p }: { p: Problem }) {
  const d = t();
  const hashes = 'expected' in p ? <p class="hashes"><code>{d.expected} {p.expected}</code><br /><code>{d.got} {p.got}</code></p> : null;
  const text = p.kind === 'asset' ? d.assetChanged(p.path)
    : p.kind === 'update-signature' ? d.updateUnsigned
    : p.kind === 'update-asset' ? d.updateAssetBad(p.version, p.path)
    : p.kind === 'rollback' ? d.rollback(p.version)
    : d.workerReplaced;
  return <div role="alert" class="banner warning" data-problem={p.kind}>
    <strong>{d.warningTitle}</strong>
    <p>{text}</p>
    {hashes}
    <p>{d.tellAdmin}</p>
  </div>;
}

function UpdateBanner() {
  const d = t();
  const hidden = useSignal(false);
  const { update: u, version: current } = status.value;
  if (!u || hidden.value) return null;
  // A rebuild keeps its version number: say it is a new build, with when it was made.
  const text = u.version === current ? d.updateRebuilt(u.version, new Date(u.buildTime).toLocaleString()) : d.updateAvailable(u.version);
  return <div role="status" class="banner update" data-update={u.version}>
    <p>{text}</p>
    <button type="button" class="primary" onClick={() => void applyUpdate()}>{d.updateNow}</button>
    <button type="button" onClick={() => { hidden.value = true; }}>{d.later}</button>
  </div>;
}

/** "Connecting…" / "Cannot reach the server. Retrying in N s" while not online (only once the app is unlocked). */
function ConnectionBanner() {
  const d = t();
  const c = connection.value;
  const tick = useSignal(0);
  const waiting = phase.value === 'ready' && c.state === 'offline' && c.retryAt !== undefined;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => { tick.value++; }, 1000);
    return () => clearInterval(timer);
  }, [waiting]);
  if (phase.value !== 'ready' || c.state === 'online') return null;
  void tick.value;
  const retry = c.retryAt !== undefined ? Math.max(0, Math.round((c.retryAt - Date.now()) / 1000)) : undefined;
  const text = c.state === 'connecting' ? (c.everOnline ? d.errReconnecting : d.errConnecting) : retry ? d.errOffline(retry) : d.errOfflineNow;
  return <div role="status" class={`banner conn conn-${c.state}`} data-connection={c.state}>
    <span>{text}</span>
    {/* Never connected since the app opened: the certificate may be the reason; a drop later is the network. */}
    {c.state === 'offline' && !c.everOnline && <p class="hint">{d.errCertHint}</p>}
  </div>;
}

/** Whether the person dismissed the storage notice on this browser (it then stays away at later unlocks). */
const STORAGE_NOTICE_KEY = 'sigilo.storage-notice-dismissed';
const storageNoticeDismissed = (): boolean => { try { return localStorage.getItem(STORAGE_NOTICE_KEY) === '1'; } catch { return false; } };

function StorageBanner() {
  const d = t();
  if (!notPersisted.value || phase.value !== 'ready' || storageNoticeDismissed()) return null;
  const dismiss = () => {
    try { localStorage.setItem(STORAGE_NOTICE_KEY, '1'); } catch { /* private mode: dismissed for this session only */ }
    notPersisted.value = false;
  };
  return <div role="status" class="banner info" data-notice="not-persisted">
    <p>{d.errNotPersisted}</p>
    <button type="button" onClick={dismiss}>{d.errDismiss}</button>
  </div>;
}

/** The language each notice was first shown in: a confirmation is not shown again in another language. */
const noticeLang = new WeakMap<object, string>();

function Notice() {
  const n = notice.value;
  const l = lang.value;
  if (n && !noticeLang.has(n)) noticeLang.set(n, l);
  // "Name saved" after switching to Spanish would stay in English: a confirmation goes once the language changes
  // (an error stays, in the words it was written in, until dismissed).
  const stale = n?.kind === 'info' && noticeLang.get(n) !== l;
  useEffect(() => { if (stale && notice.value === n) notice.value = undefined; }, [stale, n]);
  useEffect(() => {
    // Confirmations ("Copied") go away by themselves; errors stay until dismissed.
    if (n?.kind !== 'info') return;
    const timer = setTimeout(() => { if (notice.value === n) notice.value = undefined; }, 3000);
    return () => clearTimeout(timer);
  }, [n]);
  if (!n || stale) return null;
  return <div role={n.kind === 'error' ? 'alert' : 'status'} class={`banner ${n.kind === 'error' ? 'warning' : 'info'}`} data-notice="notice">
    <p>{n.text}</p>
    <button type="button" onClick={() => { notice.value = undefined; }}>{t().errDismiss}</button>
  </div>;
}

export function Banners() {
  const p = status.value.problem;
  return <div class="banners">
    {!supported && <div role="alert" class="banner warning">{t().noWorker}</div>}
    {p && <ProblemText p={p} />}
    <UpdateBanner />
    <ConnectionBanner />
    <StorageBanner />
    <Notice />
  </div>;
}
