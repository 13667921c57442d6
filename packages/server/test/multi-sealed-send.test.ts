/**
 * MultiSealedSend (spec/server.md §5.2) against a real TLS server: one shared
 * payload for many accounts, a header per account, delivered live and from the
 * queue, all or nothing, idempotent, no sender stored, durable across kill -9.
 */
import { ErrorCode, type Deliver, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-socket.js';
import type { InviteInfo } from '../src/services/admin.js';
import type { Storage } from '../src/storage/port.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { spawnServer, type SpawnedServer } from './support/spawn.js';
import { TestClient, messageId, newDevice, type Device } from './support/test-client.js';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Member {
  readonly accountId: Uint8Array;
  readonly devices: Device[];
  readonly accessKey: Uint8Array;
  readonly header: Uint8Array;
}

interface Recipient { accountId: Uint8Array; deviceIds: number[]; header: Uint8Array; accessKey: Uint8Array }

const recipientOf = (m: Member, over: Partial<Recipient> = {}): Recipient => ({
  accountId: m.accountId, deviceIds: m.devices.map((d) => d.deviceId!), header: m.header, accessKey: m.accessKey, ...over,
});

function multiSend(client: TestClient, recipients: Recipient[], o: { id?: Uint8Array; payload?: Uint8Array; onlineOnly?: boolean } = {}): Promise<ServerFrame> {
  return client.request({
    case: 'multiSealedSend',
    value: { messageId: o.id ?? messageId(), sharedPayload: o.payload ?? rnd(300), recipients, onlineOnly: o.onlineOnly ?? false },
  });
}

function errorOf(f: ServerFrame) {
  if (f.body.case !== 'error') throw new Error(`expected an error, got ${f.body.case}`);
  return f.body.value;
}

/** Registers an account with `devices` devices (the first through t.account) and an access key. */
async function member(t: TestServer, devices: number): Promise<Member> {
  const first = await t.account();
  const accessKey = rnd(16);
  await first.client.expectOk({ case: 'setAccessKey', value: { accessKey } }, 'ok');
  await first.client.close();
  const all = [first.device];
  for (let i = 1; i < devices; i++) {
    const d = newDevice(first.device.identity);
    const c = await t.connect();
    expect((await c.link(d, first.device.accountId!)).body.case).toBe('registered');
    await c.close();
    all.push(d);
  }
  return { accountId: first.device.accountId!, devices: all, accessKey, header: rnd(64) };
}

/** Connects and authenticates every device of the members; resolves once each queue was drained. */
async function online(t: TestServer | SpawnedServer, members: Member[]): Promise<Map<Device, TestClient>> {
  const out = new Map<Device, TestClient>();
  for (const m of members) {
    for (const d of m.devices) {
      const c = 'connect' in t ? await t.connect() : await TestClient.connect(t);
      expect((await c.authenticate(d)).body.case).toBe('authenticated');
      await c.waitForPush('queueEmpty');
      out.set(d, c);
    }
  }
  return out;
}

async function closeAll(conns: Map<Device, TestClient>): Promise<void> {
  await Promise.all([...conns.values()].map((c) => c.close()));
}

async function sharedPayloadRows(storage: Storage): Promise<number> {
  return (await storage.audit(Date.now())).tables.find((x) => x.table === 'shared_payloads')!.rows;
}

function expectDelivery(d: Deliver | undefined, m: Member, id: Uint8Array, payload: Uint8Array): void {
  expect(d).toBeDefined();
  expect(d!.sealed).toBe(true);
  expect(d!.senderAccountId).toHaveLength(0);
  expect(d!.senderDeviceId).toBe(0);
  expect(hex(d!.messageId)).toBe(hex(id));
  expect(hex(d!.content)).toBe(hex(payload));
  expect(hex(d!.recipientHeader)).toBe(hex(m.header));
}

describe('multi-recipient sealed send', () => {
  let t: TestServer;
  let a: Member; // one device
  let b: Member; // two devices
  let c: Member; // two devices
  let everyone: Member[];
  const depth = () => t.server.storage.queueDepth();

  beforeAll(async () => {
    t = await startTestServer();
    a = await member(t, 1);
    b = await member(t, 2);
    c = await member(t, 2);
    everyone = [a, b, c];
  });
  afterAll(async () => { await t.stop(); });

  it('reaches every device live with its account header and the one shared payload; acks delete it', async () => {
    const conns = await online(t, everyone);
    const anon = await t.connect(); // never authenticated
    const id = messageId();
    const payload = rnd(300);
    const r = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id, payload });
    expect(r.body.case === 'sendResult' && r.body.value.duplicate).toBe(false);
    const serverIds = new Set<bigint>();
    for (const m of everyone) {
      for (const d of m.devices) {
        const [delivery] = await conns.get(d)!.waitForDeliveries(1);
        expectDelivery(delivery, m, id, payload);
        expect(delivery!.serverId).toBeGreaterThan(0n);
        serverIds.add(delivery!.serverId);
      }
    }
    expect(serverIds.size).toBe(5); // one queue row per device
    expect(await depth()).toBe(5);
    expect(await sharedPayloadRows(t.server.storage)).toBe(1); // the payload is stored once
    for (const conn of conns.values()) await conn.ackAll();
    expect(await depth()).toBe(0);
    expect(await sharedPayloadRows(t.server.storage)).toBe(0);
    await closeAll(conns);
    await anon.close();
  });

  it('is queued for offline devices and delivered from the queue on reconnect', async () => {
    const anon = await t.connect();
    const id = messageId();
    const payload = rnd(500);
    expect((await multiSend(anon, everyone.map((m) => recipientOf(m)), { id, payload })).body.case).toBe('sendResult');
    expect(await depth()).toBe(5);
    const conns = await online(t, everyone);
    for (const m of everyone) for (const d of m.devices) expectDelivery(conns.get(d)!.deliveries()[0], m, id, payload);
    const list = [...conns.values()];
    for (const conn of list.slice(0, -1)) await conn.ackAll();
    expect(await sharedPayloadRows(t.server.storage)).toBe(1); // one device still needs it
    await list.at(-1)!.ackAll();
    expect(await depth()).toBe(0);
    expect(await sharedPayloadRows(t.server.storage)).toBe(0);
    await closeAll(conns);
  });

  it("a wrong device list for one account is refused naming exactly that account, and nothing is queued for anyone", async () => {
    const anon = await t.connect();
    const id = messageId();
    const f = await multiSend(anon, [recipientOf(a), recipientOf(b, { deviceIds: [b.devices[0]!.deviceId!] }), recipientOf(c)], { id });
    const e = errorOf(f);
    expect(e.code).toBe(ErrorCode.STALE_DEVICES);
    expect(e.message).toMatch(/nothing was queued.*send again/);
    expect(e.staleAccounts).toHaveLength(1);
    expect(hex(e.staleAccounts[0]!.accountId)).toBe(hex(b.accountId));
    expect(e.staleAccounts[0]).toMatchObject({ currentDeviceIds: [1, 2], missingDeviceIds: [2], extraDeviceIds: [] });
    expect(e.unauthorizedAccountIds).toHaveLength(0);
    expect(await depth()).toBe(0);
    expect(await sharedPayloadRows(t.server.storage)).toBe(0);

    // Two wrong lists: both named, each with its own difference.
    const two = errorOf(await multiSend(anon, [recipientOf(a), recipientOf(b, { deviceIds: [1] }), recipientOf(c, { deviceIds: [1, 2, 9] })], { id }));
    expect(two.staleAccounts.map((s) => [hex(s.accountId), s.missingDeviceIds, s.extraDeviceIds])).toEqual([[hex(b.accountId), [2], []], [hex(c.accountId), [], [9]]]);
    expect(await depth()).toBe(0);

    // The refused attempts left no trace: the corrected send with the same id is stored.
    const ok = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id });
    expect(ok.body.case === 'sendResult' && ok.body.value.duplicate).toBe(false);
    expect(await depth()).toBe(5);
    const conns = await online(t, everyone);
    for (const conn of conns.values()) await conn.ackAll();
    await closeAll(conns);
    expect(await depth()).toBe(0);
  });

  it('a wrong access key for one account is refused listing it, and nothing is queued for anyone', async () => {
    const anon = await t.connect();
    const e = errorOf(await multiSend(anon, [recipientOf(a), recipientOf(b), recipientOf(c, { accessKey: rnd(16) })]));
    expect(e.code).toBe(ErrorCode.UNAUTHORIZED);
    expect(e.unauthorizedAccountIds.map(hex)).toEqual([hex(c.accountId)]);
    expect(e.staleAccounts).toHaveLength(0);
    expect(await depth()).toBe(0);

    // A missing key and an unknown account are refused the same way (no oracle for which accounts exist);
    // authorisation comes before the device check, so no device list of a refused account is revealed.
    const ghost = rnd(16);
    const e2 = errorOf(await multiSend(anon, [
      recipientOf(a), recipientOf(b, { accessKey: new Uint8Array(0), deviceIds: [1] }), { accountId: ghost, deviceIds: [1], header: rnd(10), accessKey: rnd(16) },
    ]));
    expect(e2.code).toBe(ErrorCode.UNAUTHORIZED);
    expect(e2.unauthorizedAccountIds.map(hex)).toEqual([hex(b.accountId), hex(ghost)]);
    expect(e2.staleAccounts).toHaveLength(0);
    expect(e2.message).not.toContain(hex(ghost));
    expect(await depth()).toBe(0);
    await anon.close();
  });

  it('malformed sends get typed errors that say what to fix, and the server keeps running', async () => {
    const { maxMultiRecipients, maxMessageBytes } = t.server.config.limits;
    const all = () => everyone.map((m) => recipientOf(m));
    const cases: [string, () => Promise<ServerFrame>, ErrorCode, RegExp][] = [
      ['header of 65 bytes', () => multiSend(anon(), [recipientOf(a), recipientOf(b, { header: rnd(65) })]), ErrorCode.INVALID_ARGUMENT, /header must be 1 to 64 bytes/],
      ['empty header', () => multiSend(anon(), [recipientOf(a, { header: new Uint8Array(0) })]), ErrorCode.INVALID_ARGUMENT, /header must be 1 to 64 bytes/],
      ['duplicate account', () => multiSend(anon(), [recipientOf(a), recipientOf(b), recipientOf(a, { header: rnd(8) })]), ErrorCode.INVALID_ARGUMENT, /only once/],
      ['too many recipients', () => multiSend(anon(), Array.from({ length: maxMultiRecipients + 1 }, () => ({ accountId: rnd(16), deviceIds: [1], header: rnd(1), accessKey: rnd(16) }))),
        ErrorCode.INVALID_ARGUMENT, /at most 2000 recipients; split/],
      ['no recipients', () => multiSend(anon(), []), ErrorCode.INVALID_ARGUMENT, /at least one recipient/],
      ['empty payload', () => multiSend(anon(), all(), { payload: new Uint8Array(0) }), ErrorCode.INVALID_ARGUMENT, /shared_payload must not be empty/],
      ['oversize payload', () => multiSend(anon(), all(), { payload: rnd(maxMessageBytes + 1) }), ErrorCode.MESSAGE_TOO_LARGE, /attachment/],
      ['short message id', () => multiSend(anon(), all(), { id: rnd(15) }), ErrorCode.INVALID_ARGUMENT, /message_id must be 16/],
      ['short account id', () => multiSend(anon(), [recipientOf(a, { accountId: rnd(15) })]), ErrorCode.INVALID_ARGUMENT, /account_id must be 16/],
      ['access key of 8 bytes', () => multiSend(anon(), [recipientOf(a, { accessKey: rnd(8) })]), ErrorCode.INVALID_ARGUMENT, /access_key must be 16 bytes/],
      ['no devices', () => multiSend(anon(), [recipientOf(a, { deviceIds: [] })]), ErrorCode.INVALID_ARGUMENT, /list its devices/],
      ['a device twice', () => multiSend(anon(), [recipientOf(b, { deviceIds: [1, 2, 1] })]), ErrorCode.INVALID_ARGUMENT, /only once/],
    ];
    let current: TestClient | undefined;
    const anon = () => current!;
    for (const [what, send, code, message] of cases) {
      current = await t.connect(); // a fresh connection each: a large send uses up a connection's rate budget
      const e = errorOf(await send());
      expect(e.code, what).toBe(code);
      expect(e.message, what).toMatch(message);
      // The connection stays open (a large refused send may have used up its rate budget) and the server answers.
      expect(current.ws.readyState, what).toBe(current.ws.OPEN);
      const probe = await t.connect();
      expect((await probe.request({ case: 'ping', value: {} })).body.case, what).toBe('pong');
      await probe.close();
      await current.close();
    }
    expect(await depth()).toBe(0);
    expect(await sharedPayloadRows(t.server.storage)).toBe(0);
    const later = await t.connect();
    expect((await multiSend(later, all())).body.case).toBe('sendResult');
    const conns = await online(t, everyone);
    for (const conn of conns.values()) await conn.ackAll();
    await closeAll(conns);
  });

  it('a resend with the same message id queues nothing twice, also after delivery', async () => {
    const anon = await t.connect();
    const id = messageId();
    const first = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id });
    expect(first.body.case === 'sendResult' && first.body.value.duplicate).toBe(false);
    const again = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id, payload: rnd(300) });
    expect(again.body.case === 'sendResult' && again.body.value.duplicate).toBe(true);
    expect(await depth()).toBe(5);
    expect(await sharedPayloadRows(t.server.storage)).toBe(1);
    const conns = await online(t, everyone);
    for (const conn of conns.values()) {
      expect(conn.deliveries()).toHaveLength(1);
      await conn.ackAll();
    }
    const third = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id });
    expect(third.body.case === 'sendResult' && third.body.value.duplicate).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    for (const conn of conns.values()) expect(conn.deliveries()).toHaveLength(1);
    expect(await depth()).toBe(0);
    await closeAll(conns);
    await anon.close();
  });

  it('online_only reaches connected devices only and stores nothing', async () => {
    const conns = await online(t, [a, { ...b, devices: [b.devices[0]!] }]);
    const anon = await t.connect();
    const id = messageId();
    const payload = rnd(40);
    const r = await multiSend(anon, everyone.map((m) => recipientOf(m)), { id, payload, onlineOnly: true });
    expect(r.body.case).toBe('sendResult');
    const [da] = await conns.get(a.devices[0]!)!.waitForDeliveries(1);
    const [db] = await conns.get(b.devices[0]!)!.waitForDeliveries(1);
    expectDelivery(da, a, id, payload);
    expectDelivery(db, b, id, payload);
    expect(da!.serverId).toBe(0n); // not stored, not to be acknowledged
    expect(await depth()).toBe(0);
    expect(await sharedPayloadRows(t.server.storage)).toBe(0);
    const late = await online(t, [{ ...b, devices: [b.devices[1]!] }, c]);
    for (const conn of late.values()) expect(conn.deliveries()).toHaveLength(0);
    // The device lists are checked all the same.
    const stale = errorOf(await multiSend(anon, [recipientOf(a), recipientOf(c, { deviceIds: [2] })], { onlineOnly: true }));
    expect(stale.code).toBe(ErrorCode.STALE_DEVICES);
    expect(stale.staleAccounts.map((s) => hex(s.accountId))).toEqual([hex(c.accountId)]);
    const unauthorized = errorOf(await multiSend(anon, [recipientOf(a, { accessKey: rnd(16) })], { onlineOnly: true }));
    expect(unauthorized.code).toBe(ErrorCode.UNAUTHORIZED);
    await closeAll(conns);
    await closeAll(late);
    await anon.close();
  });

  it('leaves no sender identity in the database files (with the WAL) or the logs', async () => {
    const sender = await t.account(); // the sender has an account, but sends on an anonymous connection
    await sender.client.close();
    const dbBytes = () => Buffer.concat(['sigilo.db', 'sigilo.db-wal'].map((f) => join(t.dataDir, f)).filter(existsSync).map((f) => readFileSync(f)));
    const count = (hay: Buffer, needle: Uint8Array) => {
      let n = 0;
      for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
      return n;
    };
    const senderIds = [sender.device.accountId!, sender.device.identity.publicKey, sender.device.deviceKey.publicKey];
    const baseline = senderIds.map((x) => count(dbBytes(), x));
    expect(baseline[0]).toBeGreaterThan(0); // the scan does see the sender's own account row

    const anon = await t.connect();
    const payload = new TextEncoder().encode('group hello '.repeat(20));
    expect((await multiSend(anon, everyone.map((m) => recipientOf(m)), { payload })).body.case).toBe('sendResult');
    const after = dbBytes();
    expect(senderIds.map((x) => count(after, x))).toEqual(baseline);
    expect(count(after, payload)).toBe(1); // stored once, not once per device
    const audit = await t.server.admin.audit();
    expect(audit.messagesWithSender).toBe(0);
    expect(audit.sealedMessages).toBe(5);

    const conns = await online(t, everyone);
    for (const conn of conns.values()) await conn.ackAll();
    await closeAll(conns);
    const logs = t.logs.join('\n');
    for (const x of [...senderIds, ...everyone.map((m) => m.accountId)]) {
      expect(logs).not.toContain(hex(x));
      expect(logs).not.toContain(Buffer.from(x).toString('base64'));
    }
    expect(logs).not.toContain('127.0.0.1');
    expect(logs).not.toContain('group hello');
    await anon.close();
  });

  it('counts in metrics by kind and outcome, and the recipients per send as a histogram', async () => {
    const rendered = await t.server.metrics.render();
    expect(rendered).toMatch(/sigilo_sends_total\{kind="multi_sealed",outcome="stored"\} \d+/);
    expect(rendered).toMatch(/sigilo_sends_total\{kind="multi_sealed",outcome="unauthorized"\} \d+/);
    expect(rendered).toMatch(/sigilo_multi_send_recipients_bucket\{le="5"\} [1-9]/);
  });
});

