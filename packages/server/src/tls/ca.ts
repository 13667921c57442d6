/**
 * The organisation's internal certificate authority (spec/server.md §1.1): browsers cannot pin a
 * self-signed certificate, so `sigilo admin tls-ca` creates a CA that phones and desktops
 * install once, and the server's TLS certificate is issued from it (and renewed at start).
 *
 * DATA/tls/ca/ca.crt       the CA certificate (ECDSA P-256, 10 years, CA:TRUE pathLen 0,
 *                          name-constrained to the server's names and addresses)
 * DATA/tls/ca/ca.key       its private key (0600)
 * DATA/tls/ca/server.crt   the server's certificate and the CA (≤ 397 days: browsers refuse longer)
 * DATA/tls/ca/server.key   its key (0600)
 * DATA/tls/ca/names.json   the names and addresses the certificates are for
 */
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { TlsError } from '../errors.js';
import * as der from './der.js';
import { fingerprintOf, ipBytes } from './self-signed.js';

export const CA_DIR = join('tls', 'ca');
export const CA_CERT_FILE = join(CA_DIR, 'ca.crt');
const DAY = 86_400_000;
/** Browsers (CA/Browser Forum) refuse server certificates valid for more than 398 days. */
export const SERVER_CERT_DAYS = 397;
/** A certificate with less than this left is renewed at start. */
export const RENEW_BEFORE_DAYS = 30;
const CA_YEARS = 10;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const OID_NAME_CONSTRAINTS = '2.5.29.30';

let loaded: Promise<typeof X509> | undefined;
/** @peculiar/x509 (and the Reflect polyfill it needs) load only when a CA is created or renewed. */
function x509lib(): Promise<typeof X509> {
  return (loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })());
}

