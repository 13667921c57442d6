/** The SQLite adapter's certification requests (spec/trust.md §4.1, storage/sqlite.ts). */
import type Database from 'better-sqlite3';
import type { CertificationRequestRecord, NewCertificationRequest } from '../port.js';
import { buf, bytes, type Row } from './rows.js';

const toRequest = (r: Row): CertificationRequestRecord => ({
  requestId: r.request_id as number, accountId: bytes(r.account_id), deviceId: r.device_id as number, name: r.name as string,
  identityKey: bytes(r.identity_key), signature: bytes(r.signature), createdAt: r.created_at as number,
});

export interface CertRequests {
  put(r: NewCertificationRequest): { requestId: number; replaced: boolean } | undefined;
  list(): CertificationRequestRecord[];
  get(id: number): CertificationRequestRecord | undefined;
  delete(id: number): boolean;
}

export function prepareCertRequests(db: Database.Database): CertRequests {
  const exists = db.prepare('SELECT 1 FROM accounts WHERE account_id = ?').pluck();
  const del = db.prepare('DELETE FROM certification_requests WHERE account_id = ?');
  const insert = db.prepare(`INSERT INTO certification_requests (account_id, device_id, name, identity_key, signature, created_at)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const list = db.prepare('SELECT * FROM certification_requests ORDER BY request_id');
  const get = db.prepare('SELECT * FROM certification_requests WHERE request_id = ?');
  const delId = db.prepare('DELETE FROM certification_requests WHERE request_id = ?');
  const put = db.transaction((r: NewCertificationRequest) => {
    const a = buf(r.accountId);
    if (exists.get(a) === undefined) return undefined;
    const replaced = del.run(a).changes > 0;
    const info = insert.run(a, r.deviceId, r.name, buf(r.identityKey), buf(r.signature), r.createdAt);
    return { requestId: Number(info.lastInsertRowid), replaced };
  });
  return {
    put: (r) => put(r),
    list: () => (list.all() as Row[]).map(toRequest),
    get: (id) => { const r = get.get(id) as Row | undefined; return r && toRequest(r); },
    delete: (id) => delId.run(id).changes === 1,
  };
}