describe('multi-recipient sealed send: rate limits', () => {
  let t: TestServer;
  const accounts: Uint8Array[] = [];
  beforeAll(async () => {
    // A tiny budget per connection (10 frames) and per recipient (3 sealed messages), refilled slowly.
    t = await startTestServer({ 'limits.connectionBurst': 10, 'limits.connectionFramesPerSecond': 1, 'limits.accountBurst': 3, 'limits.accountSendsPerSecond': 1 });
    for (let i = 0; i < 12; i++) accounts.push(await directAccount(t.server.storage));
  });
  afterAll(async () => { await t.stop(); });
  const to = (ids: Uint8Array[]) => ids.map((accountId) => ({ accountId, deviceIds: [1], header: rnd(4), accessKey: new Uint8Array(0) }));

  it('a connection pays one frame token per recipient account, capped at its burst', async () => {
    const anon = await t.connect();
    expect((await multiSend(anon, to(accounts.slice(0, 4)))).body.case).toBe('sendResult'); // 10 → 6
    expect((await multiSend(anon, to(accounts.slice(4, 8)))).body.case).toBe('sendResult'); // 6 → 2
    const e = errorOf(await multiSend(anon, to(accounts.slice(4, 10)))); // needs 6, has about 2
    expect(e.code).toBe(ErrorCode.RATE_LIMITED);
    expect(e.retryAfterMs).toBeGreaterThan(2000);
    expect((await anon.request({ case: 'ping', value: {} })).body.case).toBe('pong'); // a one-token frame still fits
    // 12 recipients on a rested connection with a burst of 10: charged 10, so the largest send still passes.
    const rested = await t.connect();
    expect((await multiSend(rested, to(accounts))).body.case).toBe('sendResult');
  });

  it('each recipient pays one sealed-send token, shared with single sealed sends', async () => {
    // Single sealed sends use up the recipient's bucket (burst 3) and the multi send right behind them,
    // in the same burst of frames, is refused for it without storing anything.
    const s = await t.connect();
    const before = await t.server.storage.queueDepth();
    const singles = Array.from({ length: 5 }, () => s.request({ case: 'sealedSend', value: { recipientAccountId: accounts[11]!, messageId: messageId(), messages: [{ deviceId: 1, content: rnd(10) }] } }));
    const multi = multiSend(s, to([accounts[11]!]));
    const stored = (await Promise.all(singles)).filter((f) => f.body.case === 'sendResult').length;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThanOrEqual(3);
    const e = errorOf(await multi);
    expect(e.code).toBe(ErrorCode.RATE_LIMITED);
    expect(e.message).toMatch(/sealed messages to one of these recipients: wait/);
    expect(await t.server.storage.queueDepth()).toBe(before + stored);
  });
});

