/**
 * The organisation's identity CA on disk (spec/trust.md §3), apart from the TLS CA of
 * `sigilo admin tls-ca` (DATA/tls/ca): a different key for a different purpose.
 *
 * DATA/identity-ca/ca.crt        the CA certificate (PEM), published to clients
 * DATA/identity-ca/ca.json       organisation, where the key is (file or PKCS#11 token), next CRL number
 * DATA/identity-ca/ca.key        the Ed25519 key (PKCS#8 PEM, 0600) when it is not on a token
 * DATA/identity-ca/issued.json   every certificate issued: serial, account, name, validity, revocation
 * DATA/identity-ca/certs/HEX.der the current certificate of each account (HEX: its 16-byte id)
 * DATA/identity-ca/crl.der       the latest CRL, published to clients
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaError } from './errors.js';
import { checkName, createCaCertificate, createCrl, createIdentityCertificate, newSerial, toPem } from './issue.js';
import { openPkcs11Signer } from './pkcs11-signer.js';
import { createFileSigner, openFileSigner, type CaKeyLocation, type CaSigner } from './signer.js';

export const IDENTITY_CA_DIR = 'identity-ca';

interface CaConfig {
  readonly organisation: string;
  readonly key: CaKeyLocation;
  readonly nextCrlNumber: number;
}

export interface IssuedRecord {
  readonly serial: string;
  readonly accountId: string;
  readonly name: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly identityKeyFingerprint: string;
  readonly revokedAt?: string;
  readonly reason?: 'revoked' | 'superseded';
}

export interface CaSummary {
  readonly organisation: string;
  readonly fingerprint: string;
  readonly notAfter: string;
  readonly key: CaKeyLocation;
  readonly caPem: string;
}

/** The 64-hex SHA-256 of a DER object, in groups of four for reading aloud. */
export const fingerprint = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex').match(/.{4}/g)!.join(' ');

