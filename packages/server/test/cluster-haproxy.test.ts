/**
 * The README's two nodes behind HAProxy (spec/server.md §13), for real: two server processes on
 * one PostgreSQL schema and one Redis bus, Debian's haproxy passing TLS through, the node holding
 * a device killed with SIGKILL; the device reconnects through HAProxy to the other node and
 * receives everything sent meanwhile. Skipped (with a message) where haproxy is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { adminRequest } from '../src/admin-socket.js';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from './support/spawn.js';
import { tempDir } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';
import { TestClient, messageId, newDevice, type Device } from './support/test-client.js';

const services = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(services, 'HAProxy cluster (PostgreSQL and Redis)');
const noHaproxy = spawnSync('haproxy', ['-v']).status === 0 ? undefined : 'haproxy is not installed (apt install haproxy)';
if (noHaproxy) console.warn(`skipping the HAProxy cluster test: ${noHaproxy}`);
const unavailable = services ?? noHaproxy;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(unavailable !== undefined)(`two nodes behind HAProxy${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = randomSchema('sigilo_haproxy');
  const root = tempDir('haproxy');
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('a device whose node is killed reconnects through HAProxy to the other node and gets every message', async () => {
    const [p1, p2, front] = [await freePort(), await freePort(), await freePort()];
    const base = {
      'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema,
      'bus.url': REDIS_URL, 'bus.pollInterval': '1s',
    };
    const d1 = join(root, 'n1');
    const d2 = join(root, 'n2');
    const n1: SpawnedServer = await spawnServer(d1, { ...base, port: p1, 'bus.nodeId': 'n1' });
    children.push(n1.child);
    // Node 2 gets copies of node 1's keys (README, "Several nodes").
    mkdirSync(d2, { recursive: true, mode: 0o700 });
    cpSync(join(d1, 'tls'), join(d2, 'tls'), { recursive: true });
    copyFileSync(join(d1, 'certificate-key.json'), join(d2, 'certificate-key.json'));
    copyFileSync(join(d1, 'kt-log-key.json'), join(d2, 'kt-log-key.json'));
    const n2: SpawnedServer = await spawnServer(d2, { ...base, port: p2, 'bus.nodeId': 'n2', adminSocket: false });
    children.push(n2.child);
    expect(n2.tls.cert).toBe(n1.tls.cert);

    const cfg = join(root, 'haproxy.cfg');
    writeFileSync(cfg, [
      'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 1h', '  timeout server 1h', '  retries 3', '  option redispatch',
      'frontend sigilo', `  bind 127.0.0.1:${front}`, '  default_backend nodes',
      'backend nodes', '  balance leastconn', '  option httpchk GET /health', '  http-check expect status 200',
      `  server n1 127.0.0.1:${p1} check check-ssl verify none inter 500ms fall 2 rise 2`,
      `  server n2 127.0.0.1:${p2} check check-ssl verify none inter 500ms fall 2 rise 2`, '',
    ].join('\n'));
    const haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(haproxy);
    const via = { url: `wss://127.0.0.1:${front}/v1/ws`, tls: { cert: n1.tls.cert } };

    const connectVia = async (): Promise<TestClient> => {
      for (let i = 0; ; i++) {
        try {
          return await TestClient.connect(via);
        } catch (e) {
          if (i > 100) throw e;
          await new Promise((r) => setTimeout(r, 200)); // clients retry with backoff
        }
      }
    };
    const online = async (device: Device): Promise<TestClient> => {
      const c = await connectVia();
      expect((await c.authenticate(device)).body.case).toBe('authenticated');
      await c.waitForPush('queueEmpty', 20_000);
      return c;
    };

    // Two accounts, registered through HAProxy with invites made on node 1's admin socket.
    const register = async (): Promise<Device> => {
      const { code } = await adminRequest(d1, { op: 'invite' }) as { code: string };
      const c = await connectVia();
      const device = newDevice();
      expect((await c.register(device, code)).body.case).toBe('registered');
      await c.close();
      return device;
    };
    const alice = await register();
    const bob = await register();

    const bobConn = await online(bob);
    const redis = new Redis(REDIS_URL);
    const holder = await redis.get(`sigilo:${schema}:dev:${hex(bob.accountId!)}:1`);
    redis.disconnect();
    expect(['n1', 'n2']).toContain(holder);
    const [dying, living] = holder === 'n1' ? [n1, n2] : [n2, n1];
    const aliceConn = await TestClient.connect(living);
    expect((await aliceConn.authenticate(alice)).body.case).toBe('authenticated');

    await aliceConn.sendTo(bob.accountId!, [1], () => new Uint8Array([0]));
    await bobConn.waitForDeliveries(1, 20_000);
    await bobConn.ackAll();

    dying.child.kill('SIGKILL');
    await dying.exited;
    await bobConn.closed;
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = messageId();
      expect((await aliceConn.sendTo(bob.accountId!, [1], () => new Uint8Array([i]), id)).body.case).toBe('sendResult');
      ids.add(hex(id));
    }
    const again = await online(bob);
    expect(new Set(again.deliveries().map((d) => hex(d.messageId)))).toEqual(ids);
    // And live again, across the surviving node.
    await aliceConn.sendTo(bob.accountId!, [1], () => new Uint8Array([99]));
    await again.waitForDeliveries(51, 20_000);
  }, 120_000);
});
