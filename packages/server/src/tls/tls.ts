/**
 * Loads the administrator's certificate and key, or generates a self-signed
 * pair in DATA/tls/ on first start and reuses it afterwards.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TlsError } from '../errors.js';
import { caServerFiles } from './ca.js';
import { fingerprintOf, generateSelfSignedCertificate } from './self-signed.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of the leaf certificate (AA:BB:…). */
  readonly fingerprint: string;
  readonly selfSigned: boolean;
  /** True when this start generated the certificate. */
  readonly generated: boolean;
  /** SHA-256 fingerprint of the organisation CA that issued it (sigilo admin tls-ca), which clients can pin instead. */
  readonly caFingerprint?: string;
}

function check(cert: string, key: string, where: string): string {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsError(`${where}: the certificate is not a PEM X.509 certificate; give a PEM file (-----BEGIN CERTIFICATE-----)`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
  } catch (e) {
    throw new TlsError((e as Error).message === 'mismatch'
      ? `${where}: the private key does not belong to the certificate; give the matching key`
      : `${where}: the private key is not a PEM private key (an encrypted key is not supported); give an unencrypted PEM key`);
  }
  return fingerprintOf(new Uint8Array(x509.raw));
}

export function loadTls(dataDir: string, certPath: string | undefined, keyPath: string | undefined, now: Date): TlsMaterial {
  if (certPath && keyPath) {
    let cert: string, key: string;
    try {
      cert = readFileSync(certPath, 'utf8');
      key = readFileSync(keyPath, 'utf8');
    } catch (e) {
      throw new TlsError(`cannot read the TLS certificate or key (${(e as NodeJS.ErrnoException).code ?? 'error'}); check tls.cert and tls.key`);
    }
    return { cert, key, fingerprint: check(cert, key, 'tls.cert/tls.key'), selfSigned: false, generated: false };
  }
  // The organisation's CA (sigilo admin tls-ca) issued the certificate; renewCaServerCertificate keeps it fresh.
  const issued = caServerFiles(dataDir);
  if (issued) {
    const cert = readFileSync(issued.cert, 'utf8');
    const key = readFileSync(issued.key, 'utf8');
    return { cert, key, fingerprint: check(cert, key, issued.cert), selfSigned: false, generated: false, caFingerprint: issued.caFingerprint };
  }
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    return { cert, key, fingerprint: check(cert, key, certFile), selfSigned: true, generated: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 5);
  const names = [...new Set(['localhost', hostname(), '127.0.0.1', '::1'].filter((n) => /^[A-Za-z0-9.:-]+$/.test(n)))];
  const g = generateSelfSignedCertificate({ commonName: 'Sigilo server (self-signed)', names, notBefore: new Date(now.getTime() - 60_000), notAfter });
  writeFileSync(keyFile, g.keyPem, { mode: 0o600 });
  writeFileSync(certFile, g.certPem, { mode: 0o644 });
  return { cert: g.certPem, key: g.keyPem, fingerprint: g.fingerprint, selfSigned: true, generated: true };
}
