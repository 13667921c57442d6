/**
 * The rows of the browser store in memory and their way to IndexedDB
 * (client.md §7.1): every table a map, rows grouped in 256 buckets; a store
 * transaction changes the maps synchronously (undone if it throws) and marks
 * its buckets dirty; committed transactions are sealed bucket by bucket and
 * written in one IndexedDB transaction each round, in commit order.
 */
import type { MessageRow, MessageStatus, PreKeyKind } from '@sigilo/client';
import { decodeRowValue, decodeRows, decodeValue, encodeRows, isRows, type RowSource } from '../codec.js';
import { StoreError } from '../errors.js';
import { BUCKETS, bucketOf, forgetIndexKey, sealRecord, type StoreKeys } from '../store-keys.js';
import { HEADER_KEY, META, RECORDS, done } from './idb.js';

export type Table =
  | 'meta' | 'prekey' | 'session' | 'contact' | 'message' | 'outbox' | 'counter'
  | 'group' | 'gentries' | 'gpending' | 'gchange' | 'ownsk' | 'sk' | 'gpmsg' | 'greceipt' | 'cprofile';
// New tables go at the end: a row's table is stored as its index here.
export const TABLES: readonly Table[] = ['meta', 'prekey', 'session', 'contact', 'message', 'outbox', 'counter', 'group', 'gentries', 'gpending', 'gchange', 'ownsk', 'sk', 'gpmsg', 'greceipt', 'cprofile'];

/** A row as kept: its value and its insertion order (the SQLite store's rowid order). */
export interface Entry<R = unknown> { readonly t: Table; readonly k: string; readonly o: number; readonly r: R; readonly b: number }

export type PreKeyRec = { kind: PreKeyKind; id: number; record: Uint8Array };
export type SessionRec = { accountId: Uint8Array; deviceId: number; record: Uint8Array };
export type PendingEntryRec = { groupId: Uint8Array; entry: Uint8Array; receivedAt: number };
export type ChangeRec = { groupId: Uint8Array; entryHash: Uint8Array; change: string; createdAt: number };
export type ReceiptRec = { groupId: Uint8Array; messageId: Uint8Array; accountId: Uint8Array; status: MessageStatus };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export const hex = (b: Uint8Array) => { let s = ''; for (const x of b) s += HEX[x]; return s; };
export const copy = (b: Uint8Array) => b.slice();
export const copyOpt = (b: Uint8Array | undefined) => (b === undefined ? undefined : b.slice());
export const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
export const byOrd = (a: Entry, b: Entry) => a.o - b.o;

export type StoredRow = { t: Table; k: string; o: number; r: unknown };

const TABLE_NUMBER = new Map(TABLES.map((t, i) => [t, i]));

/**
 * A row read from IndexedDB: its table, key and order are decoded at open, its value
 * (`r`) the first time it is used (decodeRowValue). Most of a large store (old
 * messages, sessions of quiet contacts) is never built while the store is open.
 */
class LoadedEntry implements Entry {
  #source: RowSource | undefined;
  readonly #at: number;
  readonly #end: number;
  #r: unknown;
  constructor(readonly t: Table, readonly k: string, readonly o: number, readonly b: number, source: RowSource, at: number, end: number) {
    this.#source = source;
    this.#at = at;
    this.#end = end;
  }
  get r(): unknown {
    const source = this.#source;
    if (source) {
      try {
        this.#r = decodeRowValue(source, this.#at, this.#end);
      } catch (e) {
        throw new StoreError('STORE_CORRUPT', 'a row of the local store cannot be read', { cause: e });
      }
      this.#source = undefined;
    }
    return this.#r;
  }
}

const corrupt = (cause?: unknown) => new StoreError('STORE_CORRUPT', 'a record of the local store cannot be read; the store was not opened', { cause });
const badShape = () => new StoreError('STORE_CORRUPT', 'a record of the local store has an unknown shape; the store was not opened');

