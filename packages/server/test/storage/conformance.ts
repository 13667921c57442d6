/**
 * The storage conformance suite: one set of behaviours every Storage adapter
 * must show. Each adapter's test file calls runStorageConformance with a
 * factory; an adapter that cannot run here (its service is absent) passes
 * `skip` with the reason, which vitest prints.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountRecord, EnqueueRequest, MultiEnqueueRequest, Storage } from '../../src/storage/port.js';
import { ACCOUNT_REMOVAL, EXPIRED_INVITE_KEPT_MS } from '../../src/storage/port.js';

export interface ConformanceTarget {
  readonly storage: Storage;
  /** Called after close(); removes files or schemas. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  readonly skip?: string | undefined;
}

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

function account(): AccountRecord {
  return { accountId: rnd(16), identityKey: rnd(64), accessKeyHash: undefined, unrestricted: false, createdDay: Math.floor(NOW / DAY) };
}

export function runStorageConformance(adapter: string, open: () => Promise<ConformanceTarget>, options: ConformanceOptions = {}): void {
  const suite = options.skip ? describe.skip : describe;
  suite(`storage conformance: ${adapter}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let target: ConformanceTarget;
    let db: Storage;

    beforeEach(async () => {
      target = await open();
      db = target.storage;
    });
    afterEach(async () => {
      await db.close();
      await target.cleanup();
    });

    async function registered(maxInviteAge = DAY) {
      const code = rnd(16);
      await db.createInvite({ codeHash: sha(code), createdAt: NOW, expiresAt: NOW + maxInviteAge });
      const acc = account();
      const r = await db.registerAccount(sha(code), NOW, acc, { deviceKey: rnd(32), createdDay: acc.createdDay });
      expect(r).toEqual({ status: 'ok', deviceId: 1 });
      return acc;
    }

    function send(recipient: Uint8Array, deviceIds: number[], extra: Partial<EnqueueRequest> = {}): EnqueueRequest {
      const messageId = extra.messageId ?? rnd(16);
      return {
        recipient, messageId, dedupKey: sha(recipient, messageId),
        entries: deviceIds.map((deviceId) => ({ deviceId, content: rnd(40) })),
        sender: undefined, excludeDeviceId: undefined,
        createdAt: NOW, expiresAt: NOW + 30 * DAY, dedupExpiresAt: NOW + 7 * DAY,
        ...extra,
      };
    }

    describe('invites and accounts', () => {
      it('registers with a valid invite exactly once', async () => {
        const code = rnd(16);
        await db.createInvite({ codeHash: sha(code), createdAt: NOW, expiresAt: NOW + DAY });
        const a = account();
        expect(await db.registerAccount(sha(code), NOW, a, { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'ok', deviceId: 1 });
        expect(await db.registerAccount(sha(code), NOW, account(), { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'invite-invalid' });
        const stored = await db.getAccount(a.accountId);
        expect(stored?.identityKey).toEqual(a.identityKey);
        expect(await db.listAccounts()).toHaveLength(1);
      });

      it('refuses unknown and expired invites without creating anything', async () => {
        const code = rnd(16);
        await db.createInvite({ codeHash: sha(code), createdAt: NOW, expiresAt: NOW + 10 });
        expect(await db.registerAccount(sha(rnd(16)), NOW, account(), { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'invite-invalid' });
        expect(await db.registerAccount(sha(code), NOW + 10, account(), { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'invite-expired' });
        expect(await db.listAccounts()).toHaveLength(0);
      });

      it('sets and clears the access key', async () => {
        const a = await registered();
        const h = rnd(32);
        await db.setAccessKey(a.accountId, h, true);
        expect(await db.getAccount(a.accountId)).toMatchObject({ accessKeyHash: h, unrestricted: true });
        expect(await db.getSealedAccess(a.accountId)).toEqual({ accessKeyHash: h, unrestricted: true });
        await db.setAccessKey(a.accountId, undefined, false);
        expect(await db.getAccount(a.accountId)).toMatchObject({ accessKeyHash: undefined, unrestricted: false });
        expect(await db.getSealedAccess(a.accountId)).toEqual({ accessKeyHash: undefined, unrestricted: false });
        expect(await db.getSealedAccess(rnd(16))).toBeUndefined();
      });
    });

    describe('devices', () => {
      it('adds devices up to the limit and never reuses an id', async () => {
        const a = await registered();
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 3)).toEqual({ status: 'ok', deviceId: 2 });
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 3)).toEqual({ status: 'ok', deviceId: 3 });
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 3)).toEqual({ status: 'limit' });
        expect(await db.removeDevice(a.accountId, 3)).toBe(true);
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 3)).toEqual({ status: 'ok', deviceId: 4 });
        expect((await db.listDevices(a.accountId)).map((d) => d.deviceId)).toEqual([1, 2, 4]);
        expect(await db.addDevice(rnd(16), { deviceKey: rnd(32), createdDay: 1 }, 3)).toEqual({ status: 'no-account' });
      });

      it('concurrent additions respect the limit', async () => {
        const a = await registered();
        const results = await Promise.all(Array.from({ length: 8 }, () => db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5)));
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(4);
        expect(await db.listDevices(a.accountId)).toHaveLength(5);
      });

      it('records last-seen days and clears them', async () => {
        const a = await registered();
        await db.setLastSeen(a.accountId, 1, 20_000);
        expect((await db.getDevice(a.accountId, 1))?.lastSeenDay).toBe(20_000);
        expect(await db.clearLastSeen()).toBe(1);
        expect((await db.getDevice(a.accountId, 1))?.lastSeenDay).toBeUndefined();
      });

      it('removing a device purges its prekeys and queue only', async () => {
        const a = await registered();
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        for (const d of [1, 2]) {
          await db.storePreKeys(a.accountId, d, { signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) }, oneTimePreKeys: [{ keyId: 1, publicKey: rnd(32) }], pqPreKeys: [] });
        }
        expect((await db.enqueue([send(a.accountId, [1, 2])]))[0]?.status).toBe('stored');
        expect(await db.removeDevice(a.accountId, 2)).toBe(true);
        expect(await db.removeDevice(a.accountId, 2)).toBe(false);
        expect(await db.getDevice(a.accountId, 2)).toBeUndefined();
        expect((await db.countPreKeys(a.accountId, 2)).oneTime).toBe(0);
        expect((await db.countPreKeys(a.accountId, 1)).oneTime).toBe(1);
        expect(await db.fetchQueue(a.accountId, 2, 0, 10)).toHaveLength(0);
        expect(await db.fetchQueue(a.accountId, 1, 0, 10)).toHaveLength(1);
      });

      it('deleting an account removes everything it owned', async () => {
        const a = await registered();
        const b = await registered();
        await db.storePreKeys(a.accountId, 1, { signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) }, oneTimePreKeys: [{ keyId: 1, publicKey: rnd(32) }], pqPreKeys: [] });
        await db.enqueue([send(a.accountId, [1]), send(b.accountId, [1])]);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.deleteAccount(a.accountId)).toBe(false);
        expect(await db.getAccount(a.accountId)).toBeUndefined();
        expect(await db.listDevices(a.accountId)).toHaveLength(0);
        expect(await db.countPreKeys(a.accountId, 1)).toMatchObject({ oneTime: 0, hasSignedPreKey: false });
        expect(await db.queueDepth()).toBe(1);
      });
    });

    describe('key directory', () => {
      const pq = (keyId: number, lastResort = false) => ({ keyId, publicKey: rnd(1184), signature: rnd(64), lastResort });

      it('counts uploads and replaces the signed and last-resort keys', async () => {
        const a = await registered();
        await db.storePreKeys(a.accountId, 1, {
          signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) },
          oneTimePreKeys: [1, 2, 3].map((keyId) => ({ keyId, publicKey: rnd(32) })),
          pqPreKeys: [pq(10), pq(11)],
          lastResortPqPreKey: pq(99, true),
        });
        const spk = { keyId: 2, publicKey: rnd(32), signature: rnd(64) };
        await db.storePreKeys(a.accountId, 1, { signedPreKey: spk, oneTimePreKeys: [], pqPreKeys: [] });
        expect(await db.countPreKeys(a.accountId, 1)).toEqual({ oneTime: 3, pq: 2, hasSignedPreKey: true, hasLastResort: true });
        const { bundles } = await db.takeBundles(a.accountId, undefined);
        expect(bundles[0]?.signedPreKey).toEqual(spk);
      });

      it('hands out each one-time key once, then the last-resort PQ key', async () => {
        const a = await registered();
        await db.storePreKeys(a.accountId, 1, {
          signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) },
          oneTimePreKeys: [{ keyId: 5, publicKey: rnd(32) }],
          pqPreKeys: [pq(7)],
          lastResortPqPreKey: pq(8, true),
        });
        const first = await db.takeBundles(a.accountId, undefined);
        expect(first.bundles[0]).toMatchObject({ deviceId: 1, oneTimePreKey: { keyId: 5 }, pqPreKey: { keyId: 7, lastResort: false } });
        const second = await db.takeBundles(a.accountId, [1]);
        expect(second.bundles[0]?.oneTimePreKey).toBeUndefined();
        expect(second.bundles[0]?.pqPreKey).toMatchObject({ keyId: 8, lastResort: true });
        const third = await db.takeBundles(a.accountId, [1]);
        expect(third.bundles[0]?.pqPreKey.keyId).toBe(8);
      });

      it('concurrent fetches never receive the same one-time key', async () => {
        const a = await registered();
        await db.storePreKeys(a.accountId, 1, {
          signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) },
          oneTimePreKeys: Array.from({ length: 30 }, (_, i) => ({ keyId: i + 1, publicKey: rnd(32) })),
          pqPreKeys: Array.from({ length: 30 }, (_, i) => pq(i + 1)),
          lastResortPqPreKey: pq(1000, true),
        });
        const results = await Promise.all(Array.from({ length: 40 }, () => db.takeBundles(a.accountId, undefined)));
        const ec = results.map((r) => r.bundles[0]?.oneTimePreKey?.keyId).filter((x) => x !== undefined);
        const pqIds = results.map((r) => r.bundles[0]!.pqPreKey).filter((k) => !k.lastResort).map((k) => k.keyId);
        expect(ec).toHaveLength(30);
        expect(new Set(ec).size).toBe(30);
        expect(new Set(pqIds).size).toBe(30);
        expect(await db.countPreKeys(a.accountId, 1)).toMatchObject({ oneTime: 0, pq: 0 });
      });

      it('reports devices without keys as unavailable and consumes nothing for them', async () => {
        const a = await registered();
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        await db.storePreKeys(a.accountId, 2, { signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) }, oneTimePreKeys: [{ keyId: 1, publicKey: rnd(32) }], pqPreKeys: [] });
        const r = await db.takeBundles(a.accountId, undefined);
        expect(r.bundles).toHaveLength(0);
        expect(r.unavailable).toEqual([1, 2]);
        expect((await db.countPreKeys(a.accountId, 2)).oneTime).toBe(1);
        expect((await db.takeBundles(a.accountId, [9])).unavailable).toEqual([9]);
      });
    });

    describe('queues', () => {
      it('stores one message per device, fetches in order and deletes on ack', async () => {
        const a = await registered();
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        const sender = { accountId: rnd(16), deviceId: 3 };
        const req1 = send(a.accountId, [1, 2], { sender });
        const req2 = send(a.accountId, [1, 2]);
        const [r1, r2] = await db.enqueue([req1, req2]);
        expect(r1?.status).toBe('stored');
        expect(r2?.status).toBe('stored');
        const q = await db.fetchQueue(a.accountId, 1, 0, 10);
        expect(q.map((m) => m.messageId)).toEqual([req1.messageId, req2.messageId]);
        // A stored send's ids follow its entries: device 1's row, then device 2's.
        expect(r1?.status === 'stored' && r1.serverIds).toEqual([q[0]!.serverId, (await db.fetchQueue(a.accountId, 2, 0, 10))[0]!.serverId]);
        expect(q[0]).toMatchObject({ sealed: false, senderAccountId: sender.accountId, senderDeviceId: 3, content: req1.entries[0]!.content });
        expect(q[1]).toMatchObject({ sealed: true, senderAccountId: undefined, senderDeviceId: undefined });
        expect(await db.fetchQueue(a.accountId, 1, q[0]!.serverId, 10)).toHaveLength(1);
        const [acked = []] = await db.ack([{ accountId: a.accountId, deviceId: 1, serverIds: [q[0]!.serverId, q[1]!.serverId, 999_999] }]);
        expect(acked.map((x) => x.serverId)).toEqual([q[0]!.serverId, q[1]!.serverId]);
        expect(acked[0]?.createdAt).toBe(NOW);
        expect(await db.fetchQueue(a.accountId, 1, 0, 10)).toHaveLength(0);
        expect(await db.fetchQueue(a.accountId, 2, 0, 10)).toHaveLength(2);
        expect(await db.ack([{ accountId: a.accountId, deviceId: 2, serverIds: [q[0]!.serverId] }])).toEqual([[]]); // another device's ids
        expect(await db.queueDepth()).toBe(2);
      });

      it('never stores the same message id twice for a recipient', async () => {
        const a = await registered();
        const req = send(a.accountId, [1]);
        expect((await db.enqueue([req, req]))).toMatchObject([{ status: 'stored' }, { status: 'duplicate' }]);
        expect((await db.enqueue([req]))[0]?.status).toBe('duplicate');
        const [m] = await db.fetchQueue(a.accountId, 1, 0, 10);
        await db.ack([{ accountId: a.accountId, deviceId: 1, serverIds: [m!.serverId] }]);
        expect((await db.enqueue([req]))[0]?.status).toBe('duplicate');
        expect(await db.queueDepth()).toBe(0);
      });

      it('rejects a stale device list with the current one', async () => {
        const a = await registered();
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        const [r] = await db.enqueue([send(a.accountId, [1, 7])]);
        expect(r).toEqual({ status: 'stale', current: [1, 2], missing: [2], extra: [7] });
        const [own] = await db.enqueue([send(a.accountId, [2], { excludeDeviceId: 1 })]);
        expect(own?.status).toBe('stored');
        const [unknown] = await db.enqueue([send(rnd(16), [1])]);
        expect(unknown?.status).toBe('no-account');
        expect(await db.queueDepth()).toBe(1);
      });

      it('does not ask for a device without keys beside one with keys (a link cut short), and still takes it', async () => {
        const a = await registered();
        const spk = { keyId: 1, publicKey: rnd(32), signature: rnd(64) };
        await db.storePreKeys(a.accountId, 1, { signedPreKey: spk, oneTimePreKeys: [], pqPreKeys: [] });
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5); // registered by a link, no keys yet
        expect((await db.listDevices(a.accountId)).map((d) => [d.deviceId, d.keyless])).toEqual([[1, false], [2, true]]);
        const [without] = await db.enqueue([send(a.accountId, [1])]);
        expect(without?.status).toBe('stored');
        const [withIt] = await db.enqueue([send(a.accountId, [1, 2])]);
        expect(withIt?.status).toBe('stored');
        expect(await db.enqueue([send(a.accountId, [2])])).toEqual([{ status: 'stale', current: [1], missing: [1], extra: [] }]);
        expect(await db.getSealedRecipients([a.accountId])).toEqual([{ accessKeyHash: undefined, unrestricted: false, deviceIds: [1, 2], keyless: [2] }]);
        // Once it publishes its keys, every send must list it.
        await db.storePreKeys(a.accountId, 2, { signedPreKey: spk, oneTimePreKeys: [], pqPreKeys: [] });
        expect(await db.enqueue([send(a.accountId, [1])])).toEqual([{ status: 'stale', current: [1, 2], missing: [2], extra: [] }]);
      });

      it('finds keyless devices older than a day beside a device with keys, for the sweeper', async () => {
        const a = await registered();
        const lonely = await registered(); // no device with keys: left alone
        await db.storePreKeys(a.accountId, 1, { signedPreKey: { keyId: 1, publicKey: rnd(32), signature: rnd(64) }, oneTimePreKeys: [], pqPreKeys: [] });
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 10 }, 5);
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 12 }, 5);
        await db.addDevice(lonely.accountId, { deviceKey: rnd(32), createdDay: 10 }, 5);
        const found = await db.keylessDevices(12);
        expect(found.map((d) => [Buffer.from(d.accountId).toString('hex'), d.deviceId])).toEqual([[Buffer.from(a.accountId).toString('hex'), 2]]);
        expect(await db.keylessDevices(10)).toEqual([]);
      });

      it('a stale request in a batch does not block the others', async () => {
        const a = await registered();
        const results = await db.enqueue([send(a.accountId, [2]), send(a.accountId, [1])]);
        expect(results.map((r) => r.status)).toEqual(['stale', 'stored']);
      });
    });

    describe('multi-recipient sealed sends', () => {
      function multi(recipients: { accountId: Uint8Array; deviceIds: number[] }[], extra: Partial<MultiEnqueueRequest> = {}): MultiEnqueueRequest {
        const messageId = extra.messageId ?? rnd(16);
        return {
          messageId, payload: rnd(300),
          recipients: recipients.map((r) => ({ recipient: r.accountId, deviceIds: r.deviceIds, header: rnd(48), dedupKey: sha(r.accountId, messageId) })),
          createdAt: NOW, expiresAt: NOW + 30 * DAY, dedupExpiresAt: NOW + 7 * DAY,
          ...extra,
        };
      }
      const payloadRows = async () => (await db.audit(NOW)).tables.find((t) => t.table === 'shared_payloads')?.rows;

      it('looks up access keys and devices of many accounts at once, in order', async () => {
        const a = await registered();
        const b = await registered();
        await db.addDevice(b.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        const h = rnd(32);
        await db.setAccessKey(a.accountId, h, false);
        await db.setAccessKey(b.accountId, undefined, true);
        const r = await db.getSealedRecipients([b.accountId, rnd(16), a.accountId]);
        expect(r).toEqual([
          { accessKeyHash: undefined, unrestricted: true, deviceIds: [1, 2], keyless: [] },
          undefined,
          { accessKeyHash: h, unrestricted: false, deviceIds: [1], keyless: [] },
        ]);
        expect(await db.getSealedRecipients([])).toEqual([]);
      });

      it('stores the payload once, a row per device with its header, delivers and deletes on ack', async () => {
        const a = await registered();
        const b = await registered();
        await db.addDevice(b.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        const req = multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: b.accountId, deviceIds: [1, 2] }]);
        const [r] = await db.enqueueMulti([req]);
        expect(r?.status).toBe('stored');
        if (r?.status !== 'stored') return;
        expect(r.serverIds.map((m) => [...m!.keys()])).toEqual([[1], [1, 2]]);
        expect(await db.queueDepth()).toBe(3);
        expect(await payloadRows()).toBe(1);
        for (const [i, account, deviceId] of [[0, a, 1], [1, b, 1], [1, b, 2]] as const) {
          const [m] = await db.fetchQueue(account.accountId, deviceId, 0, 10);
          expect(m).toMatchObject({
            serverId: r.serverIds[i]!.get(deviceId), messageId: req.messageId, createdAt: NOW, sealed: true,
            senderAccountId: undefined, senderDeviceId: undefined, content: req.payload, recipientHeader: req.recipients[i]!.header,
          });
        }
        const audit = await db.audit(NOW);
        expect(audit).toMatchObject({ messagesWithSender: 0, sealedMessages: 3 });
        await db.ack([{ accountId: a.accountId, deviceId: 1, serverIds: [r.serverIds[0]!.get(1)!] }, { accountId: b.accountId, deviceId: 1, serverIds: [r.serverIds[1]!.get(1)!] }]);
        expect(await payloadRows()).toBe(1); // one device still has it
        const [last] = await db.fetchQueue(b.accountId, 2, 0, 10);
        expect(last?.content).toEqual(req.payload);
        await db.ack([{ accountId: b.accountId, deviceId: 2, serverIds: [last!.serverId] }]);
        expect(await db.queueDepth()).toBe(0);
        expect(await payloadRows()).toBe(0);
        // An ordinary message in the same queue has no header.
        await db.enqueue([send(a.accountId, [1])]);
        expect((await db.fetchQueue(a.accountId, 1, 0, 10))[0]?.recipientHeader).toBeUndefined();
      });

      it('stores nothing for anyone when one recipient lists the wrong devices or does not exist', async () => {
        const a = await registered();
        const b = await registered();
        const c = await registered();
        await db.addDevice(b.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        const req = multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: b.accountId, deviceIds: [1] }, { accountId: c.accountId, deviceIds: [1, 4] }]);
        const [r] = await db.enqueueMulti([req]);
        expect(r).toEqual({
          status: 'rejected', unknown: [],
          stale: [{ index: 1, current: [1, 2], missing: [2], extra: [] }, { index: 2, current: [1], missing: [], extra: [4] }],
        });
        const ghost = rnd(16);
        const [u] = await db.enqueueMulti([multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: ghost, deviceIds: [1] }])]);
        expect(u).toEqual({ status: 'rejected', unknown: [1], stale: [] });
        expect(await db.queueDepth()).toBe(0);
        expect(await payloadRows()).toBe(0);
        // Nothing was remembered either: the corrected send with the same message id is stored.
        const fixed = multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: b.accountId, deviceIds: [1, 2] }, { accountId: c.accountId, deviceIds: [1] }], { messageId: req.messageId });
        expect((await db.enqueueMulti([fixed]))[0]?.status).toBe('stored');
        expect(await db.queueDepth()).toBe(4);
      });

      it('is idempotent per recipient and message id, also across single sealed sends', async () => {
        const a = await registered();
        const b = await registered();
        const req = multi([{ accountId: a.accountId, deviceIds: [1] }]);
        expect((await db.enqueueMulti([req, req])).map((r) => r.status)).toEqual(['stored', 'duplicate']);
        expect((await db.enqueueMulti([req]))[0]?.status).toBe('duplicate');
        // b is new, a already has it: only b's row is stored.
        const wider = multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: b.accountId, deviceIds: [1] }], { messageId: req.messageId });
        const [r] = await db.enqueueMulti([wider]);
        expect(r?.status === 'stored' && r.serverIds.map((m) => m?.size)).toEqual([undefined, 1]);
        expect(await db.queueDepth()).toBe(2);
        // A SealedSend of the same id to a is the same message.
        expect((await db.enqueue([send(a.accountId, [1], { messageId: req.messageId })]))[0]?.status).toBe('duplicate');
        // A duplicate recipient's stale list does not matter: it is not stored again.
        await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        expect((await db.enqueueMulti([req]))[0]?.status).toBe('duplicate');
      });

      it('a rejected request in a batch does not block the others', async () => {
        const a = await registered();
        const results = await db.enqueueMulti([multi([{ accountId: a.accountId, deviceIds: [2] }]), multi([{ accountId: a.accountId, deviceIds: [1] }])]);
        expect(results.map((r) => r.status)).toEqual(['rejected', 'stored']);
        expect(await db.queueDepth()).toBe(1);
      });

      it('the shared payload goes with the last row, however the rows go', async () => {
        const a = await registered();
        const b = await registered();
        await db.addDevice(b.accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
        await db.enqueueMulti([multi([{ accountId: a.accountId, deviceIds: [1] }, { accountId: b.accountId, deviceIds: [1, 2] }])]);
        await db.enqueueMulti([multi([{ accountId: b.accountId, deviceIds: [1, 2] }], { expiresAt: NOW + 5 })]);
        expect(await payloadRows()).toBe(2);
        expect(await db.removeDevice(b.accountId, 2)).toBe(true);
        expect(await payloadRows()).toBe(2);
        expect(await db.sweep(NOW + 5)).toMatchObject({ messages: 1 });
        expect(await payloadRows()).toBe(1);
        expect(await db.deleteAccount(b.accountId)).toBe(true);
        expect(await payloadRows()).toBe(1); // a's row still refers to it
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await payloadRows()).toBe(0);
        expect(await db.queueDepth()).toBe(0);
      });
    });

    describe('attachment metadata and quota counters', () => {
      const GiB = 1024 ** 3;
      const charge = (accountId: Uint8Array, bytes: number, quota: number, over: { day?: number; expiresAt?: number; now?: number } = {}) =>
        db.chargeAttachmentUsage({ accountId, day: over.day ?? Math.floor(NOW / DAY), bytes, expiresAt: over.expiresAt ?? NOW + 3 * DAY, now: over.now ?? NOW, quota });

      it('keeps attachment sizes above 2^32 exactly', async () => {
        for (const size of [2 ** 31, 5 * GiB, 64 * GiB]) {
          const attachmentId = rnd(16);
          await db.createAttachment({ attachmentId, size, uploadTokenHash: rnd(32), createdAt: NOW, expiresAt: NOW + DAY, complete: false });
          expect((await db.getAttachment(attachmentId))?.size).toBe(size);
        }
      });

      it('counts charges per account against the quota, and refuses one that would exceed it without counting it', async () => {
        const a = rnd(16);
        const b = rnd(16);
        expect(await charge(a, 5 * GiB, 10 * GiB, { day: 100, expiresAt: NOW + DAY })).toEqual({ status: 'ok', used: 5 * GiB });
        expect(await charge(a, 3 * GiB, 10 * GiB, { day: 101, expiresAt: NOW + 2 * DAY })).toEqual({ status: 'ok', used: 8 * GiB });
        expect(await charge(a, 1 * GiB, 10 * GiB, { day: 101, expiresAt: NOW + 2 * DAY })).toEqual({ status: 'ok', used: 9 * GiB });
        expect(await charge(a, 2 * GiB, 10 * GiB, { day: 101 })).toEqual({
          status: 'exceeded', used: 9 * GiB, counters: [{ bytes: 5 * GiB, expiresAt: NOW + DAY }, { bytes: 4 * GiB, expiresAt: NOW + 2 * DAY }],
        });
        expect(await charge(a, 1 * GiB, 10 * GiB, { day: 101 })).toEqual({ status: 'ok', used: 10 * GiB });
        expect(await charge(b, 10 * GiB, 10 * GiB)).toEqual({ status: 'ok', used: 10 * GiB });
      });

      it('stops counting a counter at its expiry, and the sweep removes it', async () => {
        const a = rnd(16);
        await charge(a, 700, 1000, { day: 1, expiresAt: NOW + 10 });
        expect((await charge(a, 700, 1000, { day: 1, now: NOW + 9 })).status).toBe('exceeded');
        expect(await charge(a, 700, 1000, { day: 2, now: NOW + 10, expiresAt: NOW + DAY })).toEqual({ status: 'ok', used: 700 });
        expect((await db.sweep(NOW + 10)).attachmentUsage).toBe(1);
        expect((await db.sweep(NOW + 10)).attachmentUsage).toBe(0);
        const rows = Object.fromEntries((await db.audit(NOW)).tables.map((t) => [t.table, t.rows]));
        expect(rows.attachment_usage).toBe(1);
      });

      it('lets concurrent charges of one account pass only up to the quota', async () => {
        const a = rnd(16);
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => charge(a, 100, 550, { day: i % 3 })));
        expect(results.filter((r) => r.status === 'ok')).toHaveLength(5);
        expect(await charge(a, 50, 550)).toEqual({ status: 'ok', used: 550 });
      });

      it('deletes an account with its quota counters', async () => {
        const a = await registered();
        await charge(a.accountId, 1000, 1000);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await charge(a.accountId, 1000, 1000)).toEqual({ status: 'ok', used: 1000 });
      });
    });

    describe('usernames, profiles and the member directory', () => {
      const hash = () => rnd(32);

      it('gives a username to one account only, replaces an account\'s previous one, and releases it', async () => {
        const a = await registered(), b = await registered();
        const h1 = hash(), h2 = hash();
        expect(await db.setUsername(a.accountId, h1)).toEqual({ status: 'ok' });
        expect(await db.setUsername(a.accountId, h1)).toEqual({ status: 'ok' });
        expect(await db.setUsername(b.accountId, h1)).toEqual({ status: 'taken' });
        expect(await db.accountByUsernameHash(h1)).toEqual(a.accountId);
        expect(await db.usernameHashOf(a.accountId)).toEqual(h1);
        expect(await db.setUsername(a.accountId, h2)).toEqual({ status: 'ok' });
        expect(await db.accountByUsernameHash(h1)).toBeUndefined();
        expect(await db.setUsername(b.accountId, h1)).toEqual({ status: 'ok' });
        expect(await db.deleteUsername(b.accountId)).toBe(true);
        expect(await db.deleteUsername(b.accountId)).toBe(false);
        expect(await db.accountByUsernameHash(h1)).toBeUndefined();
        expect(await db.setUsername(rnd(16), h1)).toEqual({ status: 'no-account' });
      });

      it('lets exactly one of two concurrent claims of a free username win', async () => {
        const a = await registered(), b = await registered();
        const h = hash();
        const results = await Promise.all([db.setUsername(a.accountId, h), db.setUsername(b.accountId, h)]);
        expect(results.map((r) => r.status).sort()).toEqual(['ok', 'taken']);
        const holder = await db.accountByUsernameHash(h);
        expect([a.accountId, b.accountId].filter((id) => holder && Buffer.from(id).equals(Buffer.from(holder)))).toHaveLength(1);
      });

      it('stores, replaces and removes an opaque profile', async () => {
        const a = await registered();
        expect(await db.getProfile(a.accountId)).toBeUndefined();
        const p1 = rnd(300), p2 = rnd(500);
        await db.setProfile(a.accountId, { profile: p1, updatedAt: NOW });
        await db.setProfile(a.accountId, { profile: p2, updatedAt: NOW + 1 });
        expect(await db.getProfile(a.accountId)).toEqual({ profile: p2, updatedAt: NOW + 1 });
        await db.setProfile(a.accountId, undefined);
        expect(await db.getProfile(a.accountId)).toBeUndefined();
      });

      it('publishes a directory entry only for the claimed username, searches it, and drops it with the username', async () => {
        const a = await registered(), b = await registered(), c = await registered();
        const ha = hash(), hb = hash();
        await db.setUsername(a.accountId, ha);
        await db.setUsername(b.accountId, hb);
        expect(await db.publishDirectoryEntry({ accountId: a.accountId, username: 'ana.lopez', name: 'Ana López' }, hb)).toEqual({ status: 'not-claimed' });
        expect(await db.publishDirectoryEntry({ accountId: c.accountId, username: 'carla', name: 'Carla' }, hash())).toEqual({ status: 'not-claimed' });
        expect(await db.publishDirectoryEntry({ accountId: a.accountId, username: 'ana.lopez', name: 'Ana López' }, ha)).toEqual({ status: 'ok' });
        expect(await db.publishDirectoryEntry({ accountId: b.accountId, username: 'bruno', name: 'Bruno Alves' }, hb)).toEqual({ status: 'ok' });
        const names = async (q: string, after = '', limit = 10) => (await db.searchDirectory(q, after, limit)).map((e) => e.username);
        expect(await names('')).toEqual(['ana.lopez', 'bruno']);
        expect(await names('LOP')).toEqual(['ana.lopez']);
        expect(await names('alves')).toEqual(['bruno']);
        expect(await names('', 'ana.lopez')).toEqual(['bruno']);
        expect(await names('', '', 1)).toEqual(['ana.lopez']);
        expect(await names('nobody')).toEqual([]);
        expect((await db.searchDirectory('ana', '', 10))[0]).toEqual({ accountId: a.accountId, username: 'ana.lopez', name: 'Ana López' });
        // A new username (or none) takes the account out of the directory: its entry named the old one.
        await db.setUsername(a.accountId, hash());
        expect(await names('')).toEqual(['bruno']);
        expect(await db.deleteUsername(b.accountId)).toBe(true);
        expect(await names('')).toEqual([]);
      });

      it('removes and clears directory entries, and deleting an account removes its username, profile and entry', async () => {
        const a = await registered(), b = await registered();
        const ha = hash(), hb = hash();
        await db.setUsername(a.accountId, ha);
        await db.setUsername(b.accountId, hb);
        await db.setProfile(a.accountId, { profile: rnd(300), updatedAt: NOW });
        await db.publishDirectoryEntry({ accountId: a.accountId, username: 'ana', name: '' }, ha);
        await db.publishDirectoryEntry({ accountId: b.accountId, username: 'bruno', name: '' }, hb);
        expect(await db.removeDirectoryEntry(b.accountId)).toBe(true);
        expect(await db.removeDirectoryEntry(b.accountId)).toBe(false);
        expect(await db.accountByUsernameHash(hb)).toEqual(b.accountId);
        const rows = Object.fromEntries((await db.audit(NOW)).tables.map((t) => [t.table, t.rows]));
        expect(rows).toMatchObject({ usernames: 2, profiles: 1, directory: 1 });
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.accountByUsernameHash(ha)).toBeUndefined();
        expect(await db.getProfile(a.accountId)).toBeUndefined();
        expect(await db.searchDirectory('', '', 10)).toEqual([]);
        await db.publishDirectoryEntry({ accountId: b.accountId, username: 'bruno', name: '' }, hb);
        expect(await db.clearDirectory()).toBe(1);
        expect(await db.searchDirectory('', '', 10)).toEqual([]);
      });
    });

    describe('retention and audit', () => {
      it('runs work under an exclusive lock, frees it afterwards, even when the work fails', async () => {
        expect(await db.exclusive('conformance', async () => 7)).toBe(7);
        await expect(db.exclusive('conformance', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
        expect(await db.exclusive('conformance', async () => 'again')).toBe('again');
      });

      it('sweeps expired messages, invites, dedup records and attachments', async () => {
        const a = await registered();
        // An invite goes EXPIRED_INVITE_KEPT_MS after it expired (until then, using it says "expired").
        await db.createInvite({ codeHash: rnd(32), createdAt: NOW - EXPIRED_INVITE_KEPT_MS, expiresAt: NOW + 5 - EXPIRED_INVITE_KEPT_MS });
        await db.enqueue([send(a.accountId, [1], { expiresAt: NOW + 5, dedupExpiresAt: NOW + 5 }), send(a.accountId, [1])]);
        const attachmentId = rnd(16);
        await db.createAttachment({ attachmentId, size: 10, uploadTokenHash: rnd(32), createdAt: NOW, expiresAt: NOW + 5, complete: false });
        expect(await db.completeAttachment(attachmentId)).toBe(true);
        expect((await db.getAttachment(attachmentId))?.complete).toBe(true);
        const r = await db.sweep(NOW + 5);
        expect(r).toMatchObject({ messages: 1, invites: 1, dedup: 1 });
        expect(r.attachmentIds).toEqual([attachmentId]);
        expect(await db.getAttachment(attachmentId)).toBeUndefined();
        expect(await db.queueDepth()).toBe(1);
      });

      it('keeps an expired invite for a while, so that using it still says expired', async () => {
        const code = rnd(32);
        await db.createInvite({ codeHash: code, createdAt: NOW, expiresAt: NOW + 5 });
        expect((await db.sweep(NOW + 10)).invites).toBe(0);
        expect(await db.registerAccount(code, NOW + 10, account(), { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'invite-expired' });
        expect((await db.sweep(NOW + 5 + EXPIRED_INVITE_KEPT_MS)).invites).toBe(1);
        expect(await db.registerAccount(code, NOW + 6 + EXPIRED_INVITE_KEPT_MS, account(), { deviceKey: rnd(32), createdDay: 1 })).toEqual({ status: 'invite-invalid' });
      });

      it('audits rows per table and stored sender identities', async () => {
        const a = await registered();
        await db.enqueue([send(a.accountId, [1], { sender: { accountId: rnd(16), deviceId: 1 } }), send(a.accountId, [1])]);
        await db.setLastSeen(a.accountId, 1, 1);
        const report = await db.audit(NOW);
        const rows = Object.fromEntries(report.tables.map((t) => [t.table, t.rows]));
        expect(rows).toMatchObject({ accounts: 1, devices: 1, messages: 2, invites: 0 });
        expect(report.tables.find((t) => t.table === 'messages')?.oldest).toBe(NOW);
        expect(report.tables.find((t) => t.table === 'messages')?.oldestIsDay).toBeFalsy();
        // Accounts and devices keep only the day: the report says so, so that their age is told in days.
        expect(report.tables.find((t) => t.table === 'accounts')).toMatchObject({ oldest: Math.floor(NOW / DAY) * DAY, oldestIsDay: true });
        expect(report.tables.find((t) => t.table === 'devices')?.oldestIsDay).toBe(true);
        expect(report).toMatchObject({ messagesWithSender: 1, sealedMessages: 1, devicesWithLastSeen: 1 });
      });
    });

    describe('labels, device names and removal records', () => {
      it('keeps an administrator label only while set, and only for an existing account', async () => {
        const a = await registered();
        const b = await registered();
        expect(await db.listAccountLabels()).toEqual([]);
        expect(await db.setAccountLabel(a.accountId, 'Carol – logistics')).toBe(true);
        expect(await db.setAccountLabel(a.accountId, 'Carol, logistics')).toBe(true);
        expect(await db.setAccountLabel(b.accountId, 'Bob')).toBe(true);
        const labels = (await db.listAccountLabels()).map((l) => [Buffer.from(l.accountId).toString('hex'), l.label]).sort();
        expect(labels).toEqual([[Buffer.from(a.accountId).toString('hex'), 'Carol, logistics'], [Buffer.from(b.accountId).toString('hex'), 'Bob']].sort());
        expect(await db.setAccountLabel(b.accountId, undefined)).toBe(true);
        expect(await db.setAccountLabel(rnd(16), 'nobody')).toBe(false);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.listAccountLabels()).toEqual([]);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'account_labels')?.rows).toBe(0);
      });

      it('keeps encrypted device names per device, gone with the device', async () => {
        const a = await registered();
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: a.createdDay }, 5)).toEqual({ status: 'ok', deviceId: 2 });
        expect(await db.setDeviceName(a.accountId, 1, new Uint8Array([1, 2]))).toBe(true);
        expect(await db.setDeviceName(a.accountId, 2, new Uint8Array([3]))).toBe(true);
        expect(await db.setDeviceName(a.accountId, 2, new Uint8Array([4, 5]))).toBe(true);
        expect(await db.setDeviceName(a.accountId, 3, new Uint8Array([9]))).toBe(false);
        const names = await db.listDeviceNames(a.accountId);
        expect([...names.entries()].map(([id, n]) => [id, [...n]]).sort()).toEqual([[1, [1, 2]], [2, [4, 5]]]);
        expect(await db.setDeviceName(a.accountId, 1, undefined)).toBe(true);
        expect(await db.removeDevice(a.accountId, 2)).toBe(true);
        expect((await db.listDeviceNames(a.accountId)).size).toBe(0);
      });

      it('deleting an account with a removal keeps one record per device it had, with its key, and nothing else', async () => {
        const a = await registered();
        const key2 = rnd(32);
        await db.addDevice(a.accountId, { deviceKey: key2, createdDay: a.createdDay }, 5);
        const removal = { byDeviceId: ACCOUNT_REMOVAL, day: Math.floor(NOW / DAY), expiresAt: NOW + DAY };
        expect(await db.deleteAccount(a.accountId, removal)).toBe(true);
        expect(await db.getAccount(a.accountId)).toBeUndefined();
        expect(await db.listDevices(a.accountId)).toEqual([]);
        const r = await db.getDeviceRemoval(a.accountId, 2, NOW);
        expect(r && { ...r, deviceKey: [...r.deviceKey] }).toEqual({ ...removal, deviceKey: [...key2] });
        expect((await db.getDeviceRemoval(a.accountId, 1, NOW))?.byDeviceId).toBe(ACCOUNT_REMOVAL);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'device_removals')?.rows).toBe(2);
        await db.sweep(NOW + DAY);
        expect((await db.audit(NOW + DAY)).tables.find((t) => t.table === 'device_removals')?.rows).toBe(0);
      });

      it('records a removal with the removed key only when asked and only for a device that existed; sweeps and account deletion forget it', async () => {
        const a = await registered();
        const key = rnd(32);
        expect(await db.addDevice(a.accountId, { deviceKey: key, createdDay: a.createdDay }, 5)).toEqual({ status: 'ok', deviceId: 2 });
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: a.createdDay }, 5)).toEqual({ status: 'ok', deviceId: 3 });
        const removal = { byDeviceId: 1, day: Math.floor(NOW / DAY), expiresAt: NOW + DAY };
        expect(await db.removeDevice(a.accountId, 2, removal)).toBe(true);
        expect(await db.removeDevice(a.accountId, 7, removal)).toBe(false);
        expect(await db.getDeviceRemoval(a.accountId, 7, NOW)).toBeUndefined();
        const r = await db.getDeviceRemoval(a.accountId, 2, NOW);
        expect(r && { ...r, deviceKey: [...r.deviceKey] }).toEqual({ ...removal, deviceKey: [...key] });
        expect(await db.getDeviceRemoval(a.accountId, 2, NOW + DAY)).toBeUndefined();
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'device_removals')).toMatchObject({ rows: 1, oldestIsDay: true });
        await db.sweep(NOW + DAY);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'device_removals')?.rows).toBe(0);
        expect(await db.removeDevice(a.accountId, 3, removal)).toBe(true);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.getDeviceRemoval(a.accountId, 3, NOW)).toBeUndefined();
      });
    });

    describe('key transparency log', () => {
      // Hashing is the caller's (the server passes RFC 9162's); any function shows the node bookkeeping.
      const nodeHash = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([1]), l, r);
      const leaf = (accountId: Uint8Array, deviceId: number, kind: 1 | 2 = 1) => {
        const bytes = rnd(30);
        return { accountId, deviceId, kind, leaf: bytes, leafHash: sha(new Uint8Array([0]), bytes) };
      };

      it('appends in order, stores every complete subtree, finds an account\'s leaves', async () => {
        expect(await db.ktSize()).toBe(0);
        const a = rnd(16);
        const b = rnd(16);
        const first = [leaf(a, 1), leaf(b, 1), leaf(a, 2)];
        expect(await db.appendKtLeaves(first, nodeHash)).toBe(3);
        const more = [leaf(a, 2, 2), leaf(b, 2), leaf(a, 3), leaf(b, 3)];
        expect(await db.appendKtLeaves(more, nodeHash)).toBe(7);
        const all = [...first, ...more];
        const [l0, l1, l2, l3, n01, n23, n0123, missing] = await db.getKtNodes([
          { level: 0, index: 0 }, { level: 0, index: 1 }, { level: 0, index: 2 }, { level: 0, index: 3 },
          { level: 1, index: 0 }, { level: 1, index: 1 }, { level: 2, index: 0 }, { level: 2, index: 1 },
        ]);
        expect(l0).toEqual(all[0]!.leafHash);
        expect(n01).toEqual(nodeHash(l0!, l1!));
        expect(n23).toEqual(nodeHash(l2!, l3!));
        expect(n0123).toEqual(nodeHash(n01!, n23!));
        expect(missing).toBeUndefined(); // leaves 4..7 are not complete: only 7 leaves
        expect((await db.getKtNodes([{ level: 1, index: 2 }]))[0]).toEqual(nodeHash(all[4]!.leafHash, all[5]!.leafHash));
        const ofA = await db.findKtLeaves(a);
        expect(ofA.map((x) => [x.index, x.deviceId, x.kind])).toEqual([[0, 1, 1], [2, 2, 1], [3, 2, 2], [5, 3, 1]]);
        expect(ofA[1]!.leaf).toEqual(first[2]!.leaf);
        expect((await db.findKtLeaves(a, [3])).map((x) => x.index)).toEqual([5]);
        expect(await db.findKtLeaves(rnd(16))).toEqual([]);
      });

      it('serialises concurrent appends into one consistent tree', async () => {
        const a = rnd(16);
        const batches = Array.from({ length: 8 }, (_, i) => [leaf(a, i + 1), leaf(a, i + 100)]);
        const sizes = await Promise.all(batches.map((x) => db.appendKtLeaves(x, nodeHash)));
        expect([...sizes].sort((x, y) => x - y)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
        expect(await db.ktSize()).toBe(16);
        const leaves = await db.findKtLeaves(a);
        const [root] = await db.getKtNodes([{ level: 4, index: 0 }]);
        const byIndex = new Map<number, Uint8Array>();
        for (const x of leaves) byIndex.set(x.index, batches.flat().find((y) => y.leaf.every((v, i) => v === x.leaf[i]))!.leafHash);
        let level = [...Array(16).keys()].map((i) => byIndex.get(i)!);
        while (level.length > 1) level = level.flatMap((_, i) => (i % 2 ? [] : [nodeHash(level[i]!, level[i + 1]!)]));
        expect(root).toEqual(level[0]);
      });

      it('lists devices without an add leaf, and the log outlives a deleted account', async () => {
        const a = await registered();
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: a.createdDay }, 5)).toEqual({ status: 'ok', deviceId: 2 });
        const unlogged = await db.listKtUnlogged(100);
        expect(unlogged.map((u) => u.deviceId).sort()).toEqual([1, 2]);
        expect(unlogged[0]!.identityKey).toEqual(a.identityKey);
        await db.appendKtLeaves([leaf(a.accountId, 1), leaf(a.accountId, 2, 2)], nodeHash);
        expect((await db.listKtUnlogged(100)).map((u) => u.deviceId)).toEqual([2]);
        expect(await db.listKtUnlogged(0)).toEqual([]);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.listKtUnlogged(100)).toEqual([]);
        expect(await db.findKtLeaves(a.accountId)).toHaveLength(2);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'kt_leaves')?.rows).toBe(2);
      });
    });

    // Certification requests (spec/trust.md §4.1)
    describe('certification requests', () => {
      const req = (accountId: Uint8Array, name: string, createdAt = NOW) => ({ accountId, deviceId: 1, name, identityKey: rnd(64), signature: rnd(64), createdAt });

      it('keeps one pending request per account (a new one replaces it with a new id), lists oldest first, deletes by id and with the account', async () => {
        const a = await registered();
        const b = await registered();
        expect(await db.putCertificationRequest(req(rnd(16), 'Nobody'))).toBeUndefined();
        const r1 = await db.putCertificationRequest(req(a.accountId, 'Ana Silva', NOW - 5));
        expect(r1).toMatchObject({ replaced: false });
        const r2 = await db.putCertificationRequest(req(b.accountId, 'Bruno Costa'));
        const r3 = await db.putCertificationRequest(req(a.accountId, 'Ana M. Silva'));
        expect(r3!.replaced).toBe(true);
        expect(r3!.requestId).toBeGreaterThan(r2!.requestId);
        expect(await db.getCertificationRequest(r1!.requestId)).toBeUndefined();
        const list = await db.listCertificationRequests();
        expect(list.map((r) => r.name)).toEqual(['Bruno Costa', 'Ana M. Silva']);
        const got = await db.getCertificationRequest(r3!.requestId);
        expect(got).toMatchObject({ requestId: r3!.requestId, deviceId: 1, name: 'Ana M. Silva', createdAt: NOW });
        expect(Buffer.from(got!.accountId)).toEqual(Buffer.from(a.accountId));
        expect(got!.identityKey.length).toBe(64);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'certification_requests')).toMatchObject({ rows: 2, oldest: NOW });
        const mine: string[] = [];
        await db.scanRows((table) => mine.push(table), a.accountId);
        expect(mine).toContain('certification_requests');
        expect(await db.deleteCertificationRequest(r2!.requestId)).toBe(true);
        expect(await db.deleteCertificationRequest(r2!.requestId)).toBe(false);
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.listCertificationRequests()).toEqual([]);
        // An id is never given again (the administrator may have noted it).
        const r4 = await db.putCertificationRequest(req(b.accountId, 'Bruno Costa'));
        expect(r4!.requestId).toBeGreaterThan(r3!.requestId);
      });
    });

    // Push subscriptions and whole-database scans (spec/server.md §Push, §9)
    describe('push subscriptions and row scans', () => {
      const sub = (n: number) => ({ endpoint: `https://push.example/${n}`, p256dh: rnd(65), auth: rnd(16), createdDay: 5 });

      it('stores one subscription per device, replaces and removes it, and deletes it with the device and the account', async () => {
        const a = await registered();
        expect(await db.addDevice(a.accountId, { deviceKey: rnd(32), createdDay: a.createdDay }, 5)).toEqual({ status: 'ok', deviceId: 2 });
        expect(await db.setPushSubscription(a.accountId, 9, sub(0))).toBe(false);
        const s1 = sub(1);
        expect(await db.setPushSubscription(a.accountId, 1, s1)).toBe(true);
        expect(await db.setPushSubscription(a.accountId, 1, sub(2))).toBe(true);
        expect(await db.setPushSubscription(a.accountId, 2, sub(3))).toBe(true);
        const got = await db.getPushSubscription(a.accountId, 1);
        expect(got?.endpoint).toBe('https://push.example/2');
        expect(got?.p256dh.length).toBe(65);
        expect(got?.createdDay).toBe(5);
        expect((await db.audit(NOW)).tables.find((t) => t.table === 'push_subscriptions')).toMatchObject({ rows: 2, oldestIsDay: true });
        expect(await db.setPushSubscription(a.accountId, 1, undefined)).toBe(true);
        expect(await db.getPushSubscription(a.accountId, 1)).toBeUndefined();
        expect(await db.setPushSubscription(a.accountId, 1, s1)).toBe(true);
        expect(await db.removeDevice(a.accountId, 2)).toBe(true);
        expect(await db.getPushSubscription(a.accountId, 2)).toBeUndefined();
        expect(await db.getPushSubscription(a.accountId, 1)).toBeDefined();
        expect(await db.deleteAccount(a.accountId)).toBe(true);
        expect(await db.getPushSubscription(a.accountId, 1)).toBeUndefined();
      });

      it('scans every table, or only the rows that name one account', async () => {
        const a = await registered();
        const b = await registered();
        await db.setAccountLabel(a.accountId, 'alpha');
        await db.setPushSubscription(a.accountId, 1, sub(1));
        const r = await db.enqueue([send(b.accountId, [1], { sender: { accountId: a.accountId, deviceId: 1 } }), send(a.accountId, [1])]);
        expect(r.map((x) => x.status)).toEqual(['stored', 'stored']);
        const all = new Map<string, number>();
        await db.scanRows((table) => all.set(table, (all.get(table) ?? 0) + 1));
        expect(all.get('accounts')).toBe(2);
        expect(all.get('messages')).toBe(2);
        expect(all.get('invites') ?? 0).toBe(0);
        expect(all.get('push_subscriptions')).toBe(1);
        const mine: { table: string; row: Record<string, unknown> }[] = [];
        await db.scanRows((table, row) => mine.push({ table, row }), a.accountId);
        const hex = (v: unknown) => Buffer.from(v as Uint8Array).toString('hex');
        const aHex = hex(a.accountId);
        for (const { row } of mine) {
          expect(Object.entries(row).some(([k, v]) => /(^|_)account_id$/.test(k) && v instanceof Uint8Array && hex(v) === aHex)).toBe(true);
        }
        const tables = new Set(mine.map((m) => m.table));
        for (const t of ['accounts', 'devices', 'account_labels', 'push_subscriptions', 'messages']) expect(tables.has(t), t).toBe(true);
        // Both messages name a: one as recipient, one (identified) as sender.
        expect(mine.filter((m) => m.table === 'messages')).toHaveLength(2);
        expect(mine.some((m) => m.table === 'accounts' && hex(m.row.account_id) === hex(b.accountId))).toBe(false);
      });
    });
  });
}