export interface CaNames {
  readonly organisation: string;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

export interface CaInfo {
  readonly caCert: string;
  readonly caFingerprint: string;
  readonly caNotAfter: string;
  readonly serverFingerprint: string;
  readonly serverNotAfter: string;
  readonly names: CaNames;
  readonly created: boolean;
}

const DNS_RE = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function checkNames(names: CaNames): void {
  if (names.dns.length + names.ips.length === 0) throw new TlsError('give at least one --name (the host name people type) or --ip');
  for (const n of names.dns) if (!DNS_RE.test(n)) throw new TlsError(`--name ${JSON.stringify(n)} is not a host name (letters, digits, '-' and '.'); give an IP address with --ip`);
  for (const ip of names.ips) if (!isIP(ip)) throw new TlsError(`--ip ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
  if (!/^[\p{L}\p{N} .,'&()-]{1,64}$/u.test(names.organisation)) throw new TlsError('--org: 1 to 64 letters, digits, spaces and . , \' & ( ) -');
}

const serial = (): string => {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  b[0]! |= 0x01;
  return Buffer.from(b).toString('hex');
};

async function pemKey(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, false, ['sign']);
}

/** NameConstraints (RFC 5280 §4.2.1.10): a leaked CA key cannot vouch for any other site. */
function nameConstraints(names: CaNames): Uint8Array {
  const subtrees = [
    ...names.dns.map((n) => der.sequence(der.implicit(2, Buffer.from(n.toLowerCase(), 'ascii')))),
    ...names.ips.map((ip) => {
      const addr = isIP(ip) === 4 ? Uint8Array.from(ip.split('.').map(Number)) : ipBytes(ip);
      return der.sequence(der.implicit(7, new Uint8Array([...addr, ...new Uint8Array(addr.length).fill(0xff)])));
    }),
  ];
  return der.sequence(der.tlv(0xa0, ...subtrees));
}

function writeSecret(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

async function issueServer(dir: string, caCert: X509.X509Certificate, caKey: CryptoKey, names: CaNames, now: Date): Promise<NodeX509> {
  const x509 = await x509lib();
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.dns[0] ?? names.ips[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + SERVER_CERT_DAYS * DAY),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([...names.dns.map((value) => ({ type: 'dns' as const, value })), ...names.ips.map((value) => ({ type: 'ip' as const, value }))], false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeSecret(join(dir, 'server.key'), await pemKey(keys.privateKey));
  writeFileSync(join(dir, 'server.crt'), `${cert.toString('pem')}\n${caCert.toString('pem')}\n`, { mode: 0o644 });
  return new NodeX509(Buffer.from(cert.rawData));
}

function info(dir: string, created: boolean): CaInfo {
  const ca = new NodeX509(readFileSync(join(dir, 'ca.crt')));
  const leaf = new NodeX509(readFileSync(join(dir, 'server.crt')));
  return {
    caCert: ca.toString(),
    caFingerprint: fingerprintOf(new Uint8Array(ca.raw)),
    caNotAfter: new Date(ca.validTo).toISOString(),
    serverFingerprint: fingerprintOf(new Uint8Array(leaf.raw)),
    serverNotAfter: new Date(leaf.validTo).toISOString(),
    names: JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) as CaNames,
    created,
  };
}

/**
 * Creates the CA and issues the server's certificate. An existing CA is kept (phones trust it):
 * with `reissue` the server certificate is issued again for the CA's names.
 */
export async function createOrganisationCa(dataDir: string, names: CaNames, now = new Date()): Promise<CaInfo> {
  const dir = join(dataDir, CA_DIR);
  if (existsSync(join(dir, 'ca.crt'))) {
    throw new TlsError(`${join(dir, 'ca.crt')} exists: phones and desktops already trust this CA. Keep it, or move ${dir} away on purpose to start over (everyone must then install the new CA)`);
  }
  checkNames(names);
  const x509 = await x509lib();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [`Sigilo CA (${names.organisation})`] }, { O: [names.organisation] }],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter,
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.Extension(OID_NAME_CONSTRAINTS, true, nameConstraints(names)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeSecret(join(dir, 'ca.key'), await pemKey(keys.privateKey));
  writeFileSync(join(dir, 'names.json'), `${JSON.stringify(names)}\n`, { mode: 0o644 });
  await issueServer(dir, ca, keys.privateKey, names, now);
  writeFileSync(join(dir, 'ca.crt'), ca.toString('pem') + '\n', { mode: 0o644 });
  return info(dir, true);
}

/** Renews the CA-issued server certificate when it is missing or expires within RENEW_BEFORE_DAYS. No CA: nothing to do. */
export async function renewCaServerCertificate(dataDir: string, now = new Date(), force = false): Promise<CaInfo | undefined> {
  const dir = join(dataDir, CA_DIR);
  if (!existsSync(join(dir, 'ca.crt'))) return undefined;
  let due = force || !existsSync(join(dir, 'server.crt')) || !existsSync(join(dir, 'server.key'));
  if (!due) {
    const leaf = new NodeX509(readFileSync(join(dir, 'server.crt')));
    due = new Date(leaf.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY;
  }
  if (!due) return info(dir, false);
  let caKey: CryptoKey, names: CaNames;
  try {
    caKey = await importKey(readFileSync(join(dir, 'ca.key'), 'utf8'));
    names = JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) as CaNames;
  } catch (e) {
    throw new TlsError(`cannot renew the server certificate from ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check ca.key and names.json there`);
  }
  const x509 = await x509lib();
  await issueServer(dir, new x509.X509Certificate(readFileSync(join(dir, 'ca.crt'), 'utf8')), caKey, names, now);
  return info(dir, false);
}

/** The CA-issued certificate and key, if the organisation has a CA. */
export function caServerFiles(dataDir: string): { cert: string; key: string; caFingerprint: string } | undefined {
  const dir = join(dataDir, CA_DIR);
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  if (!(existsSync(join(dir, 'ca.crt')) && existsSync(cert) && existsSync(key))) return undefined;
  let caFingerprint: string;
  try {
    caFingerprint = fingerprintOf(new Uint8Array(new NodeX509(readFileSync(join(dir, 'ca.crt'))).raw));
  } catch {
    throw new TlsError(`${join(dir, 'ca.crt')} is not a PEM X.509 certificate; restore it from your backup`);
  }
  return { cert, key, caFingerprint };
}
