/**
 * The group tables of the browser store: groups and their logs, entries held
 * for later, own changes, messages waiting for a sender key and group receipts.
 */
import type { ClientStore, GroupRow, MessageStatus } from '@sigilo/client';

type PendingGroupMessageRow = ReturnType<ClientStore['pendingGroupMessages']>[number];
import { AccountTables } from './account-tables.js';
import { bytesEqual, copy, hex, type ChangeRec, type Entry, type PendingEntryRec, type ReceiptRec } from './rows.js';

export abstract class GroupTables extends AccountTables {
  // ------------------------------------------------------------------ groups

  getGroup(groupId: Uint8Array) {
    return this._get<GroupRow>('group', hex(groupId));
  }
  putGroup(g: GroupRow) {
    this._tx(() => this._write('group', hex(g.groupId), {
      groupId: copy(g.groupId), name: g.name, revision: g.revision, status: g.status, mutedUntil: g.mutedUntil, updatedAt: g.updatedAt,
    } satisfies GroupRow));
  }
  listGroups() {
    return this._entries<GroupRow>('group').map((e) => e.r)
      .sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : hex(a.groupId) < hex(b.groupId) ? -1 : 1));
  }
  getGroupEntries(groupId: Uint8Array) {
    return (this._get<Uint8Array[]>('gentries', hex(groupId)) ?? []).map(copy);
  }
  setGroupEntries(groupId: Uint8Array, entries: Uint8Array[]) {
    this._tx(() => (entries.length ? this._write('gentries', hex(groupId), entries.map(copy)) : this._delete('gentries', hex(groupId))));
  }
  protected _pendingEntries(groupId?: string): [string, Entry<PendingEntryRec>][] {
    this._check();
    return [...this._t.get('gpending')!].filter(([k]) => groupId === undefined || k.startsWith(`${groupId}:`)) as [string, Entry<PendingEntryRec>][];
  }
  addPendingGroupEntries(groupId: Uint8Array, entries: Uint8Array[], now: number, max: number) {
    this._tx(() => {
      const g = hex(groupId);
      for (const entry of entries) {
        if (this._pendingEntries(g).some(([, e]) => bytesEqual(e.r.entry, entry))) continue;
        const o = this._ord;
        this._write('gpending', `${g}:${o}`, { groupId: copy(groupId), entry: copy(entry), receivedAt: now } satisfies PendingEntryRec, false);
      }
      const held = this._pendingEntries(g).sort(([, a], [, b]) => b.o - a.o);
      for (const [k] of held.slice(Math.max(0, max))) this._delete('gpending', k);
    });
  }
  prunePendingGroupEntries(maxGroups: number, expiredBefore: number) {
    return this._tx(() => {
      let n = 0;
      for (const [k, e] of this._pendingEntries()) if (e.r.receivedAt < expiredBefore && this._delete('gpending', k)) n++;
      const latest = new Map<string, number>();
      for (const [k, e] of this._pendingEntries()) {
        const g = k.slice(0, k.indexOf(':'));
        latest.set(g, Math.max(latest.get(g) ?? -1, e.o));
      }
      const keep = new Set([...latest].sort((a, b) => b[1] - a[1]).slice(0, Math.max(0, maxGroups)).map(([g]) => g));
      for (const [k] of this._pendingEntries()) if (!keep.has(k.slice(0, k.indexOf(':'))) && this._delete('gpending', k)) n++;
      return n;
    });
  }
  takePendingGroupEntries(groupId: Uint8Array) {
    return this._tx(() => {
      const held = this._pendingEntries(hex(groupId)).sort(([, a], [, b]) => a.o - b.o);
      for (const [k] of held) this._delete('gpending', k);
      return held.map(([, e]) => e.r.entry);
    });
  }
  addOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array, change: string, now: number) {
    this._tx(() => this._write('gchange', `${hex(groupId)}:${hex(entryHash)}`, { groupId: copy(groupId), entryHash: copy(entryHash), change, createdAt: now } satisfies ChangeRec, false));
  }
  listOwnGroupChanges(groupId: Uint8Array) {
    const g = hex(groupId);
    return this._entries<ChangeRec>('gchange').filter((e) => hex(e.r.groupId) === g)
      .sort((a, b) => a.r.createdAt - b.r.createdAt || a.o - b.o)
      .map((e) => ({ entryHash: e.r.entryHash, change: e.r.change, createdAt: e.r.createdAt }));
  }
  removeOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array) {
    this._tx(() => this._delete('gchange', `${hex(groupId)}:${hex(entryHash)}`));
  }
  // ------------------------------------------------------------------ messages waiting for a sender key

  protected _pendingMessages(): Entry<PendingGroupMessageRow>[] {
    return this._entries<PendingGroupMessageRow>('gpmsg').sort((a, b) => a.r.seq - b.r.seq);
  }
  addPendingGroupMessage(p: Omit<PendingGroupMessageRow, 'seq'>, maxPerSender: number, expiredBefore: number) {
    return this._tx(() => {
      const seq = this._next('gpmsg');
      this._write('gpmsg', String(seq), {
        seq, accountId: copy(p.accountId), deviceId: p.deviceId, identityKey: copy(p.identityKey), distributionId: copy(p.distributionId),
        groupId: copy(p.groupId), message: copy(p.message), serverTimestamp: p.serverTimestamp, receivedAt: p.receivedAt, requestedAt: p.requestedAt,
      } satisfies PendingGroupMessageRow);
      let n = 0;
      for (const e of this._pendingMessages()) if (e.r.receivedAt < expiredBefore && this._delete('gpmsg', String(e.r.seq))) n++;
      const a = hex(p.accountId);
      const mine = this._pendingMessages().filter((e) => hex(e.r.accountId) === a).reverse();
      for (const e of mine.slice(Math.max(0, maxPerSender))) if (this._delete('gpmsg', String(e.r.seq))) n++;
      return n;
    });
  }
  pendingGroupMessages(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): PendingGroupMessageRow[] {
    const a = hex(accountId), d = hex(distributionId);
    return this._pendingMessages().filter((e) => hex(e.r.accountId) === a && e.r.deviceId === deviceId && hex(e.r.distributionId) === d).map((e) => e.r);
  }
  removePendingGroupMessage(seq: number) {
    this._tx(() => this._delete('gpmsg', String(seq)));
  }
  markPendingGroupMessagesRequested(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, at: number) {
    this._tx(() => {
      for (const r of this.pendingGroupMessages(accountId, deviceId, distributionId)) this._write('gpmsg', String(r.seq), { ...r, requestedAt: at });
    });
  }
  countPendingGroupMessages() {
    this._check();
    return this._t.get('gpmsg')!.size;
  }

  setMessagePrivateWith(conversation: Uint8Array, messageId: Uint8Array, accountId: Uint8Array) {
    this._updateMessage(conversation, messageId, (m) => ({ ...m, privateWith: copy(accountId) }));
  }
  putGroupReceipt(groupId: Uint8Array, messageId: Uint8Array, accountId: Uint8Array, status: MessageStatus) {
    this._tx(() => this._write('greceipt', `${hex(groupId)}:${hex(messageId)}:${hex(accountId)}`,
      { groupId: copy(groupId), messageId: copy(messageId), accountId: copy(accountId), status } satisfies ReceiptRec));
  }
  listGroupReceipts(groupId: Uint8Array, messageId: Uint8Array) {
    const prefix = `${hex(groupId)}:${hex(messageId)}:`;
    this._check();
    return [...this._t.get('greceipt')!].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, e]) => ({ accountId: (e.r as ReceiptRec).accountId, status: (e.r as ReceiptRec).status }));
  }
}
