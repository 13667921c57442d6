/**
 * The ClientStore port: everything a client keeps, behind narrow methods, one
 * group per concern. Synchronous: the Node adapter (SQLCipher) is synchronous,
 * and every protocol step is "load, compute, store in one transaction".
 */

import type { Attachment } from '../media/pointer.js';

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
  /** Groups: a private message inside the group (conversation = group id), seen only by the author and this account. */
  readonly privateWith?: Uint8Array | undefined;
  /** Attachment pointers (keys included: only ever kept in the encrypted store), in message order. */
  readonly attachments?: readonly Attachment[] | undefined;
  /** Groups: this row is not a message but a membership change shown in the conversation ("ana added carol"). */
  readonly groupChange?: GroupChangeRecord | undefined;
  /**
   * A reply: the message it answers (client.md §3). Carried by the row a send returns and by the 'message'
   * event; stores need not keep it (the web app keeps it in its own encrypted record).
   */
  readonly quote?: MessageQuote | undefined;
}

/** The message a reply answers, as its author saw it. */
export interface MessageQuote {
  readonly messageId: Uint8Array;
  readonly author: Uint8Array;
  /** At most QUOTE_TEXT_MAX characters. */
  readonly text: string;
}

/** A group change as kept in the conversation (client.md §9): who did what to whom; names are looked up when shown. */
export interface GroupChangeRecord {
  readonly by: Uint8Array;
  readonly kind: 'created' | 'added' | 'removed' | 'left' | 'promoted' | 'demoted' | 'renamed' | 'undone';
  readonly accounts: readonly Uint8Array[];
  readonly name?: string | undefined;
  readonly undoneBy?: Uint8Array | undefined;
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

/**
 * What this device knows of a person's encrypted profile (client.md §9): the profile key
 * they shared (contact card, any pairwise message, a group's messages) and the name and
 * avatar last read with it.
 */
export interface ContactProfileRow {
  readonly accountId: Uint8Array;
  readonly profileKey: Uint8Array;
  /** Display name from the profile; undefined until fetched, or when they set none. */
  readonly name: string | undefined;
  readonly avatar: Uint8Array | undefined;
  readonly avatarType: string | undefined;
  /** When the profile was last fetched (Unix ms); 0 = never with this key. */
  readonly fetchedAt: number;
}

export interface ProfileStore {
  getContactProfile(accountId: Uint8Array): ContactProfileRow | undefined;
  putContactProfile(row: ContactProfileRow): void;
  listContactProfiles(): ContactProfileRow[];
}

export interface ClientStore extends GroupStore, ProfileStore {
  transaction<T>(fn: () => T): T;
  close(): void;
  /**
   * Durability (client.md §7.2): resolves once every transaction committed before the call is durable.
   * A store that writes behind (IndexedDB) has it; a store durable when transaction() returns (SQLCipher)
   * leaves it out. The engine awaits it before acknowledging deliveries, sending what a ratchet or sender
   * key step produced, and publishing prekeys.
   */
  flush?(): Promise<void>;

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
  /** Sets a message's attachment pointers (attachments.md); cleared again when the message is deleted. */
  setMessageAttachments(conversation: Uint8Array, messageId: Uint8Array, attachments: readonly Attachment[]): void;
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

// ------------------------------------------------------------------ groups (spec/groups.md, client.md §8)

export type GroupStatus = 'active' | 'left' | 'removed';

/** A group this device knows. Name and revision are cached from the membership log for listing and lookups. */
export interface GroupRow {
  /** 32 bytes; also the conversation id of the group's messages. */
  readonly groupId: Uint8Array;
  readonly name: string;
  readonly revision: number;
  /** active; left (this account left); removed (an admin removed this account). History is kept either way. */
  readonly status: GroupStatus;
  readonly mutedUntil: number;
  readonly updatedAt: number;
}

/** A sender key of this device: the current one per group, and older ones kept to answer requests from their epoch. */
export interface OwnSenderKeyRow {
  readonly groupId: Uint8Array;
  readonly distributionId: Uint8Array;
  /** The chain state; only the current key keeps it (older keys are never used to send again). */
  readonly record: Uint8Array | undefined;
  /** The iteration-0 distribution message: what members of this key's epoch get when they ask. */
  readonly distribution: Uint8Array;
  /** The member accounts when the key was made (its epoch): only they may receive the distribution. */
  readonly members: Uint8Array[];
  readonly createdAt: number;
  readonly current: boolean;
}

/** A sender key another device (or another device of this account) distributed to this device. */
export interface SenderKeyRow {
  readonly groupId: Uint8Array;
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly distributionId: Uint8Array;
  readonly record: Uint8Array;
  /** When its distribution arrived (Unix ms; 0 for keys stored before this was kept). Set on insert, kept on update. */
  readonly receivedAt?: number;
}

/** A group message whose sender key this device lacks: kept encrypted (the sender-key message) until the key arrives. */
export interface PendingGroupMessageRow {
  readonly seq: number;
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  /** The identity key in the sender certificate. */
  readonly identityKey: Uint8Array;
  readonly distributionId: Uint8Array;
  /** The group, when the sealed payload names it (else empty). */
  readonly groupId: Uint8Array;
  readonly message: Uint8Array;
  readonly serverTimestamp: number;
  readonly receivedAt: number;
  /** When a SenderKeyRequest was last queued for it (0: never). */
  readonly requestedAt: number;
}

export interface GroupStore {
  getGroup(groupId: Uint8Array): GroupRow | undefined;
  putGroup(row: GroupRow): void;
  listGroups(): GroupRow[];
  /** The membership log entries held for a group (encoded GroupLogEntry), in the order they were accepted. */
  getGroupEntries(groupId: Uint8Array): Uint8Array[];
  setGroupEntries(groupId: Uint8Array, entries: Uint8Array[]): void;
  /** Entries that arrived before their parent: kept (bounded) and tried again when more of the log arrives. */
  addPendingGroupEntries(groupId: Uint8Array, entries: Uint8Array[], now: number, max: number): void;
  takePendingGroupEntries(groupId: Uint8Array): Uint8Array[];
  /**
   * Bounds waiting entries across groups (groups.md §6.10): drops those received before `expiredBefore`, then keeps
   * only the entries of the `maxGroups` group ids that received one most recently. Returns how many were dropped.
   */
  prunePendingGroupEntries(maxGroups: number, expiredBefore: number): number;
  /** Changes this account signed, kept so they can be signed again on the winning head if they lose a fork. */
  addOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array, change: string, now: number): void;
  listOwnGroupChanges(groupId: Uint8Array): { entryHash: Uint8Array; change: string; createdAt: number }[];
  removeOwnGroupChange(groupId: Uint8Array, entryHash: Uint8Array): void;

