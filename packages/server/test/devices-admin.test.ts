/** Devices managed by their account, administrator labels, and the audit's oldest-row age (spec/server.md §3.5, §9). */
import { accountIdText } from '@sigilo/protocol';
import { CloseReason, ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-socket.js';
import { DAY_MS } from '../src/ids.js';
import { formatAudit, type AccountSummary, type AuditSummary } from '../src/services/admin.js';
import { startTestServer, type TestServer } from './support/server.js';
import { newDevice } from './support/test-client.js';

describe('devices managed by their own account', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  async function twoDevices() {
    const primary = await t.account({ preKeys: true });
    const second = newDevice(primary.device.identity);
    const c2 = await t.connect();
    expect((await c2.link(second, primary.device.accountId!)).body.case).toBe('registered');
    return { primary, second, c2 };
  }

  it('names travel as opaque bytes and are listed with the devices', async () => {
    const { primary, c2 } = await twoDevices();
    await primary.client.expectOk({ case: 'setDeviceName', value: { deviceId: 0, encryptedName: new Uint8Array([1, 2, 3]) } }, 'ok');
    await c2.expectOk({ case: 'setDeviceName', value: { deviceId: 0, encryptedName: new Uint8Array([4]) } }, 'ok');
    const list = await primary.client.expectOk({ case: 'listDevices', value: {} }, 'devices');
    expect(list.devices.map((d) => [d.deviceId, [...d.encryptedName]])).toEqual([[1, [1, 2, 3]], [2, [4]]]);
    const tooLong = await c2.request({ case: 'setDeviceName', value: { deviceId: 0, encryptedName: new Uint8Array(129) } });
    expect(tooLong.body.case === 'error' && tooLong.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    const noSuch = await c2.request({ case: 'setDeviceName', value: { deviceId: 9, encryptedName: new Uint8Array(3) } });
    expect(noSuch.body.case === 'error' && noSuch.body.value.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('the primary removes another device: closed, queue purged, told who and when on its next connection', async () => {
    const { primary, second, c2 } = await twoDevices();
    const sender = await t.account();
    await sender.client.sendTo(primary.device.accountId!, [1, 2], () => new Uint8Array([7]));
    expect(await t.server.storage.fetchQueue(primary.device.accountId!, 2, 0, 10)).toHaveLength(1);
    // A linked device may not remove the primary, and no device removes itself.
    const notPrimary = await c2.request({ case: 'removeDevice', value: { deviceId: 1 } });
    expect(notPrimary.body.case === 'error' && notPrimary.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
    const self = await primary.client.request({ case: 'removeDevice', value: { deviceId: 1 } });
    expect(self.body.case === 'error' && self.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);

    await primary.client.expectOk({ case: 'removeDevice', value: { deviceId: 2 } }, 'ok');
    const closing = await c2.waitForPush('closing');
    expect(closing.reason).toBe(CloseReason.DEVICE_REVOKED);
    expect(closing.message).toMatch(/removed from your account by device 1 of your account on \d{4}-\d\d-\d\d/);
    expect(await t.server.storage.fetchQueue(primary.device.accountId!, 2, 0, 10)).toHaveLength(0);
    expect((await primary.client.expectOk({ case: 'listDevices', value: {} }, 'devices')).devices.map((d) => d.deviceId)).toEqual([1]);

    const again = await t.connect();
    const f = await again.authenticate(second);
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.DEVICE_REMOVED);
    expect(f.body.case === 'error' && f.body.value.deviceRemoval).toMatchObject({ byDeviceId: 1, day: Math.floor(Date.now() / DAY_MS) });
    // Someone without the removed device's key learns nothing from the record.
    const stranger = await t.connect();
    const forged = await stranger.authenticate({ ...newDevice(primary.device.identity), accountId: second.accountId, deviceId: 2 });
    expect(forged.body.case === 'error' && forged.body.value.code).toBe(ErrorCode.AUTH_FAILED);
    expect(forged.body.case === 'error' && forged.body.value.deviceRemoval).toBeUndefined();
    const gone = await primary.client.request({ case: 'removeDevice', value: { deviceId: 2 } });
    expect(gone.body.case === 'error' && gone.body.value.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('no log line carries an account id', async () => {
    const a = await t.account();
    const text = t.logs.join('\n');
    expect(text).not.toContain(accountIdText(a.device.accountId!));
    expect(text).not.toContain(Buffer.from(a.device.accountId!).toString('hex'));
  });
});

describe('administrator labels', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('are set, shown, replaced and cleared, and only for existing accounts', async () => {
    const { device } = await t.account();
    const id = accountIdText(device.accountId!);
    const set = await adminRequest(t.dataDir, { op: 'label', accountId: id, label: '  Carol – logistics ' }) as AccountSummary;
    expect(set).toMatchObject({ accountId: id, label: 'Carol – logistics', devices: [{ deviceId: 1 }] });
    const list = await adminRequest(t.dataDir, { op: 'accounts' }) as AccountSummary[];
    expect(list.find((a) => a.accountId === id)?.label).toBe('Carol – logistics');
    expect(await adminRequest(t.dataDir, { op: 'account', accountId: id })).toMatchObject({ label: 'Carol – logistics' });
    await expect(adminRequest(t.dataDir, { op: 'label', accountId: id, label: 'a\nb' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(adminRequest(t.dataDir, { op: 'label', accountId: id, label: 'x'.repeat(101) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await adminRequest(t.dataDir, { op: 'label', accountId: id, label: null });
    expect((await adminRequest(t.dataDir, { op: 'account', accountId: id }) as AccountSummary).label).toBeNull();
    expect((await t.server.storage.listAccountLabels())).toHaveLength(0);
    await expect(adminRequest(t.dataDir, { op: 'label', accountId: accountIdText(new Uint8Array(16)), label: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(adminRequest(t.dataDir, { op: 'label', accountId: '@someone', label: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('audit: the age of the oldest row', () => {
  it('ages day-granular tables in calendar days, not from midnight', async () => {
    // An account created 00:30 UTC and audited at 23:00 the same day is "today", not "22.5 h";
    // an invite created at the same moment is 22.5 hours old.
    const day = Math.floor(Date.now() / DAY_MS) - 3;
    let clock = day * DAY_MS + 30 * 60_000;
    const t = await startTestServer({}, { now: () => clock });
    try {
      await t.account();
      await t.server.admin.createInvite();
      clock = day * DAY_MS + 23 * 3_600_000;
      let audit = await adminRequest(t.dataDir, { op: 'audit' }) as AuditSummary;
      const row = (name: string) => formatAudit(audit).split('\n').find((l) => l.startsWith(`${name} `))!;
      expect(row('accounts')).toMatch(/\s1\s+today$/);
      expect(row('devices')).toMatch(/\s1\s+today$/);
      expect(row('invites')).toMatch(/22\.5 h$/);
      expect(row('one_time_prekeys')).toMatch(/-$/);
      clock = (day + 2) * DAY_MS + 60_000;
      audit = await adminRequest(t.dataDir, { op: 'audit' }) as AuditSummary;
      expect(row('accounts')).toMatch(/2 days, since \d{4}-\d\d-\d\d$/);
      expect(audit.tables.find((x) => x.table === 'accounts')).toMatchObject({ oldest: day * DAY_MS, oldestIsDay: true });
    } finally {
      await t.stop();
    }
  });
});

describe('a lost primary device does not lock its owner out', () => {
  it('stops being primary 14 days after it was last seen; the next device seen since may then remove it', async () => {
    const day = Math.floor(Date.now() / DAY_MS) - 30;
    let clock = day * DAY_MS + 3_600_000;
    const t = await startTestServer({}, { now: () => clock });
    try {
      const primary = await t.account({ preKeys: true });
      const second = newDevice(primary.device.identity);
      const c2 = await t.connect();
      expect((await c2.link(second, primary.device.accountId!)).body.case).toBe('registered');
      await c2.close();
      await primary.client.close();

      // Ten days on, only the second device connects: the primary is still primary.
      clock = (day + 10) * DAY_MS;
      const again = await t.connect();
      expect((await again.authenticate({ ...second, accountId: primary.device.accountId, deviceId: 2 })).body.case).toBe('authenticated');
      const early = await again.request({ case: 'removeDevice', value: { deviceId: 1 } });
      expect(early.body.case === 'error' && early.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
      expect(early.body.case === 'error' && early.body.value.message).toMatch(/14 days after it was last seen/);
      await again.close();

      // Fifteen days after the primary was last seen, the second device (seen since) takes over.
      clock = (day + 15) * DAY_MS;
      const later = await t.connect();
      expect((await later.authenticate({ ...second, accountId: primary.device.accountId, deviceId: 2 })).body.case).toBe('authenticated');
      await later.expectOk({ case: 'removeDevice', value: { deviceId: 1 } }, 'ok');
      expect((await later.expectOk({ case: 'listDevices', value: {} }, 'devices')).devices.map((d) => d.deviceId)).toEqual([2]);
      await later.close();
    } finally {
      await t.stop();
    }
  });
});
