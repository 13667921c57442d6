/** The PostgreSQL adapter's queues: sends with the device-list check, multi-recipient sealed sends, fetches and acks (storage/postgres.ts). */
import type {
  AckRequest, AckedMessage, EnqueueRequest, EnqueueResult, MultiEnqueueRequest, MultiEnqueueResult, MultiStaleAccount, QueuedMessage,
  SealedRecipientRecord,
} from '../port.js';
import { deviceListDiff, excusedKeyless } from '../port.js';
import { enqueueBatch } from './enqueue.js';
import { buf, bytes, keyedSql, num, optBytes, type Pg, type Q } from './rows.js';

export async function enqueue(pg: Pg, batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
  if (batch.length === 0) return [];
  try {
    // One group-commit batch in a fixed number of statements (postgres/enqueue.ts).
    return await pg.tx((q) => enqueueBatch(q, (name) => pg.t(name), batch));
  } catch (error) {
    return batch.map(() => ({ status: 'failed', error }) as const);
  }
}

export async function fetchQueue(pg: Pg, accountId: Uint8Array, deviceId: number, afterId: number, limit: number): Promise<QueuedMessage[]> {
  // Rows of a multi-recipient send take their content from the shared payload.
  const rows = await pg.q(`SELECT m.server_id, m.message_id, m.created_at, m.sealed, m.sender_account_id, m.sender_device_id,
    coalesce(p.content, m.content) AS content, m.recipient_header FROM ${pg.t('messages')} m LEFT JOIN ${pg.t('shared_payloads')} p ON p.payload_id = m.payload_id
    WHERE m.account_id = $1 AND m.device_id = $2 AND m.server_id > $3 ORDER BY m.server_id LIMIT $4`, [buf(accountId), deviceId, afterId, limit]);
  return rows.map((r) => ({
    serverId: num(r.server_id), messageId: bytes(r.message_id), createdAt: num(r.created_at), sealed: r.sealed === true,
    senderAccountId: optBytes(r.sender_account_id), senderDeviceId: r.sender_device_id == null ? undefined : num(r.sender_device_id), content: bytes(r.content),
    recipientHeader: optBytes(r.recipient_header),
  }));
}

export async function enqueueMulti(pg: Pg, batch: readonly MultiEnqueueRequest[]): Promise<MultiEnqueueResult[]> {
  if (batch.length === 0) return [];
  try {
    return await pg.tx(async (q) => {
      const out: MultiEnqueueResult[] = [];
      for (const req of batch) out.push(await enqueueMultiOne(pg, q, req));
      return out;
    });
  } catch (error) {
    return batch.map(() => ({ status: 'failed', error }) as const);
  }
}

