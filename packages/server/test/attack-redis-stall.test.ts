/**
 * Attack: Redis that stops answering without closing its connection (overloaded, paused, a network path that
 * drops packets) must not stall the cluster's sends. shared-limits.ts promises that while the bus does not answer,
 * the node's own buckets decide and sends are never stalled; a hung connection never errors, so without a deadline
 * every Send waited for Redis forever. A real server over TLS on PostgreSQL with its bus on the real Redis, through a TCP relay
 * this test freezes.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
const schema = randomSchema('sigilo_stall');
requireService(unavailable, 'Redis stall (PostgreSQL and Redis)');

let relay: Server;
let frozen = false;
const sockets: Socket[] = [];
let t: TestServer | undefined;

beforeAll(async () => {
  if (unavailable) return;
  const target = new URL(REDIS_URL);
  relay = createServer((c) => {
    const r = createConnection(Number(target.port || 6379), target.hostname);
    sockets.push(c, r);
    c.on('data', (d) => { if (!frozen) r.write(d); });
    r.on('data', (d) => { if (!frozen) c.write(d); });
    c.on('error', () => r.destroy());
    r.on('error', () => c.destroy());
    c.on('close', () => r.destroy());
    r.on('close', () => c.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as { port: number }).port;
  t = await startTestServer({
    'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema, 'bus.url': `redis://127.0.0.1:${port}`,
  });
}, 60_000);

afterAll(async () => {
  frozen = false;
  await t?.stop();
  for (const s of sockets) s.destroy();
  relay?.close();
  if (!unavailable) await dropSchema(schema);
});

it.skipIf(unavailable !== undefined)('a send is answered while Redis hangs', async () => {
  const bob = await t!.account();
  const alice = await t!.account();
  const before = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([1]));
  expect(before.body.case).toBe('sendResult');
  frozen = true;
  const started = performance.now();
  const during = await Promise.race([
    alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([2])),
    new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 8000)),
  ]);
  expect(during === 'stalled' ? 'stalled' : during.body.case).toBe('sendResult');
  console.log(`send answered ${(performance.now() - started).toFixed(0)} ms after Redis stopped answering`);
}, 60_000);
