/** Every bad input gets a clear, typed error; the server keeps serving and loses nothing acknowledged. */
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_AUTH_TIMEOUT } from '../src/connection.js';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient } from './support/test-client.js';

const errorOf = (c: TestClient) => c.pushes.filter((f) => f.body.case === 'error').map((f) => f.body.case === 'error' ? f.body.value : undefined!);

async function healthy(t: TestServer): Promise<void> {
  const https = await import('node:https');
  const status = await new Promise<number>((resolve, reject) => {
    https.get(`${t.server.httpsUrl}/health`, { ca: t.server.tls.cert }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
  });
  expect(status).toBe(200);
}

describe('bad input', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'limits.maxFrameBytes': '8KiB', 'limits.maxMessageBytes': '1KiB', 'limits.authTimeout': '400ms' });
  });
  afterAll(async () => { await t.stop(); });
  afterEach(async () => { await healthy(t); });

  it('malformed protobuf', async () => {
    const c = await t.connect();
    c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    await c.waitFor(() => errorOf(c).length > 0, 'error');
    expect(errorOf(c)[0]).toMatchObject({ code: ErrorCode.MALFORMED_FRAME, message: expect.stringMatching(/ClientFrame/) });
    // The connection still works.
    expect((await c.request({ case: 'ping', value: {} })).body.case).toBe('pong');
  });

  it('an identity key whose X25519 half is small-order or non-canonical is INVALID_ARGUMENT, not INTERNAL', async () => {
    const { generateIdentityKeyPair } = await import('@sigilo/protocol');
    const { nodeCrypto, systemRandom } = await import('@sigilo/protocol/node');
    const { newDevice } = await import('./support/test-client.js');
    for (const bad of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      const real = generateIdentityKeyPair({ crypto: nodeCrypto, random: systemRandom });
      const publicKey = new Uint8Array(64);
      publicKey.set(real.publicKey.subarray(0, 32));
      publicKey.set(bad, 32);
      const c = await t.connect();
      const f = await c.register(newDevice({ ...real, publicKey }), t.server.admin ? (await t.server.admin.createInvite()).code : '');
      expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
      await c.close();
    }
    expect(t.logs.join('\n')).not.toMatch(/request failed/);
  });

  it('text frames', async () => {
    const c = await t.connect();
    c.sendRaw('{"hello": 1}');
    await c.waitFor(() => errorOf(c).length > 0, 'error');
    expect(errorOf(c)[0]?.code).toBe(ErrorCode.MALFORMED_FRAME);
  });

  it('unknown frame types', async () => {
    const c = await t.connect();
    // request_id = 5, then field 99 (not in ClientFrame) as an empty message.
    c.sendRaw(new Uint8Array([0x08, 0x05, 0x9a, 0x06, 0x00]));
    await c.waitFor(() => errorOf(c).length > 0, 'error');
    const f = c.pushes.find((x) => x.body.case === 'error')!;
    expect(f.requestId).toBe(5n); // the error answers the request it could not handle
    expect(errorOf(c)[0]?.code).toBe(ErrorCode.UNKNOWN_FRAME);
  });

  it('frames above the frame limit close the connection with 1009', async () => {
    const c = await t.connect();
    c.sendRaw(new Uint8Array(9000));
    expect((await c.closed).code).toBe(1009);
    expect(await t.server.metrics.render()).toMatch(/^sigilo_abuse_refusals_total\{bound="frame_size"\} [1-9]/m);
  });

  it('messages above the message limit', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const f = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array(2000));
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(f.body.case === 'error' && f.body.value.message).toMatch(/attachment/);
  });

  it('fields of the wrong length', async () => {
    const alice = await t.account();
    for (const value of [
      { recipientAccountId: new Uint8Array(3), messageId: new Uint8Array(16), messages: [{ deviceId: 1, content: new Uint8Array(1) }] },
      { recipientAccountId: new Uint8Array(16), messageId: new Uint8Array(4), messages: [{ deviceId: 1, content: new Uint8Array(1) }] },
      { recipientAccountId: new Uint8Array(16), messageId: new Uint8Array(16), messages: [] },
      { recipientAccountId: new Uint8Array(16), messageId: new Uint8Array(16), messages: [{ deviceId: 1, content: new Uint8Array(1) }, { deviceId: 1, content: new Uint8Array(1) }] },
    ]) {
      const f = await alice.client.request({ case: 'send', value });
      expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    const r = await (await t.connect()).request({ case: 'register', value: { inviteCode: 'x', identityKey: new Uint8Array(5) } });
    expect(r.body.case === 'error' && r.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('connections that never authenticate are closed', async () => {
    const c = await t.connect();
    expect((await c.closed).code).toBe(CLOSE_AUTH_TIMEOUT);
    expect(errorOf(c)[0]?.code).toBe(ErrorCode.NOT_AUTHENTICATED);
  });

  it('a second authentication on one connection', async () => {
    const { client, device } = await t.account();
    const f = await client.authenticate(device);
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.ALREADY_AUTHENTICATED);
  });
});

describe('rate limits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'limits.connectionFramesPerSecond': 5, 'limits.connectionBurst': 10, 'limits.accountSendsPerSecond': 1, 'limits.accountBurst': 3 });
  });
  afterAll(async () => { await t.stop(); });

  it('per connection', async () => {
    const c = await t.connect();
    const replies = await Promise.all(Array.from({ length: 15 }, () => c.request({ case: 'ping', value: {} })));
    const limited = replies.filter((f) => f.body.case === 'error' && f.body.value.code === ErrorCode.RATE_LIMITED);
    expect(replies.filter((f) => f.body.case === 'pong').length).toBeGreaterThanOrEqual(10);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.case === 'error' && limited[0]!.body.value.retryAfterMs).toBeGreaterThan(0);
  });

  it('per account, across its devices', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([i]));
      outcomes.push(f.body.case === 'error' ? ErrorCode[f.body.value.code] : f.body.case!);
    }
    expect(outcomes.slice(0, 3)).toEqual(['sendResult', 'sendResult', 'sendResult']);
    expect(outcomes).toContain('RATE_LIMITED');
    // Nothing refused was stored; everything accepted is delivered.
    const got = await bob.client.waitForDeliveries(outcomes.filter((o) => o === 'sendResult').length);
    await new Promise((r) => setTimeout(r, 50));
    expect(bob.client.deliveries()).toHaveLength(got.length);
  });
});

describe('full disk', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'limits.maxMessageBytes': '256KiB' }, { maxPageCount: 60 }); });
  afterAll(async () => { await t.stop(); });

  it('SQLITE_FULL gives STORAGE_FULL, stores nothing of the batch, and the server keeps going', async () => {
    const alice = await t.account();
    const bob = await t.account();
    await bob.client.close();
    const small = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([1]));
    expect(small.body.case).toBe('sendResult');
    const big = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array(250_000).fill(7));
    expect(big.body.case === 'error' && big.body.value.code).toBe(ErrorCode.STORAGE_FULL);
    expect(big.body.case === 'error' && big.body.value.message).toMatch(/disk space/);
    const after = await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([2]));
    expect(after.body.case).toBe('sendResult');
    const c = await t.connect();
    await c.authenticate(bob.device);
    await c.waitForPush('queueEmpty');
    expect(c.deliveries().map((d) => d.content[0])).toEqual([1, 2]);
    await healthy(t);
    expect(await t.server.metrics.render()).toMatch(/sigilo_errors_total\{code="STORAGE_FULL"\} 1/);
  });
});
