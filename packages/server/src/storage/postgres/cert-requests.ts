/** The PostgreSQL adapter's certification requests (spec/trust.md §4.1, storage/postgres.ts). */
import type { CertificationRequestRecord, NewCertificationRequest } from '../port.js';
import { buf, bytes, num, type Pg, type Row } from './rows.js';

const toRequest = (r: Row): CertificationRequestRecord => ({
  requestId: num(r.request_id), accountId: bytes(r.account_id), deviceId: num(r.device_id), name: r.name as string,
  identityKey: bytes(r.identity_key), signature: bytes(r.signature), createdAt: num(r.created_at),
});

export async function putCertificationRequest(pg: Pg, r: NewCertificationRequest): Promise<{ requestId: number; replaced: boolean } | undefined> {
  const a = buf(r.accountId);
  return pg.tx(async (q) => {
    // The account row is locked so two requests of one account at once cannot both stay.
    const [acc] = await q(`SELECT 1 FROM ${pg.t('accounts')} WHERE account_id = $1 FOR UPDATE`, [a]);
    if (!acc) return undefined;
    const replaced = (await q(`DELETE FROM ${pg.t('certification_requests')} WHERE account_id = $1 RETURNING 1`, [a])).length > 0;
    const [row] = await q(`INSERT INTO ${pg.t('certification_requests')} (account_id, device_id, name, identity_key, signature, created_at)
      VALUES ($1, $2, $3, $4, $5, $6) RETURNING request_id`, [a, r.deviceId, r.name, buf(r.identityKey), buf(r.signature), r.createdAt]);
    return { requestId: num(row!.request_id), replaced };
  });
}

export async function listCertificationRequests(pg: Pg): Promise<CertificationRequestRecord[]> {
  return (await pg.q(`SELECT * FROM ${pg.t('certification_requests')} ORDER BY request_id`)).map(toRequest);
}

export async function getCertificationRequest(pg: Pg, id: number): Promise<CertificationRequestRecord | undefined> {
  const [r] = await pg.q(`SELECT * FROM ${pg.t('certification_requests')} WHERE request_id = $1`, [id]);
  return r && toRequest(r);
}

export async function deleteCertificationRequest(pg: Pg, id: number): Promise<boolean> {
  return (await pg.q(`DELETE FROM ${pg.t('certification_requests')} WHERE request_id = $1 RETURNING 1`, [id])).length === 1;
}
