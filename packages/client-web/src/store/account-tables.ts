/**
 * The account's own tables in the browser store: meta, pre-keys, sessions,
 * contacts and their profiles, messages and the outbox (ClientStore, client.md §7.1).
 */
import type { Attachment, ContactProfileRow, ContactRow, MessageRow, MessageStatus, OutboxRow, PreKeyKind } from '@sigilo/client';
import { RowStore, byOrd, bytesEqual, copy, copyOpt, hex, type Entry, type PreKeyRec, type SessionRec } from './rows.js';

export abstract class AccountTables extends RowStore {
  // ------------------------------------------------------------------ meta and pre-keys

  getMeta(key: string) {
    return copyOpt(this._get<Uint8Array>('meta', key));
  }
  setMeta(key: string, value: Uint8Array | undefined) {
    this._tx(() => (value === undefined ? this._delete('meta', key) : this._write('meta', key, copy(value))));
  }

  getPreKey(kind: PreKeyKind, id: number) {
    return copyOpt(this._get<PreKeyRec>('prekey', `${kind}:${id}`)?.record);
  }
  putPreKey(kind: PreKeyKind, id: number, record: Uint8Array) {
    this._tx(() => this._write('prekey', `${kind}:${id}`, { kind, id, record: copy(record) }, false));
  }
  deletePreKey(kind: PreKeyKind, id: number) {
    this._tx(() => this._delete('prekey', `${kind}:${id}`));
  }
  countPreKeys(kind: PreKeyKind) {
    return this._entries<PreKeyRec>('prekey').filter((e) => e.r.kind === kind).length;
  }
  latestPreKey(kind: PreKeyKind) {
    let best: Entry<PreKeyRec> | undefined;
    for (const e of this._entries<PreKeyRec>('prekey')) if (e.r.kind === kind && (!best || e.o > best.o)) best = e;
    return best ? { id: best.r.id, record: copy(best.r.record) } : undefined;
  }

  // ------------------------------------------------------------------ sessions and contacts

  getSession(accountId: Uint8Array, deviceId: number) {
    return copyOpt(this._get<SessionRec>('session', `${hex(accountId)}:${deviceId}`)?.record);
  }
  putSession(accountId: Uint8Array, deviceId: number, record: Uint8Array) {
    this._tx(() => this._write('session', `${hex(accountId)}:${deviceId}`, { accountId: copy(accountId), deviceId, record: copy(record) }, false));
  }
  deleteSession(accountId: Uint8Array, deviceId: number) {
    this._tx(() => this._delete('session', `${hex(accountId)}:${deviceId}`));
  }
  sessionDevices(accountId: Uint8Array) {
    this._check();
    const m = this._byAccount.get(hex(accountId));
    return m ? [...m.values()].map((e) => e.r.deviceId).sort((a, b) => a - b) : [];
  }

  getContact(accountId: Uint8Array) {
    return this._get<ContactRow>('contact', hex(accountId));
  }
  putContact(c: ContactRow) {
    this._tx(() => {
      if (c.alias !== undefined) {
        for (const e of this._entries<ContactRow>('contact')) {
          if (e.r.alias === c.alias && !bytesEqual(e.r.accountId, c.accountId)) throw new Error('UNIQUE constraint failed: contacts.alias (another contact has this name)');
        }
      }
      this._write('contact', hex(c.accountId), {
        accountId: copy(c.accountId), alias: c.alias, identityKey: copyOpt(c.identityKey), pendingIdentityKey: copyOpt(c.pendingIdentityKey),
        verified: c.verified, accessKey: copyOpt(c.accessKey), mutedUntil: c.mutedUntil,
      } satisfies ContactRow);
    });
  }
  listContacts() {
    // SQLite: ORDER BY alias (NULLs first), ties in rowid order.
    return this._entries<ContactRow>('contact').sort((a, b) => {
      const x = a.r.alias, y = b.r.alias;
      if (x !== y) return x === undefined ? -1 : y === undefined ? 1 : x < y ? -1 : 1;
      return a.o - b.o;
    }).map((e) => e.r);
  }
  contactByAlias(alias: string) {
    return this._entries<ContactRow>('contact').find((e) => e.r.alias === alias)?.r;
  }

  // ------------------------------------------------------------------ contacts' profiles
  getContactProfile(accountId: Uint8Array) {
    return this._get<ContactProfileRow>('cprofile', hex(accountId));
  }
  putContactProfile(p: ContactProfileRow) {
    this._tx(() => {
      this._write('cprofile', hex(p.accountId), {
        accountId: copy(p.accountId), profileKey: copy(p.profileKey), name: p.name, avatar: copyOpt(p.avatar), avatarType: p.avatarType, fetchedAt: p.fetchedAt,
      } satisfies ContactProfileRow);
    });
  }
  listContactProfiles() {
    return this._entries<ContactProfileRow>('cprofile').sort(byOrd).map((e) => e.r);
  }

  // ------------------------------------------------------------------ messages

  protected _messageKey = (conversation: Uint8Array, messageId: Uint8Array) => `${hex(conversation)}:${hex(messageId)}`;

