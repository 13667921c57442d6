/**
 * A revocation reaches devices on every node (spec/trust.md §5): two real nodes on one PostgreSQL
 * schema and one Redis bus; `sigilo admin ca revoke` runs against node 1's data directory and its admin
 * socket, and a device connected to node 2 gets the new CRL pushed within seconds, not at its next
 * connection. Skipped without PostgreSQL and Redis unless SIGILO_REQUIRE_SERVICES=1.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRequest, IdentityCaDirectory } from '../src/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(unavailable, 'org trust across nodes (PostgreSQL and Redis)');

const B = (x: Uint8Array) => Buffer.from(x);

describe.skipIf(unavailable !== undefined)(`the CRL on every node${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let schema = '';
  let nodes: TestServer[] = [];

  afterEach(async () => {
    for (const n of nodes) await n.stop();
    nodes = [];
    if (schema) await dropSchema(schema);
  });

  async function twoNodes(bus: boolean): Promise<[TestServer, TestServer]> {
    schema = randomSchema('sigilo_orgtrust');
    const settings = { 'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema, 'bus.pollInterval': '60s', ...(bus ? { 'bus.url': REDIS_URL } : {}) };
    nodes = [await startTestServer(settings), await startTestServer(settings)];
    return nodes as [TestServer, TestServer];
  }

  it('a revocation published on node 1 is pushed to a device on node 2 (its copy of the CA directory still old)', async () => {
    const [n1, n2] = await twoNodes(true);
    const ana = await n1.account();
    const bob = await n2.account();
    const ca = new IdentityCaDirectory(n1.dataDir);
    await ca.init('Acme Logistics', { kind: 'file' }, new Date());
    const signer = ca.openSigner(undefined);
    await ca.certify(signer, { accountId: ana.device.accountId!, identityKey: ana.device.identity.publicKey, name: 'Ana', days: 30 }, new Date());
    // Node 2 holds a copy of the directory made before the revocation.
    cpSync(ca.dir, join(n2.dataDir, 'identity-ca'), { recursive: true });
    const before = await bob.client.expectOk({ case: 'getOrgTrust', value: {} }, 'orgTrust');
    const { crl } = await ca.revoke(signer, { accountId: ana.device.accountId! }, new Date());
    signer.close();
    expect(B(before.crl)).not.toEqual(B(crl));
    const t0 = performance.now();
    const r = await adminRequest(n1.dataDir, { op: 'publish-org-trust' }) as { pushed: number; relayed: boolean };
    expect(r).toEqual({ pushed: 1, relayed: true });
    const pushed = await bob.client.waitForPush('orgTrust', 5_000);
    const ms = performance.now() - t0;
    expect(B(pushed.crl)).toEqual(B(crl));
    expect(B(pushed.caCertificate)).toEqual(B(ca.caCertificate()));
    expect(B((await ana.client.waitForPush('orgTrust', 5_000)).crl)).toEqual(B(crl));
    console.log(`org trust across nodes: publish on node 1 -> push on node 2 in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(5_000);
  });

  it('without the bus the other node pushes nothing (what the relay adds)', async () => {
    const [n1, n2] = await twoNodes(false);
    const bob = await n2.account();
    const ca = new IdentityCaDirectory(n1.dataDir);
    await ca.init('Acme Logistics', { kind: 'file' }, new Date());
    const r = await adminRequest(n1.dataDir, { op: 'publish-org-trust' }) as { pushed: number; relayed: boolean };
    expect(r).toEqual({ pushed: 0, relayed: false });
    await expect(bob.client.waitForPush('orgTrust', 1_500)).rejects.toThrow();
  });
});
