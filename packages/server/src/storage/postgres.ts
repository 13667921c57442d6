/**
 * The PostgreSQL adapter (node-postgres), for organisations that already run
 * PostgreSQL or want the database on another machine. Same port, same
 * conformance suite as SQLite. Written against `pg` directly rather than a
 * query builder: the atomic operations are a few precise statements
 * (FOR UPDATE, SKIP LOCKED, RETURNING) that read best as SQL.
 *
 * Durability: with PostgreSQL's default synchronous_commit = on, COMMIT
 * returns after the WAL is flushed, so `enqueue` resolving means durable.
 * Concurrency: one-time prekeys are taken with FOR UPDATE SKIP LOCKED, the
 * device limit and registration lock the account or invite row.
 */
import pg from 'pg';
import type {
  AccountLabel, AccountRecord, CertificationRequestRecord, NewCertificationRequest, AckRequest, AckedMessage, AddDeviceResult, AttachmentRecord, AttachmentUsageCharge, AttachmentUsageResult,
  AuditReport, DeviceRecord, EnqueueRequest, EnqueueResult, DirectoryRecord, InviteRecord, ProfileRecord, PublishDirectoryResult, SetUsernameResult,
  MultiEnqueueRequest, MultiEnqueueResult, NewDevice, SealedRecipientRecord, PreKeyCounts, PreKeyUpload, QueuedMessage, RegisterResult, Storage,
  SweepResult, TableAudit, TakeBundlesResult, DeviceRemovalRecord, NewDeviceRemoval, PushSubscriptionRecord, StoredRow,
} from './port.js';
import type { KtLeafInput, KtLeafRecord, KtUnloggedDevice, SealedAccess } from './port.js';
import { EXPIRED_INVITE_KEPT_MS, isAccountColumn } from './port.js';
import { ATTACHMENT_USAGE_LOCK, DAY_MS, SCHEMA_LOCK, multiSchemaSql, schemaSql } from './postgres/schema.js';
import { buf, bytes, num, optBytes, toAccount, toDevice, type Pg, type Q, type Row } from './postgres/rows.js';
import * as keys from './postgres/keys.js';
import * as kt from './postgres/kt.js';
import * as people from './postgres/people.js';
import * as certRequests from './postgres/cert-requests.js';
import * as queues from './postgres/queues.js';

export interface PostgresStorageOptions {
  /** e.g. postgresql://sigilo@127.0.0.1:5432/sigilo */
  readonly connectionString: string;
  /** Schema holding Sigilo's tables (created if absent). Default: sigilo. */
  readonly schema?: string;
  readonly maxConnections?: number;
}


export class PostgresStorage implements Storage {
  readonly name = 'postgres';
  readonly #pool: pg.Pool;
  readonly #s: string;
  #ready: Promise<void>;

  constructor(options: PostgresStorageOptions) {
    this.#s = options.schema ?? 'sigilo';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.#s)) throw new Error('schema must be a lower-case SQL identifier');
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
    this.#pool.on('error', () => { /* an idle client died; the pool replaces it */ });
    // Several nodes may start at once on an empty database: one creates and migrates the schema at a time
    // (the statements run as one implicit transaction, holding the lock to its end).
    this.#ready = this.#pool.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}, hashtext('${this.#s}'));${schemaSql(this.#s)}`).then(() => undefined);
    this.#ready.catch(() => {});
  }

