import { sealSender, unsealSender } from '@sigilo/protocol';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient, ctx, messageId, newDevice } from './support/test-client.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('relay', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('delivers immediately to a connected device and deletes the message on its ack', async () => {
    const alice = await t.account();
    const bob = await t.account();
    await bob.client.waitForPush('queueEmpty');
    const r = await alice.client.sendTo(bob.device.accountId!, [1], () => text('hi bob'));
    expect(r.body.case).toBe('sendResult');
    const [d] = await bob.client.waitForDeliveries(1);
    expect(str(d!.content)).toBe('hi bob');
    expect(d!.sealed).toBe(false);
    expect(d!.senderAccountId).toEqual(alice.device.accountId);
    expect(d!.senderDeviceId).toBe(1);
    expect(await t.server.storage.queueDepth()).toBe(1);
    await bob.client.ackAll();
    expect(await t.server.storage.queueDepth()).toBe(0);
  });

  it('queues for an offline device and delivers in order on reconnect', async () => {
    const alice = await t.account();
    const bob = await t.account();
    await bob.client.close();
    for (let i = 0; i < 30; i++) {
      const r = await alice.client.sendTo(bob.device.accountId!, [1], () => text(`m${i}`));
      expect(r.body.case).toBe('sendResult');
    }
    const again = await t.connect();
    await again.authenticate(bob.device);
    const ds = await again.waitForDeliveries(30);
    expect(ds.map((d) => str(d.content))).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    await again.waitForPush('queueEmpty');
    // Not acknowledged: delivered again on the next connection.
    await again.close();
    const third = await t.connect();
    await third.authenticate(bob.device);
    expect(await third.waitForDeliveries(30)).toHaveLength(30);
    await third.ackAll();
    const fourth = await t.connect();
    await fourth.authenticate(bob.device);
    await fourth.waitForPush('queueEmpty');
    expect(fourth.deliveries()).toHaveLength(0);
  });

  it('one send carries a ciphertext per device; a stale list is rejected with the current one', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const bob2 = newDevice(bob.device.identity);
    const c2 = await t.connect();
    await c2.link(bob2, bob.device.accountId!);
    const stale = await alice.client.sendTo(bob.device.accountId!, [1, 9], (d) => text(`for ${d}`));
    expect(stale.body.case).toBe('error');
    if (stale.body.case !== 'error') return;
    expect(stale.body.value.code).toBe(ErrorCode.STALE_DEVICES);
    expect(stale.body.value.staleDevices).toMatchObject({ currentDeviceIds: [1, 2], missingDeviceIds: [2], extraDeviceIds: [9] });
    expect(await t.server.storage.fetchQueue(bob.device.accountId!, 1, 0, 10)).toHaveLength(0);
    const ok = await alice.client.sendTo(bob.device.accountId!, stale.body.value.staleDevices!.currentDeviceIds, (d) => text(`for ${d}`));
    expect(ok.body.case).toBe('sendResult');
    expect(str((await bob.client.waitForDeliveries(1))[0]!.content)).toBe('for 1');
    expect(str((await c2.waitForDeliveries(1))[0]!.content)).toBe('for 2');
  });

  it("a device writes to its account's other devices without itself", async () => {
    const alice = await t.account();
    const a2 = newDevice(alice.device.identity);
    const c2 = await t.connect();
    await c2.link(a2, alice.device.accountId!);
    const r = await alice.client.sendTo(alice.device.accountId!, [2], () => text('sync'));
    expect(r.body.case).toBe('sendResult');
    expect(str((await c2.waitForDeliveries(1))[0]!.content)).toBe('sync');
    const self = await alice.client.sendTo(alice.device.accountId!, [1, 2], () => text('x'));
    expect(self.body.case === 'error' && self.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('resending the same message id never produces a duplicate', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const id = messageId();
    const first = await alice.client.sendTo(bob.device.accountId!, [1], () => text('once'), id);
    const second = await alice.client.sendTo(bob.device.accountId!, [1], () => text('once'), id);
    expect(first.body.case === 'sendResult' && first.body.value.duplicate).toBe(false);
    expect(second.body.case === 'sendResult' && second.body.value.duplicate).toBe(true);
    await bob.client.waitForDeliveries(1);
    await bob.client.ackAll();
    const third = await alice.client.sendTo(bob.device.accountId!, [1], () => text('once'), id);
    expect(third.body.case === 'sendResult' && third.body.value.duplicate).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(bob.client.deliveries()).toHaveLength(1);
  });

  it('sends to an unknown account fail clearly', async () => {
    const alice = await t.account();
    const r = await alice.client.sendTo(new Uint8Array(16).fill(7), [1], () => text('x'));
    expect(r.body.case === 'error' && r.body.value.code).toBe(ErrorCode.NOT_FOUND);
  });
});

