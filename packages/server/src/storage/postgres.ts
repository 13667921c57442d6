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
  AccountLabel, AccountRecord, AckRequest, AckedMessage, AddDeviceResult, AttachmentRecord, AttachmentUsageCharge, AttachmentUsageResult, AuditReport, DeviceRecord, EnqueueRequest, EnqueueResult,
  DirectoryRecord, InviteRecord, ProfileRecord, PublishDirectoryResult, SetUsernameResult, MultiEnqueueRequest, MultiEnqueueResult, MultiStaleAccount, NewDevice, SealedRecipientRecord, PqPreKeyRow, PreKeyCounts, PreKeyUpload, QueuedMessage, RegisterResult, Storage, SweepResult, TableAudit,
  TakeBundlesResult, TakenPreKeys, DeviceRemovalRecord, NewDeviceRemoval, PushSubscriptionRecord, StoredRow,
} from './port.js';
import type { KtLeafInput, KtLeafRecord, KtUnloggedDevice } from './port.js';
import { EXPIRED_INVITE_KEPT_MS, deviceListDiff, isAccountColumn } from './port.js';
import { enqueueBatch } from './postgres-enqueue.js';

export interface PostgresStorageOptions {
  /** e.g. postgresql://sigilo@127.0.0.1:5432/sigilo */
  readonly connectionString: string;
  /** Schema holding Sigilo's tables (created if absent). Default: sigilo. */
  readonly schema?: string;
  readonly maxConnections?: number;
}

const DAY_MS = 86_400_000;
/** Advisory-lock class of key transparency appends ('SIKT'). */
const KT_APPEND_LOCK = 0x53494b54;
/** Advisory-lock class of creating and migrating the schema ('SISC'). */
const SCHEMA_LOCK = 0x53495343;
/** Advisory-lock class of attachment quota charges ('SIGL'). */
const ATTACHMENT_USAGE_LOCK = 0x5349474c;

const schemaSql = (s: string) => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.invites (code_hash BYTEA PRIMARY KEY, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.accounts (
  account_id BYTEA PRIMARY KEY, identity_key BYTEA NOT NULL, access_key_hash BYTEA, unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
  created_day INTEGER NOT NULL, next_device_id INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS ${s}.devices (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, device_key BYTEA NOT NULL, created_day INTEGER NOT NULL, last_seen_day INTEGER,
  PRIMARY KEY (account_id, device_id));
CREATE TABLE IF NOT EXISTS ${s}.signed_prekeys (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, key_id BIGINT NOT NULL, public_key BYTEA NOT NULL, signature BYTEA NOT NULL,
  PRIMARY KEY (account_id, device_id));
CREATE TABLE IF NOT EXISTS ${s}.one_time_prekeys (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, key_id BIGINT NOT NULL, public_key BYTEA NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id));
CREATE TABLE IF NOT EXISTS ${s}.pq_prekeys (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, key_id BIGINT NOT NULL, public_key BYTEA NOT NULL, signature BYTEA NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id));
CREATE TABLE IF NOT EXISTS ${s}.pq_last_resort (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, key_id BIGINT NOT NULL, public_key BYTEA NOT NULL, signature BYTEA NOT NULL,
  PRIMARY KEY (account_id, device_id));