/**
 * A bucket's rows as entries. Format 2 (encodeRows): values decoded when first used. Format 1 (one
 * value: an array of { t, k, o, r }, read only to be migrated): decoded at once. STORE_CORRUPT if
 * the bucket is not one of these.
 */
export function decodeBucket(plaintext: Uint8Array, bucket: number): Entry[] {
  const out: Entry[] = [];
  if (isRows(plaintext)) {
    try {
      decodeRows(plaintext, (t, k, o, at, end, source) => {
        const table = TABLES[t];
        if (table === undefined) throw badShape();
        out.push(new LoadedEntry(table, k, o, bucket, source, at, end));
      });
    } catch (e) {
      throw e instanceof StoreError ? e : corrupt(e);
    }
    return out;
  }
  let rows: StoredRow[];
  try {
    rows = decodeValue(plaintext) as StoredRow[];
  } catch (e) {
    throw corrupt(e);
  }
  if (!Array.isArray(rows)) throw badShape();
  for (const v of rows) {
    if (typeof v !== 'object' || v === null || !(TABLES as readonly unknown[]).includes(v.t) || typeof v.k !== 'string' || typeof v.o !== 'number') throw badShape();
    out.push({ t: v.t, k: v.k, o: v.o, r: v.r, b: bucket });
  }
  return out;
}

/** A bucket's rows, encoded to be sealed (encodeRows). */
export function encodeBucket(rows: readonly Entry[]): Uint8Array {
  return encodeRows(rows.map((e) => ({ t: TABLE_NUMBER.get(e.t)!, k: e.k, o: e.o, r: e.r })));
}

/** The rows, transactions and durability of the store; the tables' methods are in the subclasses. */
export abstract class RowStore {
  protected readonly _db: IDBDatabase;
  protected readonly _keys: StoreKeys;
  protected readonly _t = new Map<Table, Map<string, Entry>>(TABLES.map((t) => [t, new Map()]));
  /**
   * Messages by conversation (hex) and sessions by account (hex): the two lookups on hot paths. Built from
   * their table when first used (not at open), then kept up to date by every change.
   */
  #byConversation: Map<string, Map<string, Entry<MessageRow>>> | undefined;
  #byAccount: Map<string, Map<string, Entry<SessionRec>>> | undefined;
  protected get _byConversation(): Map<string, Map<string, Entry<MessageRow>>> {
    return (this.#byConversation ??= this.#group('message') as Map<string, Map<string, Entry<MessageRow>>>);
  }
  protected get _byAccount(): Map<string, Map<string, Entry<SessionRec>>> {
    return (this.#byAccount ??= this.#group('session') as Map<string, Map<string, Entry<SessionRec>>>);
  }
  /** A table's rows grouped by the part of their key before ':' (a conversation or account in hex). */
  #group(t: Table): Map<string, Map<string, Entry>> {
    const out = new Map<string, Map<string, Entry>>();
    for (const [k, e] of this._t.get(t)!) {
      const g = k.slice(0, k.indexOf(':'));
      let m = out.get(g);
      if (!m) out.set(g, (m = new Map()));
      m.set(k, e);
    }
    return out;
  }
  /** Bucket numbers computed for new rows (loaded rows carry theirs), and each bucket's rows. */
  protected readonly _bucketOf = new Map<string, number>();
  /** Each bucket's rows: a Set, or at open the array of rows read (made a Set when the bucket first changes). */
  protected readonly _buckets: (Set<Entry> | Entry[])[] = Array.from({ length: BUCKETS }, () => new Set());
  protected _ord = 0;
  /** While a transaction runs: how to undo it, and what it changed (logical key → entry, or null for a delete). */
  protected _undo: [Table, string, Entry | undefined][] | null = null;
  /** Buckets the open transaction changed. */
  protected _dirty: Set<number> | null = null;
  /** Committed transactions waiting to be written, in commit order. */
  protected readonly _queue: Set<number>[] = [];
  protected _writing: Promise<void> | null = null;
  protected _failure: StoreError | undefined;
  protected _closed = false;
  protected readonly _releaseLock: (() => void) | undefined;
  /** Resolves when close() wrote everything and closed the database. */
  readonly closed: Promise<void>;
  protected _resolveClosed!: () => void;


  protected constructor(db: IDBDatabase, keys: StoreKeys, releaseLock: (() => void) | undefined) {
    this._db = db;
    this._keys = keys;
    this._releaseLock = releaseLock;
    this.closed = new Promise((resolve) => { this._resolveClosed = resolve; });
    db.onversionchange = () => { /* deleteDatabase from elsewhere: let it proceed; further writes fail */ db.close(); };
  }

  /** Loads one bucket's rows (decodeBucket: all of one bucket); returns how many. A key seen twice is STORE_CORRUPT. */
  protected _load(rows: Entry[]): number {
    if (rows.length === 0) return 0;
    const tables = this._t;
    for (const e of rows) {
      const table = tables.get(e.t)!;
      const size = table.size;
      table.set(e.k, e);
      if (table.size === size) throw new StoreError('STORE_CORRUPT', 'the local store holds a row twice; the store was not opened');
      if (e.o >= this._ord) this._ord = e.o + 1;
    }
    const b = rows[0]!.b;
    const held = this._buckets[b]!;
    if (held instanceof Set && held.size === 0) this._buckets[b] = rows;
    else for (const e of rows) this.#members(b).add(e);
    return rows.length;
  }

  /** A bucket's rows as a Set (to change them). */
  #members(b: number): Set<Entry> {
    let m = this._buckets[b]!;
    if (Array.isArray(m)) this._buckets[b] = m = new Set(m);
    return m;
  }

