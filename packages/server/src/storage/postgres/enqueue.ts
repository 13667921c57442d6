/**
 * PostgreSQL: one group-commit batch of sends (Relay) written with a fixed
 * number of statements whatever the batch size, instead of five round trips
 * per message: the known dedup keys, the recipients' account rows (share-locked
 * in one order, so a concurrent device addition or removal waits for the
 * batch), their device lists, the new dedup keys and every queue row, each in
 * one statement over arrays. The outcome of each request is the one the
 * requests one by one would give: a dedup key repeated within the batch is a
 * duplicate after its first send is stored.
 */
import { deviceListDiff, excusedKeyless, type EnqueueRequest, type EnqueueResult } from '../port.js';

type Row = Record<string, unknown>;
type Q = (sql: string, params?: unknown[]) => Promise<Row[]>;

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const key = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Writes `batch` inside the caller's transaction; `table` names a table in the adapter's schema. */
export async function enqueueBatch(q: Q, table: (name: string) => string, batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
  const keyed = `EXISTS (SELECT 1 FROM ${table('signed_prekeys')} p WHERE p.account_id = d.account_id AND p.device_id = d.device_id)`;
  const known = new Set((await q(`SELECT dedup_key FROM ${table('dedup')} WHERE dedup_key = ANY($1::bytea[])`, [batch.map((r) => buf(r.dedupKey))]))
    .map((r) => key(r.dedup_key as Buffer)));
  const recipients = [...new Map(batch.map((r) => [key(r.recipient), buf(r.recipient)])).values()];
  const exists = new Set((await q(`SELECT account_id FROM ${table('accounts')} WHERE account_id = ANY($1::bytea[]) ORDER BY account_id FOR SHARE`, [recipients]))
    .map((r) => key(r.account_id as Buffer)));
  // Each device with whether it has keys: a keyless device (an interrupted link) is not required (server.md §5.1).
  const devices = new Map<string, number[]>();
  const keylessOf = new Map<string, number[]>();
  for (const r of await q(`SELECT d.account_id, d.device_id, ${keyed} AS keyed FROM ${table('devices')} d WHERE d.account_id = ANY($1::bytea[]) ORDER BY d.account_id, d.device_id`, [recipients])) {
    const k = key(r.account_id as Buffer);
    let list = devices.get(k);
    if (!list) devices.set(k, (list = []));
    list.push(Number(r.device_id));
    if (r.keyed !== true) {
      let kl = keylessOf.get(k);
      if (!kl) keylessOf.set(k, (kl = []));
      kl.push(Number(r.device_id));
    }
  }

  const out: (EnqueueResult | undefined)[] = new Array(batch.length);
  const fresh: number[] = [];
  const claimed = new Set<string>();
  batch.forEach((req, i) => {
    const dk = key(req.dedupKey);
    if (known.has(dk) || claimed.has(dk)) { out[i] = { status: 'duplicate' }; return; }
    const rk = key(req.recipient);
    if (!exists.has(rk)) { out[i] = { status: 'no-account' }; return; }
    const all = devices.get(rk) ?? [];
    const current = all.filter((id) => id !== req.excludeDeviceId);
    const diff = deviceListDiff(current, req.entries.map((e) => e.deviceId), excusedKeyless(all, keylessOf.get(rk) ?? []));
    if (diff) { out[i] = { status: 'stale', ...diff }; return; }
    claimed.add(dk);
    fresh.push(i);
  });
  if (fresh.length === 0) return out as EnqueueResult[];

  // A concurrent batch (another node) may have stored the same message id since the first read.
  const inserted = new Set((await q(`INSERT INTO ${table('dedup')} (dedup_key, expires_at) SELECT k, e FROM unnest($1::bytea[], $2::bigint[]) AS x(k, e)
    ON CONFLICT DO NOTHING RETURNING dedup_key`, [fresh.map((i) => buf(batch[i]!.dedupKey)), fresh.map((i) => batch[i]!.dedupExpiresAt)]))
    .map((r) => key(r.dedup_key as Buffer)));
  const rows = { n: [] as number[], account: [] as Buffer[], device: [] as number[], messageId: [] as Buffer[], sealed: [] as boolean[],
    senderAccount: [] as (Buffer | null)[], senderDevice: [] as (number | null)[], createdAt: [] as number[], expiresAt: [] as number[], content: [] as Buffer[] };
  const stored: number[] = [];
  for (const i of fresh) {
    const req = batch[i]!;
    if (!inserted.has(key(req.dedupKey))) { out[i] = { status: 'duplicate' }; continue; }
    stored.push(i);
    for (const e of req.entries) {
      rows.n.push(i);
      rows.account.push(buf(req.recipient));
      rows.device.push(e.deviceId);
      rows.messageId.push(buf(req.messageId));
      rows.sealed.push(req.sender === undefined);
      rows.senderAccount.push(req.sender ? buf(req.sender.accountId) : null);
      rows.senderDevice.push(req.sender?.deviceId ?? null);
      rows.createdAt.push(req.createdAt);
      rows.expiresAt.push(req.expiresAt);
      rows.content.push(buf(e.content));
    }
  }
  const serverIds = new Map<number, number[]>();
  for (const i of stored) {
    const ids: number[] = [];
    serverIds.set(i, ids);
    out[i] = { status: 'stored', serverIds: ids };
  }
  if (rows.n.length) {
    // Ids are taken in row order (ORDER BY o): messages of one batch queue in the order they were sent.
    const ids = await q(`INSERT INTO ${table('messages')} (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content)
      SELECT a, d, m, s, sa, sd, c, e, b FROM unnest($1::bytea[], $2::int[], $3::bytea[], $4::bool[], $5::bytea[], $6::int[], $7::bigint[], $8::bigint[], $9::bytea[])
        WITH ORDINALITY AS x(a, d, m, s, sa, sd, c, e, b, o) ORDER BY o RETURNING server_id`,
    [rows.account, rows.device, rows.messageId, rows.sealed, rows.senderAccount, rows.senderDevice, rows.createdAt, rows.expiresAt, rows.content]);
    if (ids.length !== rows.n.length) throw new Error('PostgreSQL returned a different number of queue rows than were inserted');
    // RETURNING follows the insertion order here (one INSERT ... SELECT ... ORDER BY); the ids rise with it, so sort them to be safe.
    const sorted = ids.map((r) => Number(r.server_id)).sort((a, b) => a - b);
    // Rows were added per request in the order of its entries, so each request's ids arrive in that order too.
    sorted.forEach((id, j) => serverIds.get(rows.n[j]!)!.push(id));
  }
  return out as EnqueueResult[];
}
