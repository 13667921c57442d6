import { decodePreKeyBundle, generateSignedPreKey, verifyPreKeyBundle } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { ctx, newDevice } from './support/test-client.js';

describe('key directory', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'limits.preKeyLowThreshold': 5, 'limits.bundleFetchesPerHour': 600 }); });
  afterAll(async () => { await t.stop(); });

  it('stores verified uploads and reports counts', async () => {
    const { client, device } = await t.account();
    const counts = await client.uploadPreKeys(device, { oneTime: 12, pq: 3 });
    expect(counts).toMatchObject({ oneTimePreKeys: 12, pqPreKeys: 3, hasSignedPreKey: true, hasLastResortPqPreKey: true });
    expect(await client.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount')).toMatchObject({ oneTimePreKeys: 12 });
  });

  it('rejects a prekey signed by another identity, storing nothing', async () => {
    const { client } = await t.account();
    const stranger = newDevice();
    const spk = generateSignedPreKey(ctx, stranger.identity, 1, Date.now());
    const f = await client.request({ case: 'uploadPreKeys', value: { signedPreKey: { id: 1, publicKey: spk.keyPair.publicKey, signature: spk.signature }, oneTimePreKeys: [{ id: 1, publicKey: new Uint8Array(32).fill(9) }] } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.INVALID_SIGNATURE);
    expect(await client.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount')).toMatchObject({ oneTimePreKeys: 0, hasSignedPreKey: false });
    const g = await client.request({ case: 'uploadPreKeys', value: { oneTimePreKeys: [{ id: 1, publicKey: new Uint8Array(31) }] } });
    expect(g.body.case === 'error' && g.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('serves verifiable bundles for every device of an account', async () => {
    const { client: owner, device } = await t.account({ preKeys: true });
    const second = newDevice(device.identity);
    const c2 = await t.connect();
    await c2.link(second, device.accountId!);
    await c2.uploadPreKeys(second, { oneTime: 10, pq: 10, startId: 100 });
    const { client: requester } = await t.account();
    const r = await requester.expectOk({ case: 'fetchBundles', value: { accountId: device.accountId! } }, 'bundles');
    expect(r.bundles).toHaveLength(2);
    const bundles = r.bundles.map(decodePreKeyBundle);
    for (const b of bundles) {
      verifyPreKeyBundle(nodeCrypto, b);
      expect(Buffer.from(b.identityKey).equals(Buffer.from(device.identity.publicKey))).toBe(true);
      expect(b.oneTimePreKey).toBeDefined();
    }
    expect(bundles.map((b) => b.deviceId).sort()).toEqual([1, 2]);
    expect(owner).toBeDefined();
    const missing = await requester.request({ case: 'fetchBundles', value: { accountId: new Uint8Array(16) } });
    expect(missing.body.case === 'error' && missing.body.value.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('concurrent bundle fetches get distinct one-time keys, then the last-resort PQ key', async () => {
    const { client: ownerClient, device } = await t.account();
    await ownerClient.uploadPreKeys(device, { oneTime: 20, pq: 20 });
    const requesters = await Promise.all(Array.from({ length: 5 }, () => t.account()));
    const fetches = requesters.flatMap(({ client }) =>
      Array.from({ length: 5 }, () => client.expectOk({ case: 'fetchBundles', value: { accountId: device.accountId! } }, 'bundles')));
    const results = (await Promise.all(fetches)).map((r) => decodePreKeyBundle(r.bundles[0]!));
    const ec = results.map((b) => b.oneTimePreKey?.id).filter((x) => x !== undefined);
    const pq = results.filter((b) => !b.pqPreKey.lastResort).map((b) => b.pqPreKey.id);
    expect(ec).toHaveLength(20);
    expect(new Set(ec).size).toBe(20);
    expect(new Set(pq).size).toBe(20);
    expect(results.filter((b) => b.pqPreKey.lastResort)).toHaveLength(5);
    // The owner heard that its one-time prekeys ran low.
    const low = await ownerClient.waitForPush('preKeysLow');
    expect(low.oneTimePreKeys).toBeLessThan(5);
  });

  it('tells a device at login when its prekeys are low', async () => {
    const { device } = await t.account();
    const c = await t.connect();
    await c.authenticate(device);
    expect(await c.waitForPush('preKeysLow')).toMatchObject({ oneTimePreKeys: 0, pqPreKeys: 0 });
  });
});

describe('key directory rate limit', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'limits.bundleFetchesPerHour': 12 }); });
  afterAll(async () => { await t.stop(); });

  it('limits bundle fetches per requester against prekey draining', async () => {
    const { device } = await t.account({ preKeys: true });
    const { client: drainer } = await t.account();
    const { client: other } = await t.account();
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = await drainer.request({ case: 'fetchBundles', value: { accountId: device.accountId! } });
      outcomes.push(f.body.case === 'error' ? ErrorCode[f.body.value.code] : f.body.case!);
      if (f.body.case === 'error') expect(f.body.value.retryAfterMs).toBeGreaterThan(0);
    }
    expect(outcomes).toEqual(['bundles', 'bundles', 'RATE_LIMITED', 'RATE_LIMITED']);
    // Another requester is not affected.
    expect((await other.request({ case: 'fetchBundles', value: { accountId: device.accountId! } })).body.case).toBe('bundles');
  });
});