  // ------------------------------------------------------------------ durability

  /** Resolves once every transaction committed so far is in IndexedDB; rejects (STORE_WRITE_FAILED) if a write failed. */
  async flush(): Promise<void> {
    while (this._writing) await this._writing;
    if (this._failure) throw this._failure;
  }

  /** Whether committed transactions are still waiting to be written. */
  get pendingWrites(): boolean {
    return this._writing !== null;
  }

  protected _kick(): void {
    if (this._writing) return;
    this._writing = this._drain().finally(() => { this._writing = null; });
  }

  protected async _drain(): Promise<void> {
    while (this._queue.length > 0 && !this._failure) {
      // Synchronously, with no store transaction open: take every committed transaction and
      // snapshot the buckets they touched. The snapshot holds those transactions whole (and
      // nothing uncommitted); whatever commits while it is encrypted goes in the next round.
      const touched = new Set<number>();
      for (const batch of this._queue.splice(0)) for (const b of batch) touched.add(b);
      const snapshot = [...touched].map((b) => ({ b, rows: this._bucketRows(b) }));
      try {
        const ops = await Promise.all(snapshot.map(async ({ b, rows }) => ({ b, v: rows.length ? await sealRecord(this._keys, b, encodeBucket(rows)) : undefined })));
        const tx = this._db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
        const os = tx.objectStore(RECORDS);
        for (const op of ops) {
          if (op.v) os.put({ k: op.b, v: op.v });
          else os.delete(op.b);
        }
        await done(tx);
      } catch (e) {
        this._failure = new StoreError('STORE_WRITE_FAILED', 'the browser refused to save the local store (out of space, or the site data was cleared); reload Sigilo', { cause: e });
      }
    }
  }

  /**
   * The format migration at open (client.md §7.1): every row, already in its new bucket in memory, is
   * sealed again and written with the new header in one IndexedDB transaction that first clears the
   * old records: the database holds the old format or the new one, never a mix.
   */
  protected async _migrate(header: unknown): Promise<void> {
    try {
      const sealed = await Promise.all(this._buckets.map(async (_, b) => {
        const rows = this._bucketRows(b);
        return { b, v: rows.length ? await sealRecord(this._keys, b, encodeBucket(rows)) : undefined };
      }));
      const tx = this._db.transaction([META, RECORDS], 'readwrite', { durability: 'strict' });
      const os = tx.objectStore(RECORDS);
      os.clear();
      for (const { b, v } of sealed) if (v) os.put({ k: b, v });
      tx.objectStore(META).put(header, HEADER_KEY);
      await done(tx);
    } catch (e) {
      throw new StoreError('STORE_WRITE_FAILED', 'the browser refused to save the local store while converting it to the current format (out of space?); it is unchanged. Free some space and reload', { cause: e });
    }
  }

