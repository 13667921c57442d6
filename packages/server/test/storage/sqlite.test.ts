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

describe('sqlite: a database from before labels, device names and removal records', () => {
  it('opens with its accounts, gains the new tables, and removes devices as before', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { createHash, randomBytes } = await import('node:crypto');
    const rnd = (n: number) => new Uint8Array(randomBytes(n));
    const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-admin-upgrade-'));
    const file = join(dir, 'sigilo.db');
    try {
      const code = rnd(16);
      const accountId = rnd(16);
      const first = new SqliteStorage({ filename: file });
      await first.createInvite({ codeHash: sha(code), createdAt: 0, expiresAt: 1e15 });
      await first.registerAccount(sha(code), 1, { accountId, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: 1 }, { deviceKey: rnd(32), createdDay: 1 });
      await first.addDevice(accountId, { deviceKey: rnd(32), createdDay: 1 }, 5);
      await first.close();
      const raw = new Database(file);
      raw.exec('DROP TABLE account_labels; DROP TABLE device_names; DROP INDEX device_removals_by_expiry; DROP TABLE device_removals;');
      raw.close();

      const upgraded = new SqliteStorage({ filename: file });
      expect((await upgraded.listAccounts()).map((a) => Buffer.from(a.accountId).toString('hex'))).toEqual([Buffer.from(accountId).toString('hex')]);
      expect(await upgraded.setAccountLabel(accountId, 'kept')).toBe(true);
      expect(await upgraded.setDeviceName(accountId, 2, rnd(40))).toBe(true);
      expect(await upgraded.removeDevice(accountId, 2, { byDeviceId: 1, day: 1, expiresAt: 1e15 })).toBe(true);
      expect((await upgraded.getDeviceRemoval(accountId, 2, 0))?.byDeviceId).toBe(1);
      expect((await upgraded.listAccountLabels()).map((l) => l.label)).toEqual(['kept']);
      await upgraded.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite: what the files keep (spec/server.md §5)', () => {
  const rndBytes = async (n: number) => new Uint8Array((await import('node:crypto')).randomBytes(n));
  const sha = async (...p: Uint8Array[]) => { const h = (await import('node:crypto')).createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };

  it('acknowledged and expired rows, large ones too, leave no byte in sigilo.db, -wal or -shm after a sweep', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-forensic-'));
    const file = join(dir, 'sigilo.db');
    const db = new SqliteStorage({ filename: file });
    try {
      const code = await rndBytes(16);
      const accountId = await rndBytes(16);
      await db.createInvite({ codeHash: await sha(code), createdAt: 0, expiresAt: 1e15 });
      await db.registerAccount(await sha(code), 1, { accountId, identityKey: await rndBytes(64), accessKeyHash: undefined, unrestricted: true, createdDay: 1 }, { deviceKey: await rndBytes(32), createdDay: 1 });
      // Large contents spill into overflow pages, which a deletion frees whole (secure_delete=FAST would leave them).
      const sent: { messageId: Uint8Array; content: Uint8Array }[] = [];
      for (let i = 0; i < 40; i++) sent.push({ messageId: await rndBytes(16), content: await rndBytes(i % 2 ? 20_000 : 300) });
      const results = await db.enqueue(sent.map((s, i) => ({
        recipient: accountId, messageId: s.messageId, dedupKey: new Uint8Array(32).fill(i), entries: [{ deviceId: 1, content: s.content }],
        sender: undefined, excludeDeviceId: undefined, createdAt: 1, expiresAt: i < 30 ? 1e15 : 5, dedupExpiresAt: 1e15,
      })));
      const serverIds = results.map((r) => (r.status === 'stored' ? r.serverIds[0]! : -1)).slice(0, 30);
      db.checkpoint(); // some of the rows reach the database file itself before they go
      await db.ack([{ accountId, deviceId: 1, serverIds }]);
      await db.sweep(10); // expires the other ten, then empties the WAL
      expect(await db.queueDepth()).toBe(0);
      const files = readdirSync(dir).map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
      expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['sigilo.db', 'sigilo.db-wal', 'sigilo.db-shm']));
      const found: string[] = [];
      for (const { messageId, content } of sent) {
        for (const needle of [messageId, content.subarray(0, 24), content.subarray(content.length >> 1, (content.length >> 1) + 24), content.subarray(content.length - 24)]) {
          for (const f of files) if (f.bytes.indexOf(Buffer.from(needle)) >= 0) found.push(f.name);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates sigilo.db, -wal and -shm mode 0600 under umask 0, and tightens an existing 0644 database', async () => {
    const { chmodSync, statSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-mode-'));
    chmodSync(dir, 0o777);
    const previous = process.umask(0);
    try {
      const file = join(dir, 'sigilo.db');
      const db = new SqliteStorage({ filename: file });
      await db.createInvite({ codeHash: await rndBytes(32), createdAt: 0, expiresAt: 1e15 });
      for (const name of ['sigilo.db', 'sigilo.db-wal', 'sigilo.db-shm']) expect([name, statSync(join(dir, name)).mode & 0o777]).toEqual([name, 0o600]);
      await db.close();

      const old = join(dir, 'old.db');
      writeFileSync(old, '', { mode: 0o644 });
      writeFileSync(`${old}-wal`, '', { mode: 0o644 });
      const reopened = new SqliteStorage({ filename: old });
      for (const name of ['old.db', 'old.db-wal', 'old.db-shm']) expect([name, statSync(join(dir, name)).mode & 0o777]).toEqual([name, 0o600]);
      await reopened.close();
    } finally {
      process.umask(previous);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
