/**
 * The browser store's keys (client.md §7.1): a random 256-bit AES-GCM data
 * key and a random 256-bit HMAC-SHA256 index key, each wrapped with AES-KW by
 * a key-encryption key derived from the passphrase with scrypt. While the
 * store is unlocked both live only as non-extractable CryptoKeys; the scrypt
 * output is imported as a non-extractable AES-KW key and its bytes are zeroed.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { StoreError } from './errors.js';

export interface KdfParams {
  readonly name: 'scrypt';
  /** log2 of scrypt's N. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

/**
 * scrypt N = 2^16, r = 8, p = 1 (64 MiB): 0.34–1.2 s in Chromium on the
 * loaded 2-core test machine (the browser tests print it).
 * The parameters are kept in the store's header, so raising them later keeps
 * older stores opening.
 */
export const DEFAULT_KDF: KdfParams = { name: 'scrypt', logN: 16, r: 8, p: 1 };

/** The smallest parameters a header may name (a tampered header must not make guessing cheap without notice). */
const MIN_LOG_N = 10;
const MAX_LOG_N = 22;

export interface StoreKeys {
  /** AES-256-GCM, non-extractable. */
  readonly data: CryptoKey;
  /**
   * HMAC-SHA256 key for bucket numbers, held as bytes so that a row's bucket
   * is known synchronously (the port is synchronous). It protects only which
   * bucket a row falls in, never content.
   */
  readonly index: Uint8Array;
}

/** WebCrypto takes ArrayBuffer-backed views; every view here is one. */
const ab = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

const subtle = () => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new StoreError('UNSUPPORTED', 'this browser has no WebCrypto (a page served over plain http?): open Sigilo over https');
  return s;
};

export function checkKdf(k: KdfParams): void {
  if (k.name !== 'scrypt' || !Number.isInteger(k.logN) || k.logN < MIN_LOG_N || k.logN > MAX_LOG_N
    || !Number.isInteger(k.r) || k.r < 1 || k.r > 32 || !Number.isInteger(k.p) || k.p < 1 || k.p > 16) {
    throw new StoreError('STORE_CORRUPT', 'the store header names key-derivation parameters this version does not accept');
  }
}

