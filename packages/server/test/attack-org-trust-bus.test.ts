/**
 * Attack on the CA/CRL relay between nodes (spec/trust.md §5): whoever can publish on the deployment's bus
 * (Redis here) sends `{t: "org"}` with a CA of their own. A device that has pinned no CA yet (the
 * organisation has none, or the device is new) pins the first CA it is sent, so such a relay must not be
 * pushed: a node pushes a relayed CA only when it is the one in its own identity CA directory. Two real
 * nodes on one PostgreSQL schema and one Redis bus. Skipped without PostgreSQL and Redis unless
 * SIGILO_REQUIRE_SERVICES=1.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRequest, IdentityCaDirectory } from '../src/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(unavailable, 'org trust relay attack (PostgreSQL and Redis)');

const B = (x: Uint8Array) => Buffer.from(x);

describe.skipIf(unavailable !== undefined)(`attack: a CA published on the bus${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let schema = '';
  let nodes: TestServer[] = [];
  const scratch: string[] = [];

  afterEach(async () => {
    for (const n of nodes) await n.stop();
    nodes = [];
    if (schema) await dropSchema(schema);
    for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function twoNodes(): Promise<[TestServer, TestServer]> {
    schema = randomSchema('sigilo_orgbus');
    const settings = { 'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema, 'bus.pollInterval': '60s', 'bus.url': REDIS_URL };
    nodes = [await startTestServer(settings), await startTestServer(settings)];
    return nodes as [TestServer, TestServer];
  }

  /** The attacker's CA (made like a real one, in a directory of their own) and what they publish on the bus. */
  async function rogueCa(): Promise<IdentityCaDirectory> {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-rogue-ca-'));
    scratch.push(dir);
    const ca = new IdentityCaDirectory(dir);
    await ca.init('Acme Logistics', { kind: 'file' }, new Date(), { certifiedIsVerified: true });
    return ca;
  }
  async function publishOnBus(ca: IdentityCaDirectory): Promise<void> {
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL);
    try {
      const p = ca.published()!;
      await r.publish(`sigilo:${schema}:all`, JSON.stringify({ t: 'org', ca: B(p.ca).toString('base64'), crl: B(p.crl).toString('base64'), from: 'intruder' }));
    } finally {
      r.disconnect();
    }
  }

  it('with no CA in the organisation, a CA from the bus is pushed to no device', async () => {
    const [n1, n2] = await twoNodes();
    const ana = await n1.account();
    const bob = await n2.account();
    await publishOnBus(await rogueCa());
    await expect(bob.client.waitForPush('orgTrust', 2_000)).rejects.toThrow();
    await expect(ana.client.waitForPush('orgTrust', 500)).rejects.toThrow();
  });

  it("with the organisation's CA on every node, another CA from the bus is not pushed; the real relay still is", async () => {
    const [n1, n2] = await twoNodes();
    const bob = await n2.account();
    const ca = new IdentityCaDirectory(n1.dataDir);
    await ca.init('Acme Logistics', { kind: 'file' }, new Date());
    cpSync(ca.dir, join(n2.dataDir, 'identity-ca'), { recursive: true });
    await publishOnBus(await rogueCa());
    await expect(bob.client.waitForPush('orgTrust', 2_000)).rejects.toThrow();
    const r = await adminRequest(n1.dataDir, { op: 'publish-org-trust' }) as { relayed: boolean };
    expect(r.relayed).toBe(true);
    expect(B((await bob.client.waitForPush('orgTrust', 5_000)).caCertificate)).toEqual(B(ca.caCertificate()));
  });
});
