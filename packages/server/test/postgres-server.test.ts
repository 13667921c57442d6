/** The whole server on the PostgreSQL adapter: the core flows, end to end. */
import { decodePreKeyBundle } from '@sigilo/protocol';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, dropSchema, postgresUnavailable, randomSchema, requireService } from './support/services.js';
import { newDevice } from './support/test-client.js';

const unavailable = await postgresUnavailable();
requireService(unavailable, 'PostgreSQL');

describe.skipIf(unavailable !== undefined)(`server on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = randomSchema('sigilo_server');
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema });
  });
  afterAll(async () => {
    await t?.stop();
    await dropSchema(schema);
  });

  it('registers, links, serves bundles, queues, delivers and deduplicates', async () => {
    const alice = await t.account({ preKeys: true });
    const bob = await t.account({ preKeys: true });
    const bob2 = newDevice(bob.device.identity);
    const c2 = await t.connect();
    expect((await c2.link(bob2, bob.device.accountId!)).body.case).toBe('registered');
    await c2.close();
    const bundles = await alice.client.expectOk({ case: 'fetchBundles', value: { accountId: bob.device.accountId! } }, 'bundles');
    expect(bundles.bundles.map(decodePreKeyBundle).map((b) => b.deviceId)).toEqual([1]);
    expect(bundles.unavailableDeviceIds).toEqual([2]);

    // Device 2 has no keys yet (beside device 1, which has): a send need not list it, but may not list a device that does not exist.
    const stale = await alice.client.sendTo(bob.device.accountId!, [1, 3], () => new Uint8Array([1]));
    expect(stale.body.case === 'error' && stale.body.value.code).toBe(ErrorCode.STALE_DEVICES);
    const id = new Uint8Array(16).fill(4);
    expect((await alice.client.sendTo(bob.device.accountId!, [1, 2], (d) => new Uint8Array([d]), id)).body.case).toBe('sendResult');
    const again = await alice.client.sendTo(bob.device.accountId!, [1, 2], (d) => new Uint8Array([d]), id);
    expect(again.body.case === 'sendResult' && again.body.value.duplicate).toBe(true);
    expect((await bob.client.waitForDeliveries(1))[0]!.content[0]).toBe(1);
    await bob.client.ackAll();

    const c3 = await t.connect();
    await c3.authenticate(bob2);
    await c3.waitForPush('queueEmpty');
    expect(c3.deliveries().map((d) => d.content[0])).toEqual([2]);
    await c3.ackAll();
    expect(await t.server.storage.queueDepth()).toBe(0);
    expect((await t.server.admin.audit()).tables.find((x) => x.table === 'accounts')!.rows).toBe(2);
  });
});
