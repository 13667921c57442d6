/** The PostgreSQL adapter's key transparency log: leaves, tree nodes, unlogged devices (storage/postgres.ts). */
import type { KtLeafInput, KtLeafRecord, KtUnloggedDevice } from '../port.js';
import { KT_APPEND_LOCK } from './schema.js';
import { buf, bytes, num, type Pg } from './rows.js';

export async function appendKtLeaves(pg: Pg, leaves: readonly KtLeafInput[], nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): Promise<number> {
  if (!leaves.length) return ktSize(pg);
  return pg.tx(async (q) => {
    // Appends from every server process sharing the database queue on one transaction-scoped lock.
    await q('SELECT pg_advisory_xact_lock($1::int, $2::int)', [KT_APPEND_LOCK, 0]);
    const first = num((await q(`SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM ${pg.t('kt_leaves')}`))[0]!.n);
    // A batch in a fixed number of statements: the nodes the batch computes are kept here, and only a left
    // sibling older than the batch is read (at most one per level).
    const made = new Map<string, Uint8Array>();
    const nodes = { level: [] as number[], index: [] as number[], hash: [] as Buffer[] };
    const put = (level: number, index: number, h: Uint8Array) => {
      made.set(`${level}/${index}`, h);
      nodes.level.push(level); nodes.index.push(index); nodes.hash.push(buf(h));
    };
    const older = async (level: number, index: number): Promise<Uint8Array> => {
      const left = await q(`SELECT hash FROM ${pg.t('kt_nodes')} WHERE level = $1 AND node_index = $2`, [level, index]);
      if (!left.length) throw new Error(`key transparency log: node ${level}/${index} is missing`);
      return bytes(left[0]!.hash);
    };
    let size = first;
    for (const l of leaves) {
      let i = size;
      let level = 0;
      let h = l.leafHash;
      put(0, i, h);
      while (i % 2 === 1) {
        const left = made.get(`${level}/${i - 1}`) ?? await older(level, i - 1);
        h = nodeHash(left, h);
        i = (i - 1) / 2;
        level++;
        put(level, i, h);
      }
      size++;
    }
    await q(`INSERT INTO ${pg.t('kt_leaves')} (leaf_index, account_id, device_id, kind, leaf)
      SELECT i, a, d, k, b FROM unnest($1::bigint[], $2::bytea[], $3::int[], $4::smallint[], $5::bytea[]) AS x(i, a, d, k, b)`,
    [leaves.map((_, j) => first + j), leaves.map((l) => buf(l.accountId)), leaves.map((l) => l.deviceId), leaves.map((l) => l.kind), leaves.map((l) => buf(l.leaf))]);
    await q(`INSERT INTO ${pg.t('kt_nodes')} (level, node_index, hash) SELECT l, i, h FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) AS x(l, i, h)`,
      [nodes.level, nodes.index, nodes.hash]);
    return size;
  });
}

export async function ktSize(pg: Pg): Promise<number> {
  return num((await pg.q(`SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM ${pg.t('kt_leaves')}`))[0]!.n);
}

export async function getKtNodes(pg: Pg, nodes: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]> {
  if (!nodes.length) return [];
  const rows = await pg.q(`SELECT n.level, n.node_index, n.hash FROM ${pg.t('kt_nodes')} n
    JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, node_index) ON n.level = w.level AND n.node_index = w.node_index`,
  [nodes.map((n) => n.level), nodes.map((n) => n.index)]);
  const found = new Map(rows.map((r) => [`${num(r.level)}/${num(r.node_index)}`, bytes(r.hash)]));
  return nodes.map((n) => found.get(`${n.level}/${n.index}`));
}

export async function findKtLeaves(pg: Pg, accountId: Uint8Array, deviceIds?: readonly number[]): Promise<KtLeafRecord[]> {
  const rows = deviceIds
    ? await pg.q(`SELECT leaf_index, device_id, kind, leaf FROM ${pg.t('kt_leaves')} WHERE account_id = $1 AND device_id = ANY($2::int[]) ORDER BY leaf_index`, [buf(accountId), [...deviceIds]])
    : await pg.q(`SELECT leaf_index, device_id, kind, leaf FROM ${pg.t('kt_leaves')} WHERE account_id = $1 ORDER BY leaf_index`, [buf(accountId)]);
  return rows.map((r) => ({ index: num(r.leaf_index), deviceId: num(r.device_id), kind: num(r.kind) as 1 | 2, leaf: bytes(r.leaf) }));
}

export async function listKtUnlogged(pg: Pg, limit: number): Promise<KtUnloggedDevice[]> {
  const rows = await pg.q(`SELECT d.account_id, d.device_id, a.identity_key FROM ${pg.t('devices')} d JOIN ${pg.t('accounts')} a ON a.account_id = d.account_id
    WHERE NOT EXISTS (SELECT 1 FROM ${pg.t('kt_leaves')} k WHERE k.account_id = d.account_id AND k.device_id = d.device_id AND k.kind = 1)
    ORDER BY a.created_day, d.account_id, d.device_id LIMIT $1`, [limit]);
  return rows.map((r) => ({ accountId: bytes(r.account_id), deviceId: num(r.device_id), identityKey: bytes(r.identity_key) }));
}
