/**
 * Trust in a contact's keys: the safety number's QR text, verifying by a scanned QR or by comparing digits,
 * and the organisation's certificates (spec/trust.md §6) as the page shows them.
 */
import { base32, fromBase32, type CertificateStatus, type SigiloClient } from '@sigilo/client';
import { HostError, type HostContext } from './context.js';

/** What a scanned safety-number QR holds: its payload in base32 (as `sigilo verify` prints it), or hex. */
export function parseSafetyQr(text: string, expectedBytes: number): Uint8Array {
  const clean = text.replace(/^sigilo-sn:/i, '').replace(/[\s:-]/g, '');
  if (clean.length === expectedBytes * 2 && /^[0-9a-f]+$/i.test(clean)) {
    return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
  }
  try { return fromBase32(clean.toUpperCase()); } catch { throw new HostError('INVALID_INPUT', 'this QR code is not a Sigilo safety number'); }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export type ContactCertificate = CertificateStatus & { readonly trustedBy: 'verification' | 'organisation' | undefined };
export interface OrgTrustView {
  readonly ca: { readonly organisation: string; readonly fingerprint: string; readonly certifiedIsVerified: boolean } | undefined;
  readonly own: CertificateStatus;
  readonly contacts: Readonly<Record<string, ContactCertificate>>;
  /** This device's certification request waiting for the administrator (none once this account is seen certified). */
  readonly pending?: PendingCertification;
}

/** A certification request this device sent (spec/trust.md §4.1), kept in the encrypted store by the SDK until it is answered. */
export interface PendingCertification { readonly requestId: number; readonly name: string; readonly sentAt: number }

/** The request sent from this device that is still waiting (the SDK forgets it once this account's certificate is in force). */
function pendingRequest(c: SigiloClient): PendingCertification | undefined {
  const p = c.pendingCertification();
  return p && { requestId: p.requestId, name: p.name, sentAt: p.requestedAt };
}

export function trustMethods(ctx: HostContext) {
  return {
    /** The safety number with a contact, its QR text, and whether it is verified or changed. */
    safetyCode(accountId: Uint8Array): { digits: string; formatted: string; qrText: string; verified: boolean; changed: boolean } {
      const sn = ctx.need().safetyNumber(accountId);
      return { digits: sn.digits, formatted: sn.formatted, qrText: `SIGILO-SN:${base32(sn.qrPayload)}`, verified: sn.verified, changed: sn.changed };
    },
    /** Checks the text of the contact's scanned QR; on a match the contact is verified (and a changed key accepted). */
    verifyScanned(accountId: Uint8Array, text: string): boolean {
      const c = ctx.need();
      const expected = c.safetyNumber(accountId).qrPayload.length;
      return c.verifyQr(accountId, parseSafetyQr(text, expected));
    },
    /** Marks the contact verified after comparing the digits in person (accepts a changed key too). */
    markVerified: (accountId: Uint8Array): void => ctx.need().acceptIdentity(accountId, true),
    /** Which contacts are verified (for badges in the chat list and headers), as hex account ids. */
    verifiedContacts: (): string[] => ctx.need().store.listContacts().filter((k) => k.verified).map((k) => hex(k.accountId)),
    /**
     * The organisation's CA this device pinned (undefined without one) and the certificate status of this
     * account and of every contact, by hex account id; `trustedBy` is 'organisation' where the CA's policy
     * lets a certificate stand for a safety-number check.
     */
    orgTrust(): OrgTrustView {
      const c = ctx.need();
      const ca = c.orgCa();
      if (!ca) return { ca: undefined, own: { state: 'no-ca' }, contacts: {} };
      const contacts: Record<string, ContactCertificate> = {};
      for (const k of c.store.listContacts()) contacts[hex(k.accountId)] = { ...c.certificateStatus(k.accountId), trustedBy: c.trusted(k.accountId).by };
      const own = c.certificateStatus(c.accountId!);
      return { ca, own, contacts, pending: pendingRequest(c) };
    },
    /** Fetches the CA, the CRL and the certificates of this account and every contact now (after adding a contact). */
    fetchOrgTrust: (): Promise<void> => ctx.need().refreshOrgTrust(),
    /** After checking with the contact in person: sends to them despite their revoked certificate (this certificate only). */
    acceptRevokedCertificate: (accountId: Uint8Array): boolean => ctx.need().acceptRevokedCertificate(accountId),
    /**
     * Asks the organisation to certify this identity as `name` (spec/trust.md §4.1), signed here by the identity key; the
     * SDK keeps the request as pending (pendingCertification) until a certificate of this key arrives.
     */
    requestCertification: (name: string): Promise<{ requestId: number; replaced: boolean }> => ctx.need().requestCertification(name),
    /** This account's identity fingerprint, which the administrator compares before certifying (spec/trust.md §4). */
    identityFingerprint: (): string => ctx.need().identityFingerprint,
  };
}