/** An unrestricted account with one device, created straight in storage (fast, for large recipient lists). */
async function directAccount(storage: Storage): Promise<Uint8Array> {
  const code = rnd(16);
  const codeHash = new Uint8Array(createHash('sha256').update(code).digest());
  const now = Date.now();
  await storage.createInvite({ codeHash, createdAt: now, expiresAt: now + 60_000 });
  const accountId = rnd(16);
  const day = Math.floor(now / 86_400_000);
  const r = await storage.registerAccount(codeHash, now, { accountId, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: day }, { deviceKey: rnd(32), createdDay: day });
  expect(r.status).toBe('ok');
  return accountId;
}

describe('multi-recipient sealed send: 1,000 recipients', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('accepts a 1,000-recipient send in one commit and delivers it with the right header', async () => {
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) ids.push(await directAccount(t.server.storage));
    const headers = ids.map(() => rnd(48));
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      const anon = await t.connect();
      const started = performance.now();
      const r = await multiSend(anon, ids.map((accountId, i) => ({ accountId, deviceIds: [1], header: headers[i]!, accessKey: new Uint8Array(0) })), { payload: rnd(300) });
      times.push(performance.now() - started);
      expect(r.body.case).toBe('sendResult');
      await anon.close();
    }
    expect(await t.server.storage.queueDepth()).toBe(3000);
    expect(await sharedPayloadRows(t.server.storage)).toBe(3);
    console.info(`1,000-recipient MultiSealedSend accepted (request to SendResult over TLS, SQLite synchronous=full): ${times.map((x) => `${x.toFixed(1)} ms`).join(', ')}`);
    // A sample of recipients gets the message with its own header.
    const dev = await t.connect();
    const storage = t.server.storage;
    for (const i of [0, 499, 999]) {
      const [m] = await storage.fetchQueue(ids[i]!, 1, 0, 1);
      expect(hex(m!.recipientHeader!)).toBe(hex(headers[i]!));
    }
    await dev.close();
  }, 60_000);
});

