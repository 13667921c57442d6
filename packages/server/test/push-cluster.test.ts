/**
 * Wake-up pushes on several nodes (spec/server.md §8.2, §13): a message stored
 * on node 1 for a device connected to node 2 rings node 2 and sends no push; a
 * device connected to no node gets its push. Two real servers over TLS on one
 * PostgreSQL schema and one Redis bus, and a push service played by an HTTPS
 * server in this process; skipped without PostgreSQL and Redis unless
 * SIGILO_REQUIRE_SERVICES=1.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../src/tls/self-signed.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';
import { TestClient, type Device } from './support/test-client.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(unavailable, 'push on several nodes (PostgreSQL and Redis)');

async function startPushService(): Promise<{ server: Server; origin: string; caFile: string; requests: string[] }> {
  const cert = generateSelfSignedCertificate({ commonName: 'push.test', names: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
  const caFile = join(tempDir('pushsvc'), 'ca.pem');
  writeFileSync(caFile, cert.certPem);
  const requests: string[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    req.resume();
    req.on('end', () => { requests.push(req.url!); res.writeHead(201).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile, requests };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)(`push on several nodes${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let schema = '';
  let nodes: TestServer[] = [];
  let svc: Awaited<ReturnType<typeof startPushService>> | undefined;

  afterEach(async () => {
    for (const n of nodes) await n.stop();
    nodes = [];
    svc?.server.close();
    if (schema) await dropSchema(schema);
  });

  it('pushes no wake-up for a device connected to another node, and one for a device connected to none', async () => {
    svc = await startPushService();
    schema = randomSchema('sigilo_pushcluster');
    const settings = {
      'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema,
      'bus.url': REDIS_URL, 'bus.pollInterval': '10m', 'push.ca': svc.caFile, 'push.subject': 'mailto:admin@sigilo.test', 'push.allowedHosts': '127.0.0.1',
    };
    nodes = [await startTestServer(settings), await startTestServer(settings)];
    const [n1, n2] = nodes as [TestServer, TestServer];
    const alice = await n1.account();
    const bob = await n1.account();
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const endpoint = `${svc.origin}/push/${randomBytes(12).toString('base64url')}`;
    expect((await bob.client.request({ case: 'setPushSubscription', value: { endpoint, p256dh: ecdh.getPublicKey(), auth: randomBytes(16) } })).body.case).toBe('ok');
    await bob.client.close();

    // Bob is connected to node 2; Alice sends through node 1, which has no connection of his.
    const bobOn2 = await TestClient.connect(n2.server);
    expect((await bobOn2.authenticate(bob.device as Device)).body.case).toBe('authenticated');
    await bobOn2.waitForPush('queueEmpty', 20_000);
    for (let i = 0; i < 3; i++) expect((await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i]))).body.case).toBe('sendResult');
    await bobOn2.waitForDeliveries(3, 20_000);
    await sleep(1500);
    expect(svc.requests).toEqual([]);
    expect(n2.server.cluster!.counts.wakesReceived).toBeGreaterThan(0);

    // Gone from every node: the next message wakes him by push.
    await bobOn2.close();
    const end = Date.now() + 15_000;
    while ((await n1.server.cluster!.online([Buffer.from(bob.device.accountId!).toString('hex')]))[0]) {
      if (Date.now() > end) throw new Error('node 1 still sees bob online');
      await sleep(50);
    }
    expect((await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([9]))).body.case).toBe('sendResult');
    const until = Date.now() + 15_000;
    while (svc.requests.length === 0 && Date.now() < until) await sleep(50);
    expect(svc.requests).toHaveLength(1);
  }, 90_000);
});
