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
 * `records` holds at most 256 buckets { k, v: iv ‖ AES-256-GCM(data key,
 * rows, ad = label ‖ k) }, a row being in bucket k = HMAC-SHA256(index key,
 * logical key)[0]. Neither keys nor values reveal an account id, a contact, a
 * message or who talked to whom.
 */
import type { Attachment, ClientStore, ContactProfileRow, ContactRow, GroupRow, MessageRow, MessageStatus, OutboxRow, PreKeyKind } from '@sigilo/client';
import { decodeValue, encodeValue } from './codec.js';
import { StoreError } from './errors.js';
import {
  BUCKETS, DEFAULT_KDF, bucketOf, checkKdf, deriveKek, newWrappedKeys, openRecord, sealRecord, unwrapKeys, type KdfParams, type StoreKeys,
} from './store-keys.js';

type OwnSenderKeyRow = Parameters<ClientStore['putOwnSenderKey']>[0];
type SenderKeyRow = Parameters<ClientStore['putSenderKey']>[0];
type PendingGroupMessageRow = ReturnType<ClientStore['pendingGroupMessages']>[number];

/** Format of the header and records; a newer one is refused (STORE_VERSION). */
const FORMAT = 1;
const DB_VERSION = 1;
const META = 'meta';
const RECORDS = 'records';
const HEADER_KEY = 'header';

/**
 * Where the eviction marker is kept besides the database's own header: must
 * outlive the IndexedDB database when the browser evicts it. localStorage by
 * default (Chromium's storage-pressure eviction clears quota-managed storage:
 * IndexedDB, OPFS, caches — not localStorage). A Worker has no localStorage:
 * the page passes the marker in.
 */
export interface EvictionMarker {
  get(): string | null;
  set(value: string): void;
  remove(): void;
}

export function localStorageMarker(name: string): EvictionMarker | null {
  const ls = (globalThis as { localStorage?: Storage }).localStorage;
  if (!ls) return null;
  const key = `sigilo.store.${name}`;
  return { get: () => ls.getItem(key), set: (v) => ls.setItem(key, v), remove: () => ls.removeItem(key) };
}

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
}

type Table =
  | 'meta' | 'prekey' | 'session' | 'contact' | 'message' | 'outbox' | 'counter'
  | 'group' | 'gentries' | 'gpending' | 'gchange' | 'ownsk' | 'sk' | 'gpmsg' | 'greceipt' | 'cprofile';
// New tables go at the end: a row's table is stored as its index here.
const TABLES: readonly Table[] = ['meta', 'prekey', 'session', 'contact', 'message', 'outbox', 'counter', 'group', 'gentries', 'gpending', 'gchange', 'ownsk', 'sk', 'gpmsg', 'greceipt', 'cprofile'];

/** A row as kept: its value and its insertion order (the SQLite store's rowid order). */
interface Entry<R = unknown> { readonly t: Table; readonly k: string; readonly o: number; readonly r: R; readonly b: number }

type PreKeyRec = { kind: PreKeyKind; id: number; record: Uint8Array };
type SessionRec = { accountId: Uint8Array; deviceId: number; record: Uint8Array };
type PendingEntryRec = { groupId: Uint8Array; entry: Uint8Array; receivedAt: number };
type ChangeRec = { groupId: Uint8Array; entryHash: Uint8Array; change: string; createdAt: number };
type ReceiptRec = { groupId: Uint8Array; messageId: Uint8Array; accountId: Uint8Array; status: MessageStatus };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex = (b: Uint8Array) => { let s = ''; for (const x of b) s += HEX[x]; return s; };
const copy = (b: Uint8Array) => b.slice();
const copyOpt = (b: Uint8Array | undefined) => (b === undefined ? undefined : b.slice());
const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const byOrd = (a: Entry, b: Entry) => a.o - b.o;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

const dbName = (name: string) => `sigilo-${name}`;

