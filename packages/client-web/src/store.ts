/**
 * The browser ClientStore (client.md §7.1): the port is synchronous, IndexedDB
 * is not. So the store keeps its whole working set decrypted in memory while
 * unlocked (read once at open), applies every change synchronously there, and
 * writes each committed store transaction to IndexedDB as one IndexedDB
 * transaction of encrypted puts and deletes: the database never holds half of
 * a store transaction. `flush()` resolves once everything committed so far is
 * durable (client.md §7.2: the engine awaits it before acknowledging a
 * delivery or sending an outbox entry).
 *
 * On disk: object store `meta` holds one plaintext header (format, salt, KDF
 * parameters, the two wrapped keys, the eviction marker); object store
 * `records` holds at most 32 buckets { k, v: iv ‖ AES-256-GCM(data key,
 * rows, ad = label ‖ k) }, a row being in bucket k = HMAC-SHA256(index key,
 * logical key)[0] mod 32. Neither keys nor values reveal an account id, a
 * contact, a message or who talked to whom. A format-1 store (256 buckets)
 * is rewritten in format 2 when it is opened.
 */
import type { ClientStore } from '@sigilo/client';
import { StoreError } from './errors.js';
import { DEFAULT_KDF, checkKdf, deriveKek, newWrappedKeys, openRecord, unwrapKeys, BUCKETS, FORMAT1_BUCKETS, type KdfParams, type StoreKeys } from './store-keys.js';
import { FORMAT, HEADER_KEY, META, RECORDS, dbName, done, localStorageMarker, openDatabase, req, requestPersistence, takeLock, type EvictionMarker } from './store/idb.js';
import { decodeBucket, hex } from './store/rows.js';
import { SenderKeyTables } from './store/sender-key-tables.js';

export { deleteStore, localStorageMarker, dbName as storeDatabaseName, type EvictionMarker } from './store/idb.js';


export interface OpenOptions {
  readonly passphrase: string;
  /** Names the IndexedDB database (`sigilo-<name>`) and the marker; one per account on a browser profile. */
  readonly name?: string;
  /** KDF parameters for a new store (an existing store keeps those in its header). */
  readonly kdf?: KdfParams;
  /** Default: localStorage. null: no marker (eviction cannot be told from a first start). */
  readonly marker?: EvictionMarker | null;
  /** Ask the browser to keep the store (navigator.storage.persist()); default true. */
  readonly requestPersistence?: boolean;
  /** After STORE_EVICTED was shown to the user: start a new, empty store under the same name. */
  readonly startOverAfterEviction?: boolean;
  /** Default true: hold a Web Lock on the store so that a second tab gets STORE_IN_USE... (see `lock`). */
  readonly lock?: boolean;
}

interface Header {
  format: number;
  salt: Uint8Array;
  kdf: KdfParams;
  wrappedData: Uint8Array;
  wrappedIndex: Uint8Array;
  marker: string;
  createdAt: number;
}

/** What open() measured and learnt, for the UI and the benchmark. */
export interface OpenReport {
  readonly created: boolean;
  /** navigator.storage.persist()'s answer; undefined when not asked or not available. */
  readonly persisted: boolean | undefined;
  readonly kdfMs: number;
  /** From the unlocked keys to a usable store: reading, decrypting and indexing every record. */
  readonly loadMs: number;
  /** Encrypted IndexedDB records (buckets) and the rows in them. */
  readonly records: number;
  readonly rows: number;
  /** Where loadMs went: IndexedDB read, decryption, decoding and indexing. */
  readonly phases: { readonly readMs: number; readonly decryptMs: number; readonly decodeMs: number; readonly indexMs: number };
  /** Set when the store was in an older format and was rewritten in the current one at this open (client.md §7.1). */
  readonly migratedFrom?: number;
}

export class IndexedDbStore extends SenderKeyTables implements ClientStore {
  readonly report: OpenReport;

  private constructor(db: IDBDatabase, keys: StoreKeys, report: OpenReport, releaseLock: (() => void) | undefined) {
    super(db, keys, releaseLock);
    this.report = report;
  }

