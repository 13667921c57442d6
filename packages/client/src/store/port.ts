/**
 * The ClientStore port: everything a client keeps, behind narrow methods, one
 * group per concern. Synchronous: the Node adapter (SQLCipher) is synchronous,
 * and every protocol step is "load, compute, store in one transaction".
 */

export type PreKeyKind = 'signed' | 'one-time' | 'pq' | 'pq-last-resort';

export interface ContactRow {
  readonly accountId: Uint8Array;
  readonly alias: string | undefined;
  /** The identity key accepted for this contact (64 bytes), if any message or bundle was seen. */
  readonly identityKey: Uint8Array | undefined;
  /** A new identity key seen and not accepted yet: sending is blocked while it is set. */
  readonly pendingIdentityKey: Uint8Array | undefined;
  readonly verified: boolean;
  readonly accessKey: Uint8Array | undefined;
  readonly mutedUntil: number;
}

export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'received' | 'failed';

export interface MessageRow {
  readonly messageId: Uint8Array;
  /** The other party's account id (1:1). */
  readonly conversation: Uint8Array;
  readonly author: Uint8Array;
  readonly outgoing: boolean;
  readonly timestamp: number;
  readonly text: string;
  readonly status: MessageStatus;
  readonly deleted: boolean;
  readonly receivedAt: number;
}

export interface OutboxRow {
  readonly seq: number;
  readonly recipient: Uint8Array;
  /** Encoded client.v1.Content (unpadded). */
  readonly content: Uint8Array;
  /** Also copy to this account's other devices (as a sync message). */
  readonly syncContent: Uint8Array | undefined;
  readonly messageId: Uint8Array;
  readonly createdAt: number;
  readonly attempts: number;
}

export interface ClientStore {
  transaction<T>(fn: () => T): T;
  close(): void;

  getMeta(key: string): Uint8Array | undefined;
  setMeta(key: string, value: Uint8Array | undefined): void;

  getPreKey(kind: PreKeyKind, id: number): Uint8Array | undefined;
  putPreKey(kind: PreKeyKind, id: number, record: Uint8Array): void;
  deletePreKey(kind: PreKeyKind, id: number): void;
  countPreKeys(kind: PreKeyKind): number;
  latestPreKey(kind: PreKeyKind): { id: number; record: Uint8Array } | undefined;

  getSession(accountId: Uint8Array, deviceId: number): Uint8Array | undefined;
  putSession(accountId: Uint8Array, deviceId: number, record: Uint8Array): void;
  deleteSession(accountId: Uint8Array, deviceId: number): void;
  sessionDevices(accountId: Uint8Array): number[];

  getContact(accountId: Uint8Array): ContactRow | undefined;
  putContact(row: ContactRow): void;
  listContacts(): ContactRow[];
  contactByAlias(alias: string): ContactRow | undefined;

  /** Inserts unless a message with this id exists in the conversation; returns whether it was new. */
  insertMessage(row: MessageRow): boolean;
  getMessage(conversation: Uint8Array, messageId: Uint8Array): MessageRow | undefined;
  setMessageStatus(conversation: Uint8Array, messageId: Uint8Array, status: MessageStatus): void;
  markMessageDeleted(conversation: Uint8Array, messageId: Uint8Array): void;
  /** Removes the row for good (delete for me). */
  removeMessage(conversation: Uint8Array, messageId: Uint8Array): void;
  listMessages(conversation: Uint8Array | undefined, limit: number): MessageRow[];
  deleteHistory(conversation: Uint8Array, before: number): number;
  allMessages(): MessageRow[];

  enqueueOutbox(row: Omit<OutboxRow, 'seq' | 'attempts'>): number;
  listOutbox(): OutboxRow[];
  removeOutbox(seq: number): void;
  bumpOutbox(seq: number): void;
}
