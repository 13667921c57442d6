import { accountIdText } from '@sigilo/protocol';
import { CloseReason, ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-socket.js';
import { CLOSE_CODES } from '../src/connection.js';
import type { AccountSummary, AuditSummary, InviteInfo } from '../src/services/admin.js';
import { startTestServer, type TestServer } from './support/server.js';
import { newDevice } from './support/test-client.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b32 = (b: Uint8Array) => accountIdText(b);

describe('administration over the admin socket', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('issues single-use invites with an expiry', async () => {
    const invite = await adminRequest(t.dataDir, { op: 'invite', lifetimeMs: 3_600_000 }) as InviteInfo;
    expect(invite.code).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/);
    expect(invite.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    const c = await t.connect();
    expect((await c.register(newDevice(), invite.code)).body.case).toBe('registered');
    await expect(adminRequest(t.dataDir, { op: 'invite', lifetimeMs: 5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('lists accounts and devices', async () => {
    const { device } = await t.account();
    const accounts = await adminRequest(t.dataDir, { op: 'accounts' }) as AccountSummary[];
    const mine = accounts.find((a) => a.accountId === b32(device.accountId!));
    expect(mine).toMatchObject({ username: null, label: null });
    expect(mine?.devices).toEqual([{ deviceId: 1, createdDay: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), lastSeenDay: expect.any(String), connected: true }]);
  });

  it('revoking a device closes its connection and purges its queue and keys', async () => {
    const alice = await t.account();
    const bob = await t.account({ preKeys: true });
    const bob2 = newDevice(bob.device.identity);
    const c2 = await t.connect();
    await c2.link(bob2, bob.device.accountId!);
    await c2.close();
    await alice.client.sendTo(bob.device.accountId!, [1, 2], () => new Uint8Array([1]));
    expect(await t.server.storage.fetchQueue(bob.device.accountId!, 2, 0, 10)).toHaveLength(1);
    // Revoke device 1, which is connected (by its id in the people-facing form).
    const r = await adminRequest(t.dataDir, { op: 'revoke-device', accountId: b32(bob.device.accountId!), deviceId: 1 });
    expect(r).toEqual({ revoked: true, closedConnections: 1, accountId: b32(bob.device.accountId!) });
    expect((await bob.client.waitForPush('closing')).reason).toBe(CloseReason.DEVICE_REVOKED);
    expect((await bob.client.closed).code).toBe(CLOSE_CODES[CloseReason.DEVICE_REVOKED]);
    expect(await t.server.storage.fetchQueue(bob.device.accountId!, 1, 0, 10)).toHaveLength(0);
    expect((await t.server.storage.countPreKeys(bob.device.accountId!, 1)).oneTime).toBe(0);
    expect(await t.server.storage.fetchQueue(bob.device.accountId!, 2, 0, 10)).toHaveLength(1);
    // It can no longer authenticate, and is told in words who removed it; senders are told the device list changed.
    const again = await t.connect();
    const f = await again.authenticate(bob.device);
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.DEVICE_REMOVED);
    expect(f.body.case === 'error' && f.body.value.deviceRemoval?.byDeviceId).toBe(0);
    expect(f.body.case === 'error' && f.body.value.message).toMatch(/^this device was removed from your account by the administrator on \d{4}-\d\d-\d\d; link it again/);
    const stale = await alice.client.sendTo(bob.device.accountId!, [1, 2], () => new Uint8Array([1]));
    expect(stale.body.case === 'error' && stale.body.value.staleDevices?.currentDeviceIds).toEqual([2]);
  });

  it('removing an account closes every connection and deletes its data', async () => {
    const carol = await t.account({ preKeys: true });
    // Ids printed in hex by older versions are still accepted (32 hex digits cannot be mistaken for 26 base32 characters).
    const r = await adminRequest(t.dataDir, { op: 'remove-account', accountId: hex(carol.device.accountId!) });
    expect(r).toEqual({ removed: true, closedConnections: 1, accountId: b32(carol.device.accountId!) });
    expect((await carol.client.closed).code).toBe(CLOSE_CODES[CloseReason.ACCOUNT_REMOVED]);
    expect(await t.server.storage.getAccount(carol.device.accountId!)).toBeUndefined();
    await expect(adminRequest(t.dataDir, { op: 'remove-account', accountId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(adminRequest(t.dataDir, { op: 'remove-account', accountId: b32(carol.device.accountId!) })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(b32(carol.device.accountId!)) });
  });

  it('audits what the server holds', async () => {
    const a = await adminRequest(t.dataDir, { op: 'audit' }) as AuditSummary;
    expect(a.tables.map((x) => x.table)).toContain('messages');
    expect(a.retention.lastSeen).toBe('day');
    expect(a.files.map((f) => f.name)).toContain('sigilo.db');
  });

  it('a second server on the same data directory refuses to start', async () => {
    await expect(startTestServer({}, {}, t.dataDir)).rejects.toMatchObject({ code: 'DATA_DIR' });
  });
});

describe('admin socket path', () => {
  it('a data directory too deep for a Unix socket gives a clear error', async () => {
    const { tempDir } = await import('./support/server.js');
    const { join } = await import('node:path');
    const { rmSync } = await import('node:fs');
    const base = tempDir('deep');
    const deep = join(base, 'a'.repeat(60), 'b'.repeat(60));
    await expect(startTestServer({}, {}, deep)).rejects.toThrow(/admin socket path .* shorter --data path/);
    rmSync(base, { recursive: true, force: true });
  });
});