  protected _bucket(lk: string): number {
    let b = this._bucketOf.get(lk);
    if (b === undefined) {
      b = bucketOf(this._keys, lk);
      this._bucketOf.set(lk, b);
    }
    return b;
  }

  /** A bucket's rows now (a snapshot: entries are never changed, only replaced). */
  protected _bucketRows(b: number): Entry[] {
    return [...this._buckets[b]!];
  }


  // ------------------------------------------------------------------ transactions and rows

  transaction<T>(fn: () => T): T {
    this._check();
    if (this._undo) return fn();
    this._undo = [];
    this._dirty = new Set();
    try {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('a store transaction cannot be async');
      if (this._dirty.size > 0) {
        this._queue.push(this._dirty);
        this._kick();
      }
      return result;
    } catch (e) {
      const undo = this._undo;
      for (let i = undo.length - 1; i >= 0; i--) this._raw(...undo[i]!);
      throw e;
    } finally {
      this._undo = null;
      this._dirty = null;
    }
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    void this.flush().catch(() => {}).finally(() => {
      this._db.close();
      // The data key is a non-extractable CryptoKey (dropped with this object); the index key is bytes.
      forgetIndexKey(this._keys);
      this._releaseLock?.();
      this._resolveClosed();
    });
  }

  protected _check(): void {
    if (this._closed) throw new StoreError('STORE_CLOSED', 'the local store is closed');
    if (this._failure) throw this._failure;
  }

  /** Sets or deletes a row in memory, its bucket and the indexes, recording nothing. */
  protected _raw(t: Table, k: string, e: Entry | undefined): void {
    const table = this._t.get(t)!;
    const prev = table.get(k);
    const index = (t === 'message' ? this.#byConversation : t === 'session' ? this.#byAccount : undefined) as Map<string, Map<string, Entry>> | undefined;
    if (index) {
      // Both keys start with the conversation / account in hex.
      const g = k.slice(0, k.indexOf(':'));
      let m = index.get(g);
      if (e) {
        if (!m) index.set(g, (m = new Map()));
        m.set(k, e);
      } else if (m) {
        m.delete(k);
        if (m.size === 0) index.delete(g);
      }
    }
    if (prev) this.#members(prev.b).delete(prev);
    if (e) {
      table.set(k, e);
      this.#members(e.b).add(e);
    } else {
      table.delete(k);
    }
  }

  protected _write(t: Table, k: string, r: unknown, keepOrder = true): void {
    const prev = this._t.get(t)!.get(k);
    const e: Entry = { t, k, o: keepOrder && prev ? prev.o : this._ord++, r, b: prev ? prev.b : this._bucket(`${t}/${k}`) };
    this._undo!.push([t, k, prev]);
    this._raw(t, k, e);
    this._dirty!.add(e.b);
  }

  protected _delete(t: Table, k: string): boolean {
    const prev = this._t.get(t)!.get(k);
    if (!prev) return false;
    this._undo!.push([t, k, prev]);
    this._raw(t, k, undefined);
    this._dirty!.add(prev.b);
    return true;
  }

  protected _get<R>(t: Table, k: string): R | undefined {
    this._check();
    return this._t.get(t)!.get(k)?.r as R | undefined;
  }

  protected _entries<R>(t: Table): Entry<R>[] {
    this._check();
    return [...this._t.get(t)!.values()] as Entry<R>[];
  }

  /** Runs a change inside a transaction (its own, unless one is open). */
  protected _tx<T>(fn: () => T): T {
    return this.transaction(fn);
  }

  protected _next(counter: string): number {
    const n = (this._get<number>('counter', counter) ?? 0) + 1;
    this._write('counter', counter, n);
    return n;
  }
}
