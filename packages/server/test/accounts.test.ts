import { ErrorCode, CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_AUTH_FAILED } from '../src/connection.js';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient, newDevice } from './support/test-client.js';

describe('accounts and devices', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'limits.maxDevicesPerAccount': 3 }); });
  afterAll(async () => { await t.stop(); });

  it('serves a pinned self-signed certificate whose fingerprint it reports', async () => {
    expect(t.server.tls.selfSigned).toBe(true);
    expect(t.server.tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const res = await fetchJson(t, '/v1/server-info');
    expect(res.tlsFingerprintSha256).toBe(t.server.tls.fingerprint);
    expect(res.certificateKeys[0].publicKey).toBe(Buffer.from(t.server.certificateKey.publicKey).toString('base64'));
  });

  it('registers with an invite, and the invite works only once', async () => {
    const { code } = await t.server.admin.createInvite();
    const c1 = await t.connect();
    const d1 = newDevice();
    const f = await c1.register(d1, code.toLowerCase());
    expect(f.body.case).toBe('registered');
    expect(d1.accountId).toHaveLength(16);
    expect(d1.deviceId).toBe(1);
    const c2 = await t.connect();
    const again = await c2.register(newDevice(), code);
    expect(again.body.case === 'error' && again.body.value.code).toBe(ErrorCode.INVITE_INVALID);
  });

  it('refuses registration without an invite, with an unknown one, or an expired one', async () => {
    const c = await t.connect();
    for (const code of ['', 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE']) {
      const f = await c.register(newDevice(), code);
      expect(f.body.case).toBe('error');
      if (f.body.case === 'error') {
        expect(f.body.value.code).toBe(ErrorCode.INVITE_INVALID);
        expect(f.body.value.message).toMatch(/administrator/);
      }
    }
    expect((await t.server.admin.audit()).tables.find((x) => x.table === 'accounts')!.rows).toBe(1);
  });

  it('authenticates a device by its signature on the challenge and rejects a wrong one', async () => {
    const { device } = await t.account();
    const ok = await t.connect();
    expect((await ok.authenticate(device)).body.case).toBe('authenticated');
    const bad = await t.connect();
    const impostor = { ...newDevice(device.identity), accountId: device.accountId, deviceId: device.deviceId };
    const f = await bad.authenticate(impostor);
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.AUTH_FAILED);
    expect((await bad.closed).code).toBe(CLOSE_AUTH_FAILED);
    // The server keeps serving.
    const again = await t.connect();
    expect((await again.authenticate(device)).body.case).toBe('authenticated');
  });

  it('requires authentication for account operations', async () => {
    const c = await t.connect();
    const f = await c.request({ case: 'getPreKeyCount', value: {} });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.NOT_AUTHENTICATED);
  });

  it('links devices up to the configured maximum', async () => {
    const { device } = await t.account();
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await t.connect();
      const d = newDevice(device.identity);
      expect((await c.link(d, device.accountId!)).body.case).toBe('registered');
      ids.push(d.deviceId!);
    }
    expect(ids).toEqual([2, 3]);
    const c = await t.connect();
    const f = await c.link(newDevice(device.identity), device.accountId!);
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.DEVICE_LIMIT);
    // Linking needs the identity key: another identity cannot add a device.
    const other = await t.connect();
    const g = await other.link(newDevice(), device.accountId!);
    expect(g.body.case === 'error' && g.body.value.code).toBe(ErrorCode.AUTH_FAILED);
  });

  it('a second connection of the same device replaces the first', async () => {
    const { client, device } = await t.account();
    const c2 = await t.connect();
    expect((await c2.authenticate(device)).body.case).toBe('authenticated');
    const closing = await client.waitForPush('closing');
    expect(closing.reason).toBe(CloseReason.REPLACED);
  });
});

async function fetchJson(t: TestServer, path: string) {
  const https = await import('node:https');
  return new Promise<any>((resolve, reject) => {
    https.get(`${t.server.httpsUrl}${path}`, { ca: t.server.tls.cert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

export { TestClient };

describe('graceful shutdown', () => {
  it('tells connected clients, commits accepted sends and closes storage', async () => {
    const t = await startTestServer();
    const alice = await t.account();
    const bob = await t.account();
    await bob.client.close();
    const sends = Array.from({ length: 50 }, (_, i) => alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i])));
    const results = await Promise.all(sends);
    const closing = t.server.close();
    const c = await alice.client.waitForPush('closing');
    expect(c.reason).toBe(CloseReason.SHUTDOWN);
    expect((await alice.client.closed).code).toBe(1001);
    await closing;
    expect(results.every((f) => f.body.case === 'sendResult')).toBe(true);
    // Restart on the same data: everything acknowledged is there.
    const t2 = await startTestServer({}, {}, t.dataDir);
    const c2 = await t2.connect();
    await c2.authenticate(bob.device);
    await c2.waitForPush('queueEmpty');
    expect(c2.deliveries()).toHaveLength(50);
    await t2.stop();
  });
});
