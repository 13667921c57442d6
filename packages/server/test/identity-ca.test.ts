/**
 * The organisation's identity CA (spec/trust.md): certificates and CRLs checked by the real
 * `openssl verify`, with the CA key in a file and on a real SoftHSM2 token whose private key
 * cannot be read out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaError, IdentityCaDirectory, identityKeyUri, toPem } from '../src/index.js';
import { hasSoftHsm, makeToken } from './support/softhsm.js';

const work = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'identity-ca-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function identity(): { accountId: Uint8Array; identityKey: Uint8Array } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
  const identityKey = new Uint8Array(64);
  identityKey.set(raw);
  identityKey.set(randomBytes(32), 32);
  identityKey[63]! &= 0x7f;
  return { accountId: new Uint8Array(randomBytes(16)), identityKey };
}

let n = 0;
function file(name: string, der: Uint8Array, label = 'CERTIFICATE'): string {
  const path = join(work, `${n++}-${name}.pem`);
  writeFileSync(path, toPem(label, der));
  return path;
}

/** `openssl verify`: its exit status and what it said. */
function opensslVerify(ca: string, cert: string, crl?: string, atTime?: Date): { ok: boolean; out: string } {
  const args = ['verify', '-CAfile', ca, ...(crl ? ['-crl_check', '-CRLfile', crl] : []), ...(atTime ? ['-attime', String(Math.floor(atTime.getTime() / 1000))] : []), cert];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe('identity CA with the key in a file', () => {
  const dataDir = join(work, 'file-ca');
  const ca = new IdentityCaDirectory(dataDir);
  const now = new Date();
  const alice = identity();

  it('makes a self-signed Ed25519 CA that openssl reads as a CA', async () => {
    const s = await ca.init('Acme Logistics', { kind: 'file' }, now);
    expect(s.organisation).toBe('Acme Logistics');
    expect(s.key.kind).toBe('file');
    const c = new X509Certificate(ca.caCertificate());
    expect(c.ca).toBe(true);
    expect(c.subject).toContain('CN=Acme Logistics identity CA');
    expect(c.publicKey.asymmetricKeyType).toBe('ed25519');
    const text = execFileSync('openssl', ['x509', '-in', file('ca', ca.caCertificate()), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    // The key file is the owner's only.
    expect((await import('node:fs')).statSync(join(dataDir, 'identity-ca', 'ca.key')).mode & 0o077).toBe(0);
    await expect(ca.init('Acme Logistics', { kind: 'file' }, now)).rejects.toMatchObject({ reason: 'CA_EXISTS' });
  });

  it('certifies an identity key with the account and name; openssl verify accepts it', async () => {
    const signer = ca.openSigner(undefined);
    const { der, record } = await ca.certify(signer, { ...alice, name: 'Ana Souza', days: 365 }, now);
    signer.close();
    const caPem = file('ca', ca.caCertificate());
    const certPem = file('alice', der);
    const v = opensslVerify(caPem, certPem);
    expect(v.out).toMatch(/: OK/);
    expect(v.ok).toBe(true);
    const text = execFileSync('openssl', ['x509', '-in', certPem, '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain(`URI:sigilo:account:${Buffer.from(alice.accountId).toString('hex')}`);
    expect(text).toMatch(/Subject: CN ?= ?Ana Souza, O ?= ?Acme Logistics/);
    expect(text).toContain(`URI:${identityKeyUri(alice.identityKey)}`);
    expect(identityKeyUri(alice.identityKey)).toMatch(/^ni:\/\/\/sha-256;[A-Za-z0-9_-]{43}$/);
    // The certified key is the identity's Ed25519 half.
    const c = new X509Certificate(der);
    expect(new Uint8Array(c.publicKey.export({ format: 'der', type: 'spki' })).subarray(12)).toEqual(alice.identityKey.subarray(0, 32));
    expect(record.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(ca.certificateOf(alice.accountId)).toEqual(der);
    // The first CRL (empty) checks too.
    expect(opensslVerify(caPem, certPem, file('crl', ca.published()!.crl, 'X509 CRL')).ok).toBe(true);
  });

  it('a revoked certificate fails openssl verify -crl_check; the CRL number grows', async () => {
    const caPem = file('ca', ca.caCertificate());
    const certPem = file('alice', ca.certificateOf(alice.accountId)!);
    const before = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-crlnumber'], { input: ca.published()!.crl, encoding: 'utf8' });
    const signer = ca.openSigner(undefined);
    const { revoked, crl } = await ca.revoke(signer, { accountId: alice.accountId }, new Date());
    signer.close();
    expect(revoked).toHaveLength(1);
    const v = opensslVerify(caPem, certPem, file('crl', crl, 'X509 CRL'));
    expect(v.ok).toBe(false);
    expect(v.out).toMatch(/certificate revoked/);
    const after = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-crlnumber'], { input: crl, encoding: 'utf8' });
    expect(Number.parseInt(after.split('=')[1]!, 16)).toBeGreaterThan(Number.parseInt(before.split('=')[1]!, 16));
    // Revoking again finds nothing in force.
    const again = ca.openSigner(undefined);
    await expect(ca.revoke(again, { accountId: alice.accountId }, new Date())).rejects.toMatchObject({ reason: 'NOT_FOUND' });
    again.close();
  });

  it('certifying again supersedes (revokes) the account\'s previous certificate', async () => {
    const bob = identity();
    const signer = ca.openSigner(undefined);
    const first = await ca.certify(signer, { ...bob, name: 'Bruno', days: 30 }, now);
    const second = await ca.certify(signer, { ...bob, name: 'Bruno Lima', days: 30 }, now);
    signer.close();
    const caPem = file('ca', ca.caCertificate());
    const crl = file('crl', second.crl, 'X509 CRL');
    expect(opensslVerify(caPem, file('b1', first.der), crl).out).toMatch(/certificate revoked/);
    expect(opensslVerify(caPem, file('b2', second.der), crl).ok).toBe(true);
    expect(ca.issued().find((r) => r.serial === first.record.serial)?.reason).toBe('superseded');
  });

  it('an expired certificate, and one from another CA, fail openssl verify', async () => {
    const carol = identity();
    const signer = ca.openSigner(undefined);
    const { der } = await ca.certify(signer, { ...carol, name: 'Carla', days: 1 }, now);
    signer.close();
    const caPem = file('ca', ca.caCertificate());
    const expired = opensslVerify(caPem, file('carol', der), undefined, new Date(now.getTime() + 3 * 86_400_000));
    expect(expired.ok).toBe(false);
    expect(expired.out).toMatch(/certificate has expired/);
    const other = new IdentityCaDirectory(join(work, 'other-ca'));
    await other.init('Acme Logistics', { kind: 'file' }, now);
    const wrong = opensslVerify(file('other', other.caCertificate()), file('carol', der));
    expect(wrong.ok).toBe(false);
  });

  it('the organisation\'s policy is a URI in the CA certificate itself (signed, so the server cannot change it)', async () => {
    const withPolicy = new IdentityCaDirectory(join(work, 'policy-ca'));
    await withPolicy.init('Acme Logistics', { kind: 'file' }, now, { certifiedIsVerified: true });
    const text = execFileSync('openssl', ['x509', '-in', file('policy', withPolicy.caCertificate()), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain('URI:sigilo:policy:certified-is-verified');
    expect(execFileSync('openssl', ['x509', '-in', file('plain', ca.caCertificate()), '-noout', '-text'], { encoding: 'utf8' })).not.toContain('sigilo:policy');
  });

  it('refuses bad names and durations with a typed error', async () => {
    const signer = ca.openSigner(undefined);
    await expect(ca.certify(signer, { ...identity(), name: 'CN=evil, O=x', days: 30 }, now)).rejects.toBeInstanceOf(CaError);
    await expect(ca.certify(signer, { ...identity(), name: 'Ok', days: 0 }, now)).rejects.toMatchObject({ reason: 'INVALID_INPUT' });
    signer.close();
    expect(() => new IdentityCaDirectory(join(work, 'none')).openSigner(undefined)).toThrow(/no identity CA/);
  });
});

describe.skipIf(!hasSoftHsm)('identity CA with the key on a SoftHSM2 token (PKCS#11, CKM_EDDSA)', () => {
  const token = hasSoftHsm ? makeToken('acme-ca') : undefined;
  afterAll(() => token?.remove());
  const ca = new IdentityCaDirectory(join(work, 'token-ca'));
  const now = new Date();

  it('makes the key on the token, signs the CA and a certificate there; openssl verify accepts them', async () => {
    const t = token!;
    const s = await ca.init('Acme Logistics', { kind: 'pkcs11', module: t.module, tokenLabel: t.label, keyLabel: 'identity-ca', pin: t.pin }, now);
    expect(s.key).toEqual({ kind: 'pkcs11', module: t.module, tokenLabel: t.label, keyLabel: 'identity-ca' });
    // Nothing secret is stored beside the CA: no key file, no PIN.
    expect(readFileSync(join(ca.dir, 'ca.json'), 'utf8')).not.toContain(t.pin);
    expect(() => readFileSync(join(ca.dir, 'ca.key'))).toThrow();
    const signer = ca.openSigner(t.pin);
    const alice = identity();
    const { der } = await ca.certify(signer, { ...alice, name: 'Ana Souza', days: 365 }, now);
    signer.close();
    const v = opensslVerify(file('ca', ca.caCertificate()), file('alice', der), file('crl', ca.published()!.crl, 'X509 CRL'));
    expect(v.out).toMatch(/: OK/);
    // The CA certificate's key is the token's public key (pkcs11-tool reads it independently).
    const pub = execFileSync('pkcs11-tool', ['--module', t.module, '--token-label', t.label, '--read-object', '--type', 'pubkey', '--label', 'identity-ca'], { env: { ...process.env, SOFTHSM2_CONF: t.conf }, encoding: 'utf8' });
    const spki = new X509Certificate(ca.caCertificate()).publicKey.export({ format: 'der', type: 'spki' });
    expect(createPublicKey(pub).export({ format: 'der', type: 'spki' })).toEqual(spki);
  });

  it('the private key is sensitive and not extractable: reading its value is refused', () => {
    const t = token!;
    const p11js = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
    const p11 = new p11js.PKCS11();
    p11.load(t.module);
    p11.C_Initialize();
    try {
      const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === t.label)!;
      const session = p11.C_OpenSession(slot, p11js.CKF_SERIAL_SESSION);
      p11.C_Login(session, p11js.CKU_USER, t.pin);
      p11.C_FindObjectsInit(session, [{ type: p11js.CKA_CLASS, value: p11js.CKO_PRIVATE_KEY }]);
      const key = p11.C_FindObjects(session)!;
      p11.C_FindObjectsFinal(session);
      const [sensitive, extractable, neverExtractable] = p11.C_GetAttributeValue(session, key, [
        { type: p11js.CKA_SENSITIVE }, { type: p11js.CKA_EXTRACTABLE }, { type: p11js.CKA_NEVER_EXTRACTABLE },
      ]);
      expect((sensitive!.value as Buffer)[0]).toBe(1);
      expect((extractable!.value as Buffer)[0]).toBe(0);
      expect((neverExtractable!.value as Buffer)[0]).toBe(1);
      expect(() => p11.C_GetAttributeValue(session, key, [{ type: p11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      p11.C_Logout(session);
      p11.C_CloseSession(session);
    } finally {
      p11.C_Finalize();
    }
  });

  it('a wrong PIN, a missing token and a missing PIN are typed errors', async () => {
    const t = token!;
    expect(() => ca.openSigner('000000')).toThrow(/PIN/);
    expect(() => ca.openSigner(undefined)).toThrow(/PIN/);
    await expect(new IdentityCaDirectory(join(work, 'absent')).init('X', { kind: 'pkcs11', module: t.module, tokenLabel: 'no-such-token', keyLabel: 'k', pin: t.pin }, now))
      .rejects.toMatchObject({ reason: 'PKCS11' });
    await expect(new IdentityCaDirectory(join(work, 'absent')).init('X', { kind: 'pkcs11', module: '/nonexistent/lib.so', tokenLabel: t.label, keyLabel: 'k', pin: t.pin }, now))
      .rejects.toMatchObject({ reason: 'PKCS11' });
  });
});
