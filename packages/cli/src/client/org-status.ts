/** How the organisation's certificate of an identity reads in `contacts`, `whoami` and `chat` (spec/trust.md §6.2). */
import type { CertificateStatus, PendingCertification, SigiloClient } from '@sigilo/client-node';
import { printableName } from './format.js';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Short, for a table column and the chat's title bar; '' when the organisation has no identity CA. */
export function certificateShort(s: CertificateStatus): string {
  switch (s.state) {
    case 'no-ca': return '';
    case 'uncertified': return 'uncertified';
    // The certified name, not only the organisation: a chosen profile name ("Ana ✓ Certified by Acme") sits beside it.
    case 'certified': return `certified by ${printableName(s.organisation)} as "${printableName(s.name)}"${s.staleCrl ? ' (CRL out of date)' : ''}`;
    case 'expired': return `certificate EXPIRED (${printableName(s.organisation)})`;
    case 'revoked': return `REVOKED by ${printableName(s.organisation)}${s.accepted ? ' (accepted)' : ''}`;
    case 'other-key': return `certificate for ANOTHER KEY (${printableName(s.organisation)})`;
  }
}

/** A sentence for `whoami` and notices: what it means and what to do. */
export function certificateSentence(s: CertificateStatus, who: string, own: boolean): string {
  switch (s.state) {
    case 'no-ca': return 'the organisation has no identity CA';
    case 'uncertified': return own
      ? 'not certified: ask for it with sigilo ca request --name "YOUR NAME" and read your identity fingerprint above to your administrator'
      : `${who} is not certified by the organisation: compare safety numbers (sigilo verify ${who})`;
    case 'certified': return `certified by ${printableName(s.organisation)} as "${printableName(s.name)}" until ${day(s.notAfter)}`
      + (s.staleCrl ? ' (but the revocation list is out of date: the administrator runs sigilo admin ca crl)' : '');
    case 'expired': return `the certificate from ${printableName(s.organisation)} EXPIRED on ${day(s.notAfter)}${own ? ': ask your administrator to renew it' : ''}`;
    case 'revoked': return own
      ? `${printableName(s.organisation)} REVOKED your certificate on ${day(s.revokedAt)}: ask your administrator`
      : `${printableName(s.organisation)} REVOKED ${who}'s certificate on ${day(s.revokedAt)}: the key may be lost or stolen. `
        + (s.accepted ? 'You accepted it anyway.' : `Messages to ${who} are held; check with them in person, then: sigilo verify ${who} --accept`);
    case 'other-key': return `the certificate from ${printableName(s.organisation)} is for ANOTHER key than the one this device knows: compare safety numbers (sigilo verify ${who})`;
  }
}

/** `whoami` while a request sent from this device waits for the administrator. */
export function pendingSentence(r: PendingCertification): string {
  return `not certified yet: requested as "${printableName(r.name)}" on ${day(r.requestedAt)} (request ${r.requestId}). `
    + `Read your identity fingerprint above to your administrator, who approves it (sigilo admin ca approve ${r.requestId}); `
    + 'if they rejected it, send a new one with sigilo ca request --name "YOUR NAME"';
}

/** JSON shape for --json outputs. */
export function certificateJson(s: CertificateStatus): Record<string, unknown> {
  const out: Record<string, unknown> = { state: s.state };
  if (s.state === 'no-ca' || s.state === 'uncertified') return out;
  out.organisation = s.organisation;
  out.name = s.name;
  out.serial = s.serial;
  if (s.state === 'certified' || s.state === 'expired') out.notAfter = new Date(s.notAfter).toISOString();
  if (s.state === 'certified') out.staleCrl = s.staleCrl;
  if (s.state === 'revoked') { out.revokedAt = new Date(s.revokedAt).toISOString(); out.accepted = s.accepted; }
  return out;
}

/** Fetches the CA, CRL and certificates when online (best effort: offline, what is stored is shown). */
export async function refreshCertificates(client: SigiloClient): Promise<void> {
  if (client.state !== 'online') return;
  await client.refreshOrgTrust().catch(() => {});
}