function pemToDer(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

function writeAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

export class IdentityCaDirectory {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, IDENTITY_CA_DIR);
  }

  exists(): boolean {
    return existsSync(join(this.dir, 'ca.crt'));
  }

  #config(): CaConfig {
    if (!this.exists()) throw new CaError('NO_CA', `no identity CA in ${this.dir}; create one: sigilo admin ca init --org NAME`);
    return JSON.parse(readFileSync(join(this.dir, 'ca.json'), 'utf8')) as CaConfig;
  }

  caCertificate(): Uint8Array {
    this.#config();
    return pemToDer(readFileSync(join(this.dir, 'ca.crt'), 'utf8'));
  }

  issued(): IssuedRecord[] {
    const file = join(this.dir, 'issued.json');
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as IssuedRecord[] : [];
  }

  /** Opens the CA's signer; `pin` for a token (from SIGILO_PKCS11_PIN or a prompt; never stored). */
  openSigner(pin: string | undefined): CaSigner {
    const { key } = this.#config();
    if (key.kind === 'file') return openFileSigner(key.path);
    if (pin === undefined) throw new CaError('PKCS11', 'the CA key is on a token: give its PIN (SIGILO_PKCS11_PIN, or type it when asked)');
    return openPkcs11Signer({ module: key.module, tokenLabel: key.tokenLabel, keyLabel: key.keyLabel, pin });
  }

  /**
   * Creates the CA: its key (in DATA/identity-ca/ca.key, or made on the token), the self-signed
   * certificate and a first, empty CRL.
   */
  async init(organisation: string, key: { kind: 'file' } | { kind: 'pkcs11'; module: string; tokenLabel: string; keyLabel: string; pin: string }, now: Date, policy: { certifiedIsVerified?: boolean } = {}): Promise<CaSummary> {
    if (this.exists()) throw new CaError('CA_EXISTS', `${join(this.dir, 'ca.crt')} exists: clients already trust this CA. Keep it, or move ${this.dir} away on purpose to start over (every certificate must then be issued again)`);
    checkName('--org', organisation);
    mkdirSync(join(this.dir, 'certs'), { recursive: true, mode: 0o700 });
    let location: CaKeyLocation;
    let signer: CaSigner;
    if (key.kind === 'file') {
      location = { kind: 'file', path: join(this.dir, 'ca.key') };
      signer = createFileSigner(location.path);
    } else {
      location = { kind: 'pkcs11', module: key.module, tokenLabel: key.tokenLabel, keyLabel: key.keyLabel };
      signer = openPkcs11Signer(key, true);
    }
    try {
      const ca = await createCaCertificate(signer, { organisation, now, certifiedIsVerified: policy.certifiedIsVerified === true });
      const crl = await createCrl(signer, ca, [], 1, now);
      writeAtomic(join(this.dir, 'ca.json'), `${JSON.stringify({ organisation, key: location, nextCrlNumber: 2 } satisfies CaConfig, null, 2)}\n`, 0o600);
      writeAtomic(join(this.dir, 'issued.json'), '[]\n', 0o600);
      writeAtomic(join(this.dir, 'crl.der'), crl);
      writeAtomic(join(this.dir, 'ca.crt'), toPem('CERTIFICATE', ca));
    } finally {
      signer.close();
    }
    return this.summary();
  }

  summary(): CaSummary {
    const config = this.#config();
    const der = this.caCertificate();
    const c = new X509Certificate(Buffer.from(der));
    return { organisation: config.organisation, fingerprint: fingerprint(der), notAfter: new Date(c.validTo).toISOString(), key: config.key, caPem: toPem('CERTIFICATE', der) };
  }

  /**
   * Issues the certificate of an account's identity key; a certificate the account had before
   * is revoked as superseded, in the CRL made at once.
   */
  async certify(signer: CaSigner, req: { accountId: Uint8Array; identityKey: Uint8Array; name: string; days: number }, now: Date): Promise<{ record: IssuedRecord; der: Uint8Array; crl: Uint8Array }> {
    const ca = this.caCertificate();
    const serial = newSerial();
    const { der, notAfter } = await createIdentityCertificate(signer, { caCertificate: ca, ...req, serial, now });
    const hex = Buffer.from(req.accountId).toString('hex');
    const record: IssuedRecord = {
      serial, accountId: hex, name: req.name, notBefore: new Date(now.getTime() - 60_000).toISOString(), notAfter: notAfter.toISOString(),
      identityKeyFingerprint: identityFingerprint(req.identityKey),
    };
    const issued = this.issued().map((r) => (r.accountId === hex && !r.revokedAt ? { ...r, revokedAt: now.toISOString(), reason: 'superseded' as const } : r));
    issued.push(record);
    const crl = await this.#publishCrl(signer, issued, now);
    writeAtomic(join(this.dir, 'certs', `${hex}.der`), der);
    return { record, der, crl };
  }

  /** Revokes the account's current certificate (or the one with `serial`) and publishes the new CRL. */
  async revoke(signer: CaSigner, which: { accountId?: Uint8Array; serial?: string }, now: Date): Promise<{ revoked: IssuedRecord[]; crl: Uint8Array }> {
    const hex = which.accountId ? Buffer.from(which.accountId).toString('hex') : undefined;
    const serial = which.serial?.toLowerCase().replace(/^0+/, '');
    const match = (r: IssuedRecord) => !r.revokedAt && (hex !== undefined ? r.accountId === hex : r.serial.replace(/^0+/, '') === serial);
    const issued = this.issued();
    const revoked = issued.filter(match);
    if (revoked.length === 0) throw new CaError('NOT_FOUND', hex ? 'this account has no certificate in force' : 'no certificate in force has that serial number (sigilo admin ca list shows them)');
    const next = issued.map((r) => (match(r) ? { ...r, revokedAt: now.toISOString(), reason: 'revoked' as const } : r));
    const crl = await this.#publishCrl(signer, next, now);
    return { revoked: revoked.map((r) => ({ ...r, revokedAt: now.toISOString(), reason: 'revoked' as const })), crl };
  }

  /** Signs a fresh CRL with the same entries (before the last one's nextUpdate, spec/trust.md §2.3). */
  async refreshCrl(signer: CaSigner, now: Date): Promise<Uint8Array> {
    return this.#publishCrl(signer, this.issued(), now);
  }

  async #publishCrl(signer: CaSigner, issued: IssuedRecord[], now: Date): Promise<Uint8Array> {
    const config = this.#config();
    const entries = issued.filter((r) => r.revokedAt).map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt!) }));
    const crl = await createCrl(signer, this.caCertificate(), entries, config.nextCrlNumber, now);
    writeAtomic(join(this.dir, 'issued.json'), `${JSON.stringify(issued, null, 2)}\n`, 0o600);
    writeAtomic(join(this.dir, 'ca.json'), `${JSON.stringify({ ...config, nextCrlNumber: config.nextCrlNumber + 1 }, null, 2)}\n`, 0o600);
    writeAtomic(join(this.dir, 'crl.der'), crl);
    return crl;
  }

  // ---------------------------------------------------------------- what the server publishes

  /** The CA certificate and CRL as served to clients; undefined without a CA. */
  published(): { ca: Uint8Array; crl: Uint8Array } | undefined {
    if (!this.exists()) return undefined;
    const crlFile = join(this.dir, 'crl.der');
    return { ca: this.caCertificate(), crl: existsSync(crlFile) ? new Uint8Array(readFileSync(crlFile)) : new Uint8Array(0) };
  }

  /** The current certificate of an account, if it has one. */
  certificateOf(accountId: Uint8Array): Uint8Array | undefined {
    const file = join(this.dir, 'certs', `${Buffer.from(accountId).toString('hex')}.der`);
    return existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined;
  }

  /** The serial (hex, as issued.json has it) of a certificate made by this CA. */
  serialOf(der: Uint8Array): string {
    return new X509Certificate(der).serialNumber.toLowerCase();
  }

  /** How many accounts have a certificate file (for the audit). */
  certificateCount(): number {
    const dir = join(this.dir, 'certs');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.der')).length : 0;
  }
}

/** The identity key's fingerprint the person reads from `sigilo whoami` and the administrator compares (spec/trust.md §4). */
export function identityFingerprint(identityKey: Uint8Array): string {
  return createHash('sha256').update(identityKey).digest('hex').slice(0, 32).match(/.{4}/g)!.join(' ');
}
