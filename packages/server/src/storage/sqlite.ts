/**
 * The embedded SQLite adapter (better-sqlite3). One connection, WAL mode.
 *
 * Durability (spec/server.md §Durability): journal_mode=WAL with
 * synchronous=FULL fsyncs the WAL on every commit, so a commit that returned
 * survives a process kill and a power loss. synchronous=NORMAL (configurable)
 * survives a process kill (the WAL is in the OS page cache) but may lose the
 * last commits on power loss. The relay batches concurrent sends into one
 * transaction (group commit), so the fsync cost is shared; with FULL, sends and
 * acks commit without the fsync and are answered after an fdatasync of the WAL
 * on the thread pool (sqlite-wal-sync.ts), so the event loop never waits on it.
 *
 * Deleted rows leave no trace in the files (spec/server.md §5, "What the
 * files keep"): secure_delete=ON zeroes deleted cells and freed pages (overflow
 * pages of large rows included), and every sweep ends with a TRUNCATE
 * checkpoint, which empties the WAL: until then the WAL still holds the page
 * images a row was written in.
 *
 * The database file is created mode 0600 whatever the umask (SQLite gives its
 * -wal and -shm files the database file's mode), and an existing one is set
 * to 0600 on open.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync } from 'node:fs';
import type {
  KtLeafInput, KtLeafRecord, KtUnloggedDevice,
  AccountLabel, AccountRecord, AckedMessage, AckRequest, AddDeviceResult, AttachmentRecord, AttachmentUsageCharge, AttachmentUsageResult, AuditReport, DeviceRecord, EnqueueRequest, EnqueueResult,
  DirectoryRecord, InviteRecord, ProfileRecord, PublishDirectoryResult, SetUsernameResult, MultiEnqueueRequest, MultiEnqueueResult, MultiStaleAccount, NewDevice, SealedRecipientRecord, PqPreKeyRow, PreKeyCounts, PreKeyUpload, QueuedMessage, RegisterResult, SignedPreKeyRow, Storage,
  DeviceRemovalRecord, NewDeviceRemoval, SweepResult, TableAudit, TakeBundlesResult, TakenPreKeys, OneTimePreKeyRow,
  PushSubscriptionRecord, StoredRow,
} from './port.js';
import { EXPIRED_INVITE_KEPT_MS, deviceListDiff, isAccountColumn } from './port.js';
import { WalSync } from './sqlite-wal-sync.js';

export interface SqliteStorageOptions {
  /** Path of the database file, or ':memory:'. */
  readonly filename: string;
  readonly synchronous?: 'full' | 'normal';
  /** Caps the database size in pages (tests use it to provoke SQLITE_FULL). */
  readonly maxPageCount?: number | undefined;
}

/**
 * 2: shared payloads of multi-recipient sealed sends (messages.payload_id, messages.recipient_header).
 * 3: usernames, profiles and the member directory (new tables only).
 */