describe('sealed sender', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  const dbBytes = () => Buffer.concat(['sigilo.db', 'sigilo.db-wal'].map((f) => join(t.dataDir, f)).filter(existsSync).map((f) => readFileSync(f)));
  const count = (hay: Buffer, needle: Uint8Array) => {
    let n = 0;
    for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
    return n;
  };

  it('is refused without the recipient access key, and for unknown recipients alike', async () => {
    const bob = await t.account();
    const key = new Uint8Array(16).fill(3);
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey: key } }, 'ok');
    const anon = await t.connect();
    for (const [recipient, accessKey] of [[bob.device.accountId!, new Uint8Array(16)], [bob.device.accountId!, new Uint8Array(0)], [new Uint8Array(16).fill(1), key]] as const) {
      const f = await anon.request({ case: 'sealedSend', value: { recipientAccountId: recipient, messageId: messageId(), accessKey, messages: [{ deviceId: 1, content: text('x') }] } });
      expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
    }
  });

  it('delivers without a sender and leaves no sender identifier in the database or the logs', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const accessKey = new Uint8Array(16).fill(5);
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey } }, 'ok');
    await bob.client.close();
    const cert = await alice.client.expectOk({ case: 'getSenderCertificate', value: {} }, 'senderCertificate');
    expect(Number(cert.expires)).toBeGreaterThan(Date.now());
    await alice.client.close();

    const senderIds = [alice.device.accountId!, alice.device.identity.publicKey, alice.device.deviceKey.publicKey];
    const before = dbBytes();
    const baseline = senderIds.map((id) => count(before, id));
    expect(baseline[0]).toBeGreaterThan(0); // the scan sees the sender's own account row

    const envelope = sealSender(ctx, alice.device.identity, bob.device.identity.publicKey, cert.certificate, 1, text('sealed hello'));
    const anon = await t.connect(); // a fresh, unauthenticated connection
    const r = await anon.request({ case: 'sealedSend', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), accessKey, messages: [{ deviceId: 1, content: envelope }] } });
    expect(r.body.case).toBe('sendResult');

    // The message sits in Bob's queue: no copy of any sender identifier was written for it.
    const after = dbBytes();
    expect(senderIds.map((id) => count(after, id))).toEqual(baseline);
    const audit = await t.server.admin.audit();
    expect(audit.messagesWithSender).toBe(0);
    expect(audit.sealedMessages).toBe(1);

    const bobAgain = await t.connect();
    await bobAgain.authenticate(bob.device);
    const [d] = await bobAgain.waitForDeliveries(1);
    expect(d!.sealed).toBe(true);
    expect(d!.senderAccountId).toHaveLength(0);
    const opened = unsealSender(ctx, bob.device.identity, d!.content, [t.server.certificateKey], Date.now());
    expect(str(opened.content)).toBe('sealed hello');
    expect(Buffer.from(opened.sender.accountId).equals(Buffer.from(alice.device.accountId!))).toBe(true);
    await bobAgain.ackAll();

    const logs = t.logs.join('\n');
    for (const id of [...senderIds, bob.device.accountId!]) {
      expect(logs).not.toContain(Buffer.from(id).toString('hex'));
      expect(logs).not.toContain(Buffer.from(id).toString('base64'));
    }
    expect(logs).not.toContain('127.0.0.1');
    expect(logs).not.toContain('sealed hello');
  });

  it('an unrestricted account accepts sealed sends without a key', async () => {
    const bob = await t.account();
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey: new Uint8Array(0), unrestricted: true } }, 'ok');
    const anon = await TestClient.connect(t.server);
    const r = await anon.request({ case: 'sealedSend', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), messages: [{ deviceId: 1, content: text('x') }] } });
    expect(r.body.case).toBe('sendResult');
    expect((await bob.client.waitForDeliveries(1))[0]!.sealed).toBe(true);
    anon.ws.terminate();
  });
});

describe('online-only messages', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('reach connected devices only and are stored nowhere', async () => {
    const alice = await t.account();
    const bob = await t.account();
    const bob2 = newDevice(bob.device.identity);
    const c2 = await t.connect();
    await c2.link(bob2, bob.device.accountId!);
    await c2.close();
    await bob.client.waitForPush('queueEmpty');
    const f = await alice.client.request({ case: 'send', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), onlineOnly: true, messages: [1, 2].map((deviceId) => ({ deviceId, content: text('typing') })) } });
    expect(f.body.case).toBe('sendResult');
    const [d] = await bob.client.waitForDeliveries(1);
    expect(d!.serverId).toBe(0n);
    expect(str(d!.content)).toBe('typing');
    expect(await t.server.storage.queueDepth()).toBe(0);
    const later = await t.connect();
    await later.authenticate(bob2);
    await later.waitForPush('queueEmpty');
    expect(later.deliveries()).toHaveLength(0);
    const stale = await alice.client.request({ case: 'send', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), onlineOnly: true, messages: [{ deviceId: 1, content: text('x') }] } });
    expect(stale.body.case === 'error' && stale.body.value.code).toBe(ErrorCode.STALE_DEVICES);
  });
});
