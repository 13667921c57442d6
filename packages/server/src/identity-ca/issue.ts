/**
 * The certificates and CRLs of the organisation's identity CA (spec/trust.md §2):
 * ordinary X.509 that `openssl verify` accepts, signed with Ed25519 by whatever
 * CaSigner holds the key (a file or a PKCS#11 token).
 *
 * @peculiar/x509 builds and encodes them; it signs through the `crypto` it is
 * given, so a small shim hands the to-be-signed bytes to the CaSigner and the
 * private key never has to be a WebCrypto key.
 */
import { createHash, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import type { CaSigner } from './signer.js';
import { ed25519Spki } from './signer.js';
import { CaError } from './errors.js';

/** The subjectAltName URI that names the account: `sigilo:account:` and its 32 hex digits (spec/trust.md §2.2). */
export const ACCOUNT_URI_PREFIX = 'sigilo:account:';
/**
 * The subjectAltName URI that names the whole 64-byte identity key (Ed25519 ‖ X25519): an RFC 6920
 * Named Information URI of its SHA-256. The certificate's own key is the Ed25519 half only, so this
 * binds the X25519 half too.
 */
export const identityKeyUri = (identityKey: Uint8Array): string => `ni:///sha-256;${createHash('sha256').update(identityKey).digest('base64url')}`;
const DAY = 86_400_000;
const OID_CRL_NUMBER = '2.5.29.20';

let loaded: Promise<typeof X509> | undefined;
function x509lib(): Promise<typeof X509> {
  return (loaded ??= (async () => {
    await import('reflect-metadata');
    return import('@peculiar/x509');
  })());
}

/** What @peculiar/x509 takes as a signing key: only its algorithm is read; signing goes to the shim. */
const SIGNING_KEY = { algorithm: { name: 'Ed25519' }, type: 'private', extractable: false, usages: ['sign'] } as unknown as webcrypto.CryptoKey;

function signerCrypto(signer: CaSigner): webcrypto.Crypto {
  const subtle = {
    sign: async (_alg: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView) => {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const sig = await signer.sign(bytes);
      return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
    },
    digest: (alg: string, data: ArrayBuffer) => webcrypto.subtle.digest(alg, data),
  };
  return { subtle, getRandomValues: (a: Uint8Array) => webcrypto.getRandomValues(a) } as unknown as webcrypto.Crypto;
}

/** 16 random bytes, positive and without a leading zero byte (RFC 5280 §4.1.2.2). */
export function newSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

/** Key identifier, RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the 32 key bytes for Ed25519). */
function keyId(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki.subarray(spki.length - 32)).digest());
}

/**
 * A name in a certificate (and in a certification request) is shown to the administrator on a terminal
 * and to every member beside "certified by": no C0 or C1 control (U+009B is a terminal's CSI), no
 * bidirectional embedding, override, isolate or mark (they reorder the sentence it is shown in), no
 * invisible format character or line separator, no BOM; and none of the X.500 specials.
 */
const NAME_RE = /^[^\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff,+="<>#;\\]{1,64}$/u;
export function checkName(what: string, value: string): void {
  if (!NAME_RE.test(value) || value.trim() !== value) throw new CaError('INVALID_INPUT', `${what}: 1 to 64 characters, no control, bidirectional or invisible characters and none of , + = " < > # ; \\ (and no spaces at either end)`);
}

export interface CaCertificateRequest {
  readonly organisation: string;
  readonly now: Date;
  readonly years?: number;
  /** Hex; random (newSerial) unless given (test vectors). */
  readonly serial?: string;
  /** The organisation's policy (spec/trust.md §6.4): a certified key counts as verified, no safety-number check needed. */
  readonly certifiedIsVerified?: boolean;
}

/** The CA certificate's subjectAltName URI that states the policy above: signed by the CA, so the server cannot change it. */
export const POLICY_CERTIFIED_IS_VERIFIED = 'sigilo:policy:certified-is-verified';

/** The self-signed CA certificate (spec/trust.md §2.1). */
export async function createCaCertificate(signer: CaSigner, req: CaCertificateRequest): Promise<Uint8Array> {
  checkName('organisation', req.organisation);
  const x509 = await x509lib();
  const notAfter = new Date(req.now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (req.years ?? 10));
  const name: X509.JsonName = [{ CN: [`${req.organisation} identity CA`] }, { O: [req.organisation] }];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: req.serial ?? newSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(req.now.getTime() - 60_000),
    notAfter,
    publicKey: signer.spki,
    signingKey: SIGNING_KEY,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectKeyIdentifierExtension(Buffer.from(keyId(signer.spki)).toString('hex')),
      ...(req.certifiedIsVerified ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: POLICY_CERTIFIED_IS_VERIFIED }], false)] : []),
    ],
  }, signerCrypto(signer));
  return new Uint8Array(cert.rawData);
}

