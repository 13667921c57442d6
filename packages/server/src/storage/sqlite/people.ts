/** The SQLite adapter's usernames, profiles and member directory (spec/server.md §3.1, storage/sqlite.ts). */
import type Database from 'better-sqlite3';
import type { PublishDirectoryResult, SetUsernameResult, DirectoryRecord } from '../port.js';
import { buf } from './rows.js';

/** Lower-cases A–Z only, as SQLite's lower() does, so searches match the same way on every adapter. */
export const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

type PeopleStatement = 'accountByHash' | 'hashOf' | 'accountExists' | 'deleteUsername' | 'insertUsername' | 'putProfile' | 'deleteProfile' | 'getProfile'
  | 'putEntry' | 'deleteEntry' | 'deleteEntryByUsername' | 'search' | 'clearDirectory';

export interface People {
  s: Record<PeopleStatement, Database.Statement>;
  setUsername: Database.Transaction<(account: Buffer, hash: Buffer) => SetUsernameResult>;
  deleteUsername: Database.Transaction<(account: Buffer) => boolean>;
  publish: Database.Transaction<(e: DirectoryRecord, hash: Buffer) => PublishDirectoryResult>;
}

/** Statements and transactions of usernames, profiles and the directory (spec/server.md §3.1). */
export function preparePeople(db: Database.Database): People {
  const s: Record<PeopleStatement, Database.Statement> = {
    accountByHash: db.prepare('SELECT account_id FROM usernames WHERE username_hash = ?').pluck(),
    hashOf: db.prepare('SELECT username_hash FROM usernames WHERE account_id = ?').pluck(),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE account_id = ?').pluck(),
    deleteUsername: db.prepare('DELETE FROM usernames WHERE account_id = ?'),
    insertUsername: db.prepare('INSERT INTO usernames (username_hash, account_id) VALUES (?, ?)'),
    putProfile: db.prepare(`INSERT INTO profiles (account_id, profile, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`),
    deleteProfile: db.prepare('DELETE FROM profiles WHERE account_id = ?'),
    getProfile: db.prepare('SELECT profile, updated_at FROM profiles WHERE account_id = ?'),
    putEntry: db.prepare(`INSERT INTO directory (account_id, username, name) VALUES (?, ?, ?)
      ON CONFLICT (account_id) DO UPDATE SET username = excluded.username, name = excluded.name`),
    deleteEntry: db.prepare('DELETE FROM directory WHERE account_id = ?'),
    deleteEntryByUsername: db.prepare('DELETE FROM directory WHERE username = ? AND account_id <> ?'),
    search: db.prepare(`SELECT account_id, username, name FROM directory
      WHERE (instr(lower(username), ?) > 0 OR instr(lower(name), ?) > 0) AND username > ? ORDER BY username LIMIT ?`),
    clearDirectory: db.prepare('DELETE FROM directory'),
  };
  return {
    s,
    setUsername: db.transaction((account: Buffer, hash: Buffer): SetUsernameResult => {
      const holder = s.accountByHash.get(hash) as Buffer | undefined;
      if (holder) return holder.equals(account) ? { status: 'ok' } : { status: 'taken' };
      if (s.accountExists.get(account) === undefined) return { status: 'no-account' };
      s.deleteUsername.run(account);
      s.deleteEntry.run(account);
      s.insertUsername.run(hash, account);
      return { status: 'ok' };
    }),
    deleteUsername: db.transaction((account: Buffer): boolean => {
      s.deleteEntry.run(account);
      return s.deleteUsername.run(account).changes === 1;
    }),
    publish: db.transaction((e: DirectoryRecord, hash: Buffer): PublishDirectoryResult => {
      const account = buf(e.accountId);
      const held = s.hashOf.get(account) as Buffer | undefined;
      if (!held || !held.equals(hash)) return { status: 'not-claimed' };
      // A stale entry of another account with this username (it released it) gives way.
      s.deleteEntryByUsername.run(e.username, account);
      s.putEntry.run(account, e.username, e.name);
      return { status: 'ok' };
    }),
  };
}
