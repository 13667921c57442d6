/**
 * Bundled for Chromium by privacy.test.ts and run on the app's origin: decrypts every record of the app's IndexedDB
 * store with the person's passphrase (as the store itself does at unlock, store.ts) and returns the plaintext of all
 * of them, base64, so that a test searches what the store really keeps, not only its ciphertext. IndexedDB reads
 * need no Web Lock: it runs beside the open app.
 */
import { deriveKek, openRecord, unwrapKeys, type KdfParams } from '../../../client-web/src/store-keys.js';
import { HEADER_KEY, META, RECORDS, dbName } from '../../../client-web/src/store/idb.js';

const request = <T>(r: IDBRequest<T>) => new Promise<T>((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });

(globalThis as unknown as { sigiloStorePlaintext: unknown }).sigiloStorePlaintext = async (passphrase: string): Promise<string> => {
  const db = await new Promise<IDBDatabase>((res, rej) => { const r = indexedDB.open(dbName('sigilo')); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  try {
    const header = await request(db.transaction(META, 'readonly').objectStore(META).get(HEADER_KEY)) as { salt: Uint8Array; kdf: KdfParams; wrappedData: Uint8Array; wrappedIndex: Uint8Array };
    const keys = await unwrapKeys(await deriveKek(passphrase, header.salt, header.kdf), { data: header.wrappedData, index: header.wrappedIndex });
    const raw = await request(db.transaction(RECORDS, 'readonly').objectStore(RECORDS).getAll()) as { k: number; v: ArrayBuffer }[];
    let s = '';
    for (const rec of raw) {
      const p = await openRecord(keys, rec.k, new Uint8Array(rec.v));
      for (let i = 0; i < p.length; i += 0x8000) s += String.fromCharCode(...p.subarray(i, i + 0x8000));
    }
    return btoa(s);
  } finally {
    db.close();
  }
};
