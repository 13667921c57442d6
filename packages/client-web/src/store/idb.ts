/**
 * IndexedDB plumbing of the browser store (client.md §7.1): the database and
 * its two object stores, request helpers, the Web Lock that keeps a second tab
 * out, persistence, the eviction marker and deleting a store.
 */
import { StoreError } from '../errors.js';

/** Format of the header and records; a newer one is refused (STORE_VERSION), an older one migrated at open. */
export const FORMAT = 2;
const DB_VERSION = 1;
export const META = 'meta';
export const RECORDS = 'records';
export const HEADER_KEY = 'header';

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

export function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export const dbName = (name: string) => `sigilo-${name}`;

export function openDatabase(idb: IDBFactory, name: string): Promise<IDBDatabase> {
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
export async function takeLock(name: string): Promise<(() => void) | undefined> {
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

export async function requestPersistence(): Promise<boolean | undefined> {
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

