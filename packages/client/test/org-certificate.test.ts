/**
 * The client's reading of organisation certificates and CRLs (spec/trust.md §2, §6.1), on objects
 * made by the server's identity CA: every check refuses what it exists for, and mutated bytes give
 * CERTIFICATE_INVALID or a value, never another error.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '@sigilo/protocol/node';
import { IdentityCaDirectory } from '../../server/src/index.js';
import { ClientError, bindsIdentityKey, identityFingerprint, parseCertificate, verifyCaCertificate, verifyCrl, verifyIdentityCertificate } from '../src/index.js';

const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'org-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function identityKey(): Uint8Array {
  const raw = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
  const ik = new Uint8Array(64);
  ik.set(raw);
  ik.set(randomBytes(32), 32);
  return ik;
}

const invalid = (f: () => unknown) => {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(ClientError); expect((e as ClientError).code).toBe('CERTIFICATE_INVALID'); return; }
  throw new Error('expected CERTIFICATE_INVALID');
};

describe('spec/vectors/org-ca.json on the client', () => {
  it('the CA, the identity certificate and the CRL verify and read as the inputs say', () => {
    const v = JSON.parse(readFileSync(new URL('../../../spec/vectors/org-ca.json', import.meta.url), 'utf8'));
    const b = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
    const ca = verifyCaCertificate(nodeCrypto, b(v.caCertificate));
    expect(ca.organisation).toBe(v.inputs.organisation);
    expect(ca.serial).toBe(v.inputs.caSerial);
    const c = verifyIdentityCertificate(nodeCrypto, ca, b(v.identityCertificate));
    expect(c.commonName).toBe(v.inputs.name);
    expect(Buffer.from(c.accountId!).toString('hex')).toBe(v.inputs.accountId);
    expect(c.serial).toBe(v.inputs.serial);
    expect(c.notBefore).toBe(Date.parse(v.inputs.now) - 60_000);
    expect(c.notAfter).toBe(Date.parse(v.inputs.now) + v.inputs.days * 86_400_000);
    expect(bindsIdentityKey(nodeCrypto, c, b(v.inputs.identityKey))).toBe(true);
    expect(identityFingerprint(nodeCrypto, b(v.inputs.identityKey))).toBe(v.identityFingerprint);
    const crl = verifyCrl(nodeCrypto, ca, b(v.crl));
    expect(crl.number).toBe(v.inputs.crlNumber);
    expect([...crl.revoked.keys()]).toEqual([v.inputs.serial]);
  });
});

describe('organisation certificates on the client', () => {
  let caDer: Uint8Array, certDer: Uint8Array, crlDer: Uint8Array, otherCaDer: Uint8Array;
  const ik = identityKey();
  const account = new Uint8Array(randomBytes(16));

  beforeAll(async () => {
    const ca = new IdentityCaDirectory(join(dir, 'a'));
    await ca.init('Organização Ação', { kind: 'file' }, new Date());
    const s = ca.openSigner(undefined);
    certDer = (await ca.certify(s, { accountId: account, identityKey: ik, name: 'João Gonçalves', days: 30 }, new Date())).der;
    s.close();
    caDer = ca.caCertificate();
    crlDer = ca.published()!.crl;
    const other = new IdentityCaDirectory(join(dir, 'b'));
    await other.init('Organização Ação', { kind: 'file' }, new Date());
    otherCaDer = other.caCertificate();
  });

  it('reads the profile: names (UTF-8), account, key, validity; binds exactly the 64-byte identity key', () => {
    const ca = verifyCaCertificate(nodeCrypto, caDer);
    expect(ca.organisation).toBe('Organização Ação');
    const c = verifyIdentityCertificate(nodeCrypto, ca, certDer);
    expect(c.commonName).toBe('João Gonçalves');
    expect(c.accountId).toEqual(account);
    expect(c.notAfter - c.notBefore).toBeGreaterThan(29 * 86_400_000);
    expect(bindsIdentityKey(nodeCrypto, c, ik)).toBe(true);
    // Another X25519 half (the same Ed25519 half) is not the certified identity.
    const other = Uint8Array.from(ik);
    other[40]! ^= 1;
    expect(bindsIdentityKey(nodeCrypto, c, other)).toBe(false);
    const otherSig = Uint8Array.from(ik);
    otherSig[3]! ^= 1;
    expect(bindsIdentityKey(nodeCrypto, c, otherSig)).toBe(false);
    const crl = verifyCrl(nodeCrypto, ca, crlDer);
    expect(crl.number).toBeGreaterThanOrEqual(1);
  });

  it('refuses a changed signature, another CA, a CA that is not one, and a CRL of another CA', () => {
    const ca = verifyCaCertificate(nodeCrypto, caDer);
    const otherCa = verifyCaCertificate(nodeCrypto, otherCaDer);
    const badSig = Uint8Array.from(certDer);
    badSig[badSig.length - 1]! ^= 1;
    invalid(() => verifyIdentityCertificate(nodeCrypto, ca, badSig));
    invalid(() => verifyIdentityCertificate(nodeCrypto, otherCa, certDer));
    invalid(() => verifyCaCertificate(nodeCrypto, certDer));
    invalid(() => verifyIdentityCertificate(nodeCrypto, ca, caDer));
    invalid(() => verifyCrl(nodeCrypto, otherCa, crlDer));
    const badCrl = Uint8Array.from(crlDer);
    badCrl[badCrl.length - 2]! ^= 1;
    invalid(() => verifyCrl(nodeCrypto, ca, badCrl));
    const badCa = Uint8Array.from(caDer);
    badCa[badCa.length - 1]! ^= 1;
    invalid(() => verifyCaCertificate(nodeCrypto, badCa));
  });

  it('refuses DER that is not minimal or has trailing bytes', () => {
    invalid(() => parseCertificate(Uint8Array.from([...certDer, 0])));
    // The outer length in a longer form than needed.
    const long = Uint8Array.from([0x30, 0x84, 0, 0, (certDer.length - 4) >> 8, (certDer.length - 4) & 0xff, ...certDer.subarray(4)]);
    invalid(() => parseCertificate(long));
    invalid(() => parseCertificate(new Uint8Array(0)));
  });

  it('mutated certificates and CRLs give CERTIFICATE_INVALID or a value, never another error', () => {
    const ca = verifyCaCertificate(nodeCrypto, caDer);
    const mutate = (base: Uint8Array) => fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 })).map(([at, byte, kind]) => {
      if (kind === 0) { const b = Uint8Array.from(base); b[at] = byte; return b; }
      if (kind === 1) return base.subarray(0, at);
      if (kind === 2) return Uint8Array.from([...base.subarray(0, at), byte, ...base.subarray(at)]);
      return Uint8Array.from([...base.subarray(0, at), ...base.subarray(at + 1)]);
    });
    const tolerant = (f: () => unknown) => {
      try { f(); } catch (e) { if (!(e instanceof ClientError)) throw e; }
    };
    fc.assert(fc.property(mutate(certDer), (b) => { tolerant(() => verifyIdentityCertificate(nodeCrypto, ca, b)); tolerant(() => verifyCaCertificate(nodeCrypto, b)); }), { numRuns: 1500 });
    fc.assert(fc.property(mutate(crlDer), (b) => { tolerant(() => verifyCrl(nodeCrypto, ca, b)); }), { numRuns: 1000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => { tolerant(() => parseCertificate(b)); tolerant(() => verifyCrl(nodeCrypto, ca, b)); }), { numRuns: 1000 });
  });
});