describe('multi-recipient sealed send: crash durability', () => {
  const dataDir = tempDir('multi-kill9');
  let server: SpawnedServer | undefined;
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a send acknowledged before kill -9 is delivered to every device after restart', async () => {
    server = await spawnServer(dataDir);
    const register = async (devices: number): Promise<Member> => {
      const { code } = await adminRequest(dataDir, { op: 'invite' }) as InviteInfo;
      const conn = await TestClient.connect(server!);
      const d = newDevice();
      expect((await conn.register(d, code)).body.case).toBe('registered');
      const accessKey = rnd(16);
      await conn.expectOk({ case: 'setAccessKey', value: { accessKey } }, 'ok');
      await conn.close();
      const all = [d];
      for (let i = 1; i < devices; i++) {
        const linked = newDevice(d.identity);
        const l = await TestClient.connect(server!);
        expect((await l.link(linked, d.accountId!)).body.case).toBe('registered');
        await l.close();
        all.push(linked);
      }
      return { accountId: d.accountId!, devices: all, accessKey, header: rnd(32) };
    };
    const members = [await register(1), await register(2)];
    const anon = await TestClient.connect(server);
    const id = messageId();
    const payload = rnd(200);
    const r = await multiSend(anon, members.map((m) => recipientOf(m)), { id, payload });
    expect(r.body.case).toBe('sendResult');
    server.child.kill('SIGKILL'); // right after the acknowledgement: no graceful shutdown, no checkpoint
    expect(await server.exited).toBe('SIGKILL');

    server = await spawnServer(dataDir);
    const conns = await online(server, members);
    for (const m of members) for (const d of m.devices) expectDelivery(conns.get(d)!.deliveries()[0], m, id, payload);
    await closeAll(conns);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = undefined;
  }, 60_000);
});
