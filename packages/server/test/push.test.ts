/**
 * Push that carries nothing (spec/server.md §Push), end to end: the real
 * server over TLS sends wake-ups to a push service played by an HTTPS server
 * in this process. Each request is checked against RFC 8292 (the VAPID JWT's
 * ES256 signature, audience, expiry, subject) and decrypted here with an
 * independent RFC 8291 implementation (ECDH with the subscription's private
 * key, HKDF, AES-128-GCM): it must be the fixed wake-up, the same size for
 * every message, with no identifier in the URL, the headers or the body; at
 * most one per device per 30 s (later ones coalesced); nothing for a connected
 * device; the subscription deleted with the device and the account; no
 * endpoint in any log line.
 */
import { createPublicKey, verify, type ECDH } from 'node:crypto';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { PUSH_MIN_INTERVAL_MS, WAKE_UP, vapidKeyPath } from '../src/services/push.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { TestClient, messageId, newDevice, type Device } from './support/test-client.js';
import { decryptWebPush, newSubscriber, startPushService } from './support/push-service.js';

/** RFC 8292: checks the Authorization header (vapid t=JWT, k=KEY) and returns the JWT claims. */
function checkVapid(header: string, vapidPublicKey: string, origin: string, now: number): { sub: string } {
  const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(header);
  expect(m, 'Authorization: vapid t=..., k=...').not.toBeNull();
  const [jwt, k] = [m![1]!, m![2]!];
  expect(k).toBe(vapidPublicKey);
  const [h, p, sig] = jwt.split('.') as [string, string, string];
  expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  expect(claims.aud).toBe(origin);
  expect(claims.exp * 1000).toBeGreaterThan(now);
  expect(claims.exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600_000 + 60_000);
  const raw = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  expect(ok, 'the VAPID JWT signature verifies with the server key').toBe(true);
  return claims;
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
/** Waits until the server sees no connection of the account (a client's close can land before the server's). */
async function offline(t: TestServer, accountId: Uint8Array): Promise<void> {
  const hex = Buffer.from(accountId).toString('hex');
  const end = Date.now() + 15_000;
  while ((await t.server.admin.describeAccount(hex)).devices.some((d) => d.connected)) {
    if (Date.now() > end) throw new Error('the server still sees the device connected');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serverInfo(t: TestServer): Promise<{ push: { mode: string; vapidPublicKey?: string; minIntervalMs?: number }; policy: Record<string, unknown> }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    request(`${t.server.httpsUrl}/v1/server-info`, { ca: t.server.tls.cert, checkServerIdentity: () => undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    }).on('error', reject).end();
  });
}

function subscribe(client: TestClient, sub: { ecdh: ECDH; auth: Buffer; endpoint: string }) {
  return client.request({ case: 'setPushSubscription', value: { endpoint: sub.endpoint, p256dh: sub.ecdh.getPublicKey(), auth: sub.auth } });
}

