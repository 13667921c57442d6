/** @sigilo/client-web: the browser adapters of the Sigilo client SDK (client.md §7.1, §10). */
export { IndexedDbStore, deleteStore, localStorageMarker, storeDatabaseName, type EvictionMarker, type OpenOptions, type OpenReport } from './store.js';
export { DEFAULT_KDF, type KdfParams } from './store-keys.js';
export { StoreError, type StoreErrorCode } from './errors.js';
