/** The PostgreSQL adapter's schema (storage/postgres.ts): tables per version, vacuum settings, advisory-lock classes. */
export const DAY_MS = 86_400_000;
/** Advisory-lock class of key transparency appends ('SIKT'). */
export const KT_APPEND_LOCK = 0x53494b54;
/** Advisory-lock class of creating and migrating the schema ('SISC'). */
export const SCHEMA_LOCK = 0x53495343;
/** Advisory-lock class of attachment quota charges ('SIGL'). */
export const ATTACHMENT_USAGE_LOCK = 0x5349474c;

export const schemaSql = (s: string) => `
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
${pushSchemaSql(s)}
${certRequestSchemaSql(s)}`;

/**
 * Multi-recipient sealed sends (spec/server.md §5.2): the payload is stored
 * once in shared_payloads, each device's row references it and carries its
 * account's header. The trigger deletes a payload with the last row that
 * references it; two concurrent transactions deleting its last rows may each
 * still see the other's row, so sweep() also removes unreferenced payloads.
 */
export const multiSchemaSql = (s: string) => `
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
export const vacuumSettingsSql = (s: string) => ['messages', 'shared_payloads', 'dedup']
  .map((t) => `ALTER TABLE ${s}.${t} SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);`).join('\n');

/** Administration and device management (see ADMIN_SCHEMA in sqlite.ts): new tables only. */
export const adminSchemaSql = (s: string) => `
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
export const pushSchemaSql = (s: string) => `
CREATE TABLE IF NOT EXISTS ${s}.push_subscriptions (
  account_id BYTEA NOT NULL, device_id INTEGER NOT NULL, endpoint TEXT NOT NULL, p256dh BYTEA NOT NULL, auth BYTEA NOT NULL,
  created_day INTEGER NOT NULL, PRIMARY KEY (account_id, device_id));
`;

/** Certification requests (see CERT_REQUEST_SCHEMA in sqlite/schema.ts): a new table only. */
export const certRequestSchemaSql = (s: string) => `
CREATE TABLE IF NOT EXISTS ${s}.certification_requests (
  request_id BIGSERIAL PRIMARY KEY, account_id BYTEA NOT NULL UNIQUE, device_id INTEGER NOT NULL, name TEXT NOT NULL,
  identity_key BYTEA NOT NULL, signature BYTEA NOT NULL, created_at BIGINT NOT NULL);
`;