  /**
   * Opens (or creates) the store. Errors: BAD_PASSPHRASE (wrong passphrase),
   * STORE_EVICTED (it existed and the browser deleted it), STORE_CORRUPT (a
   * record fails to decrypt: nothing is opened), STORE_IN_USE (another tab has
   * it), STORE_VERSION, UNSUPPORTED.
   */
  static async open(options: OpenOptions): Promise<IndexedDbStore> {
    const name = options.name ?? 'default';
    const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb || !globalThis.crypto?.subtle) throw new StoreError('UNSUPPORTED', 'this browser offers no IndexedDB or WebCrypto here (a private window, or plain http?); open Sigilo over https in a normal window');
    const marker = options.marker === undefined ? localStorageMarker(name) : options.marker;
    const releaseLock = options.lock === false ? undefined : await takeLock(name);
    try {
      const db = await openDatabase(idb, dbName(name));
      try {
        return await IndexedDbStore.#unlock(db, name, options, marker, releaseLock);
      } catch (e) {
        db.close();
        throw e;
      }
    } catch (e) {
      releaseLock?.();
      throw e;
    }
  }

  static async #unlock(db: IDBDatabase, name: string, options: OpenOptions, marker: EvictionMarker | null, releaseLock: (() => void) | undefined): Promise<IndexedDbStore> {
    let header = await req(db.transaction(META, 'readonly').objectStore(META).get(HEADER_KEY)) as Header | undefined;
    let created = false;
    let kdfMs: number;
    let keys: StoreKeys;
    if (header === undefined) {
      if (marker?.get() && !options.startOverAfterEviction) {
        throw new StoreError('STORE_EVICTED', 'the local store on this device is gone: the browser deleted it (storage pressure or site data cleared). Link this device again or restore; messages kept only here are lost');
      }
      const kdf = options.kdf ?? DEFAULT_KDF;
      checkKdf(kdf);
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const t0 = performance.now();
      const kek = await deriveKek(options.passphrase, salt, kdf);
      kdfMs = performance.now() - t0;
      const wrapped = await newWrappedKeys(kek);
      keys = await unwrapKeys(kek, wrapped);
      header = {
        format: FORMAT, salt, kdf, wrappedData: wrapped.data, wrappedIndex: wrapped.index,
        marker: hex(crypto.getRandomValues(new Uint8Array(16))), createdAt: Date.now(),
      };
      const tx = db.transaction([META, RECORDS], 'readwrite', { durability: 'strict' });
      // A store without a header has no readable records: clear leftovers of an interrupted creation.
      tx.objectStore(RECORDS).clear();
      tx.objectStore(META).put(header, HEADER_KEY);
      await done(tx);
      created = true;
    } else {
      if (typeof header.format !== 'number' || header.format > FORMAT) throw new StoreError('STORE_VERSION', 'this store was written by a newer version of Sigilo; update the app');
      if (!Number.isInteger(header.format) || header.format < 1) throw new StoreError('STORE_CORRUPT', 'the store header is damaged; the store was not opened');
      if (!(header.salt instanceof Uint8Array) || !(header.wrappedData instanceof Uint8Array) || !(header.wrappedIndex instanceof Uint8Array)) {
        throw new StoreError('STORE_CORRUPT', 'the store header is damaged; the store was not opened');
      }
      const t0 = performance.now();
      const kek = await deriveKek(options.passphrase, header.salt, header.kdf);
      kdfMs = performance.now() - t0;
      keys = await unwrapKeys(kek, { data: header.wrappedData, index: header.wrappedIndex });
    }
    // The marker is written once the header is durable: from now on, a missing database is an eviction.
    marker?.set(header.marker);

    const t1 = performance.now();
    const tx = db.transaction(RECORDS, 'readonly');
    const raw = await req(tx.objectStore(RECORDS).getAll()) as { k: number; v: Uint8Array | ArrayBuffer }[];
    const t2 = performance.now();
    const from = header.format;
    const limit = from === 1 ? FORMAT1_BUCKETS : BUCKETS;
    // Every bucket is decoded as soon as its own decryption resolves, while WebCrypto still decrypts the others.
    let decodeMs = 0;
    const decoded = await Promise.all(raw.map(async (rec) => {
      if (!Number.isInteger(rec.k) || rec.k < 0 || rec.k >= limit) {
        throw new StoreError('STORE_CORRUPT', 'the local store holds a record it did not write; the store was not opened');
      }
      const plain = await openRecord(keys, rec.k, rec.v instanceof Uint8Array ? rec.v : new Uint8Array(rec.v), from);
      const t = performance.now();
      // A format-1 row's bucket is its format-2 bucket mod 32 (store-keys.ts).
      const rows = decodeBucket(plain, rec.k % BUCKETS);
      decodeMs += performance.now() - t;
      return rows;
    }));
    let persisted: boolean | undefined;
    const store = new IndexedDbStore(db, keys, undefined as unknown as OpenReport, releaseLock);
    const t3 = performance.now();
    let rows = 0;
    for (const r of decoded) rows += store._load(r);
    const phases = { readMs: t2 - t1, decryptMs: t3 - t2 - decodeMs, decodeMs, indexMs: performance.now() - t3 };
    if (from < FORMAT) {
      try {
        await store._migrate({ ...header, format: FORMAT });
      } catch (e) {
        store.close();
        throw e;
      }
    }
    const loadMs = performance.now() - t1;
    if (options.requestPersistence !== false) persisted = await requestPersistence();
    (store as { report: OpenReport }).report = { created, persisted, kdfMs, loadMs, records: raw.length, rows, phases, ...(from < FORMAT ? { migratedFrom: from } : {}) };
    return store;
  }
}
