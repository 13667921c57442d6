/**
 * Inbound backpressure (spec/server.md §13.3): while the relay is behind on its commits, a
 * connection that sends is told to stop reading (Relay.congested) and is resumed once the backlog
 * fell; every send taken before, during and after is stored and answered. Real SQLite file with
 * synchronous=full (the WAL is fdatasynced before each answer).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hub } from '../src/hub.js';
import { ServerMetrics } from '../src/metrics.js';
import { Relay } from '../src/services/relay.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import type { EnqueueRequest, EnqueueResult } from '../src/storage/port.js';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

describe('relay inbound backpressure', () => {
  let dir: string;
  let storage: SqliteStorage;
  let recipient: Uint8Array;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigilo-relay-bp-'));
    storage = new SqliteStorage({ filename: join(dir, 'sigilo.db') });
    const code = rnd(16);
    await storage.createInvite({ codeHash: sha(code), createdAt: NOW, expiresAt: NOW + DAY });
    recipient = rnd(16);
    const r = await storage.registerAccount(sha(code), NOW, {
      accountId: recipient, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: Math.floor(NOW / DAY),
    }, { deviceKey: rnd(32), createdDay: Math.floor(NOW / DAY) });
    expect(r.status).toBe('ok');
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (): EnqueueRequest => {
    const messageId = rnd(16);
    return {
      recipient, messageId, dedupKey: sha(recipient, messageId), entries: [{ deviceId: 1, content: rnd(300) }],
      sender: undefined, excludeDeviceId: undefined, createdAt: NOW, expiresAt: NOW + 30 * DAY, dedupExpiresAt: NOW + 7 * DAY,
    };
  };

  it('a sender is stopped while thousands of sends wait and resumed once they commit; nothing is lost', async () => {
    const relay = new Relay(storage, new Hub(), new ServerMetrics(), () => NOW);
    const resumed: number[] = [];
    // A few sends wait: no backpressure.
    const first = Array.from({ length: 10 }, () => relay.enqueue(send()));
    expect(relay.congested(() => resumed.push(0))).toBe(false);
    // Thousands arrive in one turn (far more than one transaction takes): the sender must stop reading.
    const burst = Array.from({ length: 6000 }, () => relay.enqueue(send()));
    expect(relay.congested(() => resumed.push(1))).toBe(true);
    expect(relay.congested(() => resumed.push(2))).toBe(true);
    expect(resumed).toEqual([]);
    const results: EnqueueResult[] = await Promise.all([...first, ...burst]);
    // Resumed (each once) as the backlog fell, before the last of them was answered.
    expect(resumed.sort()).toEqual([1, 2]);
    expect(results.every((r) => r.status === 'stored')).toBe(true);
    expect(await storage.queueDepth()).toBe(6010);
    // Caught up: senders read again at once.
    expect(relay.congested(() => resumed.push(3))).toBe(false);
    const after = await relay.enqueue(send());
    expect(after.status).toBe('stored');
    expect(resumed).toEqual([1, 2]);
  });
});