  protected _updateMessage(conversation: Uint8Array, messageId: Uint8Array, change: (m: MessageRow) => MessageRow): void {
    this._tx(() => {
      const k = this._messageKey(conversation, messageId);
      const m = this._get<MessageRow>('message', k);
      if (m) this._write('message', k, change(m));
    });
  }

  insertMessage(m: MessageRow) {
    return this._tx(() => {
      const k = this._messageKey(m.conversation, m.messageId);
      if (this._t.get('message')!.has(k)) return false;
      // As the SQLite store: the private marker and attachments are set by their own calls.
      this._write('message', k, {
        messageId: copy(m.messageId), conversation: copy(m.conversation), author: copy(m.author), outgoing: m.outgoing, timestamp: m.timestamp,
        text: m.text, status: m.status, deleted: m.deleted, receivedAt: m.receivedAt, privateWith: undefined, attachments: undefined,
        // A group's membership change ("ana added carol") is kept with its row, as the SQLite store's group_change column does.
        ...(m.groupChange ? { groupChange: { ...m.groupChange, by: copy(m.groupChange.by), accounts: m.groupChange.accounts.map(copy), ...(m.groupChange.undoneBy ? { undoneBy: copy(m.groupChange.undoneBy) } : {}) } } : {}),
        ...(m.expireTimerMs ? { expireTimerMs: m.expireTimerMs } : {}), ...(m.expiresAt ? { expiresAt: m.expiresAt } : {}), ...(m.notice ? { notice: m.notice } : {}),
      } satisfies MessageRow);
      return true;
    });
  }
  getMessage(conversation: Uint8Array, messageId: Uint8Array) {
    return this._get<MessageRow>('message', this._messageKey(conversation, messageId));
  }
  setMessageStatus(conversation: Uint8Array, messageId: Uint8Array, status: MessageStatus) {
    this._updateMessage(conversation, messageId, (m) => ({ ...m, status }));
  }
  markMessageDeleted(conversation: Uint8Array, messageId: Uint8Array) {
    this._updateMessage(conversation, messageId, (m) => ({ ...m, deleted: true, text: '', attachments: undefined }));
  }
  setMessageAttachments(conversation: Uint8Array, messageId: Uint8Array, attachments: readonly Attachment[]) {
    this._updateMessage(conversation, messageId, (m) => ({ ...m, attachments: attachments.length ? attachments.map((a) => ({ ...a })) : undefined }));
  }
  removeMessage(conversation: Uint8Array, messageId: Uint8Array) {
    this._tx(() => this._delete('message', this._messageKey(conversation, messageId)));
  }
  listMessages(conversation: Uint8Array | undefined, limit: number) {
    this._check();
    const all = conversation ? [...(this._byConversation.get(hex(conversation))?.values() ?? [])] : this._entries<MessageRow>('message');
    const field = conversation ? 'timestamp' : 'receivedAt';
    all.sort((a, b) => a.r[field] - b.r[field] || a.o - b.o);
    return (limit >= 0 ? all.slice(Math.max(0, all.length - limit)) : all).map((e) => e.r);
  }
  setMessageExpiry(conversation: Uint8Array, messageId: Uint8Array, expiresAt: number) {
    this._updateMessage(conversation, messageId, (m) => ({ ...m, expiresAt }));
  }
  expiringMessages(limit: number) {
    this._check();
    return this._entries<MessageRow>('message').map((e) => e.r).filter((m) => (m.expiresAt ?? 0) > 0)
      .sort((a, b) => a.expiresAt! - b.expiresAt!).slice(0, limit);
  }
  deleteHistory(conversation: Uint8Array, before: number) {
    return this._tx(() => {
      let n = 0;
      for (const [k, e] of [...(this._byConversation.get(hex(conversation)) ?? [])]) if (e.r.receivedAt <= before && this._delete('message', k)) n++;
      return n;
    });
  }
  allMessages() {
    return this._entries<MessageRow>('message').sort((a, b) => a.r.timestamp - b.r.timestamp || a.o - b.o).map((e) => e.r);
  }

  // ------------------------------------------------------------------ outbox

  enqueueOutbox(o: Omit<OutboxRow, 'seq' | 'attempts'>) {
    return this._tx(() => {
      const seq = this._next('outbox');
      this._write('outbox', String(seq), {
        seq, recipient: copy(o.recipient), content: copy(o.content), syncContent: copyOpt(o.syncContent),
        messageId: copy(o.messageId), createdAt: o.createdAt, attempts: 0,
      } satisfies OutboxRow);
      return seq;
    });
  }
  listOutbox() {
    return this._entries<OutboxRow>('outbox').map((e) => e.r).sort((a, b) => a.seq - b.seq);
  }
  removeOutbox(seq: number) {
    this._tx(() => this._delete('outbox', String(seq)));
  }
  bumpOutbox(seq: number) {
    this._tx(() => {
      const o = this._get<OutboxRow>('outbox', String(seq));
      if (o) this._write('outbox', String(seq), { ...o, attempts: o.attempts + 1 });
    });
  }
}
