/**
 * Per-device send order on PostgreSQL (spec/server.md §5): the sends of one connection are queued
 * in the order they arrived, whatever the storage's own latency. A sealed send reads the
 * recipient's account before it is queued; on PostgreSQL those reads run on several pooled
 * connections and may finish in any order, so without the connection's send gate a later send
 * could be queued before an earlier one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, dropSchema, postgresUnavailable, randomSchema, requireService } from './support/services.js';
import { messageId } from './support/test-client.js';

const unavailable = await postgresUnavailable();
requireService(unavailable, 'PostgreSQL');

describe.skipIf(unavailable !== undefined)(`send order on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = randomSchema('sigilo_order');
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema,
      'limits.accountSendsPerSecond': 100_000,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await dropSchema(schema);
  });

  it('queues concurrent sealed and identified sends of one device in the order they were sent', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const accessKey = new Uint8Array(16).fill(7);
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey, unrestricted: false } }, 'ok');
    await bob.client.close();
    const N = 400;
    const bobId = bob.device.accountId!;
    const replies = [];
    for (let i = 0; i < N; i++) {
      const content = new Uint8Array([i >> 8, i & 0xff]);
      // Mixed, as a client mixes them: an identified send is queued at once, a sealed one after the account read.
      replies.push(alice.client.request(i % 2 === 0
        ? { case: 'sealedSend', value: { recipientAccountId: bobId, messageId: messageId(), accessKey, messages: [{ deviceId: 1, content }] } }
        : { case: 'send', value: { recipientAccountId: bobId, messageId: messageId(), messages: [{ deviceId: 1, content }] } }, 30_000));
    }
    const frames = await Promise.all(replies);
    expect(frames.map((f) => f.body.case)).toEqual(Array(N).fill('sendResult'));

    // The queue as stored (server id order), read by a fresh connection of Bob's device.
    const c = await t.connect();
    await c.authenticate(bob.device);
    await c.waitForPush('queueEmpty', 30_000);
    const order = c.deliveries().map((d) => (d.content[0]! << 8) | d.content[1]!);
    expect(order).toEqual(Array.from({ length: N }, (_, i) => i));
    await c.close();
  }, 60_000);
});
