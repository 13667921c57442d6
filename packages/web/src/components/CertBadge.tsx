/**
 * The organisation's word on a contact's key (spec/trust.md §6.2), as the CLI shows it: a small badge
 * ("Certified by ORG", or a warning for a revoked, expired or other-key certificate, and for an
 * uncertified contact where the organisation's policy counts certificates as verification), and the
 * sentences of the contact screen and the conversation's warning.
 */
import { certificateOf, orgTrust, acceptRevoked, type ContactCertificate } from '../sdk/org.js';
import { notice } from '../sdk/state.js';
import { errorText } from '../errors.js';
import { longDate } from '../format.js';
import { t } from '../i18n/index.js';

function ShieldIcon() {
  return <svg class="icon-svg" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M8 1 2.5 3v4.2c0 3.3 2.3 6.3 5.5 7.8 3.2-1.5 5.5-4.5 5.5-7.8V3L8 1Zm-.9 9.6L4.6 8.1l1-1 1.5 1.5 3.3-3.3 1 1-4.3 4.3Z" />
  </svg>;
}

/** What the badge says, or undefined when there is nothing to say (no CA; uncertified where certificates are optional). */
export function badgeOf(c: ContactCertificate | undefined): { kind: 'certified' | 'warning'; text: string; short: string; state: string } | undefined {
  const d = t();
  if (!c) return undefined;
  switch (c.state) {
    case 'certified': return { kind: c.staleCrl ? 'warning' : 'certified', state: c.staleCrl ? 'stale' : 'certified', text: d.certCertifiedBadge(c.organisation), short: d.certCertifiedShort };
    case 'revoked': return { kind: 'warning', state: 'revoked', text: d.certRevokedBadge, short: d.certRevokedShort };
    case 'expired': return { kind: 'warning', state: 'expired', text: d.certExpiredBadge, short: d.certExpiredShort };
    case 'other-key': return { kind: 'warning', state: 'other-key', text: d.certOtherKeyBadge, short: d.certOtherKeyShort };
    case 'uncertified': return orgTrust.value?.ca?.certifiedIsVerified ? { kind: 'warning', state: 'uncertified', text: d.certUncertifiedBadge, short: d.certUncertifiedBadge } : undefined;
    default: return undefined;
  }
}

function WarnIcon() {
  return <svg class="icon-svg" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M8 1.5 15 14H1L8 1.5Zm-.8 4.3v4.1h1.6V5.8H7.2Zm0 5.2v1.6h1.6V11H7.2Z" />
  </svg>;
}

/**
 * `compact` (the chat header, narrow on a phone): a short word, the full text as a tooltip. The badge is one image to
 * assistive technology (role img, its full text as the name) and a filled pill with a drawn icon on screen: no
 * character of a name can draw it, and names holding its words are marked (names.ts, web.md §4.2).
 */
export function CertBadge({ id, compact }: { id: string; compact?: boolean }) {
  const b = badgeOf(certificateOf(id));
  if (!b) return null;
  const icon = b.kind === 'certified' ? <ShieldIcon /> : <WarnIcon />;
  const words = compact && b.short !== b.text ? <><span aria-hidden="true">{b.short}</span><span class="visually-hidden">{b.text}</span></> : b.text;
  return <span class={`cert-badge ${b.kind}`} data-cert={b.state} role="img" aria-label={b.text} title={b.text}>{icon} {words}</span>;
}

/** The contact screen's "Organisation" section: what the certificate says and what to do. */
export function CertificatePanel({ id, name }: { id: string; name: string }) {
  const d = t();
  const c = certificateOf(id);
  if (!c || c.state === 'no-ca') return null;
  const org = orgTrust.value!.ca!.organisation;
  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  // Uncertified is a warning only where the organisation's policy counts certificates as verification.
  const warn = c.state === 'uncertified' ? orgTrust.value!.ca!.certifiedIsVerified : c.state !== 'certified' || c.staleCrl;
  return <div class={`cert-panel${warn ? ' warn' : ''}`} data-cert-panel={c.state} role={c.state === 'revoked' && !c.accepted ? 'alert' : undefined}>
    <h2 class="section-h">{d.certOrganisation}</h2>
    {c.state === 'certified' && <>
      <p>{d.certCertified(c.organisation, c.name, longDate(c.notAfter))}</p>
      {c.staleCrl && <p class="warn-text">{d.certStaleCrl}</p>}
      {c.trustedBy === 'organisation' && <p class="hint">{d.certCountsAsVerified(c.organisation)}</p>}
    </>}
    {c.state === 'expired' && <p class="warn-text">{d.certExpired(c.organisation, longDate(c.notAfter))}</p>}
    {c.state === 'other-key' && <p class="warn-text">{d.certOtherKey(c.organisation)}</p>}
    {c.state === 'uncertified' && <p class={orgTrust.value?.ca?.certifiedIsVerified ? 'warn-text' : 'hint'}>{d.certUncertified(org, name)}</p>}
    {c.state === 'revoked' && <RevokedText c={c} name={name} />}
    {c.state === 'revoked' && !c.accepted && <button type="button" class="primary" data-action="accept-revoked" onClick={() => void acceptRevoked(id).catch(report)}>{d.certAcceptRevoked}</button>}
  </div>;
}

function RevokedText({ c, name }: { c: Extract<ContactCertificate, { state: 'revoked' }>; name: string }) {
  const d = t();
  return <>
    <p class="warn-text">{d.certRevoked(c.organisation, name, longDate(c.revokedAt))}</p>
    <p>{c.accepted ? d.certRevokedAccepted : d.certRevokedHeld(name)}</p>
  </>;
}

/** The conversation's warning for a revoked certificate not accepted yet: like a changed safety number, sending waits. */
export function RevokedBanner({ id, name, onReview }: { id: string; name: string; onReview: () => void }) {
  const d = t();
  const c = certificateOf(id);
  if (c?.state !== 'revoked' || c.accepted) return null;
  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  return <div role="alert" class="banner warning identity" data-notice="certificate-revoked">
    <RevokedText c={c} name={name} />
    <button type="button" data-action="review-certificate" onClick={onReview}>{d.reviewChange}</button>
    <button type="button" class="primary" data-action="accept-revoked" onClick={() => void acceptRevoked(id).catch(report)}>{d.certAcceptRevoked}</button>
  </div>;
}
