/**
 * Settings › What this server keeps: the server's retention policy (server.md §8) in plain words, the same facts in
 * the same order as `sigilo whoami` (the SDK's policyFacts), in the person's language.
 */
import '../settings.css';
import { useEffect } from 'preact/hooks';
import { policyFacts } from '@sigilo/client/server-policy';
import { loadServerPolicy, policyWords, serverPolicy } from '../sdk/privacy.js';
import { Header } from '../components/Header.js';
import { timerLabel } from '../components/DisappearingPicker.js';
import { t } from '../i18n/index.js';

export function ServerPolicy() {
  const d = t();
  useEffect(() => { void loadServerPolicy(); }, []);
  const p = serverPolicy.value;
  return <section class="screen" aria-labelledby="policy-h">
    <Header title={d.serverPolicy} id="policy-h" />
    <div class="page">
      <p class="hint">{d.serverPolicyHint}</p>
      {p === undefined ? <p aria-busy="true">…</p>
        : p === 'none' ? <p>{d.serverPolicyUnknown}</p>
        : p === 'offline' ? <p role="status">{d.serverPolicyOffline}</p>
        : <ul class="policy-list" data-policy="">
          {policyFacts(p, policyWords(d, timerLabel)).map((f) => <li key={f.key} data-fact={f.key}>{f.text}</li>)}
        </ul>}
    </div>
  </section>;
}
