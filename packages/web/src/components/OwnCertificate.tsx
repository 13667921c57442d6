/**
 * Settings › Organisation (spec/trust.md §4.1, §6.2), where the organisation has an identity CA: this account's
 * certificate, the identity fingerprint the administrator compares, and, until certified, a form that asks the
 * organisation to certify this identity (the request is signed by the identity key in the Worker).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { sdk } from '../sdk/client.js';
import { orgTrust, refreshOrgTrust } from '../sdk/org.js';
import { me } from '../sdk/state.js';
import { errorText } from '../errors.js';
import { longDate } from '../format.js';
import { t } from '../i18n/index.js';

export function OwnCertificate() {
  const d = t();
  const view = orgTrust.value;
  const fingerprint = useSignal<string | undefined>(undefined);
  const name = useSignal(me.value?.name ?? '');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => { void sdk().call.identityFingerprint().then((f) => { fingerprint.value = f; }).catch(() => undefined); }, []);
  if (!view?.ca) return null;
  const s = view.own;
  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = undefined;
    try {
      await sdk().call.requestCertification(name.value.trim());
      await refreshOrgTrust();
    } catch (err) { error.value = errorText(err); } finally { busy.value = false; }
  };
  const org = view.ca.organisation;
  const sentence = s.state === 'certified' ? d.certCertified(s.organisation, s.name, longDate(s.notAfter))
    : s.state === 'expired' ? d.certOwnExpired(s.organisation, longDate(s.notAfter))
      : s.state === 'revoked' ? d.certOwnRevoked(s.organisation, longDate(s.revokedAt))
        : s.state === 'other-key' ? d.certOtherKey(s.organisation) : d.certOwnUncertified(org);
  return <div class="own-cert" data-own-cert={s.state}>
    <h2 class="section-h">{d.certOrganisation}</h2>
    <p class={s.state === 'certified' ? undefined : 'warn-text'}>{sentence}</p>
    <p class="hint">{d.certFingerprintHint}</p>
    <p class="fingerprint" id="own-fingerprint"><code>{fingerprint.value ?? '…'}</code></p>
    {s.state !== 'certified' && <form onSubmit={(e) => void submit(e)}>
      <label for="cert-name">{d.certRequestName}</label>
      <input id="cert-name" value={name.value} required maxLength={64} autocomplete="name" onInput={(e) => { name.value = (e.target as HTMLInputElement).value; }} />
      <button type="submit" class="primary" disabled={busy.value || !name.value.trim()}>{view.pending ? d.certRequestAgain : d.certRequest}</button>
      {/* Kept in the encrypted store until this account is seen certified: it survives leaving Settings and a reload. */}
      {view.pending && <p role="status" class="ok" data-cert-request={view.pending.requestId}>{d.certRequestPending(view.pending.requestId, view.pending.name, longDate(view.pending.sentAt))}</p>}
      {error.value && <p role="alert" class="error">{error.value}</p>}
    </form>}
  </div>;
}
