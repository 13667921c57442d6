/**
 * Sender keys in the browser store: this device's own per group, and those
 * received from other members (groups.md).
 */
import type { ClientStore } from '@sigilo/client';

type OwnSenderKeyRow = Parameters<ClientStore['putOwnSenderKey']>[0];
type SenderKeyRow = Parameters<ClientStore['putSenderKey']>[0];
import { GroupTables } from './group-tables.js';
import { byOrd, copy, copyOpt, hex, type Entry } from './rows.js';

export abstract class SenderKeyTables extends GroupTables {
  // ------------------------------------------------------------------ own sender keys

  protected _ownKeys(groupId: Uint8Array): [string, Entry<OwnSenderKeyRow>][] {
    const g = `${hex(groupId)}:`;
    this._check();
    return [...this._t.get('ownsk')!].filter(([k]) => k.startsWith(g)) as [string, Entry<OwnSenderKeyRow>][];
  }
  getOwnSenderKey(groupId: Uint8Array): OwnSenderKeyRow | undefined {
    return this._ownKeys(groupId).find(([, e]) => e.r.current)?.[1].r;
  }
  ownSenderKeyByDistribution(distributionId: Uint8Array): OwnSenderKeyRow | undefined {
    const d = hex(distributionId);
    return this._entries<OwnSenderKeyRow>('ownsk').sort(byOrd).find((e) => hex(e.r.distributionId) === d)?.r;
  }
  putOwnSenderKey(k: OwnSenderKeyRow, keep: number) {
    this._tx(() => {
      for (const [key, e] of this._ownKeys(k.groupId)) this._write('ownsk', key, { ...e.r, current: false, record: undefined });
      this._write('ownsk', `${hex(k.groupId)}:${hex(k.distributionId)}`, {
        groupId: copy(k.groupId), distributionId: copy(k.distributionId), record: copyOpt(k.record), distribution: copy(k.distribution),
        members: k.members.map(copy), createdAt: k.createdAt, current: k.current,
      } satisfies OwnSenderKeyRow, false);
      const all = this._ownKeys(k.groupId).sort(([, a], [, b]) => b.r.createdAt - a.r.createdAt || b.o - a.o);
      for (const [key] of all.slice(Math.max(0, keep))) this._delete('ownsk', key);
    });
  }
  updateOwnSenderKeyRecord(groupId: Uint8Array, distributionId: Uint8Array, record: Uint8Array) {
    this._tx(() => {
      const key = `${hex(groupId)}:${hex(distributionId)}`;
      const e = this._get<OwnSenderKeyRow>('ownsk', key);
      if (e?.current) this._write('ownsk', key, { ...e, record: copy(record) });
    });
  }
  retireOwnSenderKey(groupId: Uint8Array) {
    this._tx(() => {
      for (const [key, e] of this._ownKeys(groupId)) this._write('ownsk', key, { ...e.r, current: false, record: undefined });
    });
  }
  forgetEndedOwnSenderKeys(groupId: Uint8Array, endedBefore: number) {
    this._tx(() => {
      const all = this._ownKeys(groupId);
      const doomed = all.filter(([, e]) => !e.r.current && all.some(([, n]) => n.r.createdAt > e.r.createdAt && n.r.createdAt < endedBefore));
      for (const [key] of doomed) this._delete('ownsk', key);
    });
  }
  deleteOwnSenderKeys(groupId: Uint8Array) {
    this._tx(() => { for (const [key] of this._ownKeys(groupId)) this._delete('ownsk', key); });
  }

  // ------------------------------------------------------------------ received sender keys

