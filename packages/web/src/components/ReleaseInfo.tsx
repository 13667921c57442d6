/** The installed app's verified version, release key fingerprint and manifest hash (spec/web.md §2.4), to compare with the organisation's. */
import { status } from '../integrity.js';
import { t } from '../i18n/index.js';

export function ReleaseInfo() {
  const d = t();
  const s = status.value;
  return <details class="release-info">
    <summary>{d.appVersion}: <span id="app-version">{s.version ?? d.notVerified}</span></summary>
    <dl class="facts">
      <dt>{d.releaseKey}</dt><dd><code id="key-fingerprint">{s.keyFingerprint ?? '—'}</code></dd>
      <dt>{d.manifest}</dt><dd><code id="manifest-sha256">{s.manifestSha256 ?? '—'}</code></dd>
    </dl>
    <p class="hint">{d.fingerprintHint}</p>
  </details>;
}