async function enqueueMultiOne(pg: Pg, q: Q, req: MultiEnqueueRequest): Promise<MultiEnqueueResult> {
  const key = (b: unknown) => (b as Buffer).toString('latin1');
  const known = new Set((await q(`SELECT dedup_key FROM ${pg.t('dedup')} WHERE dedup_key = ANY($1::bytea[])`, [req.recipients.map((r) => buf(r.dedupKey))])).map((r) => key(r.dedup_key)));
  let fresh = req.recipients.map((r, index) => ({ r, index })).filter(({ r }) => !known.has(key(buf(r.dedupKey))));
  if (fresh.length === 0) return { status: 'duplicate' };
  const ids = fresh.map(({ r }) => buf(r.recipient));
  // Share-lock the account rows (in one order): a concurrent device addition or removal waits for this send.
  const exists = new Set((await q(`SELECT account_id FROM ${pg.t('accounts')} WHERE account_id = ANY($1::bytea[]) ORDER BY account_id FOR SHARE`, [ids])).map((r) => key(r.account_id)));
  const devices = new Map<string, { all: number[]; keyless: number[] }>();
  for (const r of await q(`SELECT d.account_id, d.device_id, ${keyedSql(pg)} AS keyed FROM ${pg.t('devices')} d WHERE d.account_id = ANY($1::bytea[]) ORDER BY d.account_id, d.device_id`, [ids])) {
    const k = key(r.account_id);
    let list = devices.get(k);
    if (!list) devices.set(k, (list = { all: [], keyless: [] }));
    list.all.push(num(r.device_id));
    if (r.keyed !== true) list.keyless.push(num(r.device_id));
  }
  const unknown: number[] = [];
  const stale: MultiStaleAccount[] = [];
  for (const { r, index } of fresh) {
    const k = key(buf(r.recipient));
    if (!exists.has(k)) { unknown.push(index); continue; }
    const d = devices.get(k);
    const diff = deviceListDiff(d?.all ?? [], r.deviceIds, d && excusedKeyless(d.all, d.keyless));
    if (diff) stale.push({ index, ...diff });
  }
  if (unknown.length || stale.length) return { status: 'rejected', unknown, stale };
  // A concurrent send of the same message id may have committed since the check: those recipients are duplicates.
  const inserted = new Set((await q(`INSERT INTO ${pg.t('dedup')} (dedup_key, expires_at) SELECT k, $2 FROM unnest($1::bytea[]) AS x(k)
    ON CONFLICT DO NOTHING RETURNING dedup_key`, [fresh.map(({ r }) => buf(r.dedupKey)), req.dedupExpiresAt])).map((r) => key(r.dedup_key)));
  fresh = fresh.filter(({ r }) => inserted.has(key(buf(r.dedupKey))));
  if (fresh.length === 0) return { status: 'duplicate' };
  const [payload] = await q(`INSERT INTO ${pg.t('shared_payloads')} (created_at, expires_at, content) VALUES ($1, $2, $3) RETURNING payload_id`,
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
  const rows = await q(`INSERT INTO ${pg.t('messages')} (account_id, device_id, message_id, sealed, created_at, expires_at, content, payload_id, recipient_header)
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

export async function getSealedRecipients(pg: Pg, accountIds: readonly Uint8Array[]): Promise<(SealedRecipientRecord | undefined)[]> {
  if (accountIds.length === 0) return [];
  const key = (b: unknown) => (b as Buffer).toString('latin1');
  // One statement: accounts with their device ids aggregated.
  const rows = await pg.q(`SELECT a.account_id, a.access_key_hash, a.unrestricted,
      coalesce((SELECT array_agg(d.device_id ORDER BY d.device_id) FROM ${pg.t('devices')} d WHERE d.account_id = a.account_id), '{}') AS device_ids,
      coalesce((SELECT array_agg(d.device_id ORDER BY d.device_id) FROM ${pg.t('devices')} d WHERE d.account_id = a.account_id AND NOT ${keyedSql(pg)}), '{}') AS keyless
    FROM ${pg.t('accounts')} a WHERE a.account_id = ANY($1::bytea[])`, [accountIds.map(buf)]);
  const byId = new Map(rows.map((r) => [key(r.account_id), r]));
  return accountIds.map((id) => {
    const r = byId.get(key(buf(id)));
    return r && { accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === true, deviceIds: (r.device_ids as number[]).map(num), keyless: excusedKeyless((r.device_ids as number[]).map(num), (r.keyless as number[]).map(num)) };
  });
}

export async function ack(pg: Pg, acks: readonly AckRequest[]): Promise<AckedMessage[][]> {
  if (acks.length === 0) return [];
  return pg.tx(async (q) => {
    const out: AckedMessage[][] = [];
    for (const a of acks) {
      const rows = a.serverIds.length ? await q(`DELETE FROM ${pg.t('messages')} WHERE account_id = $1 AND device_id = $2 AND server_id = ANY($3::bigint[]) RETURNING server_id, created_at`,
        [buf(a.accountId), a.deviceId, a.serverIds]) : [];
      const byId = new Map(rows.map((r) => [num(r.server_id), num(r.created_at)]));
      out.push(a.serverIds.filter((id) => byId.has(id)).map((id) => ({ serverId: id, createdAt: byId.get(id)! })));
    }
    return out;
  });
}

export async function queueDepth(pg: Pg): Promise<number> {
  return num((await pg.q(`SELECT count(*) AS n FROM ${pg.t('messages')}`))[0]!.n);
}