  protected _senderKeys(): [string, Entry<SenderKeyRow>][] {
    this._check();
    return [...this._t.get('sk')!] as [string, Entry<SenderKeyRow>][];
  }
  protected _unheld(e: Entry<SenderKeyRow>): boolean {
    return !this._t.get('group')!.has(hex(e.r.groupId));
  }
  getSenderKey(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): SenderKeyRow | undefined {
    return this._get<SenderKeyRow>('sk', `${hex(accountId)}:${deviceId}:${hex(distributionId)}`);
  }
  putSenderKey(k: SenderKeyRow) {
    this._tx(() => {
      const key = `${hex(k.accountId)}:${k.deviceId}:${hex(k.distributionId)}`;
      const prev = this._get<SenderKeyRow>('sk', key);
      this._write('sk', key, {
        groupId: copy(k.groupId), accountId: copy(k.accountId), deviceId: k.deviceId, distributionId: copy(k.distributionId), record: copy(k.record),
        receivedAt: prev ? prev.receivedAt ?? 0 : k.receivedAt ?? 0,
      } satisfies SenderKeyRow);
    });
  }
  pruneSenderKeys(groupId: Uint8Array, accountId: Uint8Array, deviceId: number, keep: number, supersededBefore: number) {
    return this._tx(() => {
      const g = hex(groupId), a = hex(accountId);
      const rows = this._senderKeys().filter(([, e]) => hex(e.r.groupId) === g && hex(e.r.accountId) === a && e.r.deviceId === deviceId)
        .sort(([, x], [, y]) => y.o - x.o);
      const kept = new Set(rows.slice(0, Math.max(0, keep)).map(([k]) => k));
      const doomed = rows.filter(([k, e]) => !kept.has(k) || rows.some(([, n]) => n.o > e.o && (n.r.receivedAt ?? 0) < supersededBefore));
      for (const [k] of doomed) this._delete('sk', k);
      return doomed.length;
    });
  }
  pruneUnheldSenderKeys(accountId: Uint8Array, deviceId: number, keep: number) {
    return this._tx(() => {
      const a = hex(accountId);
      const rows = this._senderKeys().filter(([, e]) => hex(e.r.accountId) === a && e.r.deviceId === deviceId && this._unheld(e)).sort(([, x], [, y]) => y.o - x.o);
      const doomed = rows.slice(Math.max(0, keep));
      for (const [k] of doomed) this._delete('sk', k);
      return doomed.length;
    });
  }
  pruneAllUnheldSenderKeys(maxGroups: number, maxKeys: number, expiredBefore: number) {
    return this._tx(() => {
      let n = 0;
      for (const [k, e] of this._senderKeys()) if (this._unheld(e) && (e.r.receivedAt ?? 0) < expiredBefore && this._delete('sk', k)) n++;
      const latest = new Map<string, number>();
      for (const [, e] of this._senderKeys()) if (this._unheld(e)) latest.set(hex(e.r.groupId), Math.max(latest.get(hex(e.r.groupId)) ?? -1, e.o));
      const keepGroups = new Set([...latest].sort((a, b) => b[1] - a[1]).slice(0, Math.max(0, maxGroups)).map(([g]) => g));
      for (const [k, e] of this._senderKeys()) if (this._unheld(e) && !keepGroups.has(hex(e.r.groupId)) && this._delete('sk', k)) n++;
      const rest = this._senderKeys().filter(([, e]) => this._unheld(e)).sort(([, x], [, y]) => y.o - x.o);
      for (const [k] of rest.slice(Math.max(0, maxKeys))) if (this._delete('sk', k)) n++;
      return n;
    });
  }
  listSenderKeys(groupId: Uint8Array): SenderKeyRow[] {
    const g = hex(groupId);
    return this._senderKeys().map(([, e]) => e).filter((e) => hex(e.r.groupId) === g)
      .sort((x, y) => { const a = hex(x.r.accountId), b = hex(y.r.accountId); return a !== b ? (a < b ? -1 : 1) : x.r.deviceId - y.r.deviceId || x.o - y.o; })
      .map((e) => e.r);
  }
  deleteSenderKeys(groupId: Uint8Array, accountId?: Uint8Array) {
    return this._tx(() => {
      const g = hex(groupId), a = accountId && hex(accountId);
      let n = 0;
      for (const [k, e] of this._senderKeys()) if (hex(e.r.groupId) === g && (a === undefined || hex(e.r.accountId) === a) && this._delete('sk', k)) n++;
      return n;
    });
  }
}
