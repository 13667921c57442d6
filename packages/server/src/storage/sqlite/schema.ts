/** The SQLite adapter's schema (storage/sqlite.ts): tables, their versions and migrations, and what the audit counts. */
import type Database from 'better-sqlite3';

/**
 * 2: shared payloads of multi-recipient sealed sends (messages.payload_id, messages.recipient_header).
 * 3: usernames, profiles and the member directory (new tables only).
 */
export const SCHEMA_VERSION = 3;
/** Whether device row `d` has published a signed prekey (port.ts DeviceRecord.keyless). */
export const KEYED_EXISTS = 'EXISTS (SELECT 1 FROM signed_prekeys p WHERE p.account_id = d.account_id AND p.device_id = d.device_id)';
export const KEYED = `${KEYED_EXISTS} AS keyed`;
export const DAY_MS = 86_400_000;

export const SCHEMA = `
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
export const MULTI_SCHEMA = `
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
export const ADMIN_SCHEMA = `
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
export const KT_SCHEMA = `
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
export const PUSH_SCHEMA = `
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

/**
 * Certification requests (spec/trust.md §4.1): a new table, so older databases gain it on open. AUTOINCREMENT:
 * an id the administrator approved or rejected is never given to another request.
 */
export const CERT_REQUEST_SCHEMA = `
CREATE TABLE IF NOT EXISTS certification_requests (
  request_id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id BLOB NOT NULL UNIQUE,
  device_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/** Adds the multi-recipient columns to a version-1 database (idempotent). */
export function migrateMulti(db: Database.Database): void {
  const columns = new Set((db.pragma('table_info(messages)') as { name: string }[]).map((c) => c.name));
  if (!columns.has('payload_id')) db.exec('ALTER TABLE messages ADD COLUMN payload_id INTEGER');
  if (!columns.has('recipient_header')) db.exec('ALTER TABLE messages ADD COLUMN recipient_header BLOB');
  db.exec(MULTI_SCHEMA);
}

/** Usernames (by hash), encrypted profiles and the opt-in member directory (spec/server.md §3.1). */
export const PEOPLE_SCHEMA = `
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

export const AUDITED_TABLES: readonly { table: string; oldest?: string; day?: true }[] = [
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
  { table: 'certification_requests', oldest: 'min(created_at)' },
];
