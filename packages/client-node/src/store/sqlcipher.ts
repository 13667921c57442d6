/**
 * The Node ClientStore: one SQLCipher database file (AES-256, HMAC-SHA512 pages;
 * better-sqlite3-multiple-ciphers in SQLCipher v4 mode) opened with a raw
 * 256-bit key derived from the user's passphrase with scrypt (client.md §7).
 * Nothing in the directory is readable without the passphrase: the only other
 * file is `store.salt` (16 random bytes, not secret).
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, scryptSync } from 'node:crypto';
import {
  ClientError, decodeAttachments, decodeGroupChange, encodeAttachments, encodeGroupChange, type Attachment, type ClientStore, type ContactProfileRow, type ContactRow, type GroupRow, type GroupStatus, type MessageRow,
  type MessageNotice, type MessageStatus, type OutboxRow, type OwnSenderKeyRow, type PendingGroupMessageRow, type PreKeyKind, type SenderKeyRow,
} from '@sigilo/client';

/** scrypt cost: N = 2^15, r = 8, p = 1 (~100 ms, 32 MiB): slows passphrase guessing on a stolen disk. */
/** How long a statement waits for another process's write transaction on the same store before failing. */
const BUSY_TIMEOUT_MS = 30_000;

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS prekeys (kind TEXT NOT NULL, id INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS sessions (account_id BLOB NOT NULL, device_id INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (account_id, device_id));
CREATE TABLE IF NOT EXISTS contacts (
  account_id BLOB PRIMARY KEY, alias TEXT UNIQUE, identity_key BLOB, pending_identity_key BLOB,
  verified INTEGER NOT NULL DEFAULT 0, access_key BLOB, muted_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages (
  conversation BLOB NOT NULL, message_id BLOB NOT NULL, author BLOB NOT NULL, outgoing INTEGER NOT NULL,
  timestamp INTEGER NOT NULL, text TEXT NOT NULL, status TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
  received_at INTEGER NOT NULL, PRIMARY KEY (conversation, message_id));
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (conversation, timestamp);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient BLOB NOT NULL, content BLOB NOT NULL, sync_content BLOB,
  message_id BLOB NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
`;

export function deriveStoreKey(passphrase: string, salt: Uint8Array): Buffer {
  if (passphrase.length === 0) throw new ClientError('BAD_PASSPHRASE', 'the passphrase is empty; set one (SIGILO_PASSPHRASE or --passphrase-file for scripts)');
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, SCRYPT);
}

type Row = Record<string, unknown>;
const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const u8 = (v: unknown) => (v == null ? undefined : new Uint8Array(v as Buffer));

function contactFromRow(r: Row): ContactRow {
  return {
    accountId: u8(r.account_id)!,
    alias: (r.alias as string | null) ?? undefined,
    identityKey: u8(r.identity_key),
    pendingIdentityKey: u8(r.pending_identity_key),
    verified: r.verified === 1,
    accessKey: u8(r.access_key),
    mutedUntil: Number(r.muted_until),
  };
}

/** Profile keys and the names read with them (client.md §11.1); added in place to older stores. */
const PROFILE_SCHEMA = `
CREATE TABLE IF NOT EXISTS contact_profiles (
  account_id BLOB PRIMARY KEY, profile_key BLOB NOT NULL, name TEXT, avatar BLOB, avatar_type TEXT, fetched_at INTEGER NOT NULL DEFAULT 0);
`;

function profileFromRow(r: Row): ContactProfileRow {
  return {
    accountId: u8(r.account_id)!,
    profileKey: u8(r.profile_key)!,
    name: (r.name as string | null) ?? undefined,
    avatar: u8(r.avatar),
    avatarType: (r.avatar_type as string | null) ?? undefined,
    fetchedAt: Number(r.fetched_at),
  };
}

function messageFromRow(r: Row): MessageRow {
  return {
    conversation: u8(r.conversation)!,
    messageId: u8(r.message_id)!,
    author: u8(r.author)!,
    outgoing: r.outgoing === 1,
    timestamp: Number(r.timestamp),
    text: r.text as string,
    status: r.status as MessageStatus,
    deleted: r.deleted === 1,
    receivedAt: Number(r.received_at),
    privateWith: u8(r.private_with),
    attachments: decodeAttachments(u8(r.attachments)),
    groupChange: decodeGroupChange(r.group_change as string | null | undefined),
    ...(r.expire_timer ? { expireTimerMs: Number(r.expire_timer) } : {}),
    ...(r.expires_at ? { expiresAt: Number(r.expires_at) } : {}),
    ...(r.notice ? { notice: r.notice as MessageNotice } : {}),
  };
}

export class SqlCipherStore implements ClientStore {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /**
   * Opens (or creates) the store in `dir`. A wrong passphrase is BAD_PASSPHRASE;
   * the key is derived from the passphrase and never written anywhere.
   */
  static open(dir: string, passphrase: string): SqlCipherStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const saltFile = join(dir, 'store.salt');
    const dbFile = join(dir, 'store.db');
    if (!existsSync(saltFile)) {
      if (existsSync(dbFile)) throw new ClientError('BAD_PASSPHRASE', `the store's salt file is missing (${saltFile}); without it the store cannot be opened: restore it from a backup`);
      writeFileSync(saltFile, randomBytes(16), { mode: 0o600, flag: 'wx', flush: true });
    }
    const salt = readFileSync(saltFile);
    if (salt.length !== 16) throw new ClientError('BAD_PASSPHRASE', `the store's salt file is damaged (${saltFile}): restore it from a backup`);
    const key = deriveStoreKey(passphrase, salt);
    // Several commands may use one directory at once (a `chat` and an `inbox`, client.md §13): a writer
    // waits for the other's transaction to end instead of failing at once.
    const db = new Database(dbFile, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma("cipher = 'sqlcipher'");
      db.pragma('legacy = 4');
      db.pragma(`key = "x'${key.toString('hex')}'"`);
      key.fill(0);
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch {
      db.close();
      throw new ClientError('BAD_PASSPHRASE', 'cannot open the local store: wrong passphrase (or the file is damaged)');
    }
    // WAL would leave a second file with the same encryption; the default rollback journal keeps one file.
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    // Temporary tables and sort spills stay in memory: SQLite's temp files are not encrypted.
    db.pragma('temp_store = MEMORY');
    db.exec(SCHEMA);
    migrateGroups(db);
    migrateAttachments(db);
    db.exec(PROFILE_SCHEMA);
    return new SqlCipherStore(db);
  }

  #s(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  transaction<T>(fn: () => T): T {
    if (this.#db.inTransaction) return fn();
    return this.#db.transaction(fn).immediate();
  }

  close(): void {
    this.#db.close();
  }

  getMeta(key: string) {
    return u8((this.#s('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined)?.value);
  }
  setMeta(key: string, value: Uint8Array | undefined) {
    if (value === undefined) this.#s('DELETE FROM meta WHERE key = ?').run(key);
    else this.#s('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, buf(value));
  }

  getPreKey(kind: PreKeyKind, id: number) {
    return u8((this.#s('SELECT record FROM prekeys WHERE kind = ? AND id = ?').get(kind, id) as Row | undefined)?.record);
  }
  putPreKey(kind: PreKeyKind, id: number, record: Uint8Array) {
    this.#s('INSERT OR REPLACE INTO prekeys (kind, id, record) VALUES (?, ?, ?)').run(kind, id, buf(record));
  }
  deletePreKey(kind: PreKeyKind, id: number) {
    this.#s('DELETE FROM prekeys WHERE kind = ? AND id = ?').run(kind, id);
  }
  countPreKeys(kind: PreKeyKind) {
    return Number((this.#s('SELECT count(*) AS n FROM prekeys WHERE kind = ?').get(kind) as Row).n);
  }
  latestPreKey(kind: PreKeyKind) {
    const r = this.#s('SELECT id, record FROM prekeys WHERE kind = ? ORDER BY rowid DESC LIMIT 1').get(kind) as Row | undefined;
    return r ? { id: Number(r.id), record: u8(r.record)! } : undefined;
  }

  getSession(accountId: Uint8Array, deviceId: number) {
    return u8((this.#s('SELECT record FROM sessions WHERE account_id = ? AND device_id = ?').get(buf(accountId), deviceId) as Row | undefined)?.record);
  }
  putSession(accountId: Uint8Array, deviceId: number, record: Uint8Array) {
    this.#s('INSERT OR REPLACE INTO sessions (account_id, device_id, record) VALUES (?, ?, ?)').run(buf(accountId), deviceId, buf(record));
  }
  deleteSession(accountId: Uint8Array, deviceId: number) {
    this.#s('DELETE FROM sessions WHERE account_id = ? AND device_id = ?').run(buf(accountId), deviceId);
  }
  sessionDevices(accountId: Uint8Array) {
    return (this.#s('SELECT device_id FROM sessions WHERE account_id = ? ORDER BY device_id').all(buf(accountId)) as Row[]).map((r) => Number(r.device_id));
  }

  getContact(accountId: Uint8Array) {
    const r = this.#s('SELECT * FROM contacts WHERE account_id = ?').get(buf(accountId)) as Row | undefined;
    return r ? contactFromRow(r) : undefined;
  }
  putContact(c: ContactRow) {
    this.#s(`INSERT INTO contacts (account_id, alias, identity_key, pending_identity_key, verified, access_key, muted_until)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id) DO UPDATE SET alias = excluded.alias, identity_key = excluded.identity_key,
               pending_identity_key = excluded.pending_identity_key, verified = excluded.verified,
               access_key = excluded.access_key, muted_until = excluded.muted_until`)
      .run(buf(c.accountId), c.alias ?? null, c.identityKey ? buf(c.identityKey) : null, c.pendingIdentityKey ? buf(c.pendingIdentityKey) : null,
        c.verified ? 1 : 0, c.accessKey ? buf(c.accessKey) : null, c.mutedUntil);
  }
  listContacts() {
    return (this.#s('SELECT * FROM contacts ORDER BY alias').all() as Row[]).map(contactFromRow);
  }
  contactByAlias(alias: string) {
    const r = this.#s('SELECT * FROM contacts WHERE alias = ?').get(alias) as Row | undefined;
    return r ? contactFromRow(r) : undefined;
  }

  getContactProfile(accountId: Uint8Array) {
    const r = this.#s('SELECT * FROM contact_profiles WHERE account_id = ?').get(buf(accountId)) as Row | undefined;
    return r ? profileFromRow(r) : undefined;
  }
  putContactProfile(p: ContactProfileRow) {
    this.#s(`INSERT INTO contact_profiles (account_id, profile_key, name, avatar, avatar_type, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id) DO UPDATE SET profile_key = excluded.profile_key, name = excluded.name, avatar = excluded.avatar,
               avatar_type = excluded.avatar_type, fetched_at = excluded.fetched_at`)
      .run(buf(p.accountId), buf(p.profileKey), p.name ?? null, p.avatar ? buf(p.avatar) : null, p.avatarType ?? null, p.fetchedAt);
  }
  listContactProfiles() {
    return (this.#s('SELECT * FROM contact_profiles').all() as Row[]).map(profileFromRow);
  }

  insertMessage(m: MessageRow) {
    const info = this.#s(`INSERT OR IGNORE INTO messages (conversation, message_id, author, outgoing, timestamp, text, status, deleted, received_at, group_change,
                            expire_timer, expires_at, notice) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(buf(m.conversation), buf(m.messageId), buf(m.author), m.outgoing ? 1 : 0, m.timestamp, m.text, m.status, m.deleted ? 1 : 0, m.receivedAt,
        m.groupChange ? encodeGroupChange(m.groupChange) : null, m.expireTimerMs ?? 0, m.expiresAt ?? 0, m.notice ?? null);
    return info.changes === 1;
  }
  getMessage(conversation: Uint8Array, messageId: Uint8Array) {
    const r = this.#s('SELECT * FROM messages WHERE conversation = ? AND message_id = ?').get(buf(conversation), buf(messageId)) as Row | undefined;
    return r ? messageFromRow(r) : undefined;
  }
  setMessageStatus(conversation: Uint8Array, messageId: Uint8Array, status: MessageStatus) {
    this.#s('UPDATE messages SET status = ? WHERE conversation = ? AND message_id = ?').run(status, buf(conversation), buf(messageId));
  }
  markMessageDeleted(conversation: Uint8Array, messageId: Uint8Array) {
    this.#s("UPDATE messages SET deleted = 1, text = '', attachments = NULL WHERE conversation = ? AND message_id = ?").run(buf(conversation), buf(messageId));
  }
  setMessageAttachments(conversation: Uint8Array, messageId: Uint8Array, attachments: readonly Attachment[]) {
    this.#s('UPDATE messages SET attachments = ? WHERE conversation = ? AND message_id = ?')
      .run(attachments.length ? buf(encodeAttachments(attachments)) : null, buf(conversation), buf(messageId));
  }
  removeMessage(conversation: Uint8Array, messageId: Uint8Array) {
    this.#s('DELETE FROM messages WHERE conversation = ? AND message_id = ?').run(buf(conversation), buf(messageId));
  }
  listMessages(conversation: Uint8Array | undefined, limit: number) {
    const rows = conversation
      ? this.#s('SELECT * FROM (SELECT *, rowid AS seq FROM messages WHERE conversation = ? ORDER BY timestamp DESC, rowid DESC LIMIT ?) ORDER BY timestamp, seq').all(buf(conversation), limit)
      : this.#s('SELECT * FROM (SELECT *, rowid AS seq FROM messages ORDER BY received_at DESC, rowid DESC LIMIT ?) ORDER BY received_at, seq').all(limit);
    return (rows as Row[]).map(messageFromRow);
  }
  setMessageExpiry(conversation: Uint8Array, messageId: Uint8Array, expiresAt: number) {
    this.#s('UPDATE messages SET expires_at = ? WHERE conversation = ? AND message_id = ?').run(expiresAt, buf(conversation), buf(messageId));
  }
  expiringMessages(limit: number) {
    return (this.#s('SELECT * FROM messages WHERE expires_at > 0 ORDER BY expires_at LIMIT ?').all(limit) as Row[]).map(messageFromRow);
  }
  deleteHistory(conversation: Uint8Array, before: number) {
    return this.#s('DELETE FROM messages WHERE conversation = ? AND received_at <= ?').run(buf(conversation), before).changes;
  }
  allMessages() {
    return (this.#s('SELECT * FROM messages ORDER BY timestamp, rowid').all() as Row[]).map(messageFromRow);
  }

  enqueueOutbox(o: Omit<OutboxRow, 'seq' | 'attempts'>) {
    return Number(this.#s('INSERT INTO outbox (recipient, content, sync_content, message_id, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(buf(o.recipient), buf(o.content), o.syncContent ? buf(o.syncContent) : null, buf(o.messageId), o.createdAt).lastInsertRowid);
  }
  listOutbox() {
    return (this.#s('SELECT * FROM outbox ORDER BY seq').all() as Row[]).map((r) => ({
      seq: Number(r.seq), recipient: u8(r.recipient)!, content: u8(r.content)!, syncContent: u8(r.sync_content),
      messageId: u8(r.message_id)!, createdAt: Number(r.created_at), attempts: Number(r.attempts),
    }));
  }
  removeOutbox(seq: number) {
    this.#s('DELETE FROM outbox WHERE seq = ?').run(seq);
  }
  bumpOutbox(seq: number) {
    this.#s('UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?').run(seq);
  }

  // ------------------------------------------------------------------ groups

  getGroup(groupId: Uint8Array) {
    const r = this.#s('SELECT * FROM chat_groups WHERE group_id = ?').get(buf(groupId)) as Row | undefined;
    return r ? groupFromRow(r) : undefined;
  }
  putGroup(g: GroupRow) {
    this.#s(`INSERT INTO chat_groups (group_id, name, revision, status, muted_until, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (group_id) DO UPDATE SET name = excluded.name, revision = excluded.revision, status = excluded.status,
               muted_until = excluded.muted_until, updated_at = excluded.updated_at`)
      .run(buf(g.groupId), g.name, g.revision, g.status, g.mutedUntil, g.updatedAt);
  }
  listGroups() {
    return (this.#s('SELECT * FROM chat_groups ORDER BY name, group_id').all() as Row[]).map(groupFromRow);
  }
  getGroupEntries(groupId: Uint8Array) {
    return (this.#s('SELECT entry FROM group_entries WHERE group_id = ? ORDER BY seq').all(buf(groupId)) as Row[]).map((r) => u8(r.entry)!);
  }
  setGroupEntries(groupId: Uint8Array, entries: Uint8Array[]) {
    this.#s('DELETE FROM group_entries WHERE group_id = ?').run(buf(groupId));
    const insert = this.#s('INSERT INTO group_entries (group_id, seq, entry) VALUES (?, ?, ?)');
    entries.forEach((e, i) => insert.run(buf(groupId), i, buf(e)));
  }
  addPendingGroupEntries(groupId: Uint8Array, entries: Uint8Array[], now: number, max: number) {
    const insert = this.#s('INSERT OR IGNORE INTO group_pending_entries (group_id, entry, received_at) VALUES (?, ?, ?)');
    for (const e of entries) insert.run(buf(groupId), buf(e), now);
    this.#s(`DELETE FROM group_pending_entries WHERE group_id = ? AND rowid NOT IN
             (SELECT rowid FROM group_pending_entries WHERE group_id = ? ORDER BY rowid DESC LIMIT ?)`).run(buf(groupId), buf(groupId), max);
  }
  prunePendingGroupEntries(maxGroups: number, expiredBefore: number) {
    const expired = this.#s('DELETE FROM group_pending_entries WHERE received_at < ?').run(expiredBefore).changes;
    return expired + this.#s(`DELETE FROM group_pending_entries WHERE group_id NOT IN
             (SELECT group_id FROM group_pending_entries GROUP BY group_id ORDER BY MAX(rowid) DESC LIMIT ?)`).run(maxGroups).changes;
  }
  takePendingGroupEntries(groupId: Uint8Array) {
    const rows = (this.#s('SELECT entry FROM group_pending_entries WHERE group_id = ? ORDER BY rowid').all(buf(groupId)) as Row[]).map((r) => u8(r.entry)!);
    this.#s('DELETE FROM group_pending_entries WHERE group_id = ?').run(buf(groupId));
    return rows;
  }
  addOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array, change: string, now: number) {
    this.#s('INSERT OR REPLACE INTO group_own_changes (group_id, entry_hash, change, created_at) VALUES (?, ?, ?, ?)').run(buf(groupId), buf(entryHash), change, now);
  }
  listOwnGroupChanges(groupId: Uint8Array) {
    return (this.#s('SELECT * FROM group_own_changes WHERE group_id = ? ORDER BY created_at, rowid').all(buf(groupId)) as Row[])
      .map((r) => ({ entryHash: u8(r.entry_hash)!, change: r.change as string, createdAt: Number(r.created_at) }));
  }
  removeOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array) {
    this.#s('DELETE FROM group_own_changes WHERE group_id = ? AND entry_hash = ?').run(buf(groupId), buf(entryHash));
  }

  getOwnSenderKey(groupId: Uint8Array) {
    const r = this.#s('SELECT * FROM group_own_sender_keys WHERE group_id = ? AND current = 1').get(buf(groupId)) as Row | undefined;
    return r ? ownSenderKeyFromRow(r) : undefined;
  }
  ownSenderKeyByDistribution(distributionId: Uint8Array) {
    const r = this.#s('SELECT * FROM group_own_sender_keys WHERE distribution_id = ?').get(buf(distributionId)) as Row | undefined;
    return r ? ownSenderKeyFromRow(r) : undefined;
  }
  putOwnSenderKey(k: OwnSenderKeyRow, keep: number) {
    const g = buf(k.groupId);
    this.#s('UPDATE group_own_sender_keys SET current = 0, record = NULL WHERE group_id = ?').run(g);
    this.#s(`INSERT OR REPLACE INTO group_own_sender_keys (group_id, distribution_id, record, distribution, members, created_at, current)
             VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(g, buf(k.distributionId), k.record ? buf(k.record) : null, buf(k.distribution), joinIds(k.members), k.createdAt, k.current ? 1 : 0);
    this.#s(`DELETE FROM group_own_sender_keys WHERE group_id = ? AND rowid NOT IN
             (SELECT rowid FROM group_own_sender_keys WHERE group_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`).run(g, g, keep);
  }
  updateOwnSenderKeyRecord(groupId: Uint8Array, distributionId: Uint8Array, record: Uint8Array) {
    this.#s('UPDATE group_own_sender_keys SET record = ? WHERE group_id = ? AND distribution_id = ? AND current = 1').run(buf(record), buf(groupId), buf(distributionId));
  }
  retireOwnSenderKey(groupId: Uint8Array) {
    this.#s('UPDATE group_own_sender_keys SET current = 0, record = NULL WHERE group_id = ?').run(buf(groupId));
  }
  forgetEndedOwnSenderKeys(groupId: Uint8Array, endedBefore: number) {
    this.#s(`DELETE FROM group_own_sender_keys WHERE group_id = ? AND current = 0 AND EXISTS
             (SELECT 1 FROM group_own_sender_keys n WHERE n.group_id = group_own_sender_keys.group_id
                AND n.created_at > group_own_sender_keys.created_at AND n.created_at < ?)`).run(buf(groupId), endedBefore);
  }
  deleteOwnSenderKeys(groupId: Uint8Array) {
    this.#s('DELETE FROM group_own_sender_keys WHERE group_id = ?').run(buf(groupId));
  }

  getSenderKey(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array) {
    const r = this.#s('SELECT * FROM group_sender_keys WHERE account_id = ? AND device_id = ? AND distribution_id = ?')
      .get(buf(accountId), deviceId, buf(distributionId)) as Row | undefined;
    return r ? senderKeyFromRow(r) : undefined;
  }
  putSenderKey(k: SenderKeyRow) {
    this.#s(`INSERT INTO group_sender_keys (account_id, device_id, distribution_id, group_id, record, received_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id, device_id, distribution_id) DO UPDATE SET group_id = excluded.group_id, record = excluded.record`)
      .run(buf(k.accountId), k.deviceId, buf(k.distributionId), buf(k.groupId), buf(k.record), k.receivedAt ?? 0);
  }
  pruneSenderKeys(groupId: Uint8Array, accountId: Uint8Array, deviceId: number, keep: number, supersededBefore: number) {
    // Arrival order is rowid order: a new row's rowid is above every row's in the table.
    const g = buf(groupId), a = buf(accountId);
    return this.#s(`DELETE FROM group_sender_keys WHERE group_id = ? AND account_id = ? AND device_id = ? AND (
               rowid NOT IN (SELECT rowid FROM group_sender_keys WHERE group_id = ? AND account_id = ? AND device_id = ? ORDER BY rowid DESC LIMIT ?)
               OR EXISTS (SELECT 1 FROM group_sender_keys n WHERE n.group_id = group_sender_keys.group_id AND n.account_id = group_sender_keys.account_id
                          AND n.device_id = group_sender_keys.device_id AND n.rowid > group_sender_keys.rowid AND n.received_at < ?))`)
      .run(g, a, deviceId, g, a, deviceId, keep, supersededBefore).changes;
  }
  pruneUnheldSenderKeys(accountId: Uint8Array, deviceId: number, keep: number) {
    const a = buf(accountId);
    return this.#s(`DELETE FROM group_sender_keys WHERE account_id = ? AND device_id = ? AND group_id NOT IN (SELECT group_id FROM chat_groups)
               AND rowid NOT IN (SELECT rowid FROM group_sender_keys WHERE account_id = ? AND device_id = ? AND group_id NOT IN (SELECT group_id FROM chat_groups)
                                 ORDER BY rowid DESC LIMIT ?)`)
      .run(a, deviceId, a, deviceId, keep).changes;
  }
  pruneAllUnheldSenderKeys(maxGroups: number, maxKeys: number, expiredBefore: number) {
    const unheld = 'group_id NOT IN (SELECT group_id FROM chat_groups)';
    const expired = this.#s(`DELETE FROM group_sender_keys WHERE ${unheld} AND received_at < ?`).run(expiredBefore).changes;
    const groups = this.#s(`DELETE FROM group_sender_keys WHERE ${unheld} AND group_id NOT IN
             (SELECT group_id FROM group_sender_keys WHERE ${unheld} GROUP BY group_id ORDER BY MAX(rowid) DESC LIMIT ?)`).run(maxGroups).changes;
    const keys = this.#s(`DELETE FROM group_sender_keys WHERE ${unheld} AND rowid NOT IN
             (SELECT rowid FROM group_sender_keys WHERE ${unheld} ORDER BY rowid DESC LIMIT ?)`).run(maxKeys).changes;
    return expired + groups + keys;
  }
  listSenderKeys(groupId: Uint8Array) {
    return (this.#s('SELECT * FROM group_sender_keys WHERE group_id = ? ORDER BY account_id, device_id').all(buf(groupId)) as Row[]).map(senderKeyFromRow);
  }
  deleteSenderKeys(groupId: Uint8Array, accountId?: Uint8Array) {
    return accountId
      ? this.#s('DELETE FROM group_sender_keys WHERE group_id = ? AND account_id = ?').run(buf(groupId), buf(accountId)).changes
      : this.#s('DELETE FROM group_sender_keys WHERE group_id = ?').run(buf(groupId)).changes;
  }

  addPendingGroupMessage(p: Omit<PendingGroupMessageRow, 'seq'>, maxPerSender: number, expiredBefore: number) {
    this.#s(`INSERT INTO group_pending_messages (account_id, device_id, identity_key, distribution_id, group_id, message, server_timestamp, received_at, requested_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(buf(p.accountId), p.deviceId, buf(p.identityKey), buf(p.distributionId), buf(p.groupId), buf(p.message), p.serverTimestamp, p.receivedAt, p.requestedAt);
    const expired = this.#s('DELETE FROM group_pending_messages WHERE received_at < ?').run(expiredBefore).changes;
    return expired + this.#s(`DELETE FROM group_pending_messages WHERE account_id = ? AND seq NOT IN
             (SELECT seq FROM group_pending_messages WHERE account_id = ? ORDER BY seq DESC LIMIT ?)`).run(buf(p.accountId), buf(p.accountId), maxPerSender).changes;
  }
  pendingGroupMessages(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array) {
    return (this.#s('SELECT * FROM group_pending_messages WHERE account_id = ? AND device_id = ? AND distribution_id = ? ORDER BY seq')
      .all(buf(accountId), deviceId, buf(distributionId)) as Row[]).map((r) => ({
      seq: Number(r.seq), accountId: u8(r.account_id)!, deviceId: Number(r.device_id), identityKey: u8(r.identity_key)!,
      distributionId: u8(r.distribution_id)!, groupId: u8(r.group_id)!, message: u8(r.message)!,
      serverTimestamp: Number(r.server_timestamp), receivedAt: Number(r.received_at), requestedAt: Number(r.requested_at),
    }));
  }
  removePendingGroupMessage(seq: number) {
    this.#s('DELETE FROM group_pending_messages WHERE seq = ?').run(seq);
  }
  markPendingGroupMessagesRequested(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, at: number) {
    this.#s('UPDATE group_pending_messages SET requested_at = ? WHERE account_id = ? AND device_id = ? AND distribution_id = ?')
      .run(at, buf(accountId), deviceId, buf(distributionId));
  }
  countPendingGroupMessages() {
    return Number((this.#s('SELECT count(*) AS n FROM group_pending_messages').get() as Row).n);
  }

  setMessagePrivateWith(conversation: Uint8Array, messageId: Uint8Array, accountId: Uint8Array) {
    this.#s('UPDATE messages SET private_with = ? WHERE conversation = ? AND message_id = ?').run(buf(accountId), buf(conversation), buf(messageId));
  }
  putGroupReceipt(groupId: Uint8Array, messageId: Uint8Array, accountId: Uint8Array, status: MessageStatus) {
    this.#s(`INSERT INTO group_receipts (group_id, message_id, account_id, status) VALUES (?, ?, ?, ?)
             ON CONFLICT (group_id, message_id, account_id) DO UPDATE SET status = excluded.status`)
      .run(buf(groupId), buf(messageId), buf(accountId), status);
  }
  listGroupReceipts(groupId: Uint8Array, messageId: Uint8Array) {
    return (this.#s('SELECT account_id, status FROM group_receipts WHERE group_id = ? AND message_id = ? ORDER BY account_id').all(buf(groupId), buf(messageId)) as Row[])
      .map((r) => ({ accountId: u8(r.account_id)!, status: r.status as MessageStatus }));
  }
}

// ------------------------------------------------------------------ groups: schema and rows

/** Group tables (spec/client.md §8); the name chat_groups avoids SQL's GROUPS keyword. */
const GROUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS chat_groups (
  group_id BLOB PRIMARY KEY, name TEXT NOT NULL, revision INTEGER NOT NULL, status TEXT NOT NULL,
  muted_until INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS group_entries (group_id BLOB NOT NULL, seq INTEGER NOT NULL, entry BLOB NOT NULL, PRIMARY KEY (group_id, seq));
CREATE TABLE IF NOT EXISTS group_pending_entries (group_id BLOB NOT NULL, entry BLOB NOT NULL, received_at INTEGER NOT NULL, UNIQUE (group_id, entry));
CREATE TABLE IF NOT EXISTS group_own_changes (
  group_id BLOB NOT NULL, entry_hash BLOB NOT NULL, change TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (group_id, entry_hash));
CREATE TABLE IF NOT EXISTS group_own_sender_keys (
  group_id BLOB NOT NULL, distribution_id BLOB NOT NULL, record BLOB, distribution BLOB NOT NULL, members BLOB NOT NULL,
  created_at INTEGER NOT NULL, current INTEGER NOT NULL, PRIMARY KEY (group_id, distribution_id));
CREATE INDEX IF NOT EXISTS group_own_sender_keys_by_distribution ON group_own_sender_keys (distribution_id);
CREATE TABLE IF NOT EXISTS group_sender_keys (
  account_id BLOB NOT NULL, device_id INTEGER NOT NULL, distribution_id BLOB NOT NULL, group_id BLOB NOT NULL, record BLOB NOT NULL,
  received_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (account_id, device_id, distribution_id));
CREATE INDEX IF NOT EXISTS group_sender_keys_by_group ON group_sender_keys (group_id, account_id);
CREATE TABLE IF NOT EXISTS group_pending_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id BLOB NOT NULL, device_id INTEGER NOT NULL, identity_key BLOB NOT NULL,
  distribution_id BLOB NOT NULL, group_id BLOB NOT NULL, message BLOB NOT NULL, server_timestamp INTEGER NOT NULL,
  received_at INTEGER NOT NULL, requested_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS group_pending_by_key ON group_pending_messages (account_id, device_id, distribution_id);
CREATE TABLE IF NOT EXISTS group_receipts (
  group_id BLOB NOT NULL, message_id BLOB NOT NULL, account_id BLOB NOT NULL, status TEXT NOT NULL, PRIMARY KEY (group_id, message_id, account_id));
`;

/** Attachment pointers of a message (an encoded DataMessage holding only them); older stores gain the column. */
function migrateAttachments(db: Database.Database): void {
  const columns = (db.prepare("SELECT name FROM pragma_table_info('messages')").all() as Row[]).map((r) => r.name);
  if (!columns.includes('attachments')) db.exec('ALTER TABLE messages ADD COLUMN attachments BLOB');
  // Group changes shown in the conversation (client.md §12); stores made before have none.
  if (!columns.includes('group_change')) db.exec('ALTER TABLE messages ADD COLUMN group_change TEXT');
  // Disappearing messages and notices (client.md §14); stores made before have none.
  if (!columns.includes('expire_timer')) {
    db.exec(`ALTER TABLE messages ADD COLUMN expire_timer INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE messages ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE messages ADD COLUMN notice TEXT;
             CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at) WHERE expires_at > 0;`);
  }
}

function migrateGroups(db: Database.Database): void {
  db.exec(GROUP_SCHEMA);
  const columns = (db.prepare("SELECT name FROM pragma_table_info('messages')").all() as Row[]).map((r) => r.name);
  if (!columns.includes('private_with')) db.exec('ALTER TABLE messages ADD COLUMN private_with BLOB');
  // When each received sender key arrived, to prune superseded ones (stores made before it: 0).
  const keyColumns = (db.prepare("SELECT name FROM pragma_table_info('group_sender_keys')").all() as Row[]).map((r) => r.name);
  if (!keyColumns.includes('received_at')) db.exec('ALTER TABLE group_sender_keys ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0');
}

/** Account ids (16 bytes each) of a sender key's epoch, stored back to back. */
function joinIds(ids: Uint8Array[]): Buffer {
  return Buffer.concat(ids.map((id) => Buffer.from(id)));
}
function splitIds(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 16 <= b.length; i += 16) out.push(b.slice(i, i + 16));
  return out;
}

function groupFromRow(r: Row): GroupRow {
  return {
    groupId: u8(r.group_id)!, name: r.name as string, revision: Number(r.revision), status: r.status as GroupStatus,
    mutedUntil: Number(r.muted_until), updatedAt: Number(r.updated_at),
  };
}

function ownSenderKeyFromRow(r: Row): OwnSenderKeyRow {
  return {
    groupId: u8(r.group_id)!, distributionId: u8(r.distribution_id)!, record: u8(r.record), distribution: u8(r.distribution)!,
    members: splitIds(u8(r.members)!), createdAt: Number(r.created_at), current: r.current === 1,
  };
}

function senderKeyFromRow(r: Row): SenderKeyRow {
  return {
    groupId: u8(r.group_id)!, accountId: u8(r.account_id)!, deviceId: Number(r.device_id), distributionId: u8(r.distribution_id)!, record: u8(r.record)!,
    receivedAt: Number(r.received_at ?? 0),
  };
}
