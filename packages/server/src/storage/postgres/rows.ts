/** Conversions between PostgreSQL rows and the storage port's records, and how the per-concern modules reach the pool (storage/postgres.ts). */
import type { AccountRecord, DeviceRecord } from '../port.js';

export type Row = Record<string, unknown>;
export const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
export const optBytes = (v: unknown) => (v == null ? undefined : bytes(v));
export const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
export const num = (v: unknown) => Number(v);

export function toAccount(r: Row): AccountRecord {
  return { accountId: bytes(r.account_id), identityKey: bytes(r.identity_key), accessKeyHash: optBytes(r.access_key_hash), unrestricted: r.unrestricted === true, createdDay: num(r.created_day) };
}
export function toDevice(r: Row): DeviceRecord {
  return {
    accountId: bytes(r.account_id), deviceId: num(r.device_id), deviceKey: bytes(r.device_key), createdDay: num(r.created_day), lastSeenDay: r.last_seen_day == null ? undefined : num(r.last_seen_day),
    ...(r.keyed === undefined ? {} : { keyless: r.keyed !== true }),
  };
}

export type Q = (sql: string, params?: unknown[]) => Promise<Row[]>;

/** The adapter's pool as the per-concern modules use it: a query, a transaction, a table name in the schema. */
export interface Pg {
  q(sql: string, params?: unknown[]): Promise<Row[]>;
  tx<T>(fn: (q: Q) => Promise<T>): Promise<T>;
  t(name: string): string;
}

/** Whether device row `d` has published a signed prekey (port.ts DeviceRecord.keyless). */
export function keyedSql(pg: Pg): string {
  return `EXISTS (SELECT 1 FROM ${pg.t('signed_prekeys')} p WHERE p.account_id = d.account_id AND p.device_id = d.device_id)`;
}
