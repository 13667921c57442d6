/**
 * Attack: a linked device removes the primary while the primary is in use. Last-seen days are
 * written when a device authenticates; a primary that stays connected for over 14 days (a desktop
 * left running) looked "lost", and any other device of the account that authenticated since could
 * remove it. A device connected now counts as seen now (spec/server.md §3.5). Real server, real TLS.
 */
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/ids.js';
import { startTestServer } from './support/server.js';
import { newDevice } from './support/test-client.js';

describe('attack: removing a primary device that is connected', () => {
  it('a primary connected for 15 days without authenticating again stays primary; a linked device cannot remove it', async () => {
    const day = Math.floor(Date.now() / DAY_MS) - 30;
    let clock = day * DAY_MS + 3_600_000;
    const t = await startTestServer({}, { now: () => clock });
    try {
      const primary = await t.account({ preKeys: true });
      const second = newDevice(primary.device.identity);
      const c2 = await t.connect();
      expect((await c2.link(second, primary.device.accountId!)).body.case).toBe('registered');
      await c2.close();

      // Fifteen days on, the primary's connection is still open (and in use); the second device authenticates.
      clock = (day + 15) * DAY_MS;
      expect((await primary.client.request({ case: 'ping', value: {} })).body.case).toBe('pong');
      const later = await t.connect();
      expect((await later.authenticate({ ...second, accountId: primary.device.accountId, deviceId: 2 })).body.case).toBe('authenticated');
      // Old code: Ok, and the primary in use was cut off and deleted.
      const r = await later.request({ case: 'removeDevice', value: { deviceId: 1 } });
      expect(r.body.case === 'error' && r.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
      expect((await later.expectOk({ case: 'listDevices', value: {} }, 'devices')).devices.map((d) => d.deviceId)).toEqual([1, 2]);
      // The primary, connected, still may remove the second device.
      await primary.client.expectOk({ case: 'removeDevice', value: { deviceId: 2 } }, 'ok');

      // Once the primary is gone (disconnected and unseen for 14 days), the lapse rule applies as before.
    } finally {
      await t.stop();
    }
  });

  it('with last-seen off, a connected linked device does not become primary', async () => {
    const t = await startTestServer({ 'retention.lastSeen': 'off' });
    try {
      const primary = await t.account({ preKeys: true });
      const second = newDevice(primary.device.identity);
      const c2 = await t.connect();
      expect((await c2.link(second, primary.device.accountId!)).body.case).toBe('registered');
      await primary.client.close();
      const r = await c2.request({ case: 'removeDevice', value: { deviceId: 1 } });
      expect(r.body.case === 'error' && r.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
    } finally {
      await t.stop();
    }
  });
});
