/**
 * `kill -9` of the server during a burst of sends: every message acknowledged
 * to its sender is delivered after restart, and none twice (also when the
 * sender resends everything with the same message ids).
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-socket.js';
import type { InviteInfo } from '../src/services/admin.js';
import { spawnServer, type SpawnedServer } from './support/spawn.js';
import { tempDir } from './support/server.js';
import { TestClient, messageId, newDevice } from './support/test-client.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const LIMITS = { 'limits.accountSendsPerSecond': 1_000_000, 'limits.accountBurst': 1_000_000, 'limits.connectionFramesPerSecond': 1_000_000, 'limits.connectionBurst': 1_000_000 };

describe('crash durability', () => {
  const dataDir = tempDir('kill9');
  let server: SpawnedServer | undefined;
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kill -9 during a burst loses no acknowledged message and duplicates none', async () => {
    server = await spawnServer(dataDir, LIMITS);
    const register = async () => {
      const { code } = await adminRequest(dataDir, { op: 'invite' }) as InviteInfo;
      const c = await TestClient.connect(server!);
      const d = newDevice();
      expect((await c.register(d, code)).body.case).toBe('registered');
      return { c, d };
    };
    const alice = await register();
    const bob = await register();
    await bob.c.close();

    const N = 3000;
    const ids = Array.from({ length: N }, () => messageId());
    const acked = new Set<string>();
    let killed = false;
    const sends = ids.map((id, i) =>
      alice.c.sendTo(bob.d.accountId!, [1], () => new TextEncoder().encode(`message ${i} `.padEnd(300, '.')), id).then(
        (f) => {
          if (f.body.case === 'sendResult') acked.add(hex(id));
          if (!killed && acked.size >= 400) {
            killed = true;
            server!.child.kill('SIGKILL');
          }
        },
        () => {},
      ));
    await Promise.all(sends);
    expect(await server.exited).toBe('SIGKILL');
    expect(acked.size).toBeGreaterThanOrEqual(400);
    expect(acked.size).toBeLessThan(N); // the kill happened mid-burst

    server = await spawnServer(dataDir, LIMITS);
    const delivered = new Map<string, number>();
    const receive = async () => {
      const c = await TestClient.connect(server!);
      expect((await c.authenticate(bob.d)).body.case).toBe('authenticated');
      await c.waitForPush('queueEmpty', 30_000);
      for (const d of c.deliveries()) delivered.set(hex(d.messageId), (delivered.get(hex(d.messageId)) ?? 0) + 1);
      await c.ackAll();
      await c.close();
    };
    await receive();
    for (const id of acked) expect(delivered.get(id), 'an acknowledged message was lost').toBe(1);

    // The sender retries everything it sent, acknowledged or not, with the same ids.
    const a2 = await TestClient.connect(server);
    expect((await a2.authenticate(alice.d)).body.case).toBe('authenticated');
    const retries = await Promise.all(ids.map((id, i) => a2.sendTo(bob.d.accountId!, [1], () => new TextEncoder().encode(`message ${i} `), id)));
    expect(retries.every((f) => f.body.case === 'sendResult')).toBe(true);
    for (const [i, f] of retries.entries()) {
      if (acked.has(hex(ids[i]!)) && f.body.case === 'sendResult') expect(f.body.value.duplicate).toBe(true);
    }
    await receive();
    expect(delivered.size).toBe(N);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = undefined;
  }, 120_000);
});