export class IndexedDbStore implements ClientStore {
  readonly report: OpenReport;
  readonly #db: IDBDatabase;
  readonly #keys: StoreKeys;
  readonly #t = new Map<Table, Map<string, Entry>>(TABLES.map((t) => [t, new Map()]));
  /** Messages by conversation (hex) and sessions by account (hex): the two lookups on hot paths. */
  readonly #byConversation = new Map<string, Map<string, Entry<MessageRow>>>();
  readonly #byAccount = new Map<string, Map<string, Entry<SessionRec>>>();
  /** Bucket numbers computed for new rows (loaded rows carry theirs), and each bucket's rows. */
  readonly #bucketOf = new Map<string, number>();
  readonly #buckets: Set<Entry>[] = Array.from({ length: BUCKETS }, () => new Set());
  #ord = 0;
  /** While a transaction runs: how to undo it, and what it changed (logical key → entry, or null for a delete). */
  #undo: [Table, string, Entry | undefined][] | null = null;
  /** Buckets the open transaction changed. */
  #dirty: Set<number> | null = null;
  /** Committed transactions waiting to be written, in commit order. */
  readonly #queue: Set<number>[] = [];
  #writing: Promise<void> | null = null;
  #failure: StoreError | undefined;
  #closed = false;
  readonly #releaseLock: (() => void) | undefined;
  /** Resolves when close() wrote everything and closed the database. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(db: IDBDatabase, keys: StoreKeys, report: OpenReport, releaseLock: (() => void) | undefined) {
    this.#db = db;
    this.#keys = keys;
    this.report = report;
    this.#releaseLock = releaseLock;
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
    db.onversionchange = () => { /* deleteDatabase from elsewhere: let it proceed; further writes fail */ db.close(); };
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
    const raw = await req(tx.objectStore(RECORDS).getAll()) as { k: number; v: ArrayBuffer }[];
    const t2 = performance.now();
    const plain = await Promise.all(raw.map(async (rec) => {
      if (!Number.isInteger(rec.k) || rec.k < 0 || rec.k >= BUCKETS) throw new StoreError('STORE_CORRUPT', 'the local store holds a record it did not write; the store was not opened');
      return { k: rec.k, p: await openRecord(keys, rec.k, new Uint8Array(rec.v)) };
    }));
    let persisted: boolean | undefined;
    const store = new IndexedDbStore(db, keys, undefined as unknown as OpenReport, releaseLock);
    const t3 = performance.now();
    const decoded = plain.map(({ k, p }) => ({ k, rows: decodeBucket(p) }));
    const t4 = performance.now();
    let rows = 0;
    for (const { k, rows: r } of decoded) rows += store.#load(k, r);
    const phases = { readMs: t2 - t1, decryptMs: t3 - t2, decodeMs: t4 - t3, indexMs: performance.now() - t4 };
    const loadMs = performance.now() - t1;
    if (options.requestPersistence !== false) persisted = await requestPersistence();
    (store as { report: OpenReport }).report = { created, persisted, kdfMs, loadMs, records: raw.length, rows, phases };
    return store;
  }

  /** Loads one bucket's rows; returns how many. */
  #load(bucket: number, rows: StoredRow[]): number {
    for (const v of rows) {
      this.#raw(v.t, v.k, { t: v.t, k: v.k, o: v.o, r: v.r, b: bucket });
      if (v.o >= this.#ord) this.#ord = v.o + 1;
    }
    return rows.length;
  }

  // ------------------------------------------------------------------ durability

  /** Resolves once every transaction committed so far is in IndexedDB; rejects (STORE_WRITE_FAILED) if a write failed. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#failure) throw this.#failure;
  }

  /** Whether committed transactions are still waiting to be written. */
  get pendingWrites(): boolean {
    return this.#writing !== null;
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = this.#drain().finally(() => { this.#writing = null; });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failure) {
      // Synchronously, with no store transaction open: take every committed transaction and
      // snapshot the buckets they touched. The snapshot holds those transactions whole (and
      // nothing uncommitted); whatever commits while it is encrypted goes in the next round.
      const touched = new Set<number>();
      for (const batch of this.#queue.splice(0)) for (const b of batch) touched.add(b);
      const snapshot = [...touched].map((b) => ({ b, rows: this.#bucketRows(b) }));
      try {
        const ops = await Promise.all(snapshot.map(async ({ b, rows }) => ({ b, v: rows.length ? await sealRecord(this.#keys, b, encodeValue(rows)) : undefined })));
        const tx = this.#db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
        const os = tx.objectStore(RECORDS);
        for (const op of ops) {
          if (op.v) os.put({ k: op.b, v: op.v });
          else os.delete(op.b);
        }
        await done(tx);
      } catch (e) {
        this.#failure = new StoreError('STORE_WRITE_FAILED', 'the browser refused to save the local store (out of space, or the site data was cleared); reload Sigilo', { cause: e });
      }
    }
  }

  #bucket(lk: string): number {
    let b = this.#bucketOf.get(lk);
    if (b === undefined) {
      b = bucketOf(this.#keys, lk);
      this.#bucketOf.set(lk, b);
    }
    return b;
  }

  #bucketRows(b: number): { t: Table; k: string; o: number; r: unknown }[] {
    const out: { t: Table; k: string; o: number; r: unknown }[] = [];
    for (const e of this.#buckets[b]!) out.push({ t: e.t, k: e.k, o: e.o, r: e.r });
    return out;
  }

  // ------------------------------------------------------------------ transactions and rows

  transaction<T>(fn: () => T): T {
    this.#check();
    if (this.#undo) return fn();
    this.#undo = [];
    this.#dirty = new Set();
    try {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('a store transaction cannot be async');
      if (this.#dirty.size > 0) {
        this.#queue.push(this.#dirty);
        this.#kick();
      }
      return result;
    } catch (e) {
      const undo = this.#undo;
      for (let i = undo.length - 1; i >= 0; i--) this.#raw(...undo[i]!);
      throw e;
    } finally {
      this.#undo = null;
      this.#dirty = null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.flush().catch(() => {}).finally(() => {
      this.#db.close();
      // The data key is a non-extractable CryptoKey (dropped with this object); the index key is bytes.
      this.#keys.index.fill(0);
      this.#releaseLock?.();
      this.#resolveClosed();
    });
  }

  #check(): void {
    if (this.#closed) throw new StoreError('STORE_CLOSED', 'the local store is closed');
    if (this.#failure) throw this.#failure;
  }

  /** Sets or deletes a row in memory, its bucket and the indexes, recording nothing. */
  #raw(t: Table, k: string, e: Entry | undefined): void {
    const table = this.#t.get(t)!;
    const prev = table.get(k);
    if (t === 'message' || t === 'session') {
      // Both keys start with the conversation / account in hex.
      const g = k.slice(0, k.indexOf(':'));
      const index = (t === 'message' ? this.#byConversation : this.#byAccount) as Map<string, Map<string, Entry>>;
      let m = index.get(g);
      if (e) {
        if (!m) index.set(g, (m = new Map()));
        m.set(k, e);
      } else if (m) {
        m.delete(k);
        if (m.size === 0) index.delete(g);
      }
    }
    if (prev) this.#buckets[prev.b]!.delete(prev);
    if (e) {
      table.set(k, e);
      this.#buckets[e.b]!.add(e);
    } else {
      table.delete(k);
    }
  }

  #write(t: Table, k: string, r: unknown, keepOrder = true): void {
    const prev = this.#t.get(t)!.get(k);
    const e: Entry = { t, k, o: keepOrder && prev ? prev.o : this.#ord++, r, b: prev ? prev.b : this.#bucket(`${t}/${k}`) };
    this.#undo!.push([t, k, prev]);
    this.#raw(t, k, e);
    this.#dirty!.add(e.b);
  }

  #delete(t: Table, k: string): boolean {
    const prev = this.#t.get(t)!.get(k);
    if (!prev) return false;
    this.#undo!.push([t, k, prev]);
    this.#raw(t, k, undefined);
    this.#dirty!.add(prev.b);
    return true;
  }

  #get<R>(t: Table, k: string): R | undefined {
    this.#check();
    return this.#t.get(t)!.get(k)?.r as R | undefined;
  }

  #entries<R>(t: Table): Entry<R>[] {
    this.#check();
    return [...this.#t.get(t)!.values()] as Entry<R>[];
  }

  /** Runs a change inside a transaction (its own, unless one is open). */
  #tx<T>(fn: () => T): T {
    return this.transaction(fn);
  }

  #next(counter: string): number {
    const n = (this.#get<number>('counter', counter) ?? 0) + 1;
    this.#write('counter', counter, n);
    return n;
  }

  // ------------------------------------------------------------------ meta and pre-keys

  getMeta(key: string) {
    return copyOpt(this.#get<Uint8Array>('meta', key));
  }
  setMeta(key: string, value: Uint8Array | undefined) {
    this.#tx(() => (value === undefined ? this.#delete('meta', key) : this.#write('meta', key, copy(value))));
  }

  getPreKey(kind: PreKeyKind, id: number) {
    return copyOpt(this.#get<PreKeyRec>('prekey', `${kind}:${id}`)?.record);
  }
  putPreKey(kind: PreKeyKind, id: number, record: Uint8Array) {
    this.#tx(() => this.#write('prekey', `${kind}:${id}`, { kind, id, record: copy(record) }, false));
  }
  deletePreKey(kind: PreKeyKind, id: number) {
    this.#tx(() => this.#delete('prekey', `${kind}:${id}`));
  }
  countPreKeys(kind: PreKeyKind) {
    return this.#entries<PreKeyRec>('prekey').filter((e) => e.r.kind === kind).length;
  }
  latestPreKey(kind: PreKeyKind) {
    let best: Entry<PreKeyRec> | undefined;
    for (const e of this.#entries<PreKeyRec>('prekey')) if (e.r.kind === kind && (!best || e.o > best.o)) best = e;
    return best ? { id: best.r.id, record: copy(best.r.record) } : undefined;
  }

  // ------------------------------------------------------------------ sessions and contacts

  getSession(accountId: Uint8Array, deviceId: number) {
    return copyOpt(this.#get<SessionRec>('session', `${hex(accountId)}:${deviceId}`)?.record);
  }
  putSession(accountId: Uint8Array, deviceId: number, record: Uint8Array) {
    this.#tx(() => this.#write('session', `${hex(accountId)}:${deviceId}`, { accountId: copy(accountId), deviceId, record: copy(record) }, false));
  }
  deleteSession(accountId: Uint8Array, deviceId: number) {
    this.#tx(() => this.#delete('session', `${hex(accountId)}:${deviceId}`));
  }
  sessionDevices(accountId: Uint8Array) {
    this.#check();
    const m = this.#byAccount.get(hex(accountId));
    return m ? [...m.values()].map((e) => e.r.deviceId).sort((a, b) => a - b) : [];
  }

  getContact(accountId: Uint8Array) {
    return this.#get<ContactRow>('contact', hex(accountId));
  }
  putContact(c: ContactRow) {
    this.#tx(() => {
      if (c.alias !== undefined) {
        for (const e of this.#entries<ContactRow>('contact')) {
          if (e.r.alias === c.alias && !bytesEqual(e.r.accountId, c.accountId)) throw new Error('UNIQUE constraint failed: contacts.alias (another contact has this name)');
        }
      }
      this.#write('contact', hex(c.accountId), {
        accountId: copy(c.accountId), alias: c.alias, identityKey: copyOpt(c.identityKey), pendingIdentityKey: copyOpt(c.pendingIdentityKey),
        verified: c.verified, accessKey: copyOpt(c.accessKey), mutedUntil: c.mutedUntil,
      } satisfies ContactRow);
    });
  }
  listContacts() {
    // SQLite: ORDER BY alias (NULLs first), ties in rowid order.
    return this.#entries<ContactRow>('contact').sort((a, b) => {
      const x = a.r.alias, y = b.r.alias;
      if (x !== y) return x === undefined ? -1 : y === undefined ? 1 : x < y ? -1 : 1;
      return a.o - b.o;
    }).map((e) => e.r);
  }
  contactByAlias(alias: string) {
    return this.#entries<ContactRow>('contact').find((e) => e.r.alias === alias)?.r;
  }

  // ------------------------------------------------------------------ contacts' profiles
  getContactProfile(accountId: Uint8Array) {
    return this.#get<ContactProfileRow>('cprofile', hex(accountId));
  }
  putContactProfile(p: ContactProfileRow) {
    this.#tx(() => {
      this.#write('cprofile', hex(p.accountId), {
        accountId: copy(p.accountId), profileKey: copy(p.profileKey), name: p.name, avatar: copyOpt(p.avatar), avatarType: p.avatarType, fetchedAt: p.fetchedAt,
      } satisfies ContactProfileRow);
    });
  }
  listContactProfiles() {
    return this.#entries<ContactProfileRow>('cprofile').sort(byOrd).map((e) => e.r);
  }

  // ------------------------------------------------------------------ messages

  #messageKey = (conversation: Uint8Array, messageId: Uint8Array) => `${hex(conversation)}:${hex(messageId)}`;

  #updateMessage(conversation: Uint8Array, messageId: Uint8Array, change: (m: MessageRow) => MessageRow): void {
    this.#tx(() => {
      const k = this.#messageKey(conversation, messageId);
      const m = this.#get<MessageRow>('message', k);
      if (m) this.#write('message', k, change(m));
    });
  }

  insertMessage(m: MessageRow) {
    return this.#tx(() => {
      const k = this.#messageKey(m.conversation, m.messageId);
      if (this.#t.get('message')!.has(k)) return false;
      // As the SQLite store: the private marker and attachments are set by their own calls.
      this.#write('message', k, {
        messageId: copy(m.messageId), conversation: copy(m.conversation), author: copy(m.author), outgoing: m.outgoing, timestamp: m.timestamp,
        text: m.text, status: m.status, deleted: m.deleted, receivedAt: m.receivedAt, privateWith: undefined, attachments: undefined,
        // A group's membership change ("ana added carol") is kept with its row, as the SQLite store's group_change column does.
        ...(m.groupChange ? { groupChange: { ...m.groupChange, by: copy(m.groupChange.by), accounts: m.groupChange.accounts.map(copy), ...(m.groupChange.undoneBy ? { undoneBy: copy(m.groupChange.undoneBy) } : {}) } } : {}),
      } satisfies MessageRow);
      return true;
    });
  }
  getMessage(conversation: Uint8Array, messageId: Uint8Array) {
    return this.#get<MessageRow>('message', this.#messageKey(conversation, messageId));
  }
  setMessageStatus(conversation: Uint8Array, messageId: Uint8Array, status: MessageStatus) {
    this.#updateMessage(conversation, messageId, (m) => ({ ...m, status }));
  }
  markMessageDeleted(conversation: Uint8Array, messageId: Uint8Array) {
    this.#updateMessage(conversation, messageId, (m) => ({ ...m, deleted: true, text: '', attachments: undefined }));
  }
  setMessageAttachments(conversation: Uint8Array, messageId: Uint8Array, attachments: readonly Attachment[]) {
    this.#updateMessage(conversation, messageId, (m) => ({ ...m, attachments: attachments.length ? attachments.map((a) => ({ ...a })) : undefined }));
  }
  removeMessage(conversation: Uint8Array, messageId: Uint8Array) {
    this.#tx(() => this.#delete('message', this.#messageKey(conversation, messageId)));
  }
  listMessages(conversation: Uint8Array | undefined, limit: number) {
    this.#check();
    const all = conversation ? [...(this.#byConversation.get(hex(conversation))?.values() ?? [])] : this.#entries<MessageRow>('message');
    const field = conversation ? 'timestamp' : 'receivedAt';
    all.sort((a, b) => a.r[field] - b.r[field] || a.o - b.o);
    return (limit >= 0 ? all.slice(Math.max(0, all.length - limit)) : all).map((e) => e.r);
  }
  deleteHistory(conversation: Uint8Array, before: number) {
    return this.#tx(() => {
      let n = 0;
      for (const [k, e] of [...(this.#byConversation.get(hex(conversation)) ?? [])]) if (e.r.receivedAt <= before && this.#delete('message', k)) n++;
      return n;
    });
  }
  allMessages() {
    return this.#entries<MessageRow>('message').sort((a, b) => a.r.timestamp - b.r.timestamp || a.o - b.o).map((e) => e.r);
  }

  // ------------------------------------------------------------------ outbox

  enqueueOutbox(o: Omit<OutboxRow, 'seq' | 'attempts'>) {
    return this.#tx(() => {
      const seq = this.#next('outbox');
      this.#write('outbox', String(seq), {
        seq, recipient: copy(o.recipient), content: copy(o.content), syncContent: copyOpt(o.syncContent),
        messageId: copy(o.messageId), createdAt: o.createdAt, attempts: 0,
      } satisfies OutboxRow);
      return seq;
    });
  }
  listOutbox() {
    return this.#entries<OutboxRow>('outbox').map((e) => e.r).sort((a, b) => a.seq - b.seq);
  }
  removeOutbox(seq: number) {
    this.#tx(() => this.#delete('outbox', String(seq)));
  }
  bumpOutbox(seq: number) {
    this.#tx(() => {
      const o = this.#get<OutboxRow>('outbox', String(seq));
      if (o) this.#write('outbox', String(seq), { ...o, attempts: o.attempts + 1 });
    });
  }

  // ------------------------------------------------------------------ groups

  getGroup(groupId: Uint8Array) {
    return this.#get<GroupRow>('group', hex(groupId));
  }
  putGroup(g: GroupRow) {
    this.#tx(() => this.#write('group', hex(g.groupId), {
      groupId: copy(g.groupId), name: g.name, revision: g.revision, status: g.status, mutedUntil: g.mutedUntil, updatedAt: g.updatedAt,
    } satisfies GroupRow));
  }
  listGroups() {
    return this.#entries<GroupRow>('group').map((e) => e.r)
      .sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : hex(a.groupId) < hex(b.groupId) ? -1 : 1));
  }
  getGroupEntries(groupId: Uint8Array) {
    return (this.#get<Uint8Array[]>('gentries', hex(groupId)) ?? []).map(copy);
  }
  setGroupEntries(groupId: Uint8Array, entries: Uint8Array[]) {
    this.#tx(() => (entries.length ? this.#write('gentries', hex(groupId), entries.map(copy)) : this.#delete('gentries', hex(groupId))));
  }
  #pendingEntries(groupId?: string): [string, Entry<PendingEntryRec>][] {
    this.#check();
    return [...this.#t.get('gpending')!].filter(([k]) => groupId === undefined || k.startsWith(`${groupId}:`)) as [string, Entry<PendingEntryRec>][];
  }
  addPendingGroupEntries(groupId: Uint8Array, entries: Uint8Array[], now: number, max: number) {
    this.#tx(() => {
      const g = hex(groupId);
      for (const entry of entries) {
        if (this.#pendingEntries(g).some(([, e]) => bytesEqual(e.r.entry, entry))) continue;
        const o = this.#ord;
        this.#write('gpending', `${g}:${o}`, { groupId: copy(groupId), entry: copy(entry), receivedAt: now } satisfies PendingEntryRec, false);
      }
      const held = this.#pendingEntries(g).sort(([, a], [, b]) => b.o - a.o);
      for (const [k] of held.slice(Math.max(0, max))) this.#delete('gpending', k);
    });
  }
  prunePendingGroupEntries(maxGroups: number, expiredBefore: number) {
    return this.#tx(() => {
      let n = 0;
      for (const [k, e] of this.#pendingEntries()) if (e.r.receivedAt < expiredBefore && this.#delete('gpending', k)) n++;
      const latest = new Map<string, number>();
      for (const [k, e] of this.#pendingEntries()) {
        const g = k.slice(0, k.indexOf(':'));
        latest.set(g, Math.max(latest.get(g) ?? -1, e.o));
      }
      const keep = new Set([...latest].sort((a, b) => b[1] - a[1]).slice(0, Math.max(0, maxGroups)).map(([g]) => g));
      for (const [k] of this.#pendingEntries()) if (!keep.has(k.slice(0, k.indexOf(':'))) && this.#delete('gpending', k)) n++;
      return n;
    });
  }
  takePendingGroupEntries(groupId: Uint8Array) {
    return this.#tx(() => {
      const held = this.#pendingEntries(hex(groupId)).sort(([, a], [, b]) => a.o - b.o);
      for (const [k] of held) this.#delete('gpending', k);
      return held.map(([, e]) => e.r.entry);
    });
  }
  addOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array, change: string, now: number) {
    this.#tx(() => this.#write('gchange', `${hex(groupId)}:${hex(entryHash)}`, { groupId: copy(groupId), entryHash: copy(entryHash), change, createdAt: now } satisfies ChangeRec, false));
  }
  listOwnGroupChanges(groupId: Uint8Array) {
    const g = hex(groupId);
    return this.#entries<ChangeRec>('gchange').filter((e) => hex(e.r.groupId) === g)
      .sort((a, b) => a.r.createdAt - b.r.createdAt || a.o - b.o)
      .map((e) => ({ entryHash: e.r.entryHash, change: e.r.change, createdAt: e.r.createdAt }));
  }
  removeOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array) {
    this.#tx(() => this.#delete('gchange', `${hex(groupId)}:${hex(entryHash)}`));
  }

  // ------------------------------------------------------------------ own sender keys

  #ownKeys(groupId: Uint8Array): [string, Entry<OwnSenderKeyRow>][] {
    const g = `${hex(groupId)}:`;
    this.#check();
    return [...this.#t.get('ownsk')!].filter(([k]) => k.startsWith(g)) as [string, Entry<OwnSenderKeyRow>][];
  }
  getOwnSenderKey(groupId: Uint8Array): OwnSenderKeyRow | undefined {
    return this.#ownKeys(groupId).find(([, e]) => e.r.current)?.[1].r;
  }
  ownSenderKeyByDistribution(distributionId: Uint8Array): OwnSenderKeyRow | undefined {
    const d = hex(distributionId);
    return this.#entries<OwnSenderKeyRow>('ownsk').sort(byOrd).find((e) => hex(e.r.distributionId) === d)?.r;
  }
  putOwnSenderKey(k: OwnSenderKeyRow, keep: number) {
    this.#tx(() => {
      for (const [key, e] of this.#ownKeys(k.groupId)) this.#write('ownsk', key, { ...e.r, current: false, record: undefined });
      this.#write('ownsk', `${hex(k.groupId)}:${hex(k.distributionId)}`, {
        groupId: copy(k.groupId), distributionId: copy(k.distributionId), record: copyOpt(k.record), distribution: copy(k.distribution),
        members: k.members.map(copy), createdAt: k.createdAt, current: k.current,
      } satisfies OwnSenderKeyRow, false);
      const all = this.#ownKeys(k.groupId).sort(([, a], [, b]) => b.r.createdAt - a.r.createdAt || b.o - a.o);
      for (const [key] of all.slice(Math.max(0, keep))) this.#delete('ownsk', key);
    });
  }
  updateOwnSenderKeyRecord(groupId: Uint8Array, distributionId: Uint8Array, record: Uint8Array) {
    this.#tx(() => {
      const key = `${hex(groupId)}:${hex(distributionId)}`;
      const e = this.#get<OwnSenderKeyRow>('ownsk', key);
      if (e?.current) this.#write('ownsk', key, { ...e, record: copy(record) });
    });
  }
  retireOwnSenderKey(groupId: Uint8Array) {
    this.#tx(() => {
      for (const [key, e] of this.#ownKeys(groupId)) this.#write('ownsk', key, { ...e.r, current: false, record: undefined });
    });
  }
  forgetEndedOwnSenderKeys(groupId: Uint8Array, endedBefore: number) {
    this.#tx(() => {
      const all = this.#ownKeys(groupId);
      const doomed = all.filter(([, e]) => !e.r.current && all.some(([, n]) => n.r.createdAt > e.r.createdAt && n.r.createdAt < endedBefore));
      for (const [key] of doomed) this.#delete('ownsk', key);
    });
  }
  deleteOwnSenderKeys(groupId: Uint8Array) {
    this.#tx(() => { for (const [key] of this.#ownKeys(groupId)) this.#delete('ownsk', key); });
  }

  // ------------------------------------------------------------------ received sender keys

  #senderKeys(): [string, Entry<SenderKeyRow>][] {
    this.#check();
    return [...this.#t.get('sk')!] as [string, Entry<SenderKeyRow>][];
  }
  #unheld(e: Entry<SenderKeyRow>): boolean {
    return !this.#t.get('group')!.has(hex(e.r.groupId));
  }
  getSenderKey(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): SenderKeyRow | undefined {
    return this.#get<SenderKeyRow>('sk', `${hex(accountId)}:${deviceId}:${hex(distributionId)}`);
  }
  putSenderKey(k: SenderKeyRow) {
    this.#tx(() => {
      const key = `${hex(k.accountId)}:${k.deviceId}:${hex(k.distributionId)}`;
      const prev = this.#get<SenderKeyRow>('sk', key);
      this.#write('sk', key, {
        groupId: copy(k.groupId), accountId: copy(k.accountId), deviceId: k.deviceId, distributionId: copy(k.distributionId), record: copy(k.record),
        receivedAt: prev ? prev.receivedAt ?? 0 : k.receivedAt ?? 0,
      } satisfies SenderKeyRow);
    });
  }
  pruneSenderKeys(groupId: Uint8Array, accountId: Uint8Array, deviceId: number, keep: number, supersededBefore: number) {
    return this.#tx(() => {
      const g = hex(groupId), a = hex(accountId);
      const rows = this.#senderKeys().filter(([, e]) => hex(e.r.groupId) === g && hex(e.r.accountId) === a && e.r.deviceId === deviceId)
        .sort(([, x], [, y]) => y.o - x.o);
      const kept = new Set(rows.slice(0, Math.max(0, keep)).map(([k]) => k));
      const doomed = rows.filter(([k, e]) => !kept.has(k) || rows.some(([, n]) => n.o > e.o && (n.r.receivedAt ?? 0) < supersededBefore));
      for (const [k] of doomed) this.#delete('sk', k);
      return doomed.length;
    });
  }
  pruneUnheldSenderKeys(accountId: Uint8Array, deviceId: number, keep: number) {
    return this.#tx(() => {
      const a = hex(accountId);
      const rows = this.#senderKeys().filter(([, e]) => hex(e.r.accountId) === a && e.r.deviceId === deviceId && this.#unheld(e)).sort(([, x], [, y]) => y.o - x.o);
      const doomed = rows.slice(Math.max(0, keep));
      for (const [k] of doomed) this.#delete('sk', k);
      return doomed.length;
    });
  }
  pruneAllUnheldSenderKeys(maxGroups: number, maxKeys: number, expiredBefore: number) {
    return this.#tx(() => {
      let n = 0;
      for (const [k, e] of this.#senderKeys()) if (this.#unheld(e) && (e.r.receivedAt ?? 0) < expiredBefore && this.#delete('sk', k)) n++;
      const latest = new Map<string, number>();
      for (const [, e] of this.#senderKeys()) if (this.#unheld(e)) latest.set(hex(e.r.groupId), Math.max(latest.get(hex(e.r.groupId)) ?? -1, e.o));
      const keepGroups = new Set([...latest].sort((a, b) => b[1] - a[1]).slice(0, Math.max(0, maxGroups)).map(([g]) => g));
      for (const [k, e] of this.#senderKeys()) if (this.#unheld(e) && !keepGroups.has(hex(e.r.groupId)) && this.#delete('sk', k)) n++;
      const rest = this.#senderKeys().filter(([, e]) => this.#unheld(e)).sort(([, x], [, y]) => y.o - x.o);
      for (const [k] of rest.slice(Math.max(0, maxKeys))) if (this.#delete('sk', k)) n++;
      return n;
    });
  }
  listSenderKeys(groupId: Uint8Array): SenderKeyRow[] {
    const g = hex(groupId);
    return this.#senderKeys().map(([, e]) => e).filter((e) => hex(e.r.groupId) === g)
      .sort((x, y) => { const a = hex(x.r.accountId), b = hex(y.r.accountId); return a !== b ? (a < b ? -1 : 1) : x.r.deviceId - y.r.deviceId || x.o - y.o; })
      .map((e) => e.r);
  }
  deleteSenderKeys(groupId: Uint8Array, accountId?: Uint8Array) {
    return this.#tx(() => {
      const g = hex(groupId), a = accountId && hex(accountId);
      let n = 0;
      for (const [k, e] of this.#senderKeys()) if (hex(e.r.groupId) === g && (a === undefined || hex(e.r.accountId) === a) && this.#delete('sk', k)) n++;
      return n;
    });
  }

  // ------------------------------------------------------------------ messages waiting for a sender key

  #pendingMessages(): Entry<PendingGroupMessageRow>[] {
    return this.#entries<PendingGroupMessageRow>('gpmsg').sort((a, b) => a.r.seq - b.r.seq);
  }
  addPendingGroupMessage(p: Omit<PendingGroupMessageRow, 'seq'>, maxPerSender: number, expiredBefore: number) {
    return this.#tx(() => {
      const seq = this.#next('gpmsg');
      this.#write('gpmsg', String(seq), {
        seq, accountId: copy(p.accountId), deviceId: p.deviceId, identityKey: copy(p.identityKey), distributionId: copy(p.distributionId),
        groupId: copy(p.groupId), message: copy(p.message), serverTimestamp: p.serverTimestamp, receivedAt: p.receivedAt, requestedAt: p.requestedAt,
      } satisfies PendingGroupMessageRow);
      let n = 0;
      for (const e of this.#pendingMessages()) if (e.r.receivedAt < expiredBefore && this.#delete('gpmsg', String(e.r.seq))) n++;
      const a = hex(p.accountId);
      const mine = this.#pendingMessages().filter((e) => hex(e.r.accountId) === a).reverse();
      for (const e of mine.slice(Math.max(0, maxPerSender))) if (this.#delete('gpmsg', String(e.r.seq))) n++;
      return n;
    });
  }
  pendingGroupMessages(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): PendingGroupMessageRow[] {
    const a = hex(accountId), d = hex(distributionId);
    return this.#pendingMessages().filter((e) => hex(e.r.accountId) === a && e.r.deviceId === deviceId && hex(e.r.distributionId) === d).map((e) => e.r);
  }
  removePendingGroupMessage(seq: number) {
    this.#tx(() => this.#delete('gpmsg', String(seq)));
  }
  markPendingGroupMessagesRequested(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, at: number) {
    this.#tx(() => {
      for (const r of this.pendingGroupMessages(accountId, deviceId, distributionId)) this.#write('gpmsg', String(r.seq), { ...r, requestedAt: at });
    });
  }
  countPendingGroupMessages() {
    this.#check();
    return this.#t.get('gpmsg')!.size;
  }

  setMessagePrivateWith(conversation: Uint8Array, messageId: Uint8Array, accountId: Uint8Array) {
    this.#updateMessage(conversation, messageId, (m) => ({ ...m, privateWith: copy(accountId) }));
  }
  putGroupReceipt(groupId: Uint8Array, messageId: Uint8Array, accountId: Uint8Array, status: MessageStatus) {
    this.#tx(() => this.#write('greceipt', `${hex(groupId)}:${hex(messageId)}:${hex(accountId)}`,
      { groupId: copy(groupId), messageId: copy(messageId), accountId: copy(accountId), status } satisfies ReceiptRec));
  }
  listGroupReceipts(groupId: Uint8Array, messageId: Uint8Array) {
    const prefix = `${hex(groupId)}:${hex(messageId)}:`;
    this.#check();
    return [...this.#t.get('greceipt')!].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, e]) => ({ accountId: (e.r as ReceiptRec).accountId, status: (e.r as ReceiptRec).status }));
  }
}