  /** Resolves once the schema exists; rejects if PostgreSQL is unreachable. */
  ready(): Promise<void> { return this.#ready; }

  async #q(sql: string, params: unknown[] = []): Promise<Row[]> {
    await this.#ready;
    return (await this.#pool.query(sql, params)).rows as Row[];
  }

  async #tx<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    await this.#ready;
    const client = await this.#pool.connect();
    const q: Q = async (sql, params = []) => (await client.query(sql, params)).rows as Row[];
    try {
      await client.query('BEGIN');
      const out = await fn(q);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Table name in the adapter's schema. */
  #t(name: string): string { return `${this.#s}.${name}`; }

  /** What the per-concern modules (postgres/*.ts) run their statements through. */
  readonly #pg: Pg = { q: (sql, params) => this.#q(sql, params), tx: (fn) => this.#tx(fn), t: (name) => this.#t(name) };

  async createInvite(i: InviteRecord): Promise<void> {
    await this.#q(`INSERT INTO ${this.#t('invites')} (code_hash, created_at, expires_at) VALUES ($1, $2, $3)`, [buf(i.codeHash), i.createdAt, i.expiresAt]);
  }

  async registerAccount(codeHash: Uint8Array, now: number, a: AccountRecord, d: NewDevice): Promise<RegisterResult> {
    return this.#tx(async (q) => {
      const [invite] = await q(`SELECT expires_at FROM ${this.#t('invites')} WHERE code_hash = $1 FOR UPDATE`, [buf(codeHash)]);
      if (!invite) return { status: 'invite-invalid' };
      if (num(invite.expires_at) <= now) return { status: 'invite-expired' };
      await q(`DELETE FROM ${this.#t('invites')} WHERE code_hash = $1`, [buf(codeHash)]);
      await q(`INSERT INTO ${this.#t('accounts')} (account_id, identity_key, access_key_hash, unrestricted, created_day, next_device_id) VALUES ($1, $2, $3, $4, $5, 2)`,
        [buf(a.accountId), buf(a.identityKey), a.accessKeyHash ? buf(a.accessKeyHash) : null, a.unrestricted, a.createdDay]);
      await q(`INSERT INTO ${this.#t('devices')} (account_id, device_id, device_key, created_day) VALUES ($1, 1, $2, $3)`, [buf(a.accountId), buf(d.deviceKey), d.createdDay]);
      return { status: 'ok', deviceId: 1 };
    });
  }

  async getAccount(accountId: Uint8Array): Promise<AccountRecord | undefined> {
    const [r] = await this.#q(`SELECT * FROM ${this.#t('accounts')} WHERE account_id = $1`, [buf(accountId)]);
    return r && toAccount(r);
  }

  async getSealedAccess(accountId: Uint8Array): Promise<SealedAccess | undefined> {
    const [r] = await this.#q(`SELECT access_key_hash, unrestricted FROM ${this.#t('accounts')} WHERE account_id = $1`, [buf(accountId)]);
    return r && { accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === true };
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.#q(`SELECT * FROM ${this.#t('accounts')} ORDER BY created_day, account_id`)).map(toAccount);
  }

