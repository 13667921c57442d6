/** Conversions between SQLite rows and the storage port's records (storage/sqlite.ts). */
import type { AccountRecord, DeviceRecord } from '../port.js';
import { excusedKeyless } from '../port.js';

export type Row = Record<string, unknown>;

export const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
export const optBytes = (v: unknown): Uint8Array | undefined => (v == null ? undefined : bytes(v));
export const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function toAccount(r: Row): AccountRecord {
  return {
    accountId: bytes(r.account_id),
    identityKey: bytes(r.identity_key),
    accessKeyHash: optBytes(r.access_key_hash),
    unrestricted: r.unrestricted === 1,
    createdDay: r.created_day as number,
  };
}

export function toDevice(r: Row): DeviceRecord {
  return {
    accountId: bytes(r.account_id),
    deviceId: r.device_id as number,
    deviceKey: bytes(r.device_key),
    createdDay: r.created_day as number,
    lastSeenDay: (r.last_seen_day as number | null) ?? undefined,
    ...(r.keyed === undefined ? {} : { keyless: r.keyed === 0 }),
  };
}

/** Hex JSON array of ids, for one batched lookup through json_each + unhex. */
export const idList = (ids: readonly Uint8Array[]): string => JSON.stringify(ids.map((id) => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')));

/** Device ids, and those without keys, from listDeviceKeys rows. */
export function deviceKeys(rows: readonly [number, number][]): { all: number[]; keyless: number[] } {
  const all: number[] = [];
  const keyless: number[] = [];
  for (const [id, keyed] of rows) {
    all.push(id);
    if (!keyed) keyless.push(id);
  }
  return { all, keyless: excusedKeyless(all, keyless) };
}
