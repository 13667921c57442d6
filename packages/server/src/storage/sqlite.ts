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
  KtLeafInput, KtLeafRecord, KtUnloggedDevice, AccountLabel, AccountRecord, CertificationRequestRecord, NewCertificationRequest, AckedMessage, AckRequest, AddDeviceResult, AttachmentRecord,
  AttachmentUsageCharge, AttachmentUsageResult, AuditReport, DeviceRecord, EnqueueRequest, EnqueueResult, DirectoryRecord, InviteRecord,
  ProfileRecord, PublishDirectoryResult, SetUsernameResult, MultiEnqueueRequest, MultiEnqueueResult, NewDevice, SealedRecipientRecord, PreKeyCounts,
  PreKeyUpload, QueuedMessage, RegisterResult, Storage, DeviceRemovalRecord, NewDeviceRemoval, SweepResult, TableAudit, TakeBundlesResult,
  PushSubscriptionRecord, SealedAccess, StoredRow,
} from './port.js';
import { isAccountColumn } from './port.js';
import { ADMIN_SCHEMA, AUDITED_TABLES, CERT_REQUEST_SCHEMA, KT_SCHEMA, PEOPLE_SCHEMA, PUSH_SCHEMA, SCHEMA, SCHEMA_VERSION, migrateMulti } from './sqlite/schema.js';
import { bytes, buf, optBytes, toAccount, toDevice, type Row } from './sqlite/rows.js';
import { prepare, prepareAdmin, prepareKt, type AdminStatements, type KtStatements, type Statements } from './sqlite/statements.js';
import { transactions, type Transactions } from './sqlite/transactions.js';
import { prepareMulti, type MultiStatements } from './sqlite/multi.js';
import { asciiLower, preparePeople, type People } from './sqlite/people.js';
import { prepareCertRequests, type CertRequests } from './sqlite/cert-requests.js';

export { asciiLower };
import { WalSync } from './sqlite-wal-sync.js';

export interface SqliteStorageOptions {
  /** Path of the database file, or ':memory:'. */
  readonly filename: string;
  readonly synchronous?: 'full' | 'normal';
  /** Caps the database size in pages (tests use it to provoke SQLITE_FULL). */
  readonly maxPageCount?: number | undefined;
}

export class SqliteStorage implements Storage {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #tx: Transactions;
  readonly #m: MultiStatements;
  readonly #a: AdminStatements;
  readonly #cr: CertRequests;
  readonly #p: People;
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
    db.exec(CERT_REQUEST_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${options.maxPageCount}`);
    this.#s = prepare(db);
    this.#tx = transactions(db, this.#s);
    this.#m = prepareMulti(db);
    this.#a = prepareAdmin(db);
    this.#p = preparePeople(db);
    this.#cr = prepareCertRequests(db);
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

  async getSealedAccess(accountId: Uint8Array): Promise<SealedAccess | undefined> {
    const r = this.#s.getSealedAccess.get(accountId) as Row | undefined;
    return r && { accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === 1 };
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.#s.listAccounts.all() as Row[]).map(toAccount);
  }

  async deleteAccount(accountId: Uint8Array, removal?: NewDeviceRemoval): Promise<boolean> {
    return this.#tx.deleteAccount(buf(accountId), removal);
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

  async keylessDevices(createdBeforeDay: number): Promise<{ accountId: Uint8Array; deviceId: number }[]> {
    return (this.#s.keylessDevices.all(createdBeforeDay) as Row[]).map((r) => ({ accountId: bytes(r.account_id), deviceId: r.device_id as number }));
  }

  #kt: KtStatements | undefined;
  get #k(): KtStatements {
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

  async putCertificationRequest(r: NewCertificationRequest): Promise<{ requestId: number; replaced: boolean } | undefined> { return this.#cr.put(r); }
  async listCertificationRequests(): Promise<CertificationRequestRecord[]> { return this.#cr.list(); }
  async getCertificationRequest(id: number): Promise<CertificationRequestRecord | undefined> { return this.#cr.get(id); }
  async deleteCertificationRequest(id: number): Promise<boolean> { return this.#cr.delete(id); }

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