  async deleteAccount(accountId: Uint8Array, removal?: NewDeviceRemoval): Promise<boolean> {
    return this.#tx(async (q) => {
      const devices = removal ? await q(`SELECT device_id, device_key FROM ${this.#t('devices')} WHERE account_id = $1`, [buf(accountId)]) : [];
      const gone = await q(`DELETE FROM ${this.#t('accounts')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)]);
      for (const t of ['devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'attachment_usage',
        'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'push_subscriptions', 'certification_requests']) {
        await q(`DELETE FROM ${this.#t(t)} WHERE account_id = $1`, [buf(accountId)]);
      }
      for (const d of devices) {
        await q(`INSERT INTO ${this.#t('device_removals')} (account_id, device_id, device_key, by_device_id, day, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
          [buf(accountId), d.device_id, d.device_key, removal!.byDeviceId, removal!.day, removal!.expiresAt]);
      }
      return gone.length === 1;
    });
  }

  async addDevice(accountId: Uint8Array, d: NewDevice, maxDevices: number): Promise<AddDeviceResult> {
    return this.#tx(async (q) => {
      const a = buf(accountId);
      const [acc] = await q(`SELECT next_device_id FROM ${this.#t('accounts')} WHERE account_id = $1 FOR UPDATE`, [a]);
      if (!acc) return { status: 'no-account' };
      const [c] = await q(`SELECT count(*) AS n FROM ${this.#t('devices')} WHERE account_id = $1`, [a]);
      if (num(c!.n) >= maxDevices) return { status: 'limit' };
      const id = num(acc.next_device_id);
      await q(`UPDATE ${this.#t('accounts')} SET next_device_id = next_device_id + 1 WHERE account_id = $1`, [a]);
      await q(`INSERT INTO ${this.#t('devices')} (account_id, device_id, device_key, created_day) VALUES ($1, $2, $3, $4)`, [a, id, buf(d.deviceKey), d.createdDay]);
      return { status: 'ok', deviceId: id };
    });
  }

  async getDevice(accountId: Uint8Array, deviceId: number): Promise<DeviceRecord | undefined> {
    const [r] = await this.#q(`SELECT * FROM ${this.#t('devices')} WHERE account_id = $1 AND device_id = $2`, [buf(accountId), deviceId]);
    return r && toDevice(r);
  }

  async listDevices(accountId: Uint8Array): Promise<DeviceRecord[]> {
    return (await this.#q(`SELECT d.*, ${this.#keyed} AS keyed FROM ${this.#t('devices')} d WHERE d.account_id = $1 ORDER BY d.device_id`, [buf(accountId)])).map(toDevice);
  }

  /** Whether device row `d` has published a signed prekey (port.ts DeviceRecord.keyless). */
  get #keyed(): string {
    return `EXISTS (SELECT 1 FROM ${this.#t('signed_prekeys')} p WHERE p.account_id = d.account_id AND p.device_id = d.device_id)`;
  }

  async keylessDevices(createdBeforeDay: number): Promise<{ accountId: Uint8Array; deviceId: number }[]> {
    const rows = await this.#q(`SELECT d.account_id, d.device_id FROM ${this.#t('devices')} d WHERE d.created_day < $1 AND NOT ${this.#keyed}
      AND EXISTS (SELECT 1 FROM ${this.#t('signed_prekeys')} o WHERE o.account_id = d.account_id AND o.device_id <> d.device_id)`, [createdBeforeDay]);
    return rows.map((r) => ({ accountId: bytes(r.account_id), deviceId: num(r.device_id) }));
  }

  async removeDevice(accountId: Uint8Array, deviceId: number, removal?: NewDeviceRemoval): Promise<boolean> {
    return this.#tx(async (q) => {
      const a = buf(accountId);
      const gone = await q(`DELETE FROM ${this.#t('devices')} WHERE account_id = $1 AND device_id = $2 RETURNING device_key`, [a, deviceId]);
      for (const t of ['signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'device_names', 'push_subscriptions']) {
        await q(`DELETE FROM ${this.#t(t)} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
      }
      if (gone.length === 1 && removal) {
        await q(`INSERT INTO ${this.#t('device_removals')} (account_id, device_id, device_key, by_device_id, day, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (account_id, device_id) DO UPDATE SET device_key = EXCLUDED.device_key, by_device_id = EXCLUDED.by_device_id, day = EXCLUDED.day, expires_at = EXCLUDED.expires_at`,
        [a, deviceId, gone[0]!.device_key, removal.byDeviceId, removal.day, removal.expiresAt]);
      }
      return gone.length === 1;
    });
  }

  async appendKtLeaves(leaves: readonly KtLeafInput[], nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): Promise<number> { return kt.appendKtLeaves(this.#pg, leaves, nodeHash); }

  async ktSize(): Promise<number> { return kt.ktSize(this.#pg); }

  async getKtNodes(nodes: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> { return kt.getKtNodes(this.#pg, nodes); }

  async findKtLeaves(accountId: Uint8Array, deviceIds?: readonly number[]): Promise<KtLeafRecord[]> { return kt.findKtLeaves(this.#pg, accountId, deviceIds); }

  async listKtUnlogged(limit: number): Promise<KtUnloggedDevice[]> { return kt.listKtUnlogged(this.#pg, limit); }

  async setAccountLabel(accountId: Uint8Array, label: string | undefined): Promise<boolean> {
    return this.#tx(async (q) => {
      const a = buf(accountId);
      if (!(await q(`SELECT 1 FROM ${this.#t('accounts')} WHERE account_id = $1 FOR SHARE`, [a])).length) return false;
      if (label === undefined) await q(`DELETE FROM ${this.#t('account_labels')} WHERE account_id = $1`, [a]);
      else await q(`INSERT INTO ${this.#t('account_labels')} (account_id, label) VALUES ($1, $2) ON CONFLICT (account_id) DO UPDATE SET label = EXCLUDED.label`, [a, label]);
      return true;
    });
  }

  async listAccountLabels(): Promise<AccountLabel[]> {
    return (await this.#q(`SELECT account_id, label FROM ${this.#t('account_labels')}`)).map((r) => ({ accountId: bytes(r.account_id), label: r.label as string }));
  }

  async setDeviceName(accountId: Uint8Array, deviceId: number, encryptedName: Uint8Array | undefined): Promise<boolean> {
    return this.#tx(async (q) => {
      const a = buf(accountId);
      if (!(await q(`SELECT 1 FROM ${this.#t('devices')} WHERE account_id = $1 AND device_id = $2 FOR SHARE`, [a, deviceId])).length) return false;
      if (encryptedName === undefined) await q(`DELETE FROM ${this.#t('device_names')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
      else {
        await q(`INSERT INTO ${this.#t('device_names')} (account_id, device_id, encrypted_name) VALUES ($1, $2, $3)
          ON CONFLICT (account_id, device_id) DO UPDATE SET encrypted_name = EXCLUDED.encrypted_name`, [a, deviceId, buf(encryptedName)]);
      }
      return true;
    });
  }

  async listDeviceNames(accountId: Uint8Array): Promise<Map<number, Uint8Array>> {
    const rows = await this.#q(`SELECT device_id, encrypted_name FROM ${this.#t('device_names')} WHERE account_id = $1`, [buf(accountId)]);
    return new Map(rows.map((r) => [num(r.device_id), bytes(r.encrypted_name)]));
  }

  async getDeviceRemoval(accountId: Uint8Array, deviceId: number, now: number): Promise<DeviceRemovalRecord | undefined> {
    const [r] = await this.#q(`SELECT * FROM ${this.#t('device_removals')} WHERE account_id = $1 AND device_id = $2 AND expires_at > $3`, [buf(accountId), deviceId, now]);
    return r && { deviceKey: bytes(r.device_key), byDeviceId: num(r.by_device_id), day: num(r.day), expiresAt: num(r.expires_at) };
  }

  async setLastSeen(accountId: Uint8Array, deviceId: number, day: number): Promise<void> {
    await this.#q(`UPDATE ${this.#t('devices')} SET last_seen_day = $1 WHERE account_id = $2 AND device_id = $3`, [day, buf(accountId), deviceId]);
  }

  async clearLastSeen(): Promise<number> {
    return (await this.#q(`UPDATE ${this.#t('devices')} SET last_seen_day = NULL WHERE last_seen_day IS NOT NULL RETURNING 1`)).length;
  }

  async setAccessKey(accountId: Uint8Array, hash: Uint8Array | undefined, unrestricted: boolean): Promise<void> {
    await this.#q(`UPDATE ${this.#t('accounts')} SET access_key_hash = $1, unrestricted = $2 WHERE account_id = $3`, [hash ? buf(hash) : null, unrestricted, buf(accountId)]);
  }

  async storePreKeys(accountId: Uint8Array, deviceId: number, u: PreKeyUpload): Promise<void> { return keys.storePreKeys(this.#pg, accountId, deviceId, u); }

  async countPreKeys(accountId: Uint8Array, deviceId: number): Promise<PreKeyCounts> { return keys.countPreKeys(this.#pg, accountId, deviceId); }

  async takeBundles(accountId: Uint8Array, deviceIds: readonly number[] | undefined): Promise<TakeBundlesResult> { return keys.takeBundles(this.#pg, accountId, deviceIds); }

  async enqueue(batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]> { return queues.enqueue(this.#pg, batch); }

  async fetchQueue(accountId: Uint8Array, deviceId: number, afterId: number, limit: number): Promise<QueuedMessage[]> { return queues.fetchQueue(this.#pg, accountId, deviceId, afterId, limit); }

  async enqueueMulti(batch: readonly MultiEnqueueRequest[]): Promise<MultiEnqueueResult[]> { return queues.enqueueMulti(this.#pg, batch); }

  async getSealedRecipients(accountIds: readonly Uint8Array[]): Promise<(SealedRecipientRecord | undefined)[]> { return queues.getSealedRecipients(this.#pg, accountIds); }

  async ack(acks: readonly AckRequest[]): Promise<AckedMessage[][]> { return queues.ack(this.#pg, acks); }

  async queueDepth(): Promise<number> { return queues.queueDepth(this.#pg); }

  async createAttachment(r: AttachmentRecord): Promise<void> {
    await this.#q(`INSERT INTO ${this.#t('attachments')} VALUES ($1, $2, $3, $4, $5, $6)`, [buf(r.attachmentId), r.size, buf(r.uploadTokenHash), r.createdAt, r.expiresAt, r.complete]);
  }

  async getAttachment(attachmentId: Uint8Array): Promise<AttachmentRecord | undefined> {
    const [r] = await this.#q(`SELECT * FROM ${this.#t('attachments')} WHERE attachment_id = $1`, [buf(attachmentId)]);
    return r && {
      attachmentId: bytes(r.attachment_id), size: num(r.size), uploadTokenHash: bytes(r.upload_token_hash),
      createdAt: num(r.created_at), expiresAt: num(r.expires_at), complete: r.complete === true,
    };
  }

  async completeAttachment(attachmentId: Uint8Array): Promise<boolean> {
    return (await this.#q(`UPDATE ${this.#t('attachments')} SET complete = TRUE WHERE attachment_id = $1 AND NOT complete RETURNING 1`, [buf(attachmentId)])).length === 1;
  }

  async chargeAttachmentUsage(c: AttachmentUsageCharge): Promise<AttachmentUsageResult> {
    const account = buf(c.accountId);
    return this.#tx(async (q) => {
      // Concurrent charges of one account queue on a transaction-scoped advisory lock (class 'SIGL', key from the account id).
      await q('SELECT pg_advisory_xact_lock($1::int, $2::int)', [ATTACHMENT_USAGE_LOCK, account.readInt32BE(0)]);
      const counters = (await q(`SELECT bytes, expires_at FROM ${this.#t('attachment_usage')} WHERE account_id = $1 AND expires_at > $2 ORDER BY expires_at`,
        [account, c.now])).map((r) => ({ bytes: num(r.bytes), expiresAt: num(r.expires_at) }));
      const used = counters.reduce((n, r) => n + r.bytes, 0);
      if (used + c.bytes > c.quota) return { status: 'exceeded', used, counters };
      await q(`INSERT INTO ${this.#t('attachment_usage')} AS u (account_id, day, bytes, expires_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (account_id, day) DO UPDATE SET bytes = u.bytes + excluded.bytes, expires_at = greatest(u.expires_at, excluded.expires_at)`,
      [account, c.day, c.bytes, c.expiresAt]);
      return { status: 'ok', used: used + c.bytes };
    });
  }

  async setUsername(accountId: Uint8Array, usernameHash: Uint8Array): Promise<SetUsernameResult> { return people.setUsername(this.#pg, accountId, usernameHash); }

  async deleteUsername(accountId: Uint8Array): Promise<boolean> { return people.deleteUsername(this.#pg, accountId); }

  async accountByUsernameHash(usernameHash: Uint8Array): Promise<Uint8Array | undefined> { return people.accountByUsernameHash(this.#pg, usernameHash); }

  async usernameHashOf(accountId: Uint8Array): Promise<Uint8Array | undefined> { return people.usernameHashOf(this.#pg, accountId); }

  async setProfile(accountId: Uint8Array, profile: ProfileRecord | undefined): Promise<void> { return people.setProfile(this.#pg, accountId, profile); }

  async getProfile(accountId: Uint8Array): Promise<ProfileRecord | undefined> { return people.getProfile(this.#pg, accountId); }

  async publishDirectoryEntry(e: DirectoryRecord, usernameHash: Uint8Array): Promise<PublishDirectoryResult> { return people.publishDirectoryEntry(this.#pg, e, usernameHash); }

  async removeDirectoryEntry(accountId: Uint8Array): Promise<boolean> { return people.removeDirectoryEntry(this.#pg, accountId); }

  async searchDirectory(query: string, after: string, limit: number): Promise<DirectoryRecord[]> { return people.searchDirectory(this.#pg, query, after, limit); }

  async clearDirectory(): Promise<number> { return people.clearDirectory(this.#pg); }

  async sweep(now: number): Promise<SweepResult> {
    const swept = await this.#tx(async (q) => ({
      messages: (await q(`DELETE FROM ${this.#t('messages')} WHERE expires_at <= $1 RETURNING 1`, [now])).length,
      invites: (await q(`DELETE FROM ${this.#t('invites')} WHERE expires_at <= $1 RETURNING 1`, [now - EXPIRED_INVITE_KEPT_MS])).length,
      dedup: (await q(`DELETE FROM ${this.#t('dedup')} WHERE expires_at <= $1 RETURNING 1`, [now])).length,
      attachmentIds: (await q(`DELETE FROM ${this.#t('attachments')} WHERE expires_at <= $1 RETURNING attachment_id`, [now])).map((r) => bytes(r.attachment_id)),
      attachmentUsage: (await q(`DELETE FROM ${this.#t('attachment_usage')} WHERE expires_at <= $1 RETURNING 1`, [now])).length,
    }));
    // Expired shared payloads, and any left unreferenced by concurrent deletions (see multiSchemaSql).
    await this.#q(`DELETE FROM ${this.#t('shared_payloads')} p WHERE p.expires_at <= $1
      OR NOT EXISTS (SELECT 1 FROM ${this.#t('messages')} m WHERE m.payload_id = p.payload_id)`, [now]);
    await this.#q(`DELETE FROM ${this.#t('device_removals')} WHERE expires_at <= $1`, [now]);
    return swept;
  }

  async audit(_now: number): Promise<AuditReport> {
    const oldest: Record<string, string> = {
      invites: 'min(created_at)', accounts: `min(created_day)::bigint * ${DAY_MS}`, devices: `min(created_day)::bigint * ${DAY_MS}`,
      messages: 'min(created_at)', attachments: 'min(created_at)', attachment_usage: `min(day)::bigint * ${DAY_MS}`, shared_payloads: 'min(created_at)',
      device_removals: `min(day)::bigint * ${DAY_MS}`, push_subscriptions: `min(created_day)::bigint * ${DAY_MS}`,
      profiles: 'min(updated_at)', certification_requests: 'min(created_at)',
    };
    const dayTables = new Set(['accounts', 'devices', 'attachment_usage', 'device_removals', 'push_subscriptions']);
    const tables: TableAudit[] = [];
    for (const table of ['invites', 'accounts', 'devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'dedup', 'attachments', 'attachment_usage', 'shared_payloads',
      'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'kt_leaves', 'kt_nodes', 'push_subscriptions', 'certification_requests']) {
      const [r] = await this.#q(`SELECT count(*) AS n${oldest[table] ? `, ${oldest[table]} AS oldest` : ''} FROM ${this.#t(table)}`);
      tables.push({ table, rows: num(r!.n), oldest: r!.oldest == null ? undefined : num(r!.oldest), ...(dayTables.has(table) ? { oldestIsDay: true } : {}) });
    }
    const [m] = await this.#q(`SELECT
      (SELECT count(*) FROM ${this.#t('messages')} WHERE sender_account_id IS NOT NULL OR sender_device_id IS NOT NULL) AS with_sender,
      (SELECT count(*) FROM ${this.#t('messages')} WHERE sealed) AS sealed,
      (SELECT count(*) FROM ${this.#t('devices')} WHERE last_seen_day IS NOT NULL) AS last_seen`);
    return { tables, messagesWithSender: num(m!.with_sender), sealedMessages: num(m!.sealed), devicesWithLastSeen: num(m!.last_seen) };
  }

  async setPushSubscription(accountId: Uint8Array, deviceId: number, sub: PushSubscriptionRecord | undefined): Promise<boolean> {
    return this.#tx(async (q) => {
      const a = buf(accountId);
      const [d] = await q(`SELECT 1 FROM ${this.#t('devices')} WHERE account_id = $1 AND device_id = $2 FOR UPDATE`, [a, deviceId]);
      if (!d) return false;
      if (sub === undefined) await q(`DELETE FROM ${this.#t('push_subscriptions')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
      else {
        await q(`INSERT INTO ${this.#t('push_subscriptions')} (account_id, device_id, endpoint, p256dh, auth, created_day) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (account_id, device_id) DO UPDATE SET endpoint = EXCLUDED.endpoint, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, created_day = EXCLUDED.created_day`,
        [a, deviceId, sub.endpoint, buf(sub.p256dh), buf(sub.auth), sub.createdDay]);
      }
      return true;
    });
  }

  async getPushSubscription(accountId: Uint8Array, deviceId: number): Promise<PushSubscriptionRecord | undefined> {
    const [r] = await this.#q(`SELECT * FROM ${this.#t('push_subscriptions')} WHERE account_id = $1 AND device_id = $2`, [buf(accountId), deviceId]);
    return r && { endpoint: r.endpoint as string, p256dh: bytes(r.p256dh), auth: bytes(r.auth), createdDay: num(r.created_day) };
  }

  async scanRows(visit: (table: string, row: StoredRow) => void, accountId?: Uint8Array): Promise<void> {
    const cols = await this.#q(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, [this.#s]);
    const tables = new Map<string, string[]>();
    for (const c of cols) {
      const t = c.table_name as string;
      if (!tables.has(t)) tables.set(t, []);
      tables.get(t)!.push(c.column_name as string);
    }
    const PAGE = 1000;
    for (const [table, columns] of tables) {
      const accountColumns = columns.filter(isAccountColumn);
      if (accountId && !accountColumns.length) continue;
      const where = accountId ? ` WHERE ${accountColumns.map((c) => `"${c}" = $1`).join(' OR ')}` : '';
      for (let offset = 0; ; offset += PAGE) {
        const rows = await this.#q(`SELECT * FROM ${this.#s}."${table.replace(/"/g, '""')}"${where} ORDER BY ctid LIMIT ${PAGE} OFFSET ${offset}`, accountId ? [buf(accountId)] : []);
        for (const r of rows) {
          const row: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(r)) row[k] = Buffer.isBuffer(v) ? bytes(v) : v;
          visit(table, row);
        }
        if (rows.length < PAGE) break;
      }
    }
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    await this.#ready;
    // A session-level advisory lock on one pooled connection, held while fn runs: it dies with the connection.
    const client = await this.#pool.connect();
    const key = `${this.#s}:${name}`;
    try {
      const [r] = (await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key])).rows as Row[];
      if (!r?.ok) return undefined;
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  async putCertificationRequest(r: NewCertificationRequest): Promise<{ requestId: number; replaced: boolean } | undefined> { return certRequests.putCertificationRequest(this.#pg, r); }
  async listCertificationRequests(): Promise<CertificationRequestRecord[]> { return certRequests.listCertificationRequests(this.#pg); }
  async getCertificationRequest(id: number): Promise<CertificationRequestRecord | undefined> { return certRequests.getCertificationRequest(this.#pg, id); }
  async deleteCertificationRequest(id: number): Promise<boolean> { return certRequests.deleteCertificationRequest(this.#pg, id); }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }

  /** Drops the adapter's schema with everything in it (tests). */
  async dropSchema(): Promise<void> {
    await this.#pool.query(`DROP SCHEMA IF EXISTS ${this.#s} CASCADE`);
  }
}
