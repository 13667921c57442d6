/**
 * The browser store's format migration (client.md §7.1), checked in Chromium:
 * a format-1 store (256 buckets, record label v1) is built byte for byte as
 * the previous version wrote it, then opened by this version.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { IndexedDbStore, deleteStore, storeDatabaseName, type KdfParams } from '@sigilo/client-web';
import { decodeRowValue, decodeRows, decodeValue, encodeValue } from '../../src/codec.js';
import { TABLES } from '../../src/store/rows.js';
import { BUCKETS, FORMAT1_BUCKETS, deriveKek, openRecord, sealRecord, unwrapKeys, type StoreKeys } from '../../src/store-keys.js';
import { check, eq, fill, ok } from '../store-conformance.js';

type Row = { t: string; k: string; o: number; r: unknown };
const req = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
const finished = (tx: IDBTransaction) => new Promise<void>((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); });
const keyByte = (keys: StoreKeys, t: string, k: string) => hmac(sha256, keys.index, new TextEncoder().encode(`${t}/${k}`))[0]!;

async function raw(name: string): Promise<{ header: Record<string, unknown>; records: { k: number; v: Uint8Array }[] }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => { const r = indexedDB.open(storeDatabaseName(name)); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  try {
    const tx = db.transaction(['meta', 'records']);
    const header = await req(tx.objectStore('meta').get('header')) as Record<string, unknown>;
    const records = (await req(tx.objectStore('records').getAll()) as { k: number; v: Uint8Array | ArrayBuffer }[]).map((r) => ({ k: r.k, v: new Uint8Array(r.v) }));
    return { header, records };
  } finally {
    db.close();
  }
}

async function rewrite(name: string, header: Record<string, unknown>, records: { k: number; v: Uint8Array }[]): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => { const r = indexedDB.open(storeDatabaseName(name)); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  try {
    const tx = db.transaction(['meta', 'records'], 'readwrite');
    tx.objectStore('records').clear();
    for (const r of records) tx.objectStore('records').put(r);
    tx.objectStore('meta').put(header, 'header');
    await finished(tx);
  } finally {
    db.close();
  }
}

/** The keys of a closed store, from its header and passphrase (what open() does). */
async function keysOf(header: Record<string, unknown>, passphrase: string): Promise<StoreKeys> {
  const kek = await deriveKek(passphrase, header.salt as Uint8Array, header.kdf as KdfParams);
  return unwrapKeys(kek, { data: header.wrappedData as Uint8Array, index: header.wrappedIndex as Uint8Array });
}

/** Every row of a store's records, each with the bucket it was found in. */
async function rowsOf(keys: StoreKeys, records: { k: number; v: Uint8Array }[], format: number): Promise<(Row & { bucket: number })[]> {
  const out: (Row & { bucket: number })[] = [];
  for (const r of records) {
    const plain = await openRecord(keys, r.k, r.v, format);
    if (format === 1) {
      for (const row of decodeValue(plain) as Row[]) out.push({ ...row, bucket: r.k });
    } else {
      // Format 2: a table of rows (encodeRows), each value behind its length.
      decodeRows(plain, (t, k, o, at, end, source) => out.push({ t: TABLES[t]!, k, o, r: decodeRowValue(source, at, end), bucket: r.k }));
    }
  }
  return out;
}

export const formatMigrationTests = {
  /** A format-1 store opens: every row is kept, the records are rewritten in format 2 (32 buckets) once, and it opens again as format 2. */
  async migratesFormat1(kdf: KdfParams) {
    const name = `migrate-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const passphrase = 'pw of an older store';
    const s = await IndexedDbStore.open({ name, passphrase, kdf });
    fill(s);
    s.close();
    await s.closed;

    // Rebuild it as format 1 wrote it: the rows in 256 buckets (the whole first byte), the v1 record label, header format 1.
    const current = await raw(name);
    const keys = await keysOf(current.header, passphrase);
    const rows = await rowsOf(keys, current.records, 2);
    const v1 = new Map<number, Row[]>();
    for (const { bucket: _b, ...row } of rows) {
      const b = keyByte(keys, row.t, row.k) % FORMAT1_BUCKETS;
      v1.set(b, [...(v1.get(b) ?? []), row]);
    }
    ok([...v1.keys()].some((b) => b >= BUCKETS), 'the format-1 store uses bucket numbers beyond 32');
    const v1Records = await Promise.all([...v1].map(async ([k, r]) => ({ k, v: await sealRecord(keys, k, encodeValue(r), 1) })));
    await rewrite(name, { ...current.header, format: 1 }, v1Records);

    const opened = await IndexedDbStore.open({ name, passphrase });
    eq(opened.report.migratedFrom, 1, 'the open reports the migration');
    eq(opened.report.rows, rows.length, 'every row loaded');
    check(opened);
    opened.close();
    await opened.closed;

    const after = await raw(name);
    eq(after.header.format, 2, 'the header says format 2');
    ok(after.records.length <= BUCKETS && after.records.every((r) => Number.isInteger(r.k) && r.k >= 0 && r.k < BUCKETS), 'at most 32 records, keyed 0..31');
    const migrated = await rowsOf(keys, after.records, 2);
    eq(migrated.length, rows.length, 'no row lost or doubled');
    for (const r of migrated) ok(r.bucket === keyByte(keys, r.t, r.k) % BUCKETS, `row ${r.t} in its format-2 bucket`);
    let v1Opens = 0;
    for (const r of after.records) { try { await openRecord(keys, r.k, r.v, 1); v1Opens++; } catch { /* expected */ } }
    eq(v1Opens, 0, 'no record opens under the format-1 label');

    const again = await IndexedDbStore.open({ name, passphrase });
    eq(again.report.migratedFrom, undefined, 'a format-2 store is not migrated again');
    check(again);
    again.close();
    await again.closed;
    await deleteStore(name);
    return { v1Records: v1Records.length, v2Records: after.records.length, rows: rows.length };
  },
};
