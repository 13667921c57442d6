/** The SQLite adapter's multi-recipient sealed sends (spec/server.md §5.2, storage/sqlite.ts). */
import type Database from 'better-sqlite3';
import type { MultiEnqueueRequest, MultiEnqueueResult, MultiStaleAccount, SealedRecipientRecord } from '../port.js';
import { deviceListDiff, excusedKeyless } from '../port.js';
import { KEYED } from './schema.js';
import { buf, idList, optBytes, type Row } from './rows.js';

/** Statements and the transaction of multi-recipient sealed sends (spec/server.md §5.2). */
export interface MultiStatements {
  sweepPayloads: Database.Statement;
  enqueue: Database.Transaction<(batch: readonly MultiEnqueueRequest[]) => MultiEnqueueResult[]>;
  sealedRecipients(accountIds: readonly Uint8Array[]): (SealedRecipientRecord | undefined)[];
}

export function prepareMulti(db: Database.Database): MultiStatements {
  const s = {
    accounts: db.prepare(`SELECT a.account_id, a.access_key_hash, a.unrestricted FROM json_each(?) j JOIN accounts a ON a.account_id = unhex(j.value)`),
    accountIds: db.prepare(`SELECT a.account_id FROM json_each(?) j JOIN accounts a ON a.account_id = unhex(j.value)`).pluck(),
    devices: db.prepare(`SELECT d.account_id, d.device_id, ${KEYED} FROM json_each(?) j JOIN devices d ON d.account_id = unhex(j.value) ORDER BY d.account_id, d.device_id`),
    dedupKnown: db.prepare(`SELECT d.dedup_key FROM json_each(?) j JOIN dedup d ON d.dedup_key = unhex(j.value)`).pluck(),
    insertDedup: db.prepare('INSERT INTO dedup (dedup_key, expires_at) VALUES (?, ?)'),
    insertPayload: db.prepare('INSERT INTO shared_payloads (created_at, expires_at, content) VALUES (?, ?, ?)'),
    insertRow: db.prepare(`INSERT INTO messages (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content, payload_id, recipient_header)
      VALUES (?, ?, ?, 1, NULL, NULL, ?, ?, X'', ?, ?)`),
    sweepPayloads: db.prepare(`DELETE FROM shared_payloads WHERE expires_at <= ?
      OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.payload_id = shared_payloads.payload_id)`),
  };

  /** Device ids, and those without keys, per account (latin1 key of the id), from one query. */
  const devicesOf = (ids: readonly Uint8Array[]): Map<string, { all: number[]; keyless: number[] }> => {
    const out = new Map<string, { all: number[]; keyless: number[] }>();
    for (const r of s.devices.all(idList(ids)) as Row[]) {
      const key = (r.account_id as Buffer).toString('latin1');
      let list = out.get(key);
      if (!list) out.set(key, (list = { all: [], keyless: [] }));
      list.all.push(r.device_id as number);
      if (!r.keyed) list.keyless.push(r.device_id as number);
    }
    for (const list of out.values()) list.keyless = excusedKeyless(list.all, list.keyless);
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
      const d = devices.get(key);
      const diff = deviceListDiff(d?.all ?? [], r.deviceIds, d?.keyless);
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
        const d = devices.get(key);
        return a && { accessKeyHash: optBytes(a.access_key_hash), unrestricted: a.unrestricted === 1, deviceIds: d?.all ?? [], keyless: d?.keyless ?? [] };
      });
    },
  };
}