const SCHEMA_VERSION = 3;
const DAY_MS = 86_400_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS invites (
  code_hash BLOB PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
  account_id BLOB PRIMARY KEY,
  identity_key BLOB NOT NULL,
  access_key_hash BLOB,
  unrestricted INTEGER NOT NULL DEFAULT 0,
  created_day INTEGER NOT NULL,
  next_device_id INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  device_key BLOB NOT NULL,
  created_day INTEGER NOT NULL,
  last_seen_day INTEGER,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signed_prekeys (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS one_time_prekeys (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pq_prekeys (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id)
);
CREATE TABLE IF NOT EXISTS pq_last_resort (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id)
);
CREATE TABLE IF NOT EXISTS messages (
  server_id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  message_id BLOB NOT NULL,
  sealed INTEGER NOT NULL,
  sender_account_id BLOB,
  sender_device_id INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_device ON messages (account_id, device_id, server_id);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at);
CREATE TABLE IF NOT EXISTS dedup (
  dedup_key BLOB PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_by_expiry ON dedup (expires_at);
CREATE TABLE IF NOT EXISTS attachments (
  attachment_id BLOB PRIMARY KEY,
  size INTEGER NOT NULL,
  upload_token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachment_usage (
  account_id BLOB NOT NULL,
  day INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
`;

/**
 * Multi-recipient sealed sends store their payload once in shared_payloads;
 * each device's queue row references it (payload_id) and carries its
 * account's header. The trigger deletes a payload with the last row that
 * references it, whichever way the row goes (ack, device or account removal,
 * retention), in the same transaction.
 */
const MULTI_SCHEMA = `
CREATE TABLE IF NOT EXISTS shared_payloads (
  payload_id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS shared_payloads_by_expiry ON shared_payloads (expires_at);
CREATE INDEX IF NOT EXISTS messages_by_payload ON messages (payload_id) WHERE payload_id IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS messages_release_payload AFTER DELETE ON messages
  WHEN OLD.payload_id IS NOT NULL
  BEGIN
    DELETE FROM shared_payloads WHERE payload_id = OLD.payload_id
      AND NOT EXISTS (SELECT 1 FROM messages WHERE payload_id = OLD.payload_id);
  END;
`;

/**
 * Administration and device management (spec/server.md §3.5, §9): the
 * administrator's labels (only when set), devices' encrypted names, and short
 * removal records. New tables only, so older databases gain them on open.
 */
const ADMIN_SCHEMA = `
CREATE TABLE IF NOT EXISTS account_labels (
  account_id BLOB PRIMARY KEY,
  label TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_names (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  encrypted_name BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_removals (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  device_key BLOB NOT NULL,
  by_device_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_removals_by_expiry ON device_removals (expires_at);
`;

/**
 * The key transparency log (spec/transparency.md §3): append-only leaves and
 * every complete subtree hash, so a proof needs O(log n) reads. New tables
 * only: an older database gains them on open, and the server then appends the
 * bindings of the accounts and devices it already has.
 */
const KT_SCHEMA = `
CREATE TABLE IF NOT EXISTS kt_leaves (
  leaf_index INTEGER PRIMARY KEY,
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  leaf BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kt_leaves_by_device ON kt_leaves (account_id, device_id);
CREATE TABLE IF NOT EXISTS kt_nodes (
  level INTEGER NOT NULL,
  node_index INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, node_index)
) WITHOUT ROWID;
`;

/** Push subscriptions (spec/server.md §Push): a new table, so older databases gain it on open. */
const PUSH_SCHEMA = `
CREATE TABLE IF NOT EXISTS push_subscriptions (
  account_id BLOB NOT NULL,
  device_id INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  p256dh BLOB NOT NULL,
  auth BLOB NOT NULL,
  created_day INTEGER NOT NULL,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;
`;

/** Adds the multi-recipient columns to a version-1 database (idempotent). */
function migrateMulti(db: Database.Database): void {
  const columns = new Set((db.pragma('table_info(messages)') as { name: string }[]).map((c) => c.name));
  if (!columns.has('payload_id')) db.exec('ALTER TABLE messages ADD COLUMN payload_id INTEGER');
  if (!columns.has('recipient_header')) db.exec('ALTER TABLE messages ADD COLUMN recipient_header BLOB');
  db.exec(MULTI_SCHEMA);
}

/** Usernames (by hash), encrypted profiles and the opt-in member directory (spec/server.md §3.1). */
const PEOPLE_SCHEMA = `
CREATE TABLE IF NOT EXISTS usernames (
  username_hash BLOB PRIMARY KEY,
  account_id BLOB NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS profiles (
  account_id BLOB PRIMARY KEY,
  profile BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory (
  account_id BLOB PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL
) WITHOUT ROWID;
`;

const AUDITED_TABLES: readonly { table: string; oldest?: string; day?: true }[] = [
  { table: 'invites', oldest: 'min(created_at)' },
  { table: 'accounts', oldest: `min(created_day) * ${DAY_MS}`, day: true },
  { table: 'devices', oldest: `min(created_day) * ${DAY_MS}`, day: true },
  { table: 'signed_prekeys' },
  { table: 'one_time_prekeys' },
  { table: 'pq_prekeys' },
  { table: 'pq_last_resort' },
  { table: 'messages', oldest: 'min(created_at)' },
  { table: 'dedup' },
  { table: 'attachments', oldest: 'min(created_at)' },
  { table: 'attachment_usage', oldest: `min(day) * ${DAY_MS}`, day: true },
  { table: 'shared_payloads', oldest: 'min(created_at)' },
  { table: 'account_labels' },
  { table: 'device_names' },
  { table: 'device_removals', oldest: `min(day) * ${DAY_MS}`, day: true },
  { table: 'usernames' },
  { table: 'profiles', oldest: 'min(updated_at)' },
  { table: 'directory' },
  { table: 'kt_leaves' },
  { table: 'kt_nodes' },
  { table: 'push_subscriptions', oldest: `min(created_day) * ${DAY_MS}`, day: true },
];

type Row = Record<string, unknown>;

function prepareKt(db: Database.Database) {
  return {
    size: db.prepare('SELECT coalesce(max(leaf_index) + 1, 0) FROM kt_leaves').pluck(),
    insertLeaf: db.prepare('INSERT INTO kt_leaves (leaf_index, account_id, device_id, kind, leaf) VALUES (?, ?, ?, ?, ?)'),
    insertNode: db.prepare('INSERT INTO kt_nodes (level, node_index, hash) VALUES (?, ?, ?)'),
    getNode: db.prepare('SELECT hash FROM kt_nodes WHERE level = ? AND node_index = ?').pluck(),
    leavesOf: db.prepare('SELECT leaf_index, device_id, kind, leaf FROM kt_leaves WHERE account_id = ? ORDER BY leaf_index'),
    unlogged: db.prepare(`SELECT d.account_id, d.device_id, a.identity_key FROM devices d JOIN accounts a ON a.account_id = d.account_id
      WHERE NOT EXISTS (SELECT 1 FROM kt_leaves k WHERE k.account_id = d.account_id AND k.device_id = d.device_id AND k.kind = 1)
      ORDER BY a.created_day, d.account_id, d.device_id LIMIT ?`),
  };
}

const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
const optBytes = (v: unknown): Uint8Array | undefined => (v == null ? undefined : bytes(v));
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function toAccount(r: Row): AccountRecord {
  return {
    accountId: bytes(r.account_id),
    identityKey: bytes(r.identity_key),
    accessKeyHash: optBytes(r.access_key_hash),
    unrestricted: r.unrestricted === 1,
    createdDay: r.created_day as number,
  };
}

function toDevice(r: Row): DeviceRecord {
  return {
    accountId: bytes(r.account_id),
    deviceId: r.device_id as number,
    deviceKey: bytes(r.device_key),
    createdDay: r.created_day as number,
    lastSeenDay: (r.last_seen_day as number | null) ?? undefined,
  };
}

export class SqliteStorage implements Storage {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;
  readonly #tx: ReturnType<typeof transactions>;
  readonly #m: ReturnType<typeof prepareMulti>;
  readonly #a: ReturnType<typeof prepareAdmin>;
  readonly #p: ReturnType<typeof preparePeople>;
  /** synchronous=full on a file: hot-path commits fdatasync the WAL off the main thread (sqlite-wal-sync.ts). */
  readonly #wal: WalSync | undefined;
  readonly #syncNormal: Database.Statement | undefined;
  readonly #syncFull: Database.Statement | undefined;

  constructor(options: SqliteStorageOptions) {
    if (options.filename !== ':memory:' && options.filename !== '') ownerOnly(options.filename);
    this.#db = new Database(options.filename);
    const db = this.#db;
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('secure_delete = ON');
    db.pragma('busy_timeout = 5000');
    // 64 MiB of page cache: the dedup and queue indexes are keyed by random hashes and ids.
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new Error(`database schema version ${version} is newer than this server understands (${SCHEMA_VERSION}); upgrade Sigilo`);
    }
    db.exec(SCHEMA);
    db.transaction(() => migrateMulti(db))();
    db.exec(ADMIN_SCHEMA);
    db.exec(PEOPLE_SCHEMA);
    db.exec(KT_SCHEMA);
    db.exec(PUSH_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${options.maxPageCount}`);
    this.#s = prepare(db);
    this.#tx = transactions(db, this.#s);
    this.#m = prepareMulti(db);
    this.#a = prepareAdmin(db);
    this.#p = preparePeople(db);
    if (options.synchronous !== 'normal' && options.filename !== ':memory:' && options.filename !== '') {
      this.#wal = new WalSync(options.filename);
      this.#syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
      this.#syncFull = db.prepare('PRAGMA synchronous = FULL');
    }
  }

  /**
   * A hot-path write (sends, acks): committed with synchronous=NORMAL, then resolved once the WAL
   * is fdatasynced on the thread pool, so the event loop keeps running during the fsync and one
   * fsync covers the commits of a turn. Same durability as a FULL commit when the promise resolves.
   */
  async #durable<T>(write: () => T): Promise<T> {
    if (!this.#wal) return write();
    this.#syncNormal!.run();
    let result: T;
    try { result = write(); } finally { this.#syncFull!.run(); }
    await this.#wal.sync();
    return result;
  }

  async createInvite(invite: InviteRecord): Promise<void> {
    this.#s.insertInvite.run(buf(invite.codeHash), invite.createdAt, invite.expiresAt);
  }

  async registerAccount(codeHash: Uint8Array, now: number, account: AccountRecord, device: NewDevice): Promise<RegisterResult> {
    return this.#tx.register(codeHash, now, account, device);
  }

  async getAccount(accountId: Uint8Array): Promise<AccountRecord | undefined> {
    const r = this.#s.getAccount.get(buf(accountId)) as Row | undefined;
    return r && toAccount(r);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.#s.listAccounts.all() as Row[]).map(toAccount);
  }

  async deleteAccount(accountId: Uint8Array): Promise<boolean> {
    return this.#tx.deleteAccount(buf(accountId));
  }

  async addDevice(accountId: Uint8Array, device: NewDevice, maxDevices: number): Promise<AddDeviceResult> {
    return this.#tx.addDevice(buf(accountId), device, maxDevices);
  }

  async getDevice(accountId: Uint8Array, deviceId: number): Promise<DeviceRecord | undefined> {
    const r = this.#s.getDevice.get(buf(accountId), deviceId) as Row | undefined;
    return r && toDevice(r);
  }

  async listDevices(accountId: Uint8Array): Promise<DeviceRecord[]> {
    return (this.#s.listDevices.all(buf(accountId)) as Row[]).map(toDevice);
  }

  async removeDevice(accountId: Uint8Array, deviceId: number, removal?: NewDeviceRemoval): Promise<boolean> {
    return this.#tx.removeDevice(buf(accountId), deviceId, removal);
  }

  #kt: ReturnType<typeof prepareKt> | undefined;
  get #k(): ReturnType<typeof prepareKt> {
    return (this.#kt ??= prepareKt(this.#db));
  }

  async appendKtLeaves(leaves: readonly KtLeafInput[], nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): Promise<number> {
    const k = this.#k;
    return this.#db.transaction(() => {
      let size = k.size.get() as number;
      for (const l of leaves) {
        k.insertLeaf.run(size, buf(l.accountId), l.deviceId, l.kind, buf(l.leaf));
        let i = size;
        let level = 0;
        let h = l.leafHash;
        k.insertNode.run(0, i, buf(h));
        while (i % 2 === 1) {
          const left = k.getNode.get(level, i - 1) as Buffer | undefined;
          if (!left) throw new Error(`key transparency log: node ${level}/${i - 1} is missing`);
          h = nodeHash(bytes(left), h);
          i = (i - 1) / 2;
          level++;
          k.insertNode.run(level, i, buf(h));
        }
        size++;
      }
      return size;
    }).immediate();
  }

  async ktSize(): Promise<number> {
    return this.#k.size.get() as number;
  }

  async getKtNodes(nodes: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
    const k = this.#k;
    return nodes.map((n) => optBytes(k.getNode.get(n.level, n.index)));
  }

  async findKtLeaves(accountId: Uint8Array, deviceIds?: readonly number[]): Promise<KtLeafRecord[]> {
    const rows = this.#k.leavesOf.all(buf(accountId)) as Row[];
    const want = deviceIds && new Set(deviceIds);
    return rows.filter((r) => !want || want.has(r.device_id as number))
      .map((r) => ({ index: r.leaf_index as number, deviceId: r.device_id as number, kind: r.kind as 1 | 2, leaf: bytes(r.leaf) }));
  }

  async listKtUnlogged(limit: number): Promise<KtUnloggedDevice[]> {
    return (this.#k.unlogged.all(limit) as Row[]).map((r) => ({ accountId: bytes(r.account_id), deviceId: r.device_id as number, identityKey: bytes(r.identity_key) }));
  }

  async setAccountLabel(accountId: Uint8Array, label: string | undefined): Promise<boolean> {
    const a = buf(accountId);
    if (!this.#s.accountExists.get(a)) return false;
    if (label === undefined) this.#a.deleteLabel.run(a);
    else this.#a.upsertLabel.run(a, label);
    return true;
  }

  async listAccountLabels(): Promise<AccountLabel[]> {
    return (this.#a.listLabels.all() as Row[]).map((r) => ({ accountId: bytes(r.account_id), label: r.label as string }));
  }

  async setDeviceName(accountId: Uint8Array, deviceId: number, encryptedName: Uint8Array | undefined): Promise<boolean> {
    const a = buf(accountId);
    if (!this.#s.getDevice.get(a, deviceId)) return false;
    if (encryptedName === undefined) this.#a.deleteName.run(a, deviceId);
    else this.#a.upsertName.run(a, deviceId, buf(encryptedName));
    return true;
  }

  async listDeviceNames(accountId: Uint8Array): Promise<Map<number, Uint8Array>> {
    return new Map((this.#a.listNames.all(buf(accountId)) as Row[]).map((r) => [r.device_id as number, bytes(r.encrypted_name)]));
  }

  async getDeviceRemoval(accountId: Uint8Array, deviceId: number, now: number): Promise<DeviceRemovalRecord | undefined> {
    const r = this.#a.getRemoval.get(buf(accountId), deviceId, now) as Row | undefined;
    return r && { deviceKey: bytes(r.device_key), byDeviceId: r.by_device_id as number, day: r.day as number, expiresAt: r.expires_at as number };
  }

  async setLastSeen(accountId: Uint8Array, deviceId: number, day: number): Promise<void> {
    this.#s.setLastSeen.run(day, buf(accountId), deviceId);
  }

  async clearLastSeen(): Promise<number> {
    return this.#s.clearLastSeen.run().changes;
  }

  async setAccessKey(accountId: Uint8Array, accessKeyHash: Uint8Array | undefined, unrestricted: boolean): Promise<void> {
    this.#s.setAccessKey.run(accessKeyHash ? buf(accessKeyHash) : null, unrestricted ? 1 : 0, buf(accountId));
  }

  async storePreKeys(accountId: Uint8Array, deviceId: number, upload: PreKeyUpload): Promise<void> {
    this.#tx.storePreKeys(buf(accountId), deviceId, upload);
  }

  async countPreKeys(accountId: Uint8Array, deviceId: number): Promise<PreKeyCounts> {
    const a = buf(accountId);
    return {
      oneTime: (this.#s.countOneTime.get(a, deviceId) as { n: number }).n,
      pq: (this.#s.countPq.get(a, deviceId) as { n: number }).n,
      hasSignedPreKey: this.#s.getSigned.get(a, deviceId) !== undefined,
      hasLastResort: this.#s.getLastResort.get(a, deviceId) !== undefined,
    };
  }

  async takeBundles(accountId: Uint8Array, deviceIds: readonly number[] | undefined): Promise<TakeBundlesResult> {
    return this.#tx.takeBundles(buf(accountId), deviceIds);
  }

  async enqueue(batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    if (batch.length === 0) return [];
    try {
      return await this.#durable(() => this.#tx.enqueue(batch));
    } catch (error) {
      return batch.map(() => ({ status: 'failed', error }) as const);
    }
  }

  async fetchQueue(accountId: Uint8Array, deviceId: number, afterId: number, limit: number): Promise<QueuedMessage[]> {
    const rows = this.#s.fetchQueue.all(buf(accountId), deviceId, afterId, limit) as Row[];
    return rows.map((r) => ({
      serverId: r.server_id as number,
      messageId: bytes(r.message_id),
      createdAt: r.created_at as number,
      sealed: r.sealed === 1,
      senderAccountId: optBytes(r.sender_account_id),
      senderDeviceId: (r.sender_device_id as number | null) ?? undefined,
      content: bytes(r.content),
      recipientHeader: optBytes(r.recipient_header),
    }));
  }

  async enqueueMulti(batch: readonly MultiEnqueueRequest[]): Promise<MultiEnqueueResult[]> {
    if (batch.length === 0) return [];
    try {
      return await this.#durable(() => this.#m.enqueue(batch));
    } catch (error) {
      return batch.map(() => ({ status: 'failed', error }) as const);
    }
  }

  async getSealedRecipients(accountIds: readonly Uint8Array[]): Promise<(SealedRecipientRecord | undefined)[]> {
    return this.#m.sealedRecipients(accountIds);
  }

  async ack(acks: readonly AckRequest[]): Promise<AckedMessage[][]> {
    if (acks.length === 0) return [];
    return this.#durable(() => this.#tx.ack(acks));
  }

  async queueDepth(): Promise<number> {
    return (this.#s.queueDepth.get() as { n: number }).n;
  }

  async createAttachment(r: AttachmentRecord): Promise<void> {
    this.#s.insertAttachment.run(buf(r.attachmentId), r.size, buf(r.uploadTokenHash), r.createdAt, r.expiresAt, r.complete ? 1 : 0);
  }

  async getAttachment(attachmentId: Uint8Array): Promise<AttachmentRecord | undefined> {
    const r = this.#s.getAttachment.get(buf(attachmentId)) as Row | undefined;
    if (!r) return undefined;
    return {
      attachmentId: bytes(r.attachment_id),
      size: r.size as number,
      uploadTokenHash: bytes(r.upload_token_hash),
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
      complete: r.complete === 1,
    };
  }

  async completeAttachment(attachmentId: Uint8Array): Promise<boolean> {
    return this.#s.completeAttachment.run(buf(attachmentId)).changes === 1;
  }

  async chargeAttachmentUsage(charge: AttachmentUsageCharge): Promise<AttachmentUsageResult> {
    return this.#tx.chargeUsage(charge);
  }

  async setUsername(accountId: Uint8Array, usernameHash: Uint8Array): Promise<SetUsernameResult> {
    return this.#p.setUsername(buf(accountId), buf(usernameHash));
  }

  async deleteUsername(accountId: Uint8Array): Promise<boolean> {
    return this.#p.deleteUsername(buf(accountId));
  }

  async accountByUsernameHash(usernameHash: Uint8Array): Promise<Uint8Array | undefined> {
    return optBytes(this.#p.s.accountByHash.get(buf(usernameHash)));
  }

  async usernameHashOf(accountId: Uint8Array): Promise<Uint8Array | undefined> {
    return optBytes(this.#p.s.hashOf.get(buf(accountId)));
  }

  async setProfile(accountId: Uint8Array, profile: ProfileRecord | undefined): Promise<void> {
    if (profile) this.#p.s.putProfile.run(buf(accountId), buf(profile.profile), profile.updatedAt);
    else this.#p.s.deleteProfile.run(buf(accountId));
  }

  async getProfile(accountId: Uint8Array): Promise<ProfileRecord | undefined> {
    const r = this.#p.s.getProfile.get(buf(accountId)) as Row | undefined;
    return r && { profile: bytes(r.profile), updatedAt: r.updated_at as number };
  }

  async publishDirectoryEntry(entry: DirectoryRecord, usernameHash: Uint8Array): Promise<PublishDirectoryResult> {
    return this.#p.publish(entry, buf(usernameHash));
  }

  async removeDirectoryEntry(accountId: Uint8Array): Promise<boolean> {
    return this.#p.s.deleteEntry.run(buf(accountId)).changes === 1;
  }

  async searchDirectory(query: string, after: string, limit: number): Promise<DirectoryRecord[]> {
    const q = asciiLower(query);
    return (this.#p.s.search.all(q, q, after, limit) as Row[]).map((r) => ({ accountId: bytes(r.account_id), username: r.username as string, name: r.name as string }));
  }

  async clearDirectory(): Promise<number> {
    return this.#p.s.clearDirectory.run().changes;
  }

  async exclusive<T>(_name: string, fn: () => Promise<T>): Promise<T | undefined> {
    return fn(); // one process owns the database file
  }

  async sweep(now: number): Promise<SweepResult> {
    const r = this.#tx.sweep(now);
    this.#m.sweepPayloads.run(now); // normally already gone with their last row (trigger)
    this.#a.sweepRemovals.run(now);
    // Acknowledged and expired rows are zeroed in the database pages (secure_delete), but the WAL still holds the
    // images they were written in: empty it. Busy (never with this one connection) or a full disk: the next sweep does it.
    try { this.checkpoint(); } catch { /* retried at the next sweep */ }
    return r;
  }

  async audit(_now: number): Promise<AuditReport> {
    const tables: TableAudit[] = AUDITED_TABLES.map(({ table, oldest, day }) => {
      const r = this.#db.prepare(`SELECT count(*) AS n${oldest ? `, ${oldest} AS oldest` : ''} FROM ${table}`).get() as { n: number; oldest?: number | null };
      return { table, rows: r.n, oldest: r.oldest ?? undefined, ...(day ? { oldestIsDay: true } : {}) };
    });
    const n = (sql: string) => (this.#db.prepare(sql).get() as { n: number }).n;
    return {
      tables,
      messagesWithSender: n('SELECT count(*) AS n FROM messages WHERE sender_account_id IS NOT NULL OR sender_device_id IS NOT NULL'),
      sealedMessages: n('SELECT count(*) AS n FROM messages WHERE sealed = 1'),
      devicesWithLastSeen: n('SELECT count(*) AS n FROM devices WHERE last_seen_day IS NOT NULL'),
    };
  }

  async setPushSubscription(accountId: Uint8Array, deviceId: number, sub: PushSubscriptionRecord | undefined): Promise<boolean> {
    const a = buf(accountId);
    return this.#db.transaction(() => {
      if (!this.#s.getDevice.get(a, deviceId)) return false;
      if (sub === undefined) this.#db.prepare('DELETE FROM push_subscriptions WHERE account_id = ? AND device_id = ?').run(a, deviceId);
      else {
        this.#db.prepare('INSERT OR REPLACE INTO push_subscriptions (account_id, device_id, endpoint, p256dh, auth, created_day) VALUES (?, ?, ?, ?, ?, ?)')
          .run(a, deviceId, sub.endpoint, buf(sub.p256dh), buf(sub.auth), sub.createdDay);
      }
      return true;
    })();
  }

  async getPushSubscription(accountId: Uint8Array, deviceId: number): Promise<PushSubscriptionRecord | undefined> {
    const r = this.#db.prepare('SELECT * FROM push_subscriptions WHERE account_id = ? AND device_id = ?').get(buf(accountId), deviceId) as Row | undefined;
    return r && { endpoint: r.endpoint as string, p256dh: bytes(r.p256dh), auth: bytes(r.auth), createdDay: r.created_day as number };
  }

  async scanRows(visit: (table: string, row: StoredRow) => void, accountId?: Uint8Array): Promise<void> {
    const tables = this.#db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    for (const table of tables) {
      const q = `"${table.replace(/"/g, '""')}"`;
      const columns = (this.#db.pragma(`table_info(${q})`) as { name: string }[]).map((c) => c.name);
      const accountColumns = columns.filter(isAccountColumn);
      if (accountId && !accountColumns.length) continue;
      const where = accountId ? ` WHERE ${accountColumns.map((c) => `"${c}" = ?`).join(' OR ')}` : '';
      const params = accountId ? accountColumns.map(() => buf(accountId)) : [];
      for (const r of this.#db.prepare(`SELECT * FROM ${q}${where}`).iterate(...params) as Iterable<Row>) {
        const row: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r)) row[k] = Buffer.isBuffer(v) ? bytes(v) : v;
        visit(table, row);
      }
    }
  }

  /** The schema's SQL and names as the file holds them (for the deep audit's scan of the raw file). */
  schemaText(): string[] {
    const rows = this.#db.prepare('SELECT name, tbl_name, sql FROM sqlite_master').all() as { name: string; tbl_name: string; sql: string | null }[];
    return rows.flatMap((r) => [r.name, r.tbl_name, ...(r.sql ? [r.sql] : [])]);
  }

  /** Moves the WAL into the database file (used before audits of the file and at shutdown). */
  checkpoint(): void {
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    await this.#wal?.close();
    try { this.checkpoint(); } catch { /* a full disk may refuse; the WAL stays valid */ }
    this.#db.close();
  }
}

function prepareAdmin(db: Database.Database) {
  return {
    upsertLabel: db.prepare('INSERT OR REPLACE INTO account_labels (account_id, label) VALUES (?, ?)'),
    deleteLabel: db.prepare('DELETE FROM account_labels WHERE account_id = ?'),
    listLabels: db.prepare('SELECT account_id, label FROM account_labels'),
    upsertName: db.prepare('INSERT OR REPLACE INTO device_names (account_id, device_id, encrypted_name) VALUES (?, ?, ?)'),
    deleteName: db.prepare('DELETE FROM device_names WHERE account_id = ? AND device_id = ?'),
    listNames: db.prepare('SELECT device_id, encrypted_name FROM device_names WHERE account_id = ?'),
    getRemoval: db.prepare('SELECT * FROM device_removals WHERE account_id = ? AND device_id = ? AND expires_at > ?'),
    sweepRemovals: db.prepare('DELETE FROM device_removals WHERE expires_at <= ?'),
  };
}

/**
 * Creates the database file mode 0600 before SQLite opens it (SQLite would create it 0644 less the umask, and gives
 * the -wal and -shm files the database file's mode), and sets an existing file and its -wal and -shm to 0600.
 */
function ownerOnly(filename: string): void {
  try {
    closeSync(openSync(filename, 'a', 0o600));
  } catch {
    return; // a missing folder or no permission: SQLite reports it as before
  }
  for (const f of [filename, `${filename}-wal`, `${filename}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

function prepare(db: Database.Database) {
  return {
    insertInvite: db.prepare('INSERT INTO invites (code_hash, created_at, expires_at) VALUES (?, ?, ?)'),
    getInvite: db.prepare('SELECT expires_at FROM invites WHERE code_hash = ?'),
    deleteInvite: db.prepare('DELETE FROM invites WHERE code_hash = ?'),
    insertAccount: db.prepare('INSERT INTO accounts (account_id, identity_key, access_key_hash, unrestricted, created_day, next_device_id) VALUES (?, ?, ?, ?, ?, 1)'),
    getAccount: db.prepare('SELECT * FROM accounts WHERE account_id = ?'),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE account_id = ?').pluck(),
    listAccounts: db.prepare('SELECT * FROM accounts ORDER BY created_day, account_id'),
    deleteAccount: db.prepare('DELETE FROM accounts WHERE account_id = ?'),
    nextDeviceId: db.prepare('UPDATE accounts SET next_device_id = next_device_id + 1 WHERE account_id = ? RETURNING next_device_id - 1 AS id'),
    insertDevice: db.prepare('INSERT INTO devices (account_id, device_id, device_key, created_day) VALUES (?, ?, ?, ?)'),
    countDevices: db.prepare('SELECT count(*) AS n FROM devices WHERE account_id = ?'),
    getDevice: db.prepare('SELECT * FROM devices WHERE account_id = ? AND device_id = ?'),
    listDevices: db.prepare('SELECT * FROM devices WHERE account_id = ? ORDER BY device_id'),
    listDeviceIds: db.prepare('SELECT device_id FROM devices WHERE account_id = ? ORDER BY device_id').pluck(),
    deleteDevice: db.prepare('DELETE FROM devices WHERE account_id = ? AND device_id = ?'),
    setLastSeen: db.prepare('UPDATE devices SET last_seen_day = ? WHERE account_id = ? AND device_id = ?'),
    clearLastSeen: db.prepare('UPDATE devices SET last_seen_day = NULL WHERE last_seen_day IS NOT NULL'),
    setAccessKey: db.prepare('UPDATE accounts SET access_key_hash = ?, unrestricted = ? WHERE account_id = ?'),
    // Per-device deletes (used for device removal) and per-account deletes.
    purgeDevice: ['signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'device_names', 'push_subscriptions'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE account_id = ? AND device_id = ?`)),
    purgeAccount: ['devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'attachment_usage',
      'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'push_subscriptions'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE account_id = ?`)),
    upsertSigned: db.prepare('INSERT OR REPLACE INTO signed_prekeys (account_id, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)'),
    upsertOneTime: db.prepare('INSERT OR REPLACE INTO one_time_prekeys (account_id, device_id, key_id, public_key) VALUES (?, ?, ?, ?)'),
    upsertPq: db.prepare('INSERT OR REPLACE INTO pq_prekeys (account_id, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)'),
    upsertLastResort: db.prepare('INSERT OR REPLACE INTO pq_last_resort (account_id, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)'),
    countOneTime: db.prepare('SELECT count(*) AS n FROM one_time_prekeys WHERE account_id = ? AND device_id = ?'),
    countPq: db.prepare('SELECT count(*) AS n FROM pq_prekeys WHERE account_id = ? AND device_id = ?'),
    getSigned: db.prepare('SELECT key_id, public_key, signature FROM signed_prekeys WHERE account_id = ? AND device_id = ?'),
    getLastResort: db.prepare('SELECT key_id, public_key, signature FROM pq_last_resort WHERE account_id = ? AND device_id = ?'),
    takeOneTime: db.prepare(`DELETE FROM one_time_prekeys WHERE account_id = ? AND device_id = ? AND key_id =
      (SELECT min(key_id) FROM one_time_prekeys WHERE account_id = ? AND device_id = ?) RETURNING key_id, public_key`),
    takePq: db.prepare(`DELETE FROM pq_prekeys WHERE account_id = ? AND device_id = ? AND key_id =
      (SELECT min(key_id) FROM pq_prekeys WHERE account_id = ? AND device_id = ?) RETURNING key_id, public_key, signature`),
    dedupExists: db.prepare('SELECT 1 FROM dedup WHERE dedup_key = ?').pluck(),
    insertDedup: db.prepare('INSERT INTO dedup (dedup_key, expires_at) VALUES (?, ?)'),
    insertMessage: db.prepare(`INSERT INTO messages (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // Rows of a multi-recipient send take their content from the shared payload.
    fetchQueue: db.prepare(`SELECT m.server_id, m.message_id, m.created_at, m.sealed, m.sender_account_id, m.sender_device_id,
      coalesce(p.content, m.content) AS content, m.recipient_header FROM messages m LEFT JOIN shared_payloads p ON p.payload_id = m.payload_id
      WHERE m.account_id = ? AND m.device_id = ? AND m.server_id > ? ORDER BY m.server_id LIMIT ?`),
    ackOne: db.prepare('DELETE FROM messages WHERE server_id = ? AND account_id = ? AND device_id = ? RETURNING server_id, created_at'),
    queueDepth: db.prepare('SELECT count(*) AS n FROM messages'),
    insertAttachment: db.prepare('INSERT INTO attachments (attachment_id, size, upload_token_hash, created_at, expires_at, complete) VALUES (?, ?, ?, ?, ?, ?)'),
    getAttachment: db.prepare('SELECT * FROM attachments WHERE attachment_id = ?'),
    completeAttachment: db.prepare('UPDATE attachments SET complete = 1 WHERE attachment_id = ? AND complete = 0'),
    sweepMessages: db.prepare('DELETE FROM messages WHERE expires_at <= ?'),
    sweepInvites: db.prepare('DELETE FROM invites WHERE expires_at <= ?'),
    sweepDedup: db.prepare('DELETE FROM dedup WHERE expires_at <= ?'),
    sweepAttachments: db.prepare('DELETE FROM attachments WHERE expires_at <= ? RETURNING attachment_id').pluck(),
    liveUsage: db.prepare('SELECT bytes, expires_at FROM attachment_usage WHERE account_id = ? AND expires_at > ? ORDER BY expires_at'),
    addUsage: db.prepare(`INSERT INTO attachment_usage (account_id, day, bytes, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (account_id, day) DO UPDATE SET bytes = bytes + excluded.bytes, expires_at = max(expires_at, excluded.expires_at)`),
    sweepUsage: db.prepare('DELETE FROM attachment_usage WHERE expires_at <= ?'),
  };
}

function transactions(db: Database.Database, s: ReturnType<typeof prepare>) {
  const insertDevice = (account: Buffer, device: NewDevice): number => {
    const { id } = s.nextDeviceId.get(account) as { id: number };
    s.insertDevice.run(account, id, buf(device.deviceKey), device.createdDay);
    return id;
  };

  const takeOne = (account: Buffer, deviceId: number): TakenPreKeys | undefined => {
    const signed = s.getSigned.get(account, deviceId) as Row | undefined;
    if (!signed) return undefined;
    let pq: PqPreKeyRow | undefined;
    const oneTimePq = s.takePq.get(account, deviceId, account, deviceId) as Row | undefined;
    if (oneTimePq) {
      pq = { keyId: oneTimePq.key_id as number, publicKey: bytes(oneTimePq.public_key), signature: bytes(oneTimePq.signature), lastResort: false };
    } else {
      const lr = s.getLastResort.get(account, deviceId) as Row | undefined;
      if (!lr) return undefined;
      pq = { keyId: lr.key_id as number, publicKey: bytes(lr.public_key), signature: bytes(lr.signature), lastResort: true };
    }
    const otk = s.takeOneTime.get(account, deviceId, account, deviceId) as Row | undefined;
    const oneTimePreKey: OneTimePreKeyRow | undefined = otk ? { keyId: otk.key_id as number, publicKey: bytes(otk.public_key) } : undefined;
    const signedPreKey: SignedPreKeyRow = { keyId: signed.key_id as number, publicKey: bytes(signed.public_key), signature: bytes(signed.signature) };
    return { deviceId, signedPreKey, oneTimePreKey, pqPreKey: pq };
  };

  return {
    register: db.transaction((codeHash: Uint8Array, now: number, account: AccountRecord, device: NewDevice): RegisterResult => {
      const invite = s.getInvite.get(buf(codeHash)) as { expires_at: number } | undefined;
      if (!invite) return { status: 'invite-invalid' };
      if (invite.expires_at <= now) return { status: 'invite-expired' };
      s.deleteInvite.run(buf(codeHash));
      const a = buf(account.accountId);
      s.insertAccount.run(a, buf(account.identityKey), account.accessKeyHash ? buf(account.accessKeyHash) : null, account.unrestricted ? 1 : 0, account.createdDay);
      return { status: 'ok', deviceId: insertDevice(a, device) };
    }),

    deleteAccount: db.transaction((account: Buffer): boolean => {
      const existed = s.deleteAccount.run(account).changes === 1;
      for (const st of s.purgeAccount) st.run(account);
      return existed;
    }),

    addDevice: db.transaction((account: Buffer, device: NewDevice, maxDevices: number): AddDeviceResult => {
      if (!s.getAccount.get(account)) return { status: 'no-account' };
      if ((s.countDevices.get(account) as { n: number }).n >= maxDevices) return { status: 'limit' };
      return { status: 'ok', deviceId: insertDevice(account, device) };
    }),

    removeDevice: db.transaction((account: Buffer, deviceId: number, removal: NewDeviceRemoval | undefined): boolean => {
      const device = removal ? s.getDevice.get(account, deviceId) as Row | undefined : undefined;
      const existed = s.deleteDevice.run(account, deviceId).changes === 1;
      for (const st of s.purgeDevice) st.run(account, deviceId);
      if (device && removal) {
        db.prepare('INSERT OR REPLACE INTO device_removals (account_id, device_id, device_key, by_device_id, day, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(account, deviceId, device.device_key, removal.byDeviceId, removal.day, removal.expiresAt);
      }
      return existed;
    }),

    storePreKeys: db.transaction((account: Buffer, deviceId: number, u: PreKeyUpload) => {
      if (u.signedPreKey) s.upsertSigned.run(account, deviceId, u.signedPreKey.keyId, buf(u.signedPreKey.publicKey), buf(u.signedPreKey.signature));
      for (const k of u.oneTimePreKeys) s.upsertOneTime.run(account, deviceId, k.keyId, buf(k.publicKey));
      for (const k of u.pqPreKeys) s.upsertPq.run(account, deviceId, k.keyId, buf(k.publicKey), buf(k.signature));
      if (u.lastResortPqPreKey) {
        const k = u.lastResortPqPreKey;
        s.upsertLastResort.run(account, deviceId, k.keyId, buf(k.publicKey), buf(k.signature));
      }
    }),

    takeBundles: db.transaction((account: Buffer, deviceIds: readonly number[] | undefined): TakeBundlesResult => {
      const existing = s.listDeviceIds.all(account) as number[];
      const wanted = deviceIds ?? existing;
      const bundles: TakenPreKeys[] = [];
      const unavailable: number[] = [];
      for (const id of wanted) {
        const taken = existing.includes(id) ? takeOne(account, id) : undefined;
        if (taken) bundles.push(taken);
        else unavailable.push(id);
      }
      return { bundles, unavailable };
    }),

    enqueue: db.transaction((batch: readonly EnqueueRequest[]): EnqueueResult[] => {
      // Within one transaction a recipient's device list cannot change: read it once.
      const devices = new Map<string, number[] | null>();
      return batch.map((req): EnqueueResult => {
        const dedupKey = buf(req.dedupKey);
        if (s.dedupExists.get(dedupKey) !== undefined) return { status: 'duplicate' };
        const recipient = buf(req.recipient);
        const key = recipient.toString('latin1');
        let all = devices.get(key);
        if (all === undefined) {
          all = s.accountExists.get(recipient) === undefined ? null : (s.listDeviceIds.all(recipient) as number[]);
          devices.set(key, all);
        }
        if (all === null) return { status: 'no-account' };
        const current = req.excludeDeviceId === undefined ? all : all.filter((id) => id !== req.excludeDeviceId);
        const stale = deviceListDiff(current, req.entries.map((e) => e.deviceId));
        if (stale) return { status: 'stale', ...stale };
        s.insertDedup.run(dedupKey, req.dedupExpiresAt);
        const serverIds = new Map<number, number>();
        const messageId = buf(req.messageId);
        const senderAccount = req.sender ? buf(req.sender.accountId) : null;
        const senderDevice = req.sender ? req.sender.deviceId : null;
        for (const e of req.entries) {
          const info = s.insertMessage.run(recipient, e.deviceId, messageId, req.sender ? 0 : 1, senderAccount, senderDevice, req.createdAt, req.expiresAt, buf(e.content));
          serverIds.set(e.deviceId, Number(info.lastInsertRowid));
        }
        return { status: 'stored', serverIds };
      });
    }),

    ack: db.transaction((acks: readonly AckRequest[]): AckedMessage[][] => acks.map(({ accountId, deviceId, serverIds }) => {
      const account = buf(accountId);
      const out: AckedMessage[] = [];
      for (const id of serverIds) {
        const r = s.ackOne.get(id, account, deviceId) as { server_id: number; created_at: number } | undefined;
        if (r) out.push({ serverId: r.server_id, createdAt: r.created_at });
      }
      return out;
    })),

    chargeUsage: db.transaction((c: AttachmentUsageCharge): AttachmentUsageResult => {
      const account = buf(c.accountId);
      const counters = (s.liveUsage.all(account, c.now) as { bytes: number; expires_at: number }[]).map((r) => ({ bytes: r.bytes, expiresAt: r.expires_at }));
      const used = counters.reduce((n, r) => n + r.bytes, 0);
      if (used + c.bytes > c.quota) return { status: 'exceeded', used, counters };
      s.addUsage.run(account, c.day, c.bytes, c.expiresAt);
      return { status: 'ok', used: used + c.bytes };
    }),

    sweep: db.transaction((now: number): SweepResult => ({
      messages: s.sweepMessages.run(now).changes,
      invites: s.sweepInvites.run(now - EXPIRED_INVITE_KEPT_MS).changes,
      dedup: s.sweepDedup.run(now).changes,
      attachmentIds: (s.sweepAttachments.all(now) as Buffer[]).map(bytes),
      attachmentUsage: s.sweepUsage.run(now).changes,
    })),
  };
}

/** Hex JSON array of ids, for one batched lookup through json_each + unhex. */
const idList = (ids: readonly Uint8Array[]): string => JSON.stringify(ids.map((id) => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')));

/** Statements and the transaction of multi-recipient sealed sends (spec/server.md §5.2). */
function prepareMulti(db: Database.Database) {
  const s = {
    accounts: db.prepare(`SELECT a.account_id, a.access_key_hash, a.unrestricted FROM json_each(?) j JOIN accounts a ON a.account_id = unhex(j.value)`),
    accountIds: db.prepare(`SELECT a.account_id FROM json_each(?) j JOIN accounts a ON a.account_id = unhex(j.value)`).pluck(),
    devices: db.prepare(`SELECT d.account_id, d.device_id FROM json_each(?) j JOIN devices d ON d.account_id = unhex(j.value) ORDER BY d.account_id, d.device_id`),
    dedupKnown: db.prepare(`SELECT d.dedup_key FROM json_each(?) j JOIN dedup d ON d.dedup_key = unhex(j.value)`).pluck(),
    insertDedup: db.prepare('INSERT INTO dedup (dedup_key, expires_at) VALUES (?, ?)'),
    insertPayload: db.prepare('INSERT INTO shared_payloads (created_at, expires_at, content) VALUES (?, ?, ?)'),
    insertRow: db.prepare(`INSERT INTO messages (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content, payload_id, recipient_header)
      VALUES (?, ?, ?, 1, NULL, NULL, ?, ?, X'', ?, ?)`),
    sweepPayloads: db.prepare(`DELETE FROM shared_payloads WHERE expires_at <= ?
      OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.payload_id = shared_payloads.payload_id)`),
  };

  /** Device ids per account (latin1 key of the id), from one query. */
  const devicesOf = (ids: readonly Uint8Array[]): Map<string, number[]> => {
    const out = new Map<string, number[]>();
    for (const r of s.devices.all(idList(ids)) as Row[]) {
      const key = (r.account_id as Buffer).toString('latin1');
      let list = out.get(key);
      if (!list) out.set(key, (list = []));
      list.push(r.device_id as number);
    }
    return out;
  };

  const enqueueOne = (req: MultiEnqueueRequest): MultiEnqueueResult => {
    const known = new Set((s.dedupKnown.all(idList(req.recipients.map((r) => r.dedupKey))) as Buffer[]).map((b) => b.toString('latin1')));
    const fresh = req.recipients.map((r, index) => ({ r, index })).filter(({ r }) => !known.has(buf(r.dedupKey).toString('latin1')));
    if (fresh.length === 0) return { status: 'duplicate' };
    const ids = fresh.map(({ r }) => r.recipient);
    const exists = new Set((s.accountIds.all(idList(ids)) as Buffer[]).map((b) => b.toString('latin1')));
    const devices = devicesOf(ids);
    const unknown: number[] = [];
    const stale: MultiStaleAccount[] = [];
    for (const { r, index } of fresh) {
      const key = buf(r.recipient).toString('latin1');
      if (!exists.has(key)) { unknown.push(index); continue; }
      const diff = deviceListDiff(devices.get(key) ?? [], r.deviceIds);
      if (diff) stale.push({ index, ...diff });
    }
    if (unknown.length || stale.length) return { status: 'rejected', unknown, stale };
    const payloadId = Number(s.insertPayload.run(req.createdAt, req.expiresAt, buf(req.payload)).lastInsertRowid);
    const messageId = buf(req.messageId);
    const serverIds: (Map<number, number> | undefined)[] = req.recipients.map(() => undefined);
    for (const { r, index } of fresh) {
      s.insertDedup.run(buf(r.dedupKey), req.dedupExpiresAt);
      const recipient = buf(r.recipient);
      const header = buf(r.header);
      const ids = new Map<number, number>();
      for (const deviceId of r.deviceIds) {
        ids.set(deviceId, Number(s.insertRow.run(recipient, deviceId, messageId, req.createdAt, req.expiresAt, payloadId, header).lastInsertRowid));
      }
      serverIds[index] = ids;
    }
    return { status: 'stored', serverIds };
  };

  return {
    sweepPayloads: s.sweepPayloads,
    enqueue: db.transaction((batch: readonly MultiEnqueueRequest[]): MultiEnqueueResult[] => batch.map(enqueueOne)),
    sealedRecipients(accountIds: readonly Uint8Array[]): (SealedRecipientRecord | undefined)[] {
      if (accountIds.length === 0) return [];
      const read = db.transaction(() => {
        const accounts = new Map<string, Row>();
        for (const r of s.accounts.all(idList(accountIds)) as Row[]) accounts.set((r.account_id as Buffer).toString('latin1'), r);
        return { accounts, devices: devicesOf(accountIds) };
      });
      const { accounts, devices } = read();
      return accountIds.map((id) => {
        const key = buf(id).toString('latin1');
        const a = accounts.get(key);
        return a && { accessKeyHash: optBytes(a.access_key_hash), unrestricted: a.unrestricted === 1, deviceIds: devices.get(key) ?? [] };
      });
    },
  };
}

/** Lower-cases A–Z only, as SQLite's lower() does, so searches match the same way on every adapter. */
export const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Statements and transactions of usernames, profiles and the directory (spec/server.md §3.1). */
function preparePeople(db: Database.Database) {
  const s = {
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
