/**
 * Reading and checking the organisation's identity certificates and CRLs (spec/trust.md §2, §6):
 * X.509 with Ed25519 signatures, as `sigilo admin ca` makes them. Only what Sigilo needs is read;
 * a certificate that is not of that profile is CERTIFICATE_INVALID, never a crash.
 */
import type { CryptoProvider } from '@sigilo/protocol';
import { bytesEqual } from '@sigilo/protocol';
import { ClientError } from '../errors.js';
import { toBase64, toHex } from '../bytes.js';
import { children, expectTag, integerHex, oidText, readOne, timeOf, type Tlv } from './der.js';

const OID_ED25519 = '1.3.101.112';
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SAN = '2.5.29.17';
const OID_CRL_NUMBER = '2.5.29.20';
export const ACCOUNT_URI_PREFIX = 'sigilo:account:';
const KEY_URI_PREFIX = 'ni:///sha-256;';
const POLICY_URI_PREFIX = 'sigilo:policy:';
export const POLICY_CERTIFIED_IS_VERIFIED = 'sigilo:policy:certified-is-verified';

export interface Certificate {
  readonly serial: string;
  /** The issuer and subject Names as encoded, compared byte for byte. */
  readonly issuerRaw: Uint8Array;
  readonly subjectRaw: Uint8Array;
  readonly commonName: string;
  readonly organisation: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The 32-byte Ed25519 key of the subject. */
  readonly publicKey: Uint8Array;
  readonly isCa: boolean;
  /** From subjectAltName: the account (16 bytes) and the identity key's SHA-256 (RFC 6920 ni URI). */
  readonly accountId: Uint8Array | undefined;
  readonly identityKeyHash: string | undefined;
  /** `sigilo:policy:…` URIs of a CA certificate's subjectAltName (spec/trust.md §6.4). */
  readonly policies: readonly string[];
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
}

const invalid = (why: string) => new ClientError('CERTIFICATE_INVALID', `the certificate is not a Sigilo identity certificate (${why})`);

function ed25519AlgorithmOnly(t: Tlv | undefined): void {
  const parts = children(expectTag(t, 0x30, 'algorithm'));
  if (parts.length !== 1 || oidText(parts[0]!) !== OID_ED25519) throw invalid('not signed with Ed25519');
}

function bitString(t: Tlv | undefined, length: number, what: string): Uint8Array {
  const v = expectTag(t, 0x03, what).value;
  if (v.length !== length + 1 || v[0] !== 0) throw invalid(what);
  return v.subarray(1);
}

/** The first value of an attribute (CN, O) in a Name. */
function nameField(name: Tlv, oid: string): string {
  for (const rdn of children(expectTag(name, 0x30, 'name'))) {
    for (const atv of children(expectTag(rdn, 0x31, 'name'))) {
      const [type, value] = children(expectTag(atv, 0x30, 'name'));
      if (type && value && oidText(type) === oid && (value.tag === 0x0c || value.tag === 0x13)) {
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(value.value);
        } catch {
          throw invalid('a name is not UTF-8');
        }
      }
    }
  }
  return '';
}