  getOwnSenderKey(groupId: Uint8Array): OwnSenderKeyRow | undefined;
  ownSenderKeyByDistribution(distributionId: Uint8Array): OwnSenderKeyRow | undefined;
  /** Stores `row` as the current key of its group; earlier keys lose their chain state and are pruned to `keep`. */
  putOwnSenderKey(row: OwnSenderKeyRow, keep: number): void;
  updateOwnSenderKeyRecord(groupId: Uint8Array, distributionId: Uint8Array, record: Uint8Array): void;
  /** Forgets this device's current key of a group (a new one is made on the next send). */
  retireOwnSenderKey(groupId: Uint8Array): void;
  /** Deletes this device's older keys of a group whose epoch ended (a newer key was made) before `endedBefore`. */
  forgetEndedOwnSenderKeys(groupId: Uint8Array, endedBefore: number): void;
  /** Deletes every own key of a group (after leaving it). */
  deleteOwnSenderKeys(groupId: Uint8Array): void;

  getSenderKey(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): SenderKeyRow | undefined;
  /** Stores a received sender key (a new one with its arrival time, `receivedAt`), or updates the record of one held. */
  putSenderKey(row: SenderKeyRow): void;
  /**
   * Bounds the sender keys one device of a member has given this device for a group: keeps the newest `keep` (by
   * arrival) and drops older ones, and drops any whose successor (a newer key of that device) arrived before
   * `supersededBefore`. Returns how many were dropped.
   */
  pruneSenderKeys(groupId: Uint8Array, accountId: Uint8Array, deviceId: number, keep: number, supersededBefore: number): number;
  /** Keeps the newest `keep` sender keys one member device gave for groups this device does not hold (yet). Returns how many were dropped. */
  pruneUnheldSenderKeys(accountId: Uint8Array, deviceId: number, keep: number): number;
  /**
   * Bounds received sender keys for groups this device does not hold, across every sender (groups.md §6.10): drops
   * those received before `expiredBefore`, keeps only keys of the `maxGroups` such group ids that received one most
   * recently, and at most `maxKeys` such keys in all (the newest). Returns how many were dropped.
   */
  pruneAllUnheldSenderKeys(maxGroups: number, maxKeys: number, expiredBefore: number): number;
  listSenderKeys(groupId: Uint8Array): SenderKeyRow[];
  /** Deletes received sender keys of a group (all, or one account's). Returns how many. */
  deleteSenderKeys(groupId: Uint8Array, accountId?: Uint8Array): number;

  /**
   * Keeps a message waiting for its sender key. Beyond `maxPerSender` waiting messages of its sender account the
   * oldest are dropped, and so is every message received before `expiredBefore`. Returns how many were dropped.
   */
  addPendingGroupMessage(row: Omit<PendingGroupMessageRow, 'seq'>, maxPerSender: number, expiredBefore: number): number;
  pendingGroupMessages(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array): PendingGroupMessageRow[];
  removePendingGroupMessage(seq: number): void;
  markPendingGroupMessagesRequested(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, at: number): void;
  countPendingGroupMessages(): number;

  /** Marks a stored message as private inside its group, with this other account. */
  setMessagePrivateWith(conversation: Uint8Array, messageId: Uint8Array, accountId: Uint8Array): void;
  /** Per-recipient ticks of an outgoing group message. */
  putGroupReceipt(groupId: Uint8Array, messageId: Uint8Array, accountId: Uint8Array, status: MessageStatus): void;
  listGroupReceipts(groupId: Uint8Array, messageId: Uint8Array): { accountId: Uint8Array; status: MessageStatus }[];
}
