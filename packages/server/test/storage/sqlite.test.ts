import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { runStorageConformance } from './conformance.js';

runStorageConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-'));
  return {
    storage: new SqliteStorage({ filename: join(dir, 'sigilo.db') }),
    async cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
});

describe('sqlite: upgrade of a version-1 database (before multi-recipient sends)', () => {
  it('adds the shared-payload columns and table, keeping queued messages', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { createHash, randomBytes } = await import('node:crypto');
    const rnd = (n: number) => new Uint8Array(randomBytes(n));
    const sha = (...p: Uint8Array[]) => { const h = createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-upgrade-'));
    const file = join(dir, 'sigilo.db');
    try {
      const code = rnd(16);
      const accountId = rnd(16);
      const messageId = rnd(16);
      const content = rnd(40);
      const first = new SqliteStorage({ filename: file });
      await first.createInvite({ codeHash: sha(code), createdAt: 0, expiresAt: 1e15 });
      await first.registerAccount(sha(code), 1, { accountId, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: 1 }, { deviceKey: rnd(32), createdDay: 1 });
      await first.enqueue([{ recipient: accountId, messageId, dedupKey: sha(accountId, messageId), entries: [{ deviceId: 1, content }], sender: undefined, excludeDeviceId: undefined, createdAt: 1, expiresAt: 1e15, dedupExpiresAt: 1e15 }]);
      await first.close();
      // Turn it back into what version 1 wrote.
      const raw = new Database(file);
      raw.exec(`DROP TRIGGER messages_release_payload; DROP INDEX messages_by_payload; DROP TABLE shared_payloads;
        ALTER TABLE messages DROP COLUMN payload_id; ALTER TABLE messages DROP COLUMN recipient_header; PRAGMA user_version = 1;`);
      raw.close();

      const upgraded = new SqliteStorage({ filename: file });
      const [old] = await upgraded.fetchQueue(accountId, 1, 0, 10);
      expect(old).toMatchObject({ messageId, content, recipientHeader: undefined });
      const id2 = rnd(16);
      const header = rnd(20);
      const payload = rnd(100);
      const [r] = await upgraded.enqueueMulti([{ messageId: id2, payload, recipients: [{ recipient: accountId, deviceIds: [1], header, dedupKey: sha(accountId, id2) }], createdAt: 2, expiresAt: 1e15, dedupExpiresAt: 1e15 }]);
      expect(r?.status).toBe('stored');
      const queue = await upgraded.fetchQueue(accountId, 1, 0, 10);
      expect(queue[1]).toMatchObject({ messageId: id2, content: payload, recipientHeader: header });
      await upgraded.close();
      const check = new Database(file, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(3);
      check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite: upgrade of a version-2 database (before usernames and profiles)', () => {
  it('adds the username, profile and directory tables, keeping accounts', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { createHash, randomBytes } = await import('node:crypto');
    const rnd = (n: number) => new Uint8Array(randomBytes(n));
    const sha = (p: Uint8Array) => new Uint8Array(createHash('sha256').update(p).digest());
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-upgrade-'));
    const file = join(dir, 'sigilo.db');
    try {
      const code = rnd(16);
      const accountId = rnd(16);
      const first = new SqliteStorage({ filename: file });
      await first.createInvite({ codeHash: sha(code), createdAt: 0, expiresAt: 1e15 });
      await first.registerAccount(sha(code), 1, { accountId, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: 1 }, { deviceKey: rnd(32), createdDay: 1 });
      await first.close();
      const raw = new Database(file);
      raw.exec('DROP TABLE usernames; DROP TABLE profiles; DROP TABLE directory; PRAGMA user_version = 2;');
      raw.close();

      const upgraded = new SqliteStorage({ filename: file });
      expect((await upgraded.getAccount(accountId))?.accountId).toEqual(accountId);
      const h = rnd(32);
      expect(await upgraded.setUsername(accountId, h)).toEqual({ status: 'ok' });
      expect(await upgraded.accountByUsernameHash(h)).toEqual(accountId);
      await upgraded.close();
      const check = new Database(file, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(3);
      check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