function fromHex32(s: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{32}$/.test(s)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function parseCertificate(der: Uint8Array): Certificate {
  const [tbsTlv, alg, sig, ...rest] = children(readOne(der, 0x30));
  if (rest.length) throw invalid('trailing fields');
  ed25519AlgorithmOnly(alg);
  const signature = bitString(sig, 64, 'signature');
  const f = children(expectTag(tbsTlv, 0x30, 'tbsCertificate'));
  if (f[0]?.tag !== 0xa0) throw invalid('not version 3');
  const [serialTlv, innerAlg, issuer, validity, subject, spki, ...more] = f.slice(1);
  ed25519AlgorithmOnly(innerAlg);
  const [nb, na] = children(expectTag(validity, 0x30, 'validity'));
  const [spkiAlg, spkiKey] = children(expectTag(spki, 0x30, 'subjectPublicKeyInfo'));
  ed25519AlgorithmOnly(spkiAlg);
  let isCa = false;
  let accountId: Uint8Array | undefined;
  let identityKeyHash: string | undefined;
  const policies: string[] = [];
  const exts = more.find((t) => t.tag === 0xa3);
  for (const ext of exts ? children(expectTag(children(exts)[0], 0x30, 'extensions')) : []) {
    const parts = children(expectTag(ext, 0x30, 'extension'));
    const oid = oidText(parts[0]!);
    const raw = expectTag(parts[parts.length - 1], 0x04, 'extension value').value;
    if (oid === OID_BASIC_CONSTRAINTS) {
      const bc = children(readOne(raw, 0x30));
      isCa = bc[0]?.tag === 0x01 && bc[0].value[0] === 0xff;
    } else if (oid === OID_SAN) {
      for (const gn of children(readOne(raw, 0x30))) {
        if (gn.tag !== 0x86) continue;
        const uri = new TextDecoder().decode(gn.value);
        if (uri.startsWith(ACCOUNT_URI_PREFIX)) accountId = fromHex32(uri.slice(ACCOUNT_URI_PREFIX.length));
        else if (uri.startsWith(KEY_URI_PREFIX)) identityKeyHash = uri.slice(KEY_URI_PREFIX.length);
        else if (uri.startsWith(POLICY_URI_PREFIX)) policies.push(uri);
      }
    } else if (parts.length === 3 && parts[1]!.tag === 0x01 && parts[1]!.value[0] === 0xff) {
      // RFC 5280 §4.2: an unknown critical extension makes the certificate unusable.
      const known = ['2.5.29.15', '2.5.29.37'];
      if (!known.includes(oid)) throw invalid(`unknown critical extension ${oid}`);
    }
  }
  return {
    serial: integerHex(serialTlv!), issuerRaw: expectTag(issuer, 0x30, 'issuer').raw, subjectRaw: expectTag(subject, 0x30, 'subject').raw,
    commonName: nameField(subject!, OID_CN), organisation: nameField(subject!, OID_O),
    notBefore: timeOf(nb!), notAfter: timeOf(na!), publicKey: bitString(spkiKey, 32, 'public key'),
    isCa, accountId, identityKeyHash, policies, tbs: tbsTlv!.raw, signature,
  };
}

/** The CA certificate: self-signed, a CA, its signature valid. */
export function verifyCaCertificate(crypto: CryptoProvider, der: Uint8Array): Certificate {
  const ca = parseCertificate(der);
  if (!ca.isCa) throw invalid('the organisation\'s CA certificate is not a CA');
  if (!bytesEqual(ca.issuerRaw, ca.subjectRaw) || !crypto.ed25519Verify(ca.publicKey, ca.tbs, ca.signature)) throw invalid('the CA certificate\'s own signature does not verify');
  return ca;
}

/** An identity certificate issued by `ca`: issuer, signature and the identity it names (validity is the caller's, at its own time). */
export function verifyIdentityCertificate(crypto: CryptoProvider, ca: Certificate, der: Uint8Array): Certificate {
  const c = parseCertificate(der);
  if (c.isCa) throw invalid('a CA certificate is not an identity');
  if (!bytesEqual(c.issuerRaw, ca.subjectRaw)) throw invalid('issued by another CA');
  if (!crypto.ed25519Verify(ca.publicKey, c.tbs, c.signature)) throw invalid('the CA\'s signature does not verify');
  if (!c.accountId || !c.identityKeyHash) throw invalid('it names no Sigilo account and key');
  return c;
}

/** Whether the certificate binds this 64-byte identity key (its Ed25519 half as the key, the whole by its hash). */
export function bindsIdentityKey(crypto: CryptoProvider, c: Certificate, identityKey: Uint8Array): boolean {
  if (identityKey.length !== 64 || !bytesEqual(c.publicKey, identityKey.subarray(0, 32))) return false;
  return toBase64(crypto.sha256(identityKey)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') === c.identityKeyHash;
}

export interface Crl {
  readonly number: number;
  readonly thisUpdate: number;
  readonly nextUpdate: number | undefined;
  /** Serial (hex, no leading zeros) → revocation time (Unix ms). */
  readonly revoked: ReadonlyMap<string, number>;
}

/** A CRL signed by `ca` (spec/trust.md §2.3). */
export function verifyCrl(crypto: CryptoProvider, ca: Certificate, der: Uint8Array): Crl {
  const [tbsTlv, alg, sig, ...rest] = children(readOne(der, 0x30));
  if (rest.length) throw invalid('CRL: trailing fields');
  ed25519AlgorithmOnly(alg);
  const signature = bitString(sig, 64, 'CRL signature');
  let f = children(expectTag(tbsTlv, 0x30, 'tbsCertList'));
  if (f[0]?.tag === 0x02) f = f.slice(1);
  const [innerAlg, issuer, thisUpdate, ...tail] = f;
  ed25519AlgorithmOnly(innerAlg);
  if (!bytesEqual(expectTag(issuer, 0x30, 'CRL issuer').raw, ca.subjectRaw)) throw invalid('the CRL is from another CA');
  if (!crypto.ed25519Verify(ca.publicKey, tbsTlv!.raw, signature)) throw invalid('the CA\'s signature on the CRL does not verify');
  let nextUpdate: number | undefined;
  const revoked = new Map<string, number>();
  let number = -1;
  for (const t of tail) {
    if (t.tag === 0x17 || t.tag === 0x18) nextUpdate = timeOf(t);
    else if (t.tag === 0x30) for (const entry of children(t)) {
      const [serial, date] = children(expectTag(entry, 0x30, 'CRL entry'));
      revoked.set(integerHex(serial!), timeOf(date!));
    } else if (t.tag === 0xa0) for (const ext of children(expectTag(children(t)[0], 0x30, 'CRL extensions'))) {
      const parts = children(expectTag(ext, 0x30, 'CRL extension'));
      if (oidText(parts[0]!) === OID_CRL_NUMBER) number = Number.parseInt(integerHex(readOne(parts[parts.length - 1]!.value, 0x02)), 16);
    }
  }
  if (!Number.isSafeInteger(number) || number < 0) throw invalid('the CRL has no CRL number');
  return { number, thisUpdate: timeOf(thisUpdate!), nextUpdate, revoked };
}

/** The CA's fingerprint as `sigilo admin ca` prints it: SHA-256 in groups of four hex digits. */
export function caFingerprint(crypto: CryptoProvider, der: Uint8Array): string {
  return toHex(crypto.sha256(der)).match(/.{4}/g)!.join(' ');
}

/** The identity fingerprint a person reads to the administrator (`sigilo whoami`; spec/trust.md §4). */
export function identityFingerprint(crypto: CryptoProvider, identityKey: Uint8Array): string {
  return toHex(crypto.sha256(identityKey)).slice(0, 32).match(/.{4}/g)!.join(' ');
}
