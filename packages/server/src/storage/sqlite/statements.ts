/** The SQLite adapter's prepared statements for accounts, devices, prekeys, queues, attachments, administration and the key transparency log (storage/sqlite.ts). */
import type Database from 'better-sqlite3';
import { KEYED, KEYED_EXISTS } from './schema.js';

export interface KtStatements {
  size: Database.Statement;
  insertLeaf: Database.Statement;
  insertNode: Database.Statement;
  getNode: Database.Statement;
  leavesOf: Database.Statement;
  unlogged: Database.Statement;
}

export function prepareKt(db: Database.Database): KtStatements {
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

export interface AdminStatements {
  upsertLabel: Database.Statement;
  deleteLabel: Database.Statement;
  listLabels: Database.Statement;
  upsertName: Database.Statement;
  deleteName: Database.Statement;
  listNames: Database.Statement;
  getRemoval: Database.Statement;
  sweepRemovals: Database.Statement;
}

export function prepareAdmin(db: Database.Database): AdminStatements {
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

export interface Statements {
  insertInvite: Database.Statement;
  getInvite: Database.Statement;
  deleteInvite: Database.Statement;
  insertAccount: Database.Statement;
  getAccount: Database.Statement;
  getSealedAccess: Database.Statement;
  accountExists: Database.Statement;
  listAccounts: Database.Statement;
  deleteAccount: Database.Statement;
  nextDeviceId: Database.Statement;
  insertDevice: Database.Statement;
  countDevices: Database.Statement;
  getDevice: Database.Statement;
  listDevices: Database.Statement;
  listDeviceIds: Database.Statement;
  listDeviceKeys: Database.Statement;
  keylessDevices: Database.Statement;
  deleteDevice: Database.Statement;
  setLastSeen: Database.Statement;
  clearLastSeen: Database.Statement;
  setAccessKey: Database.Statement;
  purgeDevice: Database.Statement[];
  purgeAccount: Database.Statement[];
  upsertSigned: Database.Statement;
  upsertOneTime: Database.Statement;
  upsertPq: Database.Statement;
  upsertLastResort: Database.Statement;
  countOneTime: Database.Statement;
  countPq: Database.Statement;
  getSigned: Database.Statement;
  getLastResort: Database.Statement;
  takeOneTime: Database.Statement;
  takePq: Database.Statement;
  dedupExists: Database.Statement;
  insertDedup: Database.Statement;
  insertMessage: Database.Statement;
  fetchQueue: Database.Statement;
  ackOne: Database.Statement;
  queueDepth: Database.Statement;
  insertAttachment: Database.Statement;
  getAttachment: Database.Statement;
  completeAttachment: Database.Statement;
  sweepMessages: Database.Statement;
  sweepInvites: Database.Statement;
  sweepDedup: Database.Statement;
  sweepAttachments: Database.Statement;
  liveUsage: Database.Statement;
  addUsage: Database.Statement;
  sweepUsage: Database.Statement;
}

export function prepare(db: Database.Database): Statements {
  return {
    insertInvite: db.prepare('INSERT INTO invites (code_hash, created_at, expires_at) VALUES (?, ?, ?)'),
    getInvite: db.prepare('SELECT expires_at FROM invites WHERE code_hash = ?'),
    deleteInvite: db.prepare('DELETE FROM invites WHERE code_hash = ?'),
    insertAccount: db.prepare('INSERT INTO accounts (account_id, identity_key, access_key_hash, unrestricted, created_day, next_device_id) VALUES (?, ?, ?, ?, ?, 1)'),
    getAccount: db.prepare('SELECT * FROM accounts WHERE account_id = ?'),
    getSealedAccess: db.prepare('SELECT access_key_hash, unrestricted FROM accounts WHERE account_id = ?'),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE account_id = ?').pluck(),
    listAccounts: db.prepare('SELECT * FROM accounts ORDER BY created_day, account_id'),
    deleteAccount: db.prepare('DELETE FROM accounts WHERE account_id = ?'),
    nextDeviceId: db.prepare('UPDATE accounts SET next_device_id = next_device_id + 1 WHERE account_id = ? RETURNING next_device_id - 1 AS id'),
    insertDevice: db.prepare('INSERT INTO devices (account_id, device_id, device_key, created_day) VALUES (?, ?, ?, ?)'),
    countDevices: db.prepare('SELECT count(*) AS n FROM devices WHERE account_id = ?'),
    getDevice: db.prepare('SELECT * FROM devices WHERE account_id = ? AND device_id = ?'),
    listDevices: db.prepare(`SELECT d.*, ${KEYED} FROM devices d WHERE d.account_id = ? ORDER BY d.device_id`),
    listDeviceIds: db.prepare('SELECT device_id FROM devices WHERE account_id = ? ORDER BY device_id').pluck(),
    /** [device_id, keyed] per device (keyless devices need not be listed by a send: port.ts deviceListDiff). */
    listDeviceKeys: db.prepare(`SELECT d.device_id, ${KEYED} FROM devices d WHERE d.account_id = ? ORDER BY d.device_id`).raw(),
    keylessDevices: db.prepare(`SELECT d.account_id, d.device_id FROM devices d WHERE d.created_day < ? AND NOT ${KEYED_EXISTS}
      AND EXISTS (SELECT 1 FROM signed_prekeys o WHERE o.account_id = d.account_id AND o.device_id <> d.device_id)`),
    deleteDevice: db.prepare('DELETE FROM devices WHERE account_id = ? AND device_id = ?'),
    setLastSeen: db.prepare('UPDATE devices SET last_seen_day = ? WHERE account_id = ? AND device_id = ?'),
    clearLastSeen: db.prepare('UPDATE devices SET last_seen_day = NULL WHERE last_seen_day IS NOT NULL'),
    setAccessKey: db.prepare('UPDATE accounts SET access_key_hash = ?, unrestricted = ? WHERE account_id = ?'),
    // Per-device deletes (used for device removal) and per-account deletes.
    purgeDevice: ['signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'device_names', 'push_subscriptions'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE account_id = ? AND device_id = ?`)),
    purgeAccount: ['devices', 'signed_prekeys', 'one_time_prekeys', 'pq_prekeys', 'pq_last_resort', 'messages', 'attachment_usage',
      'account_labels', 'device_names', 'device_removals', 'usernames', 'profiles', 'directory', 'push_subscriptions', 'certification_requests'].map((t) =>
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
    // RETURNING with pluck: the new row's id as a number, without a RunResult object per row.
    insertMessage: db.prepare(`INSERT INTO messages (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING server_id`).pluck(),
    // Rows of a multi-recipient send take their content from the shared payload.
    fetchQueue: db.prepare(`SELECT m.server_id, m.message_id, m.created_at, m.sealed, m.sender_account_id, m.sender_device_id,
      coalesce(p.content, m.content) AS content, m.recipient_header FROM messages m LEFT JOIN shared_payloads p ON p.payload_id = m.payload_id
      WHERE m.account_id = ? AND m.device_id = ? AND m.server_id > ? ORDER BY m.server_id LIMIT ?`),
    ackOne: db.prepare('DELETE FROM messages WHERE server_id = ? AND account_id = ? AND device_id = ? RETURNING created_at').pluck(),
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
