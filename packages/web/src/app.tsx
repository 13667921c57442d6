/** The app shell: the first screen (connect / unlock, a placeholder for now), settings, and the integrity banners. */
import { useSignal } from '@preact/signals';
import { applyUpdate, status, supported, type Problem } from './integrity.js';
import { lang, LANGS, setLang, t } from './i18n.js';

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
  const u = status.value.update;
  if (!u || hidden.value) return null;
  return <div role="status" class="banner update" data-update={u.version}>
    <p>{d.updateAvailable(u.version)}</p>
    <button type="button" class="primary" onClick={() => void applyUpdate()}>{d.updateNow}</button>
    <button type="button" onClick={() => { hidden.value = true; }}>{d.later}</button>
  </div>;
}

function Settings() {
  const d = t();
  const s = status.value;
  return <section class="card" aria-labelledby="settings-h">
    <h2 id="settings-h">{d.settings}</h2>
    <label>{d.language}{' '}
      <select value={lang.value} onChange={(e) => setLang((e.target as HTMLSelectElement).value as typeof LANGS[number])}>
        <option value="es">Español</option><option value="pt">Português</option><option value="en">English</option>
      </select>
    </label>
    <dl>
      <dt>{d.appVersion}</dt><dd id="app-version">{s.version ?? d.notVerified}</dd>
      <dt>{d.releaseKey}</dt><dd><code id="key-fingerprint">{s.keyFingerprint ?? '—'}</code></dd>
      <dt>{d.manifest}</dt><dd><code id="manifest-sha256">{s.manifestSha256 ?? '—'}</code></dd>
    </dl>
    <p class="hint">{d.fingerprintHint}</p>
  </section>;
}

export function App() {
  const d = t();
  const p = status.value.problem;
  return <main>
    <header><img src="/icons/icon.svg" alt="" width={40} height={40} /><h1>{d.title}</h1></header>
    {!supported && <div role="alert" class="banner warning">{d.noWorker}</div>}
    {p && <ProblemText p={p} />}
    <UpdateBanner />
    <section class="card" aria-labelledby="start-h">
      <h2 id="start-h">{d.connect} / {d.unlock}</h2>
      <p>{d.tagline}</p>
      <p>{d.connectHint}</p>
      <form onSubmit={(e) => e.preventDefault()}>
        <label for="pass">{d.passphrase}</label>
        <input id="pass" type="password" autocomplete="current-password" disabled />
        <button type="submit" class="primary" disabled>{d.unlock}</button>
      </form>
      <p class="hint">{d.comingSoon}</p>
    </section>
    <Settings />
  </main>;
}