// ------------------------------------------------------------------ opening, locking, persistence

type StoredRow = { t: Table; k: string; o: number; r: unknown };

function decodeBucket(plaintext: Uint8Array): StoredRow[] {
  let rows: StoredRow[];
  try {
    rows = decodeValue(plaintext) as StoredRow[];
  } catch (e) {
    throw new StoreError('STORE_CORRUPT', 'a record of the local store cannot be read; the store was not opened', { cause: e });
  }
  if (!Array.isArray(rows)) throw new StoreError('STORE_CORRUPT', 'a record of the local store has an unknown shape; the store was not opened');
  for (const v of rows) {
    if (typeof v !== 'object' || v === null || !(TABLES as readonly unknown[]).includes(v.t) || typeof v.k !== 'string' || typeof v.o !== 'number') {
      throw new StoreError('STORE_CORRUPT', 'a record of the local store has an unknown shape; the store was not opened');
    }
  }
  return rows;
}

function openDatabase(idb: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = idb.open(name, DB_VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      if (!db.objectStoreNames.contains(RECORDS)) db.createObjectStore(RECORDS, { keyPath: 'k' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new StoreError('UNSUPPORTED', 'the browser refused to open IndexedDB (a private window, or storage disabled for this site)', { cause: r.error }));
    r.onblocked = () => reject(new StoreError('STORE_IN_USE', 'the local store is being upgraded in another tab; close the other Sigilo tabs'));
  });
}

/**
 * An exclusive Web Lock named after the store, held until close(): a second tab
 * (or worker) of the same profile opening the same store gets STORE_IN_USE
 * at once instead of two engines driving one store.
 */
async function takeLock(name: string): Promise<(() => void) | undefined> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return undefined;
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const granted = await new Promise<boolean>((resolve, reject) => {
    locks.request(`sigilo-store-${name}`, { mode: 'exclusive', ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? held : undefined;
    }).catch(reject);
  });
  if (!granted) throw new StoreError('STORE_IN_USE', 'this account is open in another tab or window of this browser; use that one, or close it and reload');
  return release;
}

async function requestPersistence(): Promise<boolean | undefined> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.persist) return undefined;
  try {
    return (await storage.persisted?.()) || (await storage.persist());
  } catch {
    return undefined;
  }
}

/** Deletes a store and its marker (the user chose "forget this device" or "start over"). */
export async function deleteStore(name = 'default', marker: EvictionMarker | null | undefined = undefined): Promise<void> {
  (marker === undefined ? localStorageMarker(name) : marker)?.remove();
  await new Promise<void>((resolve, reject) => {
    const r = indexedDB.deleteDatabase(dbName(name));
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
  });
}

export { dbName as storeDatabaseName };