CREATE TABLE IF NOT EXISTS ${s}.messages (
  server_id BIGSERIAL PRIMARY KEY, account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, message_id BYTEA NOT NULL, sealed BOOLEAN NOT NULL,
  sender_account_id BYTEA, sender_device_id INTEGER, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, content BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_device ON ${s}.messages (account_id, device_id, server_id);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON ${s}.messages (expires_at);
CREATE TABLE IF NOT EXISTS ${s}.dedup (dedup_key BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS dedup_by_expiry ON ${s}.dedup (expires_at);
CREATE TABLE IF NOT EXISTS ${s}.attachments (
  attachment_id BYTEA PRIMARY KEY, size BIGINT NOT NULL, upload_token_hash BYTEA NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  complete BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS ${s}.attachment_usage (
  account_id BYTEA NOT NULL, day INTEGER NOT NULL, bytes BIGINT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (account_id, day));
${multiSchemaSql(s)}
CREATE TABLE IF NOT EXISTS ${s}.usernames (username_hash BYTEA PRIMARY KEY, account_id BYTEA NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS ${s}.profiles (account_id BYTEA PRIMARY KEY, profile BYTEA NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.directory (account_id BYTEA PRIMARY KEY, username TEXT NOT NULL UNIQUE, name TEXT NOT NULL);

${adminSchemaSql(s)}
${pushSchemaSql(s)}`;

/**
 * Multi-recipient sealed sends (spec/server.md §5.2): the payload is stored
 * once in shared_payloads, each device's row references it and carries its
 * account's header. The trigger deletes a payload with the last row that
 * references it; two concurrent transactions deleting its last rows may each
 * still see the other's row, so sweep() also removes unreferenced payloads.
 */
const multiSchemaSql = (s: string) => `
CREATE TABLE IF NOT EXISTS ${s}.shared_payloads (
  payload_id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, content BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS shared_payloads_by_expiry ON ${s}.shared_payloads (expires_at);
ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS payload_id BIGINT, ADD COLUMN IF NOT EXISTS recipient_header BYTEA;
CREATE INDEX IF NOT EXISTS messages_by_payload ON ${s}.messages (payload_id) WHERE payload_id IS NOT NULL;
CREATE OR REPLACE FUNCTION ${s}.release_shared_payload() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM ${s}.shared_payloads WHERE payload_id = OLD.payload_id
    AND NOT EXISTS (SELECT 1 FROM ${s}.messages WHERE payload_id = OLD.payload_id);
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER messages_release_payload AFTER DELETE ON ${s}.messages
  FOR EACH ROW WHEN (OLD.payload_id IS NOT NULL) EXECUTE FUNCTION ${s}.release_shared_payload();
${vacuumSettingsSql(s)}`;

/**
 * Delivered and expired rows stay in the table files as dead tuples until VACUUM (spec/server.md §5, "What the
 * files keep"): the queue and dedup tables are vacuumed after every thousand deleted rows instead of the default 20 %
 * of the table, so their space is reused, and their old bytes overwritten, sooner.
 */
const vacuumSettingsSql = (s: string) => ['messages', 'shared_payloads', 'dedup']
  .map((t) => `ALTER TABLE ${s}.${t} SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);`).join('\n');

/** Administration and device management (see ADMIN_SCHEMA in sqlite.ts): new tables only. */
const adminSchemaSql = (s: string) => `
CREATE TABLE IF NOT EXISTS ${s}.account_labels (account_id BYTEA PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.device_names (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, encrypted_name BYTEA NOT NULL, PRIMARY KEY (account_id, device_id));
CREATE TABLE IF NOT EXISTS ${s}.device_removals (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, device_key BYTEA NOT NULL, by_device_id INTEGER NOT NULL,
  day INTEGER NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (account_id, device_id));
CREATE INDEX IF NOT EXISTS device_removals_by_expiry ON ${s}.device_removals (expires_at);
CREATE TABLE IF NOT EXISTS ${s}.kt_leaves (
  leaf_index BIGINT PRIMARY KEY, account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, kind SMALLINT NOT NULL, leaf BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS kt_leaves_by_device ON ${s}.kt_leaves (account_id, device_id);
CREATE TABLE IF NOT EXISTS ${s}.kt_nodes (level SMALLINT NOT NULL, node_index BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, node_index));
`;

/** Push subscriptions (see PUSH_SCHEMA in sqlite.ts): a new table only. */
const pushSchemaSql = (s: string) => `
CREATE TABLE IF NOT EXISTS ${s}.push_subscriptions (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, endpoint TEXT NOT NULL, p256dh BYTEA NOT NULL, auth BYTEA NOT NULL,
  created_day INTEGER NOT NULL, PRIMARY KEY (account_id, device_id));
`;

type Row = Record<string, unknown>;
const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
const optBytes = (v: unknown) => (v == null ? undefined : bytes(v));
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const num = (v: unknown) => Number(v);

function toAccount(r: Row): AccountRecord {
  return { accountId: bytes(r.account_id), identityKey: bytes(r.identity_key), accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === true, createdDay: num(r.created_day) };
}
function toDevice(r: Row): DeviceRecord {
  return { accountId: bytes(r.account_id), deviceId: num(r.device_id), deviceKey: bytes(r.device_key), createdDay: num(r.created_day), lastSeenDay: r.last_seen_day == null ? undefined : num(r.last_seen_day) };
}

type Q = (sql: string, params?: unknown[]) => Promise<Row[]>;

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

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.#q(`SELECT * FROM ${this.#t('accounts')} ORDER BY created_day, account_id`)).map(toAccount);
  }

  async deleteAccount(accountId: Uint8Array): Promise<boolean> {
    return this.#tx(async (q) => {
      const gone = await q(`DELETE FROM ${this.#t('accounts')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)]);
      for (const t of ['devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'attachment_usage',
        'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'push_subscriptions']) {
        await q(`DELETE FROM ${this.#t(t)} WHERE account_id = $1`, [buf(accountId)]);
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
    return (await this.#q(`SELECT * FROM ${this.#t('devices')} WHERE account_id = $1 ORDER BY device_id`, [buf(accountId)])).map(toDevice);
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

  async appendKtLeaves(leaves: readonly KtLeafInput[], nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): Promise<number> {
    return this.#tx(async (q) => {
      // Appends from every server process sharing the database queue on one transaction-scoped lock.
      await q('SELECT pg_advisory_xact_lock($1::int, $2::int)', [KT_APPEND_LOCK, 0]);
      let size = num((await q(`SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM ${this.#t('kt_leaves')}`))[0]!.n);
      for (const l of leaves) {
        await q(`INSERT INTO ${this.#t('kt_leaves')} (leaf_index, account_id, device_id, kind, leaf) VALUES ($1, $2, $3, $4, $5)`,
          [size, buf(l.accountId), l.deviceId, l.kind, buf(l.leaf)]);
        let i = size;
        let level = 0;
        let h = l.leafHash;
        await q(`INSERT INTO ${this.#t('kt_nodes')} (level, node_index, hash) VALUES (0, $1, $2)`, [i, buf(h)]);
        while (i % 2 === 1) {
          const left = await q(`SELECT hash FROM ${this.#t('kt_nodes')} WHERE level = $1 AND node_index = $2`, [level, i - 1]);
          if (!left.length) throw new Error(`key transparency log: node ${level}/${i - 1} is missing`);
          h = nodeHash(bytes(left[0]!.hash), h);
          i = (i - 1) / 2;
          level++;
          await q(`INSERT INTO ${this.#t('kt_nodes')} (level, node_index, hash) VALUES ($1, $2, $3)`, [level, i, buf(h)]);
        }
        size++;
      }
      return size;
    });
  }

  async ktSize(): Promise<number> {
    return num((await this.#q(`SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM ${this.#t('kt_leaves')}`))[0]!.n);
  }

  async getKtNodes(nodes: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
    if (!nodes.length) return [];
    const rows = await this.#q(`SELECT n.level, n.node_index, n.hash FROM ${this.#t('kt_nodes')} n
      JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, node_index) ON n.level = w.level AND n.node_index = w.node_index`,
    [nodes.map((n) => n.level), nodes.map((n) => n.index)]);
    const found = new Map(rows.map((r) => [`${num(r.level)}/${num(r.node_index)}`, bytes(r.hash)]));
    return nodes.map((n) => found.get(`${n.level}/${n.index}`));
  }

  async findKtLeaves(accountId: Uint8Array, deviceIds?: readonly number[]): Promise<KtLeafRecord[]> {
    const rows = deviceIds
      ? await this.#q(`SELECT leaf_index, device_id, kind, leaf FROM ${this.#t('kt_leaves')} WHERE account_id = $1 AND device_id = ANY($2::int[]) ORDER BY leaf_index`, [buf(accountId), [...deviceIds]])
      : await this.#q(`SELECT leaf_index, device_id, kind, leaf FROM ${this.#t('kt_leaves')} WHERE account_id = $1 ORDER BY leaf_index`, [buf(accountId)]);
    return rows.map((r) => ({ index: num(r.leaf_index), deviceId: num(r.device_id), kind: num(r.kind) as 1 | 2, leaf: bytes(r.leaf) }));
  }

  async listKtUnlogged(limit: number): Promise<KtUnloggedDevice[]> {
    const rows = await this.#q(`SELECT d.account_id, d.device_id, a.identity_key FROM ${this.#t('devices')} d JOIN ${this.#t('accounts')} a ON a.account_id = d.account_id
      WHERE NOT EXISTS (SELECT 1 FROM ${this.#t('kt_leaves')} k WHERE k.account_id = d.account_id AND k.device_id = d.device_id AND k.kind = 1)
      ORDER BY a.created_day, d.account_id, d.device_id LIMIT $1`, [limit]);
    return rows.map((r) => ({ accountId: bytes(r.account_id), deviceId: num(r.device_id), identityKey: bytes(r.identity_key) }));
  }

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

  async storePreKeys(accountId: Uint8Array, deviceId: number, u: PreKeyUpload): Promise<void> {
    const a = buf(accountId);
    await this.#tx(async (q) => {
      if (u.signedPreKey) {
        await q(`INSERT INTO ${this.#t('signed_prekeys')} VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id)
          DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
        [a, deviceId, u.signedPreKey.keyId, buf(u.signedPreKey.publicKey), buf(u.signedPreKey.signature)]);
      }
      if (u.oneTimePreKeys.length) {
        await q(`INSERT INTO ${this.#t('one_time_prekeys')} SELECT $1, $2, k, p FROM unnest($3::bigint[], $4::bytea[]) AS x(k, p)
          ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key`,
        [a, deviceId, u.oneTimePreKeys.map((k) => k.keyId), u.oneTimePreKeys.map((k) => buf(k.publicKey))]);
      }
      if (u.pqPreKeys.length) {
        await q(`INSERT INTO ${this.#t('pq_prekeys')} SELECT $1, $2, k, p, s FROM unnest($3::bigint[], $4::bytea[], $5::bytea[]) AS x(k, p, s)
          ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
        [a, deviceId, u.pqPreKeys.map((k) => k.keyId), u.pqPreKeys.map((k) => buf(k.publicKey)), u.pqPreKeys.map((k) => buf(k.signature))]);
      }
      if (u.lastResortPqPreKey) {
        const k = u.lastResortPqPreKey;
        await q(`INSERT INTO ${this.#t('pq_last_resort')} VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id)
          DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
        [a, deviceId, k.keyId, buf(k.publicKey), buf(k.signature)]);
      }
    });
  }

  async countPreKeys(accountId: Uint8Array, deviceId: number): Promise<PreKeyCounts> {
    const [r] = await this.#q(`SELECT
      (SELECT count(*) FROM ${this.#t('one_time_prekeys')} WHERE account_id = $1 AND device_id = $2) AS one_time,
      (SELECT count(*) FROM ${this.#t('pq_prekeys')} WHERE account_id = $1 AND device_id = $2) AS pq,
      EXISTS (SELECT 1 FROM ${this.#t('signed_prekeys')} WHERE account_id = $1 AND device_id = $2) AS signed,
      EXISTS (SELECT 1 FROM ${this.#t('pq_last_resort')} WHERE account_id = $1 AND device_id = $2) AS last_resort`, [buf(accountId), deviceId]);
    return { oneTime: num(r!.one_time), pq: num(r!.pq), hasSignedPreKey: r!.signed === true, hasLastResort: r!.last_resort === true };
  }

  async takeBundles(accountId: Uint8Array, deviceIds: readonly number[] | undefined): Promise<TakeBundlesResult> {
    const a = buf(accountId);
    return this.#tx(async (q) => {
      const existing = (await q(`SELECT device_id FROM ${this.#t('devices')} WHERE account_id = $1 ORDER BY device_id`, [a])).map((r) => num(r.device_id));
      const wanted = deviceIds ?? existing;
      const bundles: TakenPreKeys[] = [];
      const unavailable: number[] = [];
      for (const id of wanted) {
        const taken = existing.includes(id) ? await this.#takeOne(q, a, id) : undefined;
        if (taken) bundles.push(taken);
        else unavailable.push(id);
      }
      return { bundles, unavailable };
    });
  }

  async #takeOne(q: Q, a: Buffer, deviceId: number): Promise<TakenPreKeys | undefined> {
    const [signed] = await q(`SELECT key_id, public_key, signature FROM ${this.#t('signed_prekeys')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
    if (!signed) return undefined;
    let pq: PqPreKeyRow | undefined;
    const [oneTimePq] = await q(`DELETE FROM ${this.#t('pq_prekeys')} WHERE (account_id, device_id, key_id) =
      (SELECT account_id, device_id, key_id FROM ${this.#t('pq_prekeys')} WHERE account_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING key_id, public_key, signature`, [a, deviceId]);
    if (oneTimePq) pq = { keyId: num(oneTimePq.key_id), publicKey: bytes(oneTimePq.public_key), signature: bytes(oneTimePq.signature), lastResort: false };
    else {
      const [lr] = await q(`SELECT key_id, public_key, signature FROM ${this.#t('pq_last_resort')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
      if (!lr) return undefined;
      pq = { keyId: num(lr.key_id), publicKey: bytes(lr.public_key), signature: bytes(lr.signature), lastResort: true };
    }
    const [otk] = await q(`DELETE FROM ${this.#t('one_time_prekeys')} WHERE (account_id, device_id, key_id) =
      (SELECT account_id, device_id, key_id FROM ${this.#t('one_time_prekeys')} WHERE account_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING key_id, public_key`, [a, deviceId]);
    return {
      deviceId,
      signedPreKey: { keyId: num(signed.key_id), publicKey: bytes(signed.public_key), signature: bytes(signed.signature) },
      oneTimePreKey: otk ? { keyId: num(otk.key_id), publicKey: bytes(otk.public_key) } : undefined,
      pqPreKey: pq,
    };
  }

  async enqueue(batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    if (batch.length === 0) return [];
    try {
      return await this.#tx((q) => enqueueBatch(q, (name) => this.#t(name), batch));
    } catch (error) {
      return batch.map(() => ({ status: 'failed', error }) as const);
    }
  }

  async fetchQueue(accountId: Uint8Array, deviceId: number, afterId: number, limit: number): Promise<QueuedMessage[]> {
    // Rows of a multi-recipient send take their content from the shared payload.
    const rows = await this.#q(`SELECT m.server_id, m.message_id, m.created_at, m.sealed, m.sender_account_id, m.sender_device_id,
      coalesce(p.content, m.content) AS content, m.recipient_header FROM ${this.#t('messages')} m LEFT JOIN ${this.#t('shared_payloads')} p ON p.payload_id = m.payload_id
      WHERE m.account_id = $1 AND m.device_id = $2 AND m.server_id > $3 ORDER BY m.server_id LIMIT $4`, [buf(accountId), deviceId, afterId, limit]);
    return rows.map((r) => ({
      serverId: num(r.server_id), messageId: bytes(r.message_id), createdAt: num(r.created_at), sealed: r.sealed === true,
      senderAccountId: optBytes(r.sender_account_id), senderDeviceId: r.sender_device_id == null ? undefined : num(r.sender_device_id), content: bytes(r.content),
      recipientHeader: optBytes(r.recipient_header),
    }));
  }

  async enqueueMulti(batch: readonly MultiEnqueueRequest[]): Promise<MultiEnqueueResult[]> {
    if (batch.length === 0) return [];
    try {
      return await this.#tx(async (q) => {
        const out: MultiEnqueueResult[] = [];
        for (const req of batch) out.push(await this.#enqueueMultiOne(q, req));
        return out;
      });
    } catch (error) {
      return batch.map(() => ({ status: 'failed', error }) as const);
    }
  }

  async #enqueueMultiOne(q: Q, req: MultiEnqueueRequest): Promise<MultiEnqueueResult> {
    const key = (b: unknown) => (b as Buffer).toString('latin1');
    const known = new Set((await q(`SELECT dedup_key FROM ${this.#t('dedup')} WHERE dedup_key = ANY($1::bytea[])`, [req.recipients.map((r) => buf(r.dedupKey))])).map((r) => key(r.dedup_key)));
    let fresh = req.recipients.map((r, index) => ({ r, index })).filter(({ r }) => !known.has(key(buf(r.dedupKey))));
    if (fresh.length === 0) return { status: 'duplicate' };
    const ids = fresh.map(({ r }) => buf(r.recipient));
    // Share-lock the account rows (in one order): a concurrent device addition or removal waits for this send.
    const exists = new Set((await q(`SELECT account_id FROM ${this.#t('accounts')} WHERE account_id = ANY($1::bytea[]) ORDER BY account_id FOR SHARE`, [ids])).map((r) => key(r.account_id)));
    const devices = new Map<string, number[]>();
    for (const r of await q(`SELECT account_id, device_id FROM ${this.#t('devices')} WHERE account_id = ANY($1::bytea[]) ORDER BY account_id, device_id`, [ids])) {
      const k = key(r.account_id);
      let list = devices.get(k);
      if (!list) devices.set(k, (list = []));
      list.push(num(r.device_id));
    }
    const unknown: number[] = [];
    const stale: MultiStaleAccount[] = [];
    for (const { r, index } of fresh) {
      const k = key(buf(r.recipient));
      if (!exists.has(k)) { unknown.push(index); continue; }
      const diff = deviceListDiff(devices.get(k) ?? [], r.deviceIds);
      if (diff) stale.push({ index, ...diff });
    }
    if (unknown.length || stale.length) return { status: 'rejected', unknown, stale };
    // A concurrent send of the same message id may have committed since the check: those recipients are duplicates.
    const inserted = new Set((await q(`INSERT INTO ${this.#t('dedup')} (dedup_key, expires_at) SELECT k, $2 FROM unnest($1::bytea[]) AS x(k)
      ON CONFLICT DO NOTHING RETURNING dedup_key`, [fresh.map(({ r }) => buf(r.dedupKey)), req.dedupExpiresAt])).map((r) => key(r.dedup_key)));
    fresh = fresh.filter(({ r }) => inserted.has(key(buf(r.dedupKey))));
    if (fresh.length === 0) return { status: 'duplicate' };
    const [payload] = await q(`INSERT INTO ${this.#t('shared_payloads')} (created_at, expires_at, content) VALUES ($1, $2, $3) RETURNING payload_id`,
      [req.createdAt, req.expiresAt, buf(req.payload)]);
    const accounts: Buffer[] = [];
    const deviceIds: number[] = [];
    const headers: Buffer[] = [];
    const slots: { index: number; deviceId: number }[] = [];
    for (const { r, index } of fresh) {
      for (const deviceId of r.deviceIds) {
        accounts.push(buf(r.recipient));
        deviceIds.push(deviceId);
        headers.push(buf(r.header));
        slots.push({ index, deviceId });
      }
    }
    const rows = await q(`INSERT INTO ${this.#t('messages')} (account_id, device_id, message_id, sealed, created_at, expires_at, content, payload_id, recipient_header)
      SELECT a, d, $1, TRUE, $2, $3, ''::bytea, $4, h FROM unnest($5::bytea[], $6::int[], $7::bytea[]) WITH ORDINALITY AS x(a, d, h, n) ORDER BY n
      RETURNING server_id, account_id, device_id`,
    [buf(req.messageId), req.createdAt, req.expiresAt, payload!.payload_id, accounts, deviceIds, headers]);
    const byRow = new Map(rows.map((r) => [`${key(r.account_id)}/${num(r.device_id)}`, num(r.server_id)]));
    const serverIds: (Map<number, number> | undefined)[] = req.recipients.map(() => undefined);
    for (const { index, deviceId } of slots) {
      const k = `${key(buf(req.recipients[index]!.recipient))}/${deviceId}`;
      (serverIds[index] ??= new Map()).set(deviceId, byRow.get(k)!);
    }
    return { status: 'stored', serverIds };
  }

  async getSealedRecipients(accountIds: readonly Uint8Array[]): Promise<(SealedRecipientRecord | undefined)[]> {
    if (accountIds.length === 0) return [];
    const key = (b: unknown) => (b as Buffer).toString('latin1');
    // One statement: accounts with their device ids aggregated.
    const rows = await this.#q(`SELECT a.account_id, a.access_key_hash, a.unrestricted,
        coalesce((SELECT array_agg(d.device_id ORDER BY d.device_id) FROM ${this.#t('devices')} d WHERE d.account_id = a.account_id), '{}') AS device_ids
      FROM ${this.#t('accounts')} a WHERE a.account_id = ANY($1::bytea[])`, [accountIds.map(buf)]);
    const byId = new Map(rows.map((r) => [key(r.account_id), r]));
    return accountIds.map((id) => {
      const r = byId.get(key(buf(id)));
      return r && { accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === true, deviceIds: (r.device_ids as number[]).map(num) };
    });
  }

  async ack(acks: readonly AckRequest[]): Promise<AckedMessage[][]> {
    if (acks.length === 0) return [];
    return this.#tx(async (q) => {
      const out: AckedMessage[][] = [];
      for (const a of acks) {
        const rows = a.serverIds.length ? await q(`DELETE FROM ${this.#t('messages')} WHERE account_id = $1 AND device_id = $2 AND server_id = ANY($3::bigint[]) RETURNING server_id, created_at`,
          [buf(a.accountId), a.deviceId, a.serverIds]) : [];
        const byId = new Map(rows.map((r) => [num(r.server_id), num(r.created_at)]));
        out.push(a.serverIds.filter((id) => byId.has(id)).map((id) => ({ serverId: id, createdAt: byId.get(id)! })));
      }
      return out;
    });
  }

  async queueDepth(): Promise<number> {
    return num((await this.#q(`SELECT count(*) AS n FROM ${this.#t('messages')}`))[0]!.n);
  }

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

  async setUsername(accountId: Uint8Array, usernameHash: Uint8Array): Promise<SetUsernameResult> {
    const a = buf(accountId), h = buf(usernameHash);
    try {
      return await this.#tx(async (q): Promise<SetUsernameResult> => {
        // The account row is locked so concurrent claims of one account are serialised.
        const [acc] = await q(`SELECT 1 FROM ${this.#t('accounts')} WHERE account_id = $1 FOR UPDATE`, [a]);
        if (!acc) return { status: 'no-account' };
        const [holder] = await q(`SELECT account_id FROM ${this.#t('usernames')} WHERE username_hash = $1`, [h]);
        if (holder) return buf(bytes(holder.account_id)).equals(a) ? { status: 'ok' } : { status: 'taken' };
        await q(`DELETE FROM ${this.#t('usernames')} WHERE account_id = $1`, [a]);
        await q(`DELETE FROM ${this.#t('directory')} WHERE account_id = $1`, [a]);
        await q(`INSERT INTO ${this.#t('usernames')} (username_hash, account_id) VALUES ($1, $2)`, [h, a]);
        return { status: 'ok' };
      });
    } catch (e) {
      // Two accounts claiming the same free username at once: the loser hits the primary key.
      if ((e as { code?: string }).code === '23505') return { status: 'taken' };
      throw e;
    }
  }

  async deleteUsername(accountId: Uint8Array): Promise<boolean> {
    return this.#tx(async (q) => {
      await q(`DELETE FROM ${this.#t('directory')} WHERE account_id = $1`, [buf(accountId)]);
      return (await q(`DELETE FROM ${this.#t('usernames')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)])).length === 1;
    });
  }

  async accountByUsernameHash(usernameHash: Uint8Array): Promise<Uint8Array | undefined> {
    const [r] = await this.#q(`SELECT account_id FROM ${this.#t('usernames')} WHERE username_hash = $1`, [buf(usernameHash)]);
    return r && bytes(r.account_id);
  }

  async usernameHashOf(accountId: Uint8Array): Promise<Uint8Array | undefined> {
    const [r] = await this.#q(`SELECT username_hash FROM ${this.#t('usernames')} WHERE account_id = $1`, [buf(accountId)]);
    return r && bytes(r.username_hash);
  }

  async setProfile(accountId: Uint8Array, profile: ProfileRecord | undefined): Promise<void> {
    if (!profile) {
      await this.#q(`DELETE FROM ${this.#t('profiles')} WHERE account_id = $1`, [buf(accountId)]);
      return;
    }
    await this.#q(`INSERT INTO ${this.#t('profiles')} (account_id, profile, updated_at) VALUES ($1, $2, $3)
      ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`, [buf(accountId), buf(profile.profile), profile.updatedAt]);
  }

  async getProfile(accountId: Uint8Array): Promise<ProfileRecord | undefined> {
    const [r] = await this.#q(`SELECT profile, updated_at FROM ${this.#t('profiles')} WHERE account_id = $1`, [buf(accountId)]);
    return r && { profile: bytes(r.profile), updatedAt: num(r.updated_at) };
  }

  async publishDirectoryEntry(e: DirectoryRecord, usernameHash: Uint8Array): Promise<PublishDirectoryResult> {
    const a = buf(e.accountId);
    return this.#tx(async (q): Promise<PublishDirectoryResult> => {
      const [held] = await q(`SELECT username_hash FROM ${this.#t('usernames')} WHERE account_id = $1 FOR SHARE`, [a]);
      if (!held || !buf(bytes(held.username_hash)).equals(buf(usernameHash))) return { status: 'not-claimed' };
      await q(`DELETE FROM ${this.#t('directory')} WHERE username = $1 AND account_id <> $2`, [e.username, a]);
      await q(`INSERT INTO ${this.#t('directory')} (account_id, username, name) VALUES ($1, $2, $3)
        ON CONFLICT (account_id) DO UPDATE SET username = excluded.username, name = excluded.name`, [a, e.username, e.name]);
      return { status: 'ok' };
    });
  }

  async removeDirectoryEntry(accountId: Uint8Array): Promise<boolean> {
    return (await this.#q(`DELETE FROM ${this.#t('directory')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)])).length === 1;
  }

  async searchDirectory(query: string, after: string, limit: number): Promise<DirectoryRecord[]> {
    // A–Z only are folded (as SQLite's lower() does), so both adapters match alike; COLLATE "C" orders by code point, as SQLite does.
    const fold = (col: string) => `translate(${col}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`;
    const q = query.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const rows = await this.#q(`SELECT account_id, username, name FROM ${this.#t('directory')}
      WHERE (strpos(${fold('username')}, $1) > 0 OR strpos(${fold('name')}, $1) > 0) AND username COLLATE "C" > $2 COLLATE "C"
      ORDER BY username COLLATE "C" LIMIT $3`, [q, after, limit]);
    return rows.map((r) => ({ accountId: bytes(r.account_id), username: r.username as string, name: r.name as string }));
  }

  async clearDirectory(): Promise<number> {
    return (await this.#q(`DELETE FROM ${this.#t('directory')} RETURNING 1`)).length;
  }

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
      profiles: 'min(updated_at)',
    };
    const dayTables = new Set(['accounts', 'devices', 'attachment_usage', 'device_removals', 'push_subscriptions']);
    const tables: TableAudit[] = [];
    for (const table of ['invites', 'accounts', 'devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'dedup', 'attachments', 'attachment_usage', 'shared_payloads',
      'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'kt_leaves', 'kt_nodes', 'push_subscriptions']) {
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

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }

  /** Drops the adapter's schema with everything in it (tests). */
  async dropSchema(): Promise<void> {
    await this.#pool.query(`DROP SCHEMA IF EXISTS ${this.#s} CASCADE`);
  }
}
