/** A new device waiting for approval keeps its unauthenticated connection alive past the server's idle timeout. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from './support.js';

describe('linking a device', () => {
  let world: World;
  beforeAll(async () => { world = await World.start({ 'limits.authTimeout': '8s' }); }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('the code stays valid while the person takes longer than the idle timeout to approve it', async () => {
    const existing = await world.person('dana');
    const device = await world.newClient('dana-2');
    const pending = await device.startLink();
    await new Promise((r) => setTimeout(r, 11_000));
    await existing.approveLink(pending.code);
    const done = await pending.completed;
    expect(done.deviceId).toBeGreaterThan(1);
    await device.close();
  }, 40_000);

  it('a wrong or stale code is refused clearly', async () => {
    const existing = world.people.get('dana')!.devices[0]!;
    await expect(existing.approveLink('not a code')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(existing.approveLink('a'.repeat(77))).rejects.toMatchObject({ code: 'INVALID_INPUT' }); // a low-order key
    // A well-formed code nobody is waiting at.
    const other = await world.newClient('dana-3');
    const stale = await other.startLink();
    stale.cancel();
    await stale.completed.catch(() => {});
    // The client gave up at once; the server forgets the address when it sees that connection close. Wait for that
    // (no socket left that is not a device's) rather than for a fixed time, which a loaded machine can overrun.
    const end = Date.now() + 15_000;
    while (world.server.server.sockets().unauthenticated > 0) {
      if (Date.now() > end) throw new Error('the server still holds the cancelled link connection');
      await new Promise((r) => setTimeout(r, 20));
    }
    await expect(existing.approveLink(stale.code)).rejects.toMatchObject({ serverCode: 'NOT_FOUND' });
  });
});
