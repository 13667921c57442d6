/**
 * A self-signed X.509 v3 certificate (RFC 5280) for first start, built with
 * node:crypto and the DER encoder beside this file: no openssl binary needed.
 * ECDSA P-256 with SHA-256, because every TLS client (browsers included)
 * accepts it. Clients pin the SHA-256 fingerprint of the DER certificate.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der.js';

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

export interface SelfSignedOptions {
  readonly commonName: string;
  /** DNS names and IP addresses the certificate is valid for. */
  readonly names: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface GeneratedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as browsers show it). */
  readonly fingerprint: string;
}

export function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  // IPv6: expand "::" and write 8 groups of 16 bits.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 0xff; });
  return out;
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

export function fingerprintOf(certDer: Uint8Array): string {
  return createHash('sha256').update(certDer).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export function generateSelfSignedCertificate(options: SelfSignedOptions): GeneratedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const algorithm = der.sequence(der.oid(OID_ECDSA_SHA256));
  const name = der.sequence(der.set(der.sequence(der.oid(OID_COMMON_NAME), der.utf8String(options.commonName))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive and never shortened to less than 16 bytes

  const altNames = options.names.map((n) => (isIP(n) ? der.implicit(7, ipBytes(n)) : der.implicit(2, Buffer.from(n, 'ascii'))));
  const extensions = der.explicit(3, der.sequence(
    extension(OID_BASIC_CONSTRAINTS, true, der.sequence()),
    extension(OID_KEY_USAGE, true, der.tlv(0x03, Uint8Array.of(7, 0x80))), // digitalSignature
    extension(OID_EXT_KEY_USAGE, false, der.sequence(der.oid(OID_SERVER_AUTH))),
    extension(OID_SUBJECT_ALT_NAME, false, der.sequence(...altNames)),
  ));

  const tbs = der.sequence(
    der.explicit(0, der.integer(Uint8Array.of(2))), // v3
    der.integer(serial),
    algorithm,
    name,
    der.sequence(der.time(options.notBefore), der.time(options.notAfter)),
    name,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA-Sig-Value
  const certDer = der.sequence(tbs, algorithm, der.bitString(signature));

  const certPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(certDer).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const keyPem = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })).export({ format: 'pem', type: 'pkcs8' }) as string;
  // Parse it back: a malformed encoding fails here, at generation, not in a client.
  const parsed = new X509Certificate(certPem);
  if (!parsed.verify(publicKey)) throw new Error('generated certificate does not verify');
  return { certPem, keyPem, fingerprint: fingerprintOf(certDer) };
}
