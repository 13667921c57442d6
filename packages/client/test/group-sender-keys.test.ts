/**
 * The bound on received sender keys (groups.md §6.6), in the store itself: per member device and group the newest
 * few are kept, a key whose successor arrived long ago goes, and a store made before arrival times were kept gains
 * the column and keeps its keys.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterAll, describe, expect, it } from 'vitest';

import { SqlCipherStore, deriveStoreKey } from '../../client-node/src/index.js';
import type { SenderKeyRow } from '../src/store/port.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function newDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sigilo-sender-keys-'));
  dirs.push(d);
  return d;
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const group = bytes(32, 1), otherGroup = bytes(32, 2);
const carla = bytes(16, 3), dora = bytes(16, 4);
const key = (groupId: Uint8Array, accountId: Uint8Array, deviceId: number, n: number, receivedAt: number): SenderKeyRow => ({
  groupId, accountId, deviceId, distributionId: bytes(16, n), record: bytes(8, n), receivedAt,
});
const held = (s: SqlCipherStore, groupId: Uint8Array) => s.listSenderKeys(groupId).map((k) => `${k.accountId[0]}/${k.deviceId}/${k.distributionId[0]}`).sort();

describe('received sender keys in the store', () => {
  it('keeps the newest few per member device and group, by arrival; other devices and groups are untouched', () => {
    const s = SqlCipherStore.open(newDir(), 'pass');
    try {
      for (let n = 10; n < 17; n++) s.putSenderKey(key(group, carla, 1, n, 1000 + n));
      s.putSenderKey(key(group, carla, 2, 50, 1000));
      s.putSenderKey(key(otherGroup, carla, 1, 60, 1000));
      s.putSenderKey(key(group, dora, 1, 70, 1000));
      // An update of an older key's record does not make it newer.
      s.putSenderKey({ ...key(group, carla, 1, 11, 9999), record: bytes(8, 99) });
      expect(s.pruneSenderKeys(group, carla, 1, 3, 0)).toBe(4);
      expect(held(s, group)).toEqual(['3/1/14', '3/1/15', '3/1/16', '3/2/50', '4/1/70']);
      expect(held(s, otherGroup)).toEqual(['3/1/60']);
    } finally {
      s.close();
    }
  });

  it('drops a key whose successor arrived before the cut-off, and keeps the current one', () => {
    const s = SqlCipherStore.open(newDir(), 'pass');
    try {
      s.putSenderKey(key(group, carla, 1, 1, 1000));
      s.putSenderKey(key(group, carla, 1, 2, 2000)); // supersedes 1 at 2000
      s.putSenderKey(key(group, carla, 1, 3, 3000)); // supersedes 2 at 3000
      expect(s.pruneSenderKeys(group, carla, 1, 5, 2500)).toBe(1);
      expect(held(s, group)).toEqual(['3/1/2', '3/1/3']);
      expect(s.pruneSenderKeys(group, carla, 1, 5, 10_000)).toBe(1);
      expect(held(s, group)).toEqual(['3/1/3']);
      expect(s.getSenderKey(carla, 1, bytes(16, 3))!.receivedAt).toBe(3000);
    } finally {
      s.close();
    }
  });

  it('keys for groups not held are bounded per member device across all such groups', () => {
    const s = SqlCipherStore.open(newDir(), 'pass');
    try {
      s.putGroup({ groupId: group, name: 'held', revision: 0, status: 'active', mutedUntil: 0, updatedAt: 0 });
      s.putSenderKey(key(group, carla, 1, 1, 1000));
      const unknown = Array.from({ length: 6 }, (_, i) => bytes(32, 100 + i));
      unknown.forEach((g, i) => s.putSenderKey(key(g, carla, 1, 10 + i, 1000)));
      s.putSenderKey(key(unknown[0]!, dora, 1, 40, 1000));
      expect(s.pruneUnheldSenderKeys(carla, 1, 2)).toBe(4);
      const left = unknown.flatMap((g) => held(s, g)).sort();
      expect(left).toEqual(['3/1/14', '3/1/15', '4/1/40']);
      expect(held(s, group)).toEqual(['3/1/1']);
    } finally {
      s.close();
    }
  });

  it('a store made before arrival times were kept gains the column; its keys read as received at 0', () => {
    const dir = newDir();
    SqlCipherStore.open(dir, 'pass').close();
    // Make it look like an older store: no received_at column, one key in it.
    const db = new Database(join(dir, 'store.db'));
    db.pragma("cipher = 'sqlcipher'");
    db.pragma('legacy = 4');
    db.pragma(`key = "x'${deriveStoreKey('pass', readFileSync(join(dir, 'store.salt'))).toString('hex')}'"`);
    db.exec('ALTER TABLE group_sender_keys DROP COLUMN received_at');
    db.prepare('INSERT INTO group_sender_keys (account_id, device_id, distribution_id, group_id, record) VALUES (?, ?, ?, ?, ?)')
      .run(Buffer.from(carla), 1, Buffer.from(bytes(16, 7)), Buffer.from(group), Buffer.from(bytes(8, 7)));
    db.close();
    const s = SqlCipherStore.open(dir, 'pass');
    try {
      expect(s.getSenderKey(carla, 1, bytes(16, 7))!.receivedAt).toBe(0);
      s.putSenderKey(key(group, carla, 1, 8, 5000));
      expect(s.pruneSenderKeys(group, carla, 1, 5, 1000)).toBe(0);
      expect(s.pruneSenderKeys(group, carla, 1, 5, 6000)).toBe(1);
      expect(held(s, group)).toEqual(['3/1/8']);
    } finally {
      s.close();
    }
  });
});