/** The key-encryption key: scrypt(passphrase NFKC, salt) as a non-extractable AES-KW key. */
export async function deriveKek(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<CryptoKey> {
  if (passphrase.length === 0) throw new StoreError('BAD_PASSPHRASE', 'the passphrase is empty; choose one');
  checkKdf(kdf);
  const raw = await scryptAsync(new TextEncoder().encode(passphrase.normalize('NFKC')), salt, {
    N: 2 ** kdf.logN, r: kdf.r, p: kdf.p, dkLen: 32, maxmem: 2 ** kdf.logN * kdf.r * 128 + 1024 * 1024 * 8,
  });
  try {
    return await subtle().importKey('raw', ab(raw), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
  } finally {
    raw.fill(0);
  }
}

/** New random keys, wrapped by `kek` (AES-KW: 40 bytes each). Returns the wrapped bytes; unwrap them to use the keys. */
export async function newWrappedKeys(kek: CryptoKey): Promise<{ data: Uint8Array; index: Uint8Array }> {
  const s = subtle();
  const data = await s.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const index = await s.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
  return {
    data: new Uint8Array(await s.wrapKey('raw', data, kek, 'AES-KW')),
    index: new Uint8Array(await s.wrapKey('raw', index, kek, 'AES-KW')),
  };
}

/** Unwraps both keys as non-extractable CryptoKeys; AES-KW's integrity check fails on a wrong passphrase. */
export async function unwrapKeys(kek: CryptoKey, wrapped: { data: Uint8Array; index: Uint8Array }): Promise<StoreKeys> {
  const s = subtle();
  try {
    const data = await s.unwrapKey('raw', ab(wrapped.data), kek, 'AES-KW', { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const indexKey = await s.unwrapKey('raw', ab(wrapped.index), kek, 'AES-KW', { name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
    return { data, index: new Uint8Array(await s.exportKey('raw', indexKey)) };
  } catch (e) {
    throw new StoreError('BAD_PASSPHRASE', 'cannot open the local store: wrong passphrase', { cause: e });
  }
}

const utf8 = new TextEncoder();
/** The label of a record's associated data: per format, so a record of one format never opens as one of another. */
const RECORD_AD: Record<number, Uint8Array> = { 1: utf8.encode('sigilo-web-store-record-v1'), 2: utf8.encode('sigilo-web-store-record-v2') };
/** The record format sealRecord writes (the store's FORMAT). */
const RECORD_FORMAT = 2;
const IV_BYTES = 12;

/**
 * Rows are kept in BUCKETS encrypted records; a row's bucket is the first
 * byte of HMAC-SHA256(index key, logical key) mod BUCKETS: pseudorandom, so
 * which bucket changes says nothing about which contact or conversation did.
 * Format 2: 32 buckets (Chromium reads a few large IndexedDB values many
 * times faster than many mid-sized ones: 256 records of 14 KB took 40–130 ms
 * to read, 32 of 110 KB 7–15 ms). Format 1 had 256; as 32 divides 256, a
 * row's format-2 bucket is its format-1 bucket mod 32 (the migration).
 */
export const BUCKETS = 32;
/** Buckets of a format-1 store (read once, then migrated). */
export const FORMAT1_BUCKETS = 256;

/** HMAC-SHA256 keyed with the index key, its key schedule done once per store (each row key then costs two hash blocks less). */
const keyed = new WeakMap<Uint8Array, ReturnType<typeof hmac.create>>();

export function bucketOf(keys: StoreKeys, logical: string): number {
  let base = keyed.get(keys.index);
  if (!base) keyed.set(keys.index, (base = hmac.create(sha256, keys.index)));
  return base.clone().update(utf8.encode(logical)).digest()[0]! % BUCKETS;
}

/** Zeroes the index key and the keyed HMAC state made from it (the store is closing). */
export function forgetIndexKey(keys: StoreKeys): void {
  keyed.get(keys.index)?.destroy();
  keyed.delete(keys.index);
  keys.index.fill(0);
}

function associatedData(bucket: number, format: number): Uint8Array {
  const label = RECORD_AD[format];
  if (!label) throw new StoreError('STORE_VERSION', `records of store format ${format} are not known to this version`);
  const ad = new Uint8Array(label.length + 4);
  ad.set(label);
  new DataView(ad.buffer).setUint32(label.length, bucket);
  return ad;
}

/** iv (12 random bytes) ‖ AES-256-GCM(data key, iv, plaintext, ad = label ‖ uint32be bucket); the current format unless told (tests build older stores). */
export async function sealRecord(keys: StoreKeys, key: number, plaintext: Uint8Array, format = RECORD_FORMAT): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: ab(associatedData(key, format)) }, keys.data, ab(plaintext)));
  const out = new Uint8Array(IV_BYTES + ct.length);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return out;
}

/** The plaintext of a sealed record, or STORE_CORRUPT (tampered, damaged, or moved to another key). */
export async function openRecord(keys: StoreKeys, key: number, sealed: Uint8Array, format = RECORD_FORMAT): Promise<Uint8Array> {
  if (sealed.length < IV_BYTES + 16) throw new StoreError('STORE_CORRUPT', 'a record of the local store is damaged (too short); the store was not opened');
  const additionalData = ab(associatedData(key, format));
  try {
    return new Uint8Array(await subtle().decrypt(
      { name: 'AES-GCM', iv: ab(sealed.subarray(0, IV_BYTES)), additionalData }, keys.data, ab(sealed.subarray(IV_BYTES))));
  } catch (e) {
    throw new StoreError('STORE_CORRUPT', 'a record of the local store failed to decrypt (tampered or damaged); the store was not opened', { cause: e });
  }
}
