import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { EXPIRED_INVITE_KEPT_MS } from '../src/storage/port.js';

const DAY = 86_400_000;

describe('retention', () => {
  let t: TestServer | undefined;
  afterEach(async () => { await t?.stop(); t = undefined; });

  it('the sweeper removes a device a link left without keys once it is a whole day old, beside a device with keys only', async () => {
    let clock = Date.now();
    t = await startTestServer({}, { now: () => clock });
    const bob = await t.account({ preKeys: true });
    const lonely = await t.account(); // no device with keys: nothing of it is removed
    const { newDevice } = await import('./support/test-client.js');
    for (const owner of [bob, lonely]) {
      const c = await t.connect();
      expect((await c.link(newDevice(owner.device.identity), owner.device.accountId!)).body.case).toBe('registered');
      await c.close();
    }
    expect((await t.server.sweep()).keylessDevices).toBe(0); // a link in progress is left alone
    clock += 2 * DAY;
    expect((await t.server.sweep()).keylessDevices).toBe(1);
    expect((await t.server.storage.listDevices(bob.device.accountId!)).map((d) => d.deviceId)).toEqual([1]);
    expect((await t.server.storage.listDevices(lonely.device.accountId!)).map((d) => d.deviceId)).toEqual([1, 2]);
    expect(t.logs.join('\n')).toMatch(/"keylessDevices":1/);
  });

  it('the sweeper deletes undelivered messages after their TTL', async () => {
    let clock = Date.now();
    t = await startTestServer({ 'retention.undelivered': '2d' }, { now: () => clock });
    const alice = await t.account();
    const bob = await t.account();
    await bob.client.close();
    await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([1]));
    clock += DAY;
    await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([2]));
    expect(await t.server.storage.queueDepth()).toBe(2);
    clock += DAY + 60_000; // stored expiries are rounded up to the minute (spec/server.md §5)
    expect((await t.server.sweep()).messages).toBe(1);
    const c = await t.connect();
    await c.authenticate(bob.device);
    await c.waitForPush('queueEmpty');
    expect(c.deliveries().map((d) => d.content[0])).toEqual([2]);
    const metrics = await t.server.metrics.render();
    expect(metrics).toMatch(/sigilo_messages_expired_total 1/);
  });

  it('expired invites are refused and swept', async () => {
    let clock = Date.now();
    t = await startTestServer({}, { now: () => clock });
    const { code } = await t.server.admin.createInvite(60_000);
    clock += 61_000;
    const c = await t.connect();
    const { newDevice } = await import('./support/test-client.js');
    const f = await c.register(newDevice(), code);
    expect(f.body.case === 'error' && f.body.value.message).toMatch(/expired/);
    // Kept a while after it expired, so that trying it still says "expired"; then swept.
    expect((await t.server.sweep()).invites).toBe(0);
    const again = await (await t.connect()).register(newDevice(), code);
    expect(again.body.case === 'error' && again.body.value.message).toMatch(/expired/);
    clock += EXPIRED_INVITE_KEPT_MS;
    expect((await t.server.sweep()).invites).toBe(1);
  });

  it('stores last-seen at day granularity, or nothing when off', async () => {
    t = await startTestServer();
    const { device } = await t.account();
    const d = await t.server.storage.getDevice(device.accountId!, 1);
    expect(d?.lastSeenDay).toBe(Math.floor(Date.now() / DAY));
    const dir = t.dataDir;
    await t.server.close();
    // Restart on the same data with last-seen off: stored days are erased and none recorded.
    const { startServer } = await import('../src/server.js');
    const { silentLogger } = await import('../src/logger.js');
    const s2 = await startServer({ overrides: { host: '127.0.0.1', port: 0, dataDir: dir, 'retention.lastSeen': 'off' }, logger: silentLogger });
    expect((await s2.storage.getDevice(device.accountId!, 1))?.lastSeenDay).toBeUndefined();
    const { TestClient } = await import('./support/test-client.js');
    const c = await TestClient.connect(s2);
    expect((await c.authenticate(device)).body.case).toBe('authenticated');
    expect((await s2.storage.getDevice(device.accountId!, 1))?.lastSeenDay).toBeUndefined();
    expect((await s2.admin.audit()).devicesWithLastSeen).toBe(0);
    c.ws.terminate();
    await s2.close();
  });
});