export interface IdentityCertificateRequest {
  readonly caCertificate: Uint8Array;
  readonly accountId: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly name: string;
  readonly serial: string;
  readonly now: Date;
  readonly days: number;
}

/** An account's identity certificate (spec/trust.md §2.2): the Ed25519 half as its key, all 64 bytes named in subjectAltName. */
export async function createIdentityCertificate(signer: CaSigner, req: IdentityCertificateRequest): Promise<{ der: Uint8Array; notAfter: Date }> {
  checkName('the person\'s name', req.name);
  if (req.accountId.length !== 16) throw new CaError('INVALID_INPUT', 'an account id is 16 bytes');
  if (req.identityKey.length !== 64) throw new CaError('INVALID_INPUT', 'an identity key is 64 bytes');
  if (!Number.isInteger(req.days) || req.days < 1 || req.days > 3650) throw new CaError('INVALID_INPUT', '--days: 1 to 3650');
  const x509 = await x509lib();
  const ca = new x509.X509Certificate(req.caCertificate);
  const org = ca.subjectName.getField('O')[0] ?? '';
  // Never past the CA's own end: a chain is only as long-lived as its root.
  const notAfter = new Date(Math.min(req.now.getTime() + req.days * DAY, ca.notAfter.getTime()));
  const spki = ed25519Spki(req.identityKey.subarray(0, 32));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: req.serial,
    subject: [{ CN: [req.name] }, { O: [org] }] as X509.JsonName,
    issuer: ca.subject,
    notBefore: new Date(req.now.getTime() - 60_000),
    notAfter,
    publicKey: spki,
    signingKey: SIGNING_KEY,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `${ACCOUNT_URI_PREFIX}${Buffer.from(req.accountId).toString('hex')}` },
        { type: 'url', value: identityKeyUri(req.identityKey) },
      ], false),
      new x509.AuthorityKeyIdentifierExtension(Buffer.from(keyId(signer.spki)).toString('hex')),
      new x509.SubjectKeyIdentifierExtension(Buffer.from(keyId(spki)).toString('hex')),
    ],
  }, signerCrypto(signer));
  return { der: new Uint8Array(cert.rawData), notAfter };
}

export interface RevokedEntry {
  readonly serial: string;
  readonly revokedAt: Date;
}

/** A CRL (spec/trust.md §2.3): every certificate revoked so far, with its number. */
export async function createCrl(signer: CaSigner, caCertificate: Uint8Array, entries: readonly RevokedEntry[], crlNumber: number, now: Date, days = 90): Promise<Uint8Array> {
  const x509 = await x509lib();
  const ca = new x509.X509Certificate(caCertificate);
  const crlNumberDer = derInteger(crlNumber);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.subject,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + days * DAY),
    entries: entries.map((e) => ({ serialNumber: e.serial, revocationDate: e.revokedAt })),
    signingKey: SIGNING_KEY,
    signingAlgorithm: { name: 'Ed25519' },
    extensions: [
      new x509.Extension(OID_CRL_NUMBER, false, crlNumberDer),
      new x509.AuthorityKeyIdentifierExtension(Buffer.from(keyId(signer.spki)).toString('hex')),
    ],
  }, signerCrypto(signer));
  return new Uint8Array(crl.rawData);
}

function derInteger(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CaError('INVALID_INPUT', 'a CRL number is a non-negative integer');
  const bytes: number[] = [];
  let v = n;
  do { bytes.unshift(v % 256); v = Math.floor(v / 256); } while (v > 0);
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

export const toPem = (label: string, der: Uint8Array): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
