/**
 * Several nodes on one PostgreSQL schema and one Redis bus (spec/server.md §10): delivery
 * across nodes through a wake-up, nothing lost when the bus drops or a node is killed, the
 * one-connection-per-device rule, revocation and device linking across nodes, prekeys.
 * Real servers over TLS, real PostgreSQL and Redis; skipped without them unless SIGILO_REQUIRE_SERVICES=1.
 */
import { decodePreKeyBundle, usernameHash } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBus, type RedisBus } from '../src/bus.js';
import { CLOSE_CODES } from '../src/connection.js';
import { PostgresStorage } from '../src/storage/postgres.js';
import { spawnServer, type SpawnedServer } from './support/spawn.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';
import { TestClient, messageId, newDevice, type Device } from './support/test-client.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(unavailable, 'cluster (PostgreSQL and Redis)');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

describe.skipIf(unavailable !== undefined)(`several nodes${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let schema = '';
  let nodes: TestServer[] = [];
  let spawned: SpawnedServer[] = [];
  const dirs: string[] = [];

  const settings = (pollInterval: string) => ({
    'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema,
    'bus.url': REDIS_URL, 'bus.pollInterval': pollInterval,
  });

  async function twoNodes(pollInterval = '60s', extra: Record<string, unknown> = {}): Promise<[TestServer, TestServer]> {
    schema = randomSchema('sigilo_cluster');
    nodes = [await startTestServer({ ...settings(pollInterval), ...extra }), await startTestServer({ ...settings(pollInterval), ...extra })];
    return nodes as [TestServer, TestServer];
  }

  /** The device on a new connection to `node`, its queue drained. */
  async function online(node: { url: string; tls: { cert: string } }, device: Device): Promise<TestClient> {
    const c = await TestClient.connect(node);
    const f = await c.authenticate(device);
    if (f.body.case !== 'authenticated') throw new Error(`authentication failed: ${f.body.case}`);
    await c.waitForPush('queueEmpty', 20_000);
    return c;
  }

  afterEach(async () => {
    for (const n of nodes) await n.stop();
    for (const s of spawned) { s.child.kill('SIGKILL'); await s.exited; }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    nodes = [];
    spawned = [];
    if (schema) await dropSchema(schema);
  });

  it('delivers from a sender on node 1 to a recipient on node 2 through a wake-up (no poll)', async () => {
    const [n1, n2] = await twoNodes('10m');
    const alice = await n1.account();
    const bob = await n1.account();
    await bob.client.close();
    const bobOn2 = await online(n2.server, bob.device);
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const r = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i % 256]));
      expect(r.body.case).toBe('sendResult');
      await bobOn2.waitForDeliveries(i + 1, 10_000);
      latencies.push(performance.now() - t0);
    }
    // The same on one node (both on node 2), for comparison: what the wake-up adds.
    const carol = await n2.account();
    const local: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await carol.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i % 256]));
      await bobOn2.waitForDeliveries(201 + i, 10_000);
      local.push(performance.now() - t0);
    }
    console.log(`send -> delivery over 200 messages: across nodes p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms;`
      + ` same node p50 ${pct(local, 0.5).toFixed(1)} ms, p99 ${pct(local, 0.99).toFixed(1)} ms`);
    expect(new Set(bobOn2.deliveries().map((d) => d.serverId)).size).toBe(400);
    // The poll is 10 minutes: every delivery came from a wake-up. Generous bound for a loaded machine.
    expect(pct(latencies, 0.5)).toBeLessThan(1000);
    expect(n2.server.cluster!.counts.wakesReceived).toBeGreaterThan(0);
  }, 120_000);

  it('two nodes in one process sharing the in-process bus (LocalBus) deliver across nodes', async () => {
    schema = randomSchema('sigilo_cluster');
    const bus = new LocalBus();
    const base = { 'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema, 'bus.pollInterval': '10m' };
    nodes = [await startTestServer(base, { bus, nodeId: 'one' }), await startTestServer(base, { bus, nodeId: 'two' })];
    const [n1, n2] = nodes as [TestServer, TestServer];
    const alice = await n1.account();
    const bob = await n1.account();
    await bob.client.close();
    const bobOn2 = await online(n2.server, bob.device);
    for (let i = 0; i < 20; i++) expect((await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i]))).body.case).toBe('sendResult');
    await bobOn2.waitForDeliveries(20, 20_000);
    expect(n2.server.cluster!.counts.wakesReceived).toBeGreaterThan(0);
    expect(n2.server.cluster!.nodeId).toBe('two');
  }, 60_000);

  it('relays online-only messages (typing) to a device on the other node, and stores none', async () => {
    const [n1, n2] = await twoNodes();
    const alice = await n1.account();
    const bob = await n1.account();
    await bob.client.close();
    const bobOn2 = await online(n2.server, bob.device);
    const id = messageId();
    const f = await alice.client.request({ case: 'send', value: { recipientAccountId: bob.device.accountId!, messageId: id, onlineOnly: true, messages: [{ deviceId: 1, content: new Uint8Array([7, 7]) }] } });
    expect(f.body.case).toBe('sendResult');
    const [d] = await bobOn2.waitForDeliveries(1, 20_000);
    expect(Buffer.from(d!.messageId)).toEqual(Buffer.from(id));
    expect([...d!.content]).toEqual([7, 7]);
    expect(d!.senderAccountId).toEqual(alice.device.accountId);
    expect(await n1.server.storage.queueDepth()).toBe(0);
  }, 60_000);

  it("shows a member connected to the other node as online in the member directory, and offline once gone", async () => {
    const [n1, n2] = await twoNodes('60s', { 'directory.mode': 'members', 'directory.lookupsPerHour': 100_000 });
    const ana = await n1.account();
    await ana.client.expectOk({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, 'ana.lopez') } }, 'ok');
    await ana.client.expectOk({ case: 'directoryPublish', value: { username: 'ana.lopez', name: 'Ana' } }, 'ok');
    await ana.client.close();
    const anaOn2 = await online(n2.server, ana.device);
    const bruno = await n1.account();
    const search = async () => (await bruno.client.expectOk({ case: 'directorySearch', value: { query: 'ana' } }, 'directoryEntries')).entries.map((e) => e.online);
    // Presence is written asynchronously: wait (bounded) for each state.
    const eventually = async (want: boolean) => {
      const end = Date.now() + 10_000;
      let seen = await search();
      while (seen[0] !== want && Date.now() < end) { await new Promise((r) => setTimeout(r, 100)); seen = await search(); }
      return seen;
    };
    expect(await eventually(true)).toEqual([true]);
    await anaOn2.close();
    const seen = await eventually(false);
    expect(seen).toEqual([false]);
  }, 60_000);

  it('loses nothing when the bus connection drops during traffic: the poll catches up', async () => {
    const [n1, n2] = await twoNodes('1s');
    const alice = await n1.account();
    const bob = await n1.account();
    await bob.client.close();
    const bobOn2 = await online(n2.server, bob.device);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      if (i === 30) {
        (n1.server.cluster!.bus as RedisBus).simulateDisconnect();
        (n2.server.cluster!.bus as RedisBus).simulateDisconnect();
      }
      sends.push(alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i])));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const results = await Promise.all(sends) as { body: { case: string } }[];
    expect(results.every((r) => r.body.case === 'sendResult')).toBe(true);
    await bobOn2.waitForDeliveries(100, 30_000);
    expect(new Set(bobOn2.deliveries().map((d) => d.serverId)).size).toBe(100);
  }, 60_000);

  it('closes the older connection of a device that connects again on another node (REPLACED)', async () => {
    const [n1, n2] = await twoNodes();
    const bob = await n1.account();
    await bob.client.waitForPush('queueEmpty');
    const again = await online(n2.server, bob.device);
    expect((await bob.client.waitForPush('closing', 20_000)).reason).toBe(CloseReason.REPLACED);
    expect((await bob.client.closed).code).toBe(CLOSE_CODES[CloseReason.REPLACED]);
    // The new one stays and works.
    expect((await again.request({ case: 'ping', value: {} })).body.case).toBe('pong');
  }, 60_000);

  it('closes a revoked device on whichever node holds its connection', async () => {
    const [n1, n2] = await twoNodes();
    const bob = await n1.account();
    await bob.client.close();
    const bobOn2 = await online(n2.server, bob.device);
    const r = await n1.server.admin.revokeDevice(hex(bob.device.accountId!), 1);
    expect(r.revoked).toBe(true);
    expect((await bobOn2.waitForPush('closing', 20_000)).reason).toBe(CloseReason.DEVICE_REVOKED);
    expect((await bobOn2.closed).code).toBe(CLOSE_CODES[CloseReason.DEVICE_REVOKED]);
  }, 60_000);

  it('links a device waiting on node 2 from a device on node 1 (provisioning relay across nodes)', async () => {
    const [n1, n2] = await twoNodes();
    const alice = await n1.account();
    const fresh = await n2.connect();
    const { address } = await fresh.expectOk({ case: 'provisionListen', value: {} }, 'provisionAddress');
    const body = randomBytes(200);
    await alice.client.expectOk({ case: 'provisionSend', value: { address, body } }, 'ok');
    expect(Buffer.from((await fresh.waitForPush('provisionDeliver', 20_000)).body)).toEqual(body);
    // The new device registers itself through node 2 and appears for the account on node 1.
    const linked = newDevice(alice.device.identity);
    expect((await fresh.link(linked, alice.device.accountId!)).body.case).toBe('registered');
    expect((await alice.client.expectOk({ case: 'listDevices', value: {} }, 'devices')).devices.map((d) => d.deviceId)).toContain(2);
    // An address no node holds: NOT_FOUND, as on one node.
    const gone = await alice.client.request({ case: 'provisionSend', value: { address: randomBytes(16), body } });
    expect(gone.body.case).toBe('error');
  }, 60_000);

  it('never hands out the same one-time prekey to concurrent fetches on both nodes', async () => {
    const [n1, n2] = await twoNodes();
    const bob = await n1.account({ preKeys: true }); // 20 one-time prekeys
    const fetchers = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? n2 : n1).account()));
    const results = await Promise.all(fetchers.map((f) => f.client.expectOk({ case: 'fetchBundles', value: { accountId: bob.device.accountId! } }, 'bundles')));
    const ids = results.flatMap((r) => r.bundles.map(decodePreKeyBundle)).flatMap((b) => (b.oneTimePreKey ? [b.oneTimePreKey.id] : []));
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  }, 60_000);

  it('runs the retention sweep on one node at a time (advisory lock)', async () => {
    schema = randomSchema('sigilo_cluster');
    const a = new PostgresStorage({ connectionString: POSTGRES_URL, schema });
    const b = new PostgresStorage({ connectionString: POSTGRES_URL, schema });
    try {
      await a.ready();
      await b.ready();
      let release!: () => void;
      const held = a.exclusive('retention-sweep', () => new Promise<string>((r) => { release = () => r('a'); }));
      await new Promise((r) => setTimeout(r, 200));
      expect(await b.exclusive('retention-sweep', async () => 'b')).toBeUndefined();
      release();
      expect(await held).toBe('a');
      expect(await b.exclusive('retention-sweep', async () => 'b')).toBe('b');
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);

  it('delivers every acknowledged message exactly once after the node holding the recipient is killed (kill -9)', async () => {
    schema = randomSchema('sigilo_cluster');
    const overrides = { ...settings('1s'), adminSocket: false };
    const dirA = tempDir('node-a');
    const dirB = tempDir('node-b');
    dirs.push(dirA, dirB);
    // Node A in this process (for the invite), node B as a child process to kill.
    nodes = [await startTestServer(overrides, {}, dirA)];
    const a = nodes[0]!;
    const b = await spawnServer(dirB, overrides);
    spawned.push(b);
    const alice = await a.account();
    const bob = await a.account();
    await bob.client.close();
    const bobOnB = await online(b, bob.device);

    const acknowledged = new Set<string>();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const id = messageId();
      sends.push(alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i % 256]), id).then((r) => {
        if (r.body.case === 'sendResult') acknowledged.add(hex(id));
      }, () => {}));
      if (i === 150) {
        await bobOnB.waitForDeliveries(1, 20_000);
        b.child.kill('SIGKILL');
        await b.exited;
      }
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(sends);
    expect(acknowledged.size).toBe(300); // the sender's node never died
    const bobOnA = await online(a.server, bob.device);
    const got = bobOnA.deliveries().map((d) => hex(d.messageId));
    expect(new Set(got)).toEqual(acknowledged);
    expect(got).toHaveLength(acknowledged.size); // exactly once
  }, 120_000);
});
