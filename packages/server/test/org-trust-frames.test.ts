/**
 * The identity CA's frames over real TLS/WebSocket (spec/trust.md §5): GetOrgTrust and
 * GetCertificates as the files are, their limits as typed errors, and the push that
 * `sigilo admin ca` triggers through the admin socket reaching every connected device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest, IdentityCaDirectory } from '../src/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import type { TestClient, Device } from './support/test-client.js';

describe('GetOrgTrust, GetCertificates and the OrgTrust push', () => {
  let t: TestServer;
  let a: { client: TestClient; device: Device };
  let b: { client: TestClient; device: Device };

  beforeAll(async () => {
    t = await startTestServer();
    a = await t.account();
    b = await t.account();
  });
  afterAll(async () => { await t?.stop(); });

  it('without a CA both answers are empty', async () => {
    const trust = await a.client.expectOk({ case: 'getOrgTrust', value: {} }, 'orgTrust');
    expect(trust.caCertificate.length).toBe(0);
    expect(trust.crl.length).toBe(0);
    const certs = await a.client.expectOk({ case: 'getCertificates', value: { accountIds: [a.device.accountId!] } }, 'certificates');
    expect(certs.certificates).toEqual([]);
  });

  it('serves the CA, the CRL and an account\'s certificate as the files hold them; the admin socket push reaches every device', async () => {
    const ca = new IdentityCaDirectory(t.dataDir);
    await ca.init('Acme Logistics', { kind: 'file' }, new Date());
    const signer = ca.openSigner(undefined);
    const { der } = await ca.certify(signer, { accountId: a.device.accountId!, identityKey: a.device.identity.publicKey, name: 'Ana', days: 30 }, new Date());
    signer.close();
    const trust = await b.client.expectOk({ case: 'getOrgTrust', value: {} }, 'orgTrust');
    const B = (x: Uint8Array) => Buffer.from(x);
    expect(B(trust.caCertificate)).toEqual(B(ca.caCertificate()));
    expect(B(trust.crl)).toEqual(B(ca.published()!.crl));
    const certs = await b.client.expectOk({ case: 'getCertificates', value: { accountIds: [a.device.accountId!, b.device.accountId!] } }, 'certificates');
    expect(certs.certificates.map(B)).toEqual([B(der)]);
    // What `sigilo admin ca revoke` does after writing the new CRL.
    const again = ca.openSigner(undefined);
    const { crl } = await ca.revoke(again, { accountId: a.device.accountId! }, new Date());
    again.close();
    const r = await adminRequest(t.dataDir, { op: 'publish-org-trust' }) as { pushed: number };
    expect(r.pushed).toBe(2);
    for (const c of [a.client, b.client]) expect(B((await c.waitForPush('orgTrust', 5_000)).crl)).toEqual(B(crl));
    // A data-protection export names the account's certificates (the current one with its PEM).
    const exported = await t.server.admin.exportAccount(Buffer.from(a.device.accountId!).toString('hex')) as { identityCertificates?: { name: string; reason?: string; pem?: string }[] };
    expect(exported.identityCertificates).toEqual([expect.objectContaining({ name: 'Ana', reason: 'revoked' })]);
    expect(exported.identityCertificates![0]!.pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // The deep audit lists them as what they are.
    const audit = await t.server.admin.deepAudit();
    expect(audit.kinds.find((k) => k.where === 'identity-ca/')).toMatchObject({ count: 1, note: '1 revoked' });
  });

  it('refuses more than 256 accounts and ids of the wrong length (INVALID_ARGUMENT)', async () => {
    const many = Array.from({ length: 257 }, () => new Uint8Array(16));
    const f = await a.client.request({ case: 'getCertificates', value: { accountIds: many } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(8);
    const g = await a.client.request({ case: 'getCertificates', value: { accountIds: [new Uint8Array(15)] } });
    expect(g.body.case === 'error' && g.body.value.code).toBe(8);
  });
});
