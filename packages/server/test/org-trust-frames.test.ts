/**
 * The identity CA's frames over real TLS/WebSocket (spec/trust.md §5): GetOrgTrust and
 * GetCertificates as the files are, their limits as typed errors, and the push that
 * `sigilo admin ca` triggers through the admin socket reaching every connected device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificationRequestPayload } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
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
    // Nothing to request certification from.
    const r = await a.client.request(certRequest(a.device, 'Ana Silva'));
    expect(r.body.case === 'error' && r.body.value.code).toBe(110); // NO_IDENTITY_CA
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

  it('queues a device\'s certification request signed by its identity key; refuses forged, re-targeted, stale and badly named ones with typed errors', async () => {
    const errorCode = async (body: ReturnType<typeof certRequest>) => {
      const f = await a.client.request(body);
      return f.body.case === 'error' ? f.body.value.code : f.body.case;
    };
    // Signed by another identity (b's key on a's connection): INVALID_SIGNATURE.
    const forged = certRequest(a.device, 'Ana Silva');
    const byB = certificationRequestPayload(a.device.accountId!, a.device.deviceId!, a.device.identity.publicKey, Number(forged.value.createdAt), 'Ana Silva');
    expect(await errorCode({ ...forged, value: { ...forged.value, signature: nodeCrypto.ed25519Sign(b.device.identity.signing.privateKey, byB) } })).toBe(9);
    // Signed for another device id, or another name than the one sent: INVALID_SIGNATURE.
    expect(await errorCode(certRequest(a.device, 'Ana Silva', { deviceId: a.device.deviceId! + 1 }))).toBe(9);
    expect(await errorCode({ ...forged, value: { ...forged.value, name: 'Bruno Silva' } })).toBe(9);
    // A name the certificate could not carry, a time far from the server's, a short signature: INVALID_ARGUMENT.
    expect(await errorCode(certRequest(a.device, 'Silva, Ana'))).toBe(8);
    expect(await errorCode(certRequest(a.device, 'Ana Silva', { createdAt: Date.now() - 3_600_000 }))).toBe(8);
    expect(await errorCode({ ...forged, value: { ...forged.value, signature: new Uint8Array(10) } })).toBe(8);
    expect(await t.server.storage.listCertificationRequests()).toEqual([]);
    // A good one is queued under the session's account and device; a second replaces it.
    const first = await a.client.expectOk(certRequest(a.device, 'Ana Silva'), 'certificationRequested');
    const second = await a.client.expectOk(certRequest(a.device, 'Ana M. Silva'), 'certificationRequested');
    expect(second.replaced).toBe(true);
    expect(second.requestId).toBeGreaterThan(first.requestId);
    const pending = await t.server.admin.certificationRequests();
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ requestId: Number(second.requestId), name: 'Ana M. Silva', deviceId: a.device.deviceId, keyIsCurrent: true });
    expect(pending[0]!.accountIdHex).toBe(Buffer.from(a.device.accountId!).toString('hex'));
    // Covered by the data-protection export and the deep audit.
    const exported = await t.server.admin.exportAccount(Buffer.from(a.device.accountId!).toString('hex'));
    expect(exported.tables.certification_requests).toEqual([expect.objectContaining({ name: 'Ana M. Silva' })]);
    const audit = await t.server.admin.deepAudit();
    expect(audit.kinds.find((k) => k.where === 'certification_requests')).toMatchObject({ count: 1 });
    expect(audit.findings.filter((f) => f.where.startsWith('certification_requests'))).toEqual([]);
    // Over the admin socket as `sigilo admin ca reject` uses it.
    expect(await adminRequest(t.dataDir, { op: 'ca-request-close', requestId: Number(second.requestId) })).toEqual({ closed: true });
    expect(await t.server.admin.certificationRequests()).toEqual([]);
  });

  it('refuses more than 256 accounts and ids of the wrong length (INVALID_ARGUMENT)', async () => {
    const many = Array.from({ length: 257 }, () => new Uint8Array(16));
    const f = await a.client.request({ case: 'getCertificates', value: { accountIds: many } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(8);
    const g = await a.client.request({ case: 'getCertificates', value: { accountIds: [new Uint8Array(15)] } });
    expect(g.body.case === 'error' && g.body.value.code).toBe(8);
  });
});

/** A RequestCertification frame signed by the device's identity key (`over` changes what is signed, not what is sent). */
function certRequest(d: Device, name: string, over: { deviceId?: number; createdAt?: number } = {}) {
  const createdAt = over.createdAt ?? Date.now();
  const payload = certificationRequestPayload(d.accountId!, over.deviceId ?? d.deviceId!, d.identity.publicKey, createdAt, name);
  return { case: 'requestCertification' as const, value: { name, createdAt: BigInt(createdAt), signature: nodeCrypto.ed25519Sign(d.identity.signing.privateKey, payload) } };
}
