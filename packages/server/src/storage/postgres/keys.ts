/** The PostgreSQL adapter's key directory: prekey uploads, counts, and bundles taken with FOR UPDATE SKIP LOCKED (storage/postgres.ts). */
import type { PqPreKeyRow, PreKeyCounts, PreKeyUpload, TakeBundlesResult, TakenPreKeys } from '../port.js';
import { buf, bytes, num, type Pg, type Q } from './rows.js';

export async function storePreKeys(pg: Pg, accountId: Uint8Array, deviceId: number, u: PreKeyUpload): Promise<void> {
  const a = buf(accountId);
  await pg.tx(async (q) => {
    if (u.signedPreKey) {
      await q(`INSERT INTO ${pg.t('signed_prekeys')} VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id)
        DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
      [a, deviceId, u.signedPreKey.keyId, buf(u.signedPreKey.publicKey), buf(u.signedPreKey.signature)]);
    }
    if (u.oneTimePreKeys.length) {
      await q(`INSERT INTO ${pg.t('one_time_prekeys')} SELECT $1, $2, k, p FROM unnest($3::bigint[], $4::bytea[]) AS x(k, p)
        ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key`,
      [a, deviceId, u.oneTimePreKeys.map((k) => k.keyId), u.oneTimePreKeys.map((k) => buf(k.publicKey))]);
    }
    if (u.pqPreKeys.length) {
      await q(`INSERT INTO ${pg.t('pq_prekeys')} SELECT $1, $2, k, p, s FROM unnest($3::bigint[], $4::bytea[], $5::bytea[]) AS x(k, p, s)
        ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
      [a, deviceId, u.pqPreKeys.map((k) => k.keyId), u.pqPreKeys.map((k) => buf(k.publicKey)), u.pqPreKeys.map((k) => buf(k.signature))]);
    }
    if (u.lastResortPqPreKey) {
      const k = u.lastResortPqPreKey;
      await q(`INSERT INTO ${pg.t('pq_last_resort')} VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id)
        DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
      [a, deviceId, k.keyId, buf(k.publicKey), buf(k.signature)]);
    }
  });
}

export async function countPreKeys(pg: Pg, accountId: Uint8Array, deviceId: number): Promise<PreKeyCounts> {
  const [r] = await pg.q(`SELECT
    (SELECT count(*) FROM ${pg.t('one_time_prekeys')} WHERE account_id = $1 AND device_id = $2) AS one_time,
    (SELECT count(*) FROM ${pg.t('pq_prekeys')} WHERE account_id = $1 AND device_id = $2) AS pq,
    EXISTS (SELECT 1 FROM ${pg.t('signed_prekeys')} WHERE account_id = $1 AND device_id = $2) AS signed,
    EXISTS (SELECT 1 FROM ${pg.t('pq_last_resort')} WHERE account_id = $1 AND device_id = $2) AS last_resort`, [buf(accountId), deviceId]);
  return { oneTime: num(r!.one_time), pq: num(r!.pq), hasSignedPreKey: r!.signed === true, hasLastResort: r!.last_resort === true };
}

export async function takeBundles(pg: Pg, accountId: Uint8Array, deviceIds: readonly number[] | undefined): Promise<TakeBundlesResult> {
  const a = buf(accountId);
  return pg.tx(async (q) => {
    const existing = (await q(`SELECT device_id FROM ${pg.t('devices')} WHERE account_id = $1 ORDER BY device_id`, [a])).map((r) => num(r.device_id));
    const wanted = deviceIds ?? existing;
    const bundles: TakenPreKeys[] = [];
    const unavailable: number[] = [];
    for (const id of wanted) {
      const taken = existing.includes(id) ? await takeOne(pg, q, a, id) : undefined;
      if (taken) bundles.push(taken);
      else unavailable.push(id);
    }
    return { bundles, unavailable };
  });
}

async function takeOne(pg: Pg, q: Q, a: Buffer, deviceId: number): Promise<TakenPreKeys | undefined> {
  const [signed] = await q(`SELECT key_id, public_key, signature FROM ${pg.t('signed_prekeys')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
  if (!signed) return undefined;
  let pq: PqPreKeyRow | undefined;
  const [oneTimePq] = await q(`DELETE FROM ${pg.t('pq_prekeys')} WHERE (account_id, device_id, key_id) =
    (SELECT account_id, device_id, key_id FROM ${pg.t('pq_prekeys')} WHERE account_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING key_id, public_key, signature`, [a, deviceId]);
  if (oneTimePq) pq = { keyId: num(oneTimePq.key_id), publicKey: bytes(oneTimePq.public_key), signature: bytes(oneTimePq.signature), lastResort: false };
  else {
    const [lr] = await q(`SELECT key_id, public_key, signature FROM ${pg.t('pq_last_resort')} WHERE account_id = $1 AND device_id = $2`, [a, deviceId]);
    if (!lr) return undefined;
    pq = { keyId: num(lr.key_id), publicKey: bytes(lr.public_key), signature: bytes(lr.signature), lastResort: true };
  }
  const [otk] = await q(`DELETE FROM ${pg.t('one_time_prekeys')} WHERE (account_id, device_id, key_id) =
    (SELECT account_id, device_id, key_id FROM ${pg.t('one_time_prekeys')} WHERE account_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING key_id, public_key`, [a, deviceId]);
  return {
    deviceId,
    signedPreKey: { keyId: num(signed.key_id), publicKey: bytes(signed.public_key), signature: bytes(signed.signature) },
    oneTimePreKey: otk ? { keyId: num(otk.key_id), publicKey: bytes(otk.public_key) } : undefined,
    pqPreKey: pq,
  };
}