describe('wake-up pushes (Web Push, VAPID, aes128gcm)', () => {
  let svc: Awaited<ReturnType<typeof startPushService>>;
  let t: TestServer;
  let offset = 0;
  const now = () => Date.now() + offset;
  let alice: { client: TestClient; device: Device };
  let bob: Device;
  let bobSub: ReturnType<typeof newSubscriber>;
  let vapidPublicKey: string;

  beforeAll(async () => {
    svc = await startPushService();
    t = await startTestServer({ 'push.ca': svc.caFile, 'push.subject': 'mailto:admin@sigilo.test', 'push.allowedHosts': '127.0.0.1, *.push.example.org' }, { now });
    alice = await t.account();
    const b = await t.account();
    bob = b.device;
    bobSub = newSubscriber(svc.origin);
    const ok = await subscribe(b.client, bobSub);
    expect(ok.body.case).toBe('ok');
    await b.client.close();
    await offline(t, bob.accountId!);
    const info = await serverInfo(t);
    expect(info.push.mode).toBe('webpush');
    expect(info.push.minIntervalMs).toBe(PUSH_MIN_INTERVAL_MS);
    vapidPublicKey = info.push.vapidPublicKey!;
    expect(Buffer.from(vapidPublicKey, 'base64url').length).toBe(65);
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    svc?.server.close();
  });

  const toBob = (content: Uint8Array) => alice.client.sendTo(bob.accountId!, [1], () => content);

  it('sends one encrypted, signed, fixed wake-up per 30 s per device, coalescing the rest, with no identifier anywhere', async () => {
    const id = messageId();
    const r = await alice.client.sendTo(bob.accountId!, [1], () => new Uint8Array(40).fill(7), id);
    expect(r.body.case).toBe('sendResult');
    await until(() => svc.requests.length === 1, 'the first wake-up');
    const first = svc.requests[0]!;
    expect(first.method).toBe('POST');
    expect(`${svc.origin}${first.url}`).toBe(bobSub.endpoint);
    expect(first.headers['content-encoding']).toBe('aes128gcm');
    const claims = checkVapid(String(first.headers.authorization), vapidPublicKey, svc.origin, Date.now());
    expect(claims.sub).toBe('mailto:admin@sigilo.test');
    expect(decryptWebPush(first.body, bobSub)).toEqual(Buffer.from(WAKE_UP));

    // Within the interval: five more messages (identified and sealed, other sizes) make no request now...
    for (let i = 0; i < 5; i++) await toBob(new Uint8Array(100 + 500 * i).fill(i));
    await t.connect().then((anon) => anon.request({ case: 'sealedSend', value: { recipientAccountId: bob.accountId!, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array(3000).fill(9) }] } }));
    await sleep(3000);
    expect(svc.requests.length).toBe(1);
    // ...and exactly one when it ends.
    offset += PUSH_MIN_INTERVAL_MS + 1000;
    await until(() => svc.requests.length === 2, 'the coalesced wake-up');
    await sleep(2500);
    expect(svc.requests.length).toBe(2);

    // Another interval later, a message of a very different size: the same wake-up, the same size.
    offset += PUSH_MIN_INTERVAL_MS + 1000;
    await toBob(new Uint8Array(60_000).fill(1));
    await until(() => svc.requests.length === 3, 'the third wake-up');
    const sizes = new Set(svc.requests.map((q) => q.body.length));
    expect([...sizes]).toEqual([129]); // 86-byte aes128gcm header + 26-byte wake-up + delimiter + 16-byte tag
    for (const q of svc.requests) expect(decryptWebPush(q.body, bobSub)).toEqual(Buffer.from(WAKE_UP));

    // No identifier of the account, device, sender or message in the URL, the headers or the body.
    const forbidden = [bob.accountId!, alice.device.accountId!, id].flatMap((b) => {
      const x = Buffer.from(b);
      return [x.toString('hex'), x.toString('base64'), x.toString('base64url')];
    });
    for (const q of svc.requests) {
      const text = `${q.url}\n${JSON.stringify(q.headers)}`;
      for (const f of forbidden) expect(text.toLowerCase()).not.toContain(f.toLowerCase());
      for (const b of [bob.accountId!, alice.device.accountId!, id]) expect(q.body.includes(Buffer.from(b))).toBe(false);
      const names = Object.keys(q.headers).sort();
      expect(names.every((n) => ['authorization', 'connection', 'content-encoding', 'content-length', 'content-type', 'host', 'topic', 'ttl', 'urgency'].includes(n)), names.join(',')).toBe(true);
      expect(q.headers.topic).toBe('wake');
    }
  }, 90_000);

  it('does not wake a device that is connected', async () => {
    offset += PUSH_MIN_INTERVAL_MS + 1000;
    const before = svc.requests.length;
    const bobClient = await t.connect();
    await bobClient.authenticate(bob);
    await toBob(new Uint8Array(50));
    await bobClient.waitForDeliveries(1);
    await sleep(2000);
    expect(svc.requests.length).toBe(before);
    await bobClient.close();
    await offline(t, bob.accountId!);
  }, 60_000);

  it('rejects malformed subscriptions with INVALID_ARGUMENT and keeps the old one', async () => {
    const c = await t.connect();
    await c.authenticate(bob);
    const good = newSubscriber(svc.origin);
    const bad = [
      { endpoint: 'http://127.0.0.1/push/x', p256dh: good.ecdh.getPublicKey(), auth: good.auth },
      { endpoint: good.endpoint, p256dh: new Uint8Array(65).fill(4), auth: good.auth },
      { endpoint: good.endpoint, p256dh: good.ecdh.getPublicKey(), auth: new Uint8Array(5) },
      { endpoint: `https://${'a'.repeat(3000)}.test/`, p256dh: good.ecdh.getPublicKey(), auth: good.auth },
    ];
    for (const value of bad) {
      const f = await c.request({ case: 'setPushSubscription', value });
      expect(f.body.case).toBe('error');
      if (f.body.case === 'error') expect(f.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect((await t.server.storage.getPushSubscription(bob.accountId!, 1))?.endpoint).toBe(bobSub.endpoint);
    await c.close();
  }, 60_000);

  it('refuses endpoints on hosts that are neither well-known push services nor in push.allowedHosts (PUSH_ENDPOINT_REFUSED)', async () => {
    const c = await t.connect();
    await c.authenticate(bob);
    const sub = newSubscriber(svc.origin);
    const set = (endpoint: string) => c.request({ case: 'setPushSubscription', value: { endpoint, p256dh: sub.ecdh.getPublicKey(), auth: sub.auth } });
    for (const endpoint of ['https://evil.example/push/x', 'https://10.0.0.1/push/x', 'https://push.example.org/x', 'https://fcm.googleapis.com.evil.example/x', 'https://localhost/x']) {
      const f = await set(endpoint);
      expect(f.body.case === 'error' && ErrorCode[f.body.value.code], endpoint).toBe('PUSH_ENDPOINT_REFUSED');
      expect(f.body.case === 'error' && f.body.value.message).toMatch(/push\.allowedHosts/);
    }
    expect((await t.server.storage.getPushSubscription(bob.accountId!, 1))?.endpoint).toBe(bobSub.endpoint);
    // The browsers' services, and the administrator's own (a wildcard matches names under it).
    for (const endpoint of ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/x', 'https://web.push.apple.com/x', 'https://ntfy.sh/up123', 'https://a.push.example.org/x']) {
      expect((await set(endpoint)).body.case, endpoint).toBe('ok');
    }
    expect((await subscribe(c, bobSub)).body.case).toBe('ok');
    await c.close();
    await offline(t, bob.accountId!);
  }, 60_000);

  it('forgets a subscription the push service says is gone (410)', async () => {
    offset += PUSH_MIN_INTERVAL_MS + 1000;
    const carol = await t.account();
    const gone = newSubscriber(svc.origin, 'gone');
    expect((await subscribe(carol.client, gone)).body.case).toBe('ok');
    await carol.client.close();
    await offline(t, carol.device.accountId!);
    const sent = await alice.client.sendTo(carol.device.accountId!, [1], () => new Uint8Array(30));
    expect(sent.body.case).toBe('sendResult');
    await until(() => svc.requests.some((q) => q.url.startsWith('/gone/')), `the wake-up to the gone endpoint ${t.logs.slice(-5).join('\n')}`);
    const end = Date.now() + 10_000;
    while (await t.server.storage.getPushSubscription(carol.device.accountId!, 1) && Date.now() < end) await sleep(50);
    expect(await t.server.storage.getPushSubscription(carol.device.accountId!, 1)).toBeUndefined();
  }, 60_000);

  it('deletes the subscription with the device and with the account, leaving no trace in the database files', async () => {
    const dave = await t.account();
    const daveSub = newSubscriber(svc.origin);
    expect((await subscribe(dave.client, daveSub)).body.case).toBe('ok');
    // A second device of dave's, subscribed, then revoked by the administrator.
    const phone = newDevice(dave.device.identity);
    const pc = await t.connect();
    const linked = await pc.link(phone, dave.device.accountId!);
    expect(linked.body.case).toBe('registered');
    const phoneSub = newSubscriber(svc.origin);
    expect((await subscribe(pc, phoneSub)).body.case).toBe('ok');
    expect(await t.server.storage.getPushSubscription(dave.device.accountId!, phone.deviceId!)).toBeDefined();
    expect((await t.server.admin.revokeDevice(Buffer.from(dave.device.accountId!).toString('hex'), phone.deviceId!)).revoked).toBe(true);
    expect(await t.server.storage.getPushSubscription(dave.device.accountId!, phone.deviceId!)).toBeUndefined();
    expect(await t.server.storage.getPushSubscription(dave.device.accountId!, 1)).toBeDefined();
    expect(await t.server.storage.deleteAccount(dave.device.accountId!)).toBe(true);
    expect(await t.server.storage.getPushSubscription(dave.device.accountId!, 1)).toBeUndefined();
    const rows: unknown[] = [];
    await t.server.storage.scanRows((table, row) => { if (table === 'push_subscriptions') rows.push(row); }, dave.device.accountId!);
    expect(rows).toEqual([]);
    // secure_delete and the checkpoint at the end of a sweep: the endpoints are gone from the files too.
    await t.server.sweep();
    (t.server.storage as SqliteStorage).checkpoint();
    const files = ['sigilo.db', 'sigilo.db-wal'].map((f) => join(t.dataDir, f)).filter(existsSync).map((f) => readFileSync(f));
    for (const token of [daveSub.endpoint, phoneSub.endpoint].map((e) => e.split('/').pop()!)) {
      for (const f of files) expect(f.includes(Buffer.from(token))).toBe(false);
    }
  }, 60_000);

  it('never logs an endpoint, and keeps the VAPID key owner-only in the data directory', () => {
    const all = t.logs.join('\n');
    expect(all).not.toContain('/push/');
    expect(all).not.toContain('/gone/');
    expect(all).not.toContain(svc.origin);
    expect(statSync(vapidKeyPath(t.dataDir)).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(readFileSync(vapidKeyPath(t.dataDir), 'utf8')) as { publicKey: string };
    expect(keys.publicKey).toBe(vapidPublicKey);
  });
});

describe('push.mode off', () => {
  it('refuses to start with a malformed push.allowedHosts entry', async () => {
    await expect(startTestServer({ 'push.allowedHosts': 'ntfy.example.org, https://bad_host/' })).rejects.toThrow(/push\.allowedHosts: 'https:\/\/bad_host\/' is not a host name/);
  });

  it('publishes no key, makes none, and answers PUSH_DISABLED', async () => {
    const t = await startTestServer({ 'push.mode': 'off' });
    try {
      expect((await serverInfo(t)).push).toEqual({ mode: 'off' });
      expect((await serverInfo(t)).policy.push).toBe('off');
      expect(existsSync(vapidKeyPath(t.dataDir))).toBe(false);
      const a = await t.account();
      const s = newSubscriber('https://push.example');
      const f = await subscribe(a.client, s);
      expect(f.body.case).toBe('error');
      if (f.body.case === 'error') expect(f.body.value.code).toBe(ErrorCode.PUSH_DISABLED);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('keeps the same VAPID key across restarts', async () => {
    const dir = tempDir('vapid');
    const a = await startTestServer({}, {}, dir);
    const k1 = (await serverInfo(a)).push.vapidPublicKey;
    await a.server.close();
    const b = await startTestServer({}, {}, dir);
    try {
      expect((await serverInfo(b)).push.vapidPublicKey).toBe(k1);
    } finally {
      await b.stop();
    }
  }, 60_000);
});
