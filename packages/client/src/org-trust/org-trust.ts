/**
 * The organisation's identity CA on this device (spec/trust.md §6): the CA certificate pinned
 * the first time the server offers it, the latest CRL that verifies against it, and the
 * certificates of this account and its contacts. The server only relays them: every signature
 * is checked here. Revocation reaches online devices as a push (OrgTrust) and the others when
 * they connect; a contact whose certificate is revoked is held like a changed safety number.
 */
import { bytesEqual } from '@sigilo/protocol';
import type { Connection } from '../connection.js';
import type { Engine } from '../engine.js';
import { ClientError } from '../errors.js';
import { toHex } from '../bytes.js';
import { POLICY_CERTIFIED_IS_VERIFIED, bindsIdentityKey, caFingerprint, verifyCaCertificate, verifyCrl, verifyIdentityCertificate, type Certificate, type Crl } from './certificate.js';

const CA_KEY = 'org.ca';
const CRL_KEY = 'org.crl';
/**
 * The identity CA's SHA-256 (64 hex digits) the person was given out of band (`sigilo init --identity-ca FP`):
 * set, only that CA is pinned, so a server cannot have a CA of its own pinned at this device's first connection.
 */
export const EXPECTED_ORG_CA_META = 'org.ca-expected';

/** Lower-case hex, no separators: how EXPECTED_ORG_CA_META holds a fingerprint. */
export function normaliseCaFingerprint(fp: string): string | undefined {
  const hex = fp.replace(/[\s:]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}
const certKey = (account: Uint8Array) => `org.cert.${toHex(account)}`;
const acceptedKey = (account: Uint8Array) => `org.revoked-accepted.${toHex(account)}`;
/** GetCertificates takes at most this many accounts (server: MAX_CERTIFICATE_ACCOUNTS). */
const PAGE = 256;

export type CertificateStatus =
  /** The organisation has no identity CA (or this device has not fetched it yet). */
  | { readonly state: 'no-ca' }
  | { readonly state: 'uncertified' }
  /** `staleCrl`: the latest CRL this device has is past its nextUpdate, so a revocation since may be unknown. */
  | { readonly state: 'certified'; readonly organisation: string; readonly name: string; readonly notAfter: number; readonly serial: string; readonly staleCrl: boolean }
  | { readonly state: 'expired'; readonly organisation: string; readonly name: string; readonly notAfter: number; readonly serial: string }
  | { readonly state: 'revoked'; readonly organisation: string; readonly name: string; readonly revokedAt: number; readonly serial: string; readonly accepted: boolean }
  /** The certificate is for another identity key than the one this device knows for the account. */
  | { readonly state: 'other-key'; readonly organisation: string; readonly name: string; readonly serial: string };

function pinnedCa(engine: Engine): Certificate | undefined {
  const der = engine.store.getMeta(CA_KEY);
  return der ? verifyCaCertificate(engine.ctx.crypto, der) : undefined;
}

function storedCrl(engine: Engine, ca: Certificate): Crl | undefined {
  const der = engine.store.getMeta(CRL_KEY);
  return der ? verifyCrl(engine.ctx.crypto, ca, der) : undefined;
}

/** What a device being linked or restored gets of the organisation's CA (ProvisionMessage 140-141). */
export function orgTrustForProvisioning(engine: Engine): { orgCaCertificate: Uint8Array; orgCaExpected: string } {
  const pinned = engine.store.getMeta(CA_KEY);
  const expected = engine.store.getMeta(EXPECTED_ORG_CA_META);
  return { orgCaCertificate: pinned ?? new Uint8Array(0), orgCaExpected: !pinned && expected ? new TextDecoder().decode(expected) : '' };
}

/** Before the new device is added to the account: a CA certificate in the link message that does not verify fails the link (throws). */
export function checkProvisionedOrgTrust(engine: Engine, pm: { orgCaCertificate: Uint8Array }): void {
  if (pm.orgCaCertificate.length > 0) verifyCaCertificate(engine.ctx.crypto, pm.orgCaCertificate);
}

/**
 * Installs the CA the approving device trusts (inside the linking transaction, after checkProvisionedOrgTrust): the
 * new device then refuses another CA from the server, as the approving device does (applyOrgTrust), instead of
 * pinning the first one offered.
 */
export function installProvisionedOrgTrust(engine: Engine, pm: { orgCaCertificate: Uint8Array; orgCaExpected: string }): void {
  if (pm.orgCaCertificate.length > 0) {
    engine.store.setMeta(CA_KEY, pm.orgCaCertificate);
    return;
  }
  const expected = normaliseCaFingerprint(pm.orgCaExpected);
  if (expected) engine.store.setMeta(EXPECTED_ORG_CA_META, new TextEncoder().encode(expected));
}

/** The pinned CA's organisation and fingerprint, if any. */
export function orgCa(engine: Engine): { organisation: string; fingerprint: string; certifiedIsVerified: boolean } | undefined {
  const der = engine.store.getMeta(CA_KEY);
  if (!der) return undefined;
  const ca = verifyCaCertificate(engine.ctx.crypto, der);
  return { organisation: ca.organisation, fingerprint: caFingerprint(engine.ctx.crypto, der), certifiedIsVerified: ca.policies.includes(POLICY_CERTIFIED_IS_VERIFIED) };
}

/**
 * Whether the person may trust this contact's key without comparing safety numbers: verified by
 * hand (safety number, QR, SMP), or certified when the organisation's CA says that suffices.
 */
export function trusted(engine: Engine, account: Uint8Array): { trusted: boolean; by: 'verification' | 'organisation' | undefined } {
  const c = engine.store.getContact(account);
  if (c?.verified && !c.pendingIdentityKey) return { trusted: true, by: 'verification' };
  if (c?.pendingIdentityKey) return { trusted: false, by: undefined };
  const s = certificateStatus(engine, account);
  if (s.state === 'certified' && !s.staleCrl && orgCa(engine)?.certifiedIsVerified) return { trusted: true, by: 'organisation' };
  return { trusted: false, by: undefined };
}

/**
 * The CA and CRL the server sent (answer or push): pins the CA on first sight, keeps a CRL newer
 * than the stored one, and says whose certificates the new CRL revokes.
 */
export function applyOrgTrust(engine: Engine, caDer: Uint8Array, crlDer: Uint8Array): void {
  if (caDer.length === 0) return; // no CA (or none any more): what was pinned stays
  const crypto = engine.ctx.crypto;
  const pinned = engine.store.getMeta(CA_KEY);
  if (pinned && !bytesEqual(pinned, caDer)) {
    engine.emit({ type: 'org-trust', revoked: [], caChanged: true });
    return;
  }
  const expected = engine.store.getMeta(EXPECTED_ORG_CA_META);
  if (!pinned && expected && new TextDecoder().decode(expected) !== normaliseCaFingerprint(caFingerprint(crypto, caDer))) {
    engine.emit({ type: 'org-trust', revoked: [], caChanged: true });
    return;
  }
  let ca: Certificate;
  try {
    ca = verifyCaCertificate(crypto, caDer);
  } catch {
    engine.emit({ type: 'undecryptable', reason: 'the server sent an organisation CA certificate that does not verify' });
    return;
  }
  if (!pinned) engine.store.setMeta(CA_KEY, caDer);
  if (crlDer.length === 0) return;
  let crl: Crl;
  try {
    crl = verifyCrl(crypto, ca, crlDer);
  } catch {
    engine.emit({ type: 'undecryptable', reason: 'the server sent a CRL that does not verify against the organisation CA' });
    return;
  }
  const before = storedCrl(engine, ca);
  if (before && crl.number <= before.number) return; // an old (replayed) CRL changes nothing
  engine.store.setMeta(CRL_KEY, crlDer);
  const revoked: Uint8Array[] = [];
  for (const account of certifiedAccounts(engine)) {
    const c = certificateOf(engine, ca, account);
    if (c && crl.revoked.has(c.serial) && !before?.revoked.has(c.serial)) revoked.push(account);
  }
  engine.emit({ type: 'org-trust', revoked });
}

function certifiedAccounts(engine: Engine): Uint8Array[] {
  const me = engine.accountId;
  return [...(me ? [me] : []), ...engine.store.listContacts().map((c) => c.accountId)].filter((a) => engine.store.getMeta(certKey(a)));
}

function certificateOf(engine: Engine, ca: Certificate, account: Uint8Array): Certificate | undefined {
  const der = engine.store.getMeta(certKey(account));
  if (!der) return undefined;
  try {
    return verifyIdentityCertificate(engine.ctx.crypto, ca, der);
  } catch {
    return undefined;
  }
}

/** Fetches the CA, the CRL and the certificates of this account and every contact (on connect; `sigilo contacts`). */
export async function refreshOrgTrust(engine: Engine, connection: Connection): Promise<void> {
  const f = await connection.request({ case: 'getOrgTrust', value: {} });
  if (f.body.case !== 'orgTrust') return;
  applyOrgTrust(engine, f.body.value.caCertificate, f.body.value.crl);
  const ca = pinnedCa(engine);
  if (!ca) return;
  const accounts = [engine.requireAccount().accountId, ...engine.store.listContacts().map((c) => c.accountId)];
  let changed = false;
  for (let i = 0; i < accounts.length; i += PAGE) {
    const page = accounts.slice(i, i + PAGE);
    const r = await connection.request({ case: 'getCertificates', value: { accountIds: page } });
    if (r.body.case !== 'certificates') return;
    for (const der of r.body.value.certificates) {
      let c: Certificate;
      try {
        c = verifyIdentityCertificate(engine.ctx.crypto, ca, der);
      } catch {
        continue; // not from our CA: ignored, as if absent
      }
      const before = engine.store.getMeta(certKey(c.accountId!));
      if (page.some((a) => bytesEqual(a, c.accountId!)) && !(before && bytesEqual(before, der))) {
        engine.store.setMeta(certKey(c.accountId!), der);
        changed = true;
      }
    }
  }
  if (changed) engine.emit({ type: 'org-trust', revoked: [] });
}

/** Where an account's identity stands with the organisation (spec/trust.md §6.2), at `now`. */
export function certificateStatus(engine: Engine, account: Uint8Array, now = engine.now()): CertificateStatus {
  const ca = pinnedCa(engine);
  if (!ca) return { state: 'no-ca' };
  const c = certificateOf(engine, ca, account);
  if (!c) return { state: 'uncertified' };
  const me = engine.accountId;
  const contact = engine.store.getContact(account);
  const key = me && bytesEqual(me, account) ? engine.identity.publicKey : contact?.pendingIdentityKey ?? contact?.identityKey;
  const base = { organisation: c.organisation, name: c.commonName, serial: c.serial };
  const crl = storedCrl(engine, ca);
  const revokedAt = crl?.revoked.get(c.serial);
  if (revokedAt !== undefined) {
    const accepted = new TextDecoder().decode(engine.store.getMeta(acceptedKey(account)) ?? new Uint8Array(0)) === c.serial;
    return { state: 'revoked', ...base, revokedAt, accepted };
  }
  if (key && !bindsIdentityKey(engine.ctx.crypto, c, key)) return { state: 'other-key', ...base };
  if (now > c.notAfter || now < c.notBefore) return { state: 'expired', ...base, notAfter: c.notAfter };
  return { state: 'certified', ...base, notAfter: c.notAfter, staleCrl: !crl || (crl.nextUpdate !== undefined && now > crl.nextUpdate) };
}

/** Before sending (outbox): a contact whose certificate was revoked is held until the person accepts it. */
export function assertNotRevoked(engine: Engine, account: Uint8Array): void {
  const s = certificateStatus(engine, account);
  if (s.state === 'revoked' && !s.accepted) {
    throw new ClientError('CERTIFICATE_REVOKED', `${s.organisation} revoked this contact's identity certificate: their key may be lost or stolen. Check with them in person; to send anyway: sigilo verify NAME --accept`);
  }
}

/**
 * On receiving: a contact whose certificate is revoked and not accepted is held like an unaccepted key (spec/trust.md
 * §6.3): its texts are shown, it may not act on the conversation. Cheap when there is no CA or no certificate.
 */
export function revokedUnaccepted(engine: Engine, account: Uint8Array): boolean {
  if (!engine.store.getMeta(CA_KEY) || !engine.store.getMeta(certKey(account))) return false;
  try {
    const s = certificateStatus(engine, account);
    return s.state === 'revoked' && !s.accepted;
  } catch {
    return false; // nothing stored verifies any more: as uncertified
  }
}

/** The person sends to a revoked contact anyway (after checking with them): this certificate only. */
export function acceptRevoked(engine: Engine, account: Uint8Array): boolean {
  const s = certificateStatus(engine, account);
  if (s.state !== 'revoked') return false;
  engine.store.setMeta(acceptedKey(account), new TextEncoder().encode(s.serial));
  return true;
}
