/**
 * The storage port: everything the server keeps, behind one narrow async
 * interface so SQLite (embedded default) and PostgreSQL adapters are
 * interchangeable. Every adapter must pass test/storage/conformance.ts.
 *
 * Contract highlights (the conformance suite checks each):
 * - Operations that must be atomic are single calls: consuming an invite while
 *   creating an account, checking the device limit while adding a device,
 *   taking one-time prekeys, checking the device list while queueing a message.
 * - `enqueue` returns only after the batch is durably committed.
 * - Nothing links a sealed message to its sender: sealed rows have no sender
 *   columns set, and duplicate detection keys are H(recipient || message id).
 * - Timestamps are Unix milliseconds supplied by the caller (no clock inside).
 */

export interface InviteRecord {
  /** SHA-256 of the invite code; the code itself is never stored. */
  readonly codeHash: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AccountRecord {
  readonly accountId: Uint8Array;
  readonly identityKey: Uint8Array;
  /** SHA-256 of the unidentified-access key, or undefined. */
  readonly accessKeyHash: Uint8Array | undefined;
  readonly unrestricted: boolean;
  readonly createdDay: number;
}

export interface DeviceRecord {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  /** 32-byte Ed25519 public key the device authenticates with. */
  readonly deviceKey: Uint8Array;
  readonly createdDay: number;
  /** Days since the epoch, or undefined when last-seen is off or never recorded. */
  readonly lastSeenDay: number | undefined;
  /**
   * True while the device has published no signed prekey (a link in progress, or one cut short after
   * the device was registered): no sender can encrypt to it, so no send has to list it (server.md §5.1).
   */
  readonly keyless?: boolean;
}

/** The administrator's own note on an account, stored only when set. */
export interface AccountLabel {
  readonly accountId: Uint8Array;
  readonly label: string;
}

/**
 * What is kept about a removed device, until `expiresAt`: enough to tell that
 * device, when it next authenticates with its old key, who removed it and on
 * which day. Deleted by `sweep` and with the account.
 */
export interface NewDeviceRemoval {
  /** The device of the same account that removed it; 0 for the administrator; ACCOUNT_REMOVAL: the administrator removed the whole account. */
  readonly byDeviceId: number;
  /** Days since the epoch. */
  readonly day: number;
  readonly expiresAt: number;
}

/** NewDeviceRemoval.byDeviceId of the records an account removal leaves (ACCOUNT_REMOVED rather than DEVICE_REMOVED). */
export const ACCOUNT_REMOVAL = -1;

export interface DeviceRemovalRecord extends NewDeviceRemoval {
  /** The removed device's public key: only a signature by it learns the record. */
  readonly deviceKey: Uint8Array;
}

export interface NewDevice {
  readonly deviceKey: Uint8Array;
  readonly createdDay: number;
}

export type RegisterResult =
  | { readonly status: 'ok'; readonly deviceId: number }
  | { readonly status: 'invite-invalid' }
  | { readonly status: 'invite-expired' };

export type AddDeviceResult =
  | { readonly status: 'ok'; readonly deviceId: number }
  | { readonly status: 'limit' }
  | { readonly status: 'no-account' };

export interface SignedPreKeyRow { readonly keyId: number; readonly publicKey: Uint8Array; readonly signature: Uint8Array }
export interface OneTimePreKeyRow { readonly keyId: number; readonly publicKey: Uint8Array }
export interface PqPreKeyRow { readonly keyId: number; readonly publicKey: Uint8Array; readonly signature: Uint8Array; readonly lastResort: boolean }

export interface PreKeyUpload {
  readonly signedPreKey?: SignedPreKeyRow | undefined;
  readonly oneTimePreKeys: readonly OneTimePreKeyRow[];
  /** One-time PQ prekeys (lastResort false). */
  readonly pqPreKeys: readonly PqPreKeyRow[];
  readonly lastResortPqPreKey?: PqPreKeyRow | undefined;
}

export interface PreKeyCounts {
  readonly oneTime: number;
  readonly pq: number;
  readonly hasSignedPreKey: boolean;
  readonly hasLastResort: boolean;
}

/** The keys taken for one device; one-time keys in it are gone from the store. */
export interface TakenPreKeys {
  readonly deviceId: number;
  readonly signedPreKey: SignedPreKeyRow;
  readonly oneTimePreKey: OneTimePreKeyRow | undefined;
  readonly pqPreKey: PqPreKeyRow;
}

export interface TakeBundlesResult {
  readonly bundles: readonly TakenPreKeys[];
  /** Devices asked for (or all devices) that lack a signed or PQ prekey. */
  readonly unavailable: readonly number[];
}

export interface QueueEntry {
  readonly deviceId: number;
  readonly content: Uint8Array;
}

/** One message to one recipient account: a ciphertext per device. */
export interface EnqueueRequest {
  readonly recipient: Uint8Array;
  readonly messageId: Uint8Array;
  /** SHA-256(recipient || messageId): remembered until dedupExpiresAt. */
  readonly dedupKey: Uint8Array;
  readonly entries: readonly QueueEntry[];
  /** Undefined for sealed sends. */
  readonly sender: { readonly accountId: Uint8Array; readonly deviceId: number } | undefined;
  /** A device of the recipient account the send need not cover (the sender's own). */
  readonly excludeDeviceId: number | undefined;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly dedupExpiresAt: number;
}

export type EnqueueResult =
  /** serverIds[i]: the server id of the row of entries[i]. */
  | { readonly status: 'stored'; readonly serverIds: readonly number[] }
  | { readonly status: 'duplicate' }
  | { readonly status: 'no-account' }
  | { readonly status: 'stale'; readonly current: readonly number[]; readonly missing: readonly number[]; readonly extra: readonly number[] }
  /** The whole batch failed (e.g. disk full); nothing of it was stored. */
  | { readonly status: 'failed'; readonly error: unknown };

// ---- Multi-recipient sealed sends (MultiSealedSend, spec/server.md §5.2)

/** An account's unidentified-access state (spec/server.md §Sealed sender). */
export type SealedAccess = Pick<AccountRecord, 'accessKeyHash' | 'unrestricted'>;

/** What a sealed send to an account needs to know about it, read for many accounts at once. */
export interface SealedRecipientRecord {
  /** SHA-256 of the unidentified-access key, or undefined. */
  readonly accessKeyHash: Uint8Array | undefined;
  readonly unrestricted: boolean;
  /** The account's devices, ascending. */
  readonly deviceIds: readonly number[];
  /** Those of them a send may leave out (no signed prekey yet, beside a device that has one: excusedKeyless). */
  readonly keyless: readonly number[];
}

export interface MultiRecipientEntry {
  readonly recipient: Uint8Array;
  /** Must be exactly the account's devices (sealed: no device is excluded). */
  readonly deviceIds: readonly number[];
  /** Opaque per-account header, delivered with the shared payload. */
  readonly header: Uint8Array;
  /** SHA-256(recipient || messageId), the same key a SealedSend of this message id would use. */
  readonly dedupKey: Uint8Array;
}

/** One sealed message for many accounts: the payload is stored once, each device gets a queue row referencing it. */
export interface MultiEnqueueRequest {
  readonly messageId: Uint8Array;
  readonly payload: Uint8Array;
  readonly recipients: readonly MultiRecipientEntry[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly dedupExpiresAt: number;
}

/**
 * The keyless devices (DeviceRecord.keyless) a send may leave out: all of them when the account has a device
 * with keys, none otherwise (an account whose devices all lack keys cannot be encrypted to anyway, and is checked
 * as every device's: tests and tools address such accounts directly).
 */
export function excusedKeyless(all: readonly number[], keyless: readonly number[]): number[] {
  return keyless.length < all.length ? [...keyless] : [];
}

/**
 * How a send's device list differs from an account's devices; undefined when it lists every device that has
 * keys and nothing but the account's devices. A keyless device (DeviceRecord.keyless) may be listed or left out:
 * nobody can encrypt to it, and requiring it would stall every sender until the device is removed (server.md §5.1).
 * `current` in the answer is the devices a send must list.
 */
export function deviceListDiff(all: readonly number[], sent: readonly number[], keyless: readonly number[] = []): { current: readonly number[]; missing: number[]; extra: number[] } | undefined {
  const listed = new Set(sent);
  const current = keyless.length ? all.filter((id) => !keyless.includes(id)) : all;
  const missing = current.filter((id) => !listed.has(id));
  const extra = [...listed].filter((id) => !all.includes(id)).sort((a, b) => a - b);
  return missing.length || extra.length ? { current, missing, extra } : undefined;
}

export interface MultiStaleAccount {
  /** Index into MultiEnqueueRequest.recipients. */
  readonly index: number;
  readonly current: readonly number[];
  readonly missing: readonly number[];
  readonly extra: readonly number[];
}

export type MultiEnqueueResult =
  /** Per recipient (same order): the server id of each device's row, or undefined when that account already had this message id. */
  | { readonly status: 'stored'; readonly serverIds: readonly (ReadonlyMap<number, number> | undefined)[] }
  /** Every recipient already had this message id: nothing was stored. */
  | { readonly status: 'duplicate' }
  /** Some recipient is unknown or listed the wrong devices: nothing of this request was stored. */
  | { readonly status: 'rejected'; readonly unknown: readonly number[]; readonly stale: readonly MultiStaleAccount[] }
  /** The whole batch failed (e.g. disk full); nothing of it was stored. */
  | { readonly status: 'failed'; readonly error: unknown };

export interface QueuedMessage {
  readonly serverId: number;
  readonly messageId: Uint8Array;
  readonly createdAt: number;
  readonly sealed: boolean;
  readonly senderAccountId: Uint8Array | undefined;
  readonly senderDeviceId: number | undefined;
  readonly content: Uint8Array;
  /** MultiSealedSend rows: the recipient account's header; `content` is then the shared payload. */
  readonly recipientHeader?: Uint8Array | undefined;
}

export interface AckedMessage {
  readonly serverId: number;
  readonly createdAt: number;
}

export interface AckRequest {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly serverIds: readonly number[];
}

export interface AttachmentRecord {
  readonly attachmentId: Uint8Array;
  readonly size: number;
  readonly uploadTokenHash: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly complete: boolean;
}

/**
 * One attachment allocation counted against its account's quota. The usage
 * table holds one byte counter per account and day (never an attachment id),
 * live until `expiresAt`; the quota is the sum of an account's live counters.
 */
export interface AttachmentUsageCharge {
  readonly accountId: Uint8Array;
  /** Days since the epoch (UTC) of the allocation. */
  readonly day: number;
  readonly bytes: number;
  /** When this day's counter stops counting: the end of the day plus the attachment TTL. */
  readonly expiresAt: number;
  readonly now: number;
  readonly quota: number;
}

export type AttachmentUsageResult =
  /** Counted; `used` includes this charge. */
  | { readonly status: 'ok'; readonly used: number }
  /** Not counted: `used` + bytes would exceed the quota. `counters` are the live ones, oldest expiry first. */
  | { readonly status: 'exceeded'; readonly used: number; readonly counters: readonly { readonly bytes: number; readonly expiresAt: number }[] };

// ---- Names and the member directory (spec/server.md §3.1)

export interface ProfileRecord {
  /** Opaque: encrypted by the client under its profile key. */
  readonly profile: Uint8Array;
  readonly updatedAt: number;
}

/** A member's entry in the directory, published by the member in clear. */
export interface DirectoryRecord {
  readonly accountId: Uint8Array;
  readonly username: string;
  readonly name: string;
}

export type SetUsernameResult = { readonly status: 'ok' } | { readonly status: 'taken' } | { readonly status: 'no-account' };
export type PublishDirectoryResult = { readonly status: 'ok' } | { readonly status: 'not-claimed' };

export interface SweepResult {
  readonly messages: number;
  readonly invites: number;
  readonly dedup: number;
  /** Expired attachments removed from the metadata table; the caller deletes their blobs. */
  readonly attachmentIds: readonly Uint8Array[];
  /** Expired per-account, per-day attachment usage counters removed. */
  readonly attachmentUsage: number;
}

export interface TableAudit {
  readonly table: string;
  readonly rows: number;
  /** Unix ms of the oldest row's timestamp, undefined when empty or not tracked. */
  readonly oldest: number | undefined;
  /**
   * True when the table keeps only days (accounts, devices, usage counters,
   * device removals): `oldest` is then the start of that UTC day, and an age
   * finer than whole days would be made up.
   */
  readonly oldestIsDay?: boolean;
}

export interface AuditReport {
  readonly tables: readonly TableAudit[];
  /** Queued messages that carry a sender identity (identified sends not yet delivered). */
  readonly messagesWithSender: number;
  /** Queued sealed messages (no sender stored). */
  readonly sealedMessages: number;
  /** Devices with a last-seen day stored. */
  readonly devicesWithLastSeen: number;
}

/** A binding leaf to append to the key transparency log (spec/transparency.md §3). */
export interface KtLeafInput {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  /** 1 add, 2 remove (the leaf's kind byte). */
  readonly kind: 1 | 2;
  /** The encoded binding leaf. */
  readonly leaf: Uint8Array;
  /** Its RFC 9162 leaf hash. */
  readonly leafHash: Uint8Array;
}

export interface KtLeafRecord {
  readonly index: number;
  readonly deviceId: number;
  readonly kind: 1 | 2;
  readonly leaf: Uint8Array;
}

/** A device whose add binding is not in the log yet (an account older than the log, or a crash between the two writes). */
export interface KtUnloggedDevice {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
}
// ---- Push subscriptions and whole-database scans (spec/server.md §Push, §9 deep audit and export)

/** A device's Web Push subscription (RFC 8030 endpoint, RFC 8291 keys). Never logged. */
export interface PushSubscriptionRecord {
  /** https: URL of the push service (or UnifiedPush distributor) for this device. */
  readonly endpoint: string;
  /** 65-byte uncompressed P-256 public key of the subscription. */
  readonly p256dh: Uint8Array;
  /** 16-byte authentication secret. */
  readonly auth: Uint8Array;
  readonly createdDay: number;
}

/** One stored row, column by column (byte columns as Uint8Array), as `scanRows` reports it. */
export type StoredRow = Readonly<Record<string, unknown>>;

/** Columns that name an account: `account_id` and every `*_account_id`. */
export const isAccountColumn = (column: string): boolean => /(^|_)account_id$/.test(column);

/** A device's request that the organisation certify its account's identity key (spec/trust.md §4.1). */
export interface NewCertificationRequest {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  /** The person's name as they asked it to be certified. */
  readonly name: string;
  /** The account's identity key when the request was made (64 bytes). */
  readonly identityKey: Uint8Array;
  /** IKsig's signature over certificationRequestPayload (protocol device-auth.ts). */
  readonly signature: Uint8Array;
  /** Unix ms, as signed. */
  readonly createdAt: number;
}
export interface CertificationRequestRecord extends NewCertificationRequest { readonly requestId: number }

export interface Storage {
  readonly name: string;

  // Invites
  createInvite(invite: InviteRecord): Promise<void>;

  // Accounts and devices
  /** Consumes the invite and creates the account with device 1, atomically. */
  registerAccount(codeHash: Uint8Array, now: number, account: AccountRecord, device: NewDevice): Promise<RegisterResult>;
  getAccount(accountId: Uint8Array): Promise<AccountRecord | undefined>;
  /** What a sealed send checks of its recipient, read for every sealed send: less than getAccount reads. Undefined: no such account. */
  getSealedAccess(accountId: Uint8Array): Promise<SealedAccess | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  /** Deletes the account, its devices, prekeys and queued messages. False if absent. */
  /**
   * With `removal` (byDeviceId ACCOUNT_REMOVAL), keeps a removal record for each device the account had, in the
   * same transaction: a device of the removed account then learns that, with a signature by its own key only.
   */
  deleteAccount(accountId: Uint8Array, removal?: NewDeviceRemoval): Promise<boolean>;
  /** Adds a device unless the account already has `maxDevices`. Device ids are never reused. */
  addDevice(accountId: Uint8Array, device: NewDevice, maxDevices: number): Promise<AddDeviceResult>;
  getDevice(accountId: Uint8Array, deviceId: number): Promise<DeviceRecord | undefined>;
  listDevices(accountId: Uint8Array): Promise<DeviceRecord[]>;
  /**
   * Deletes the device, its prekeys, its queue and its name. False if absent.
   * With `removal`, and only when the device existed, keeps a removal record in
   * the same transaction (replacing any earlier one for that device id).
   */
  removeDevice(accountId: Uint8Array, deviceId: number, removal?: NewDeviceRemoval): Promise<boolean>;
  /**
   * Devices still keyless (no signed prekey) that were registered before `createdBeforeDay`, of accounts that
   * have another device with keys: links cut short after the server registered the device. The sweeper removes them.
   */
  keylessDevices(createdBeforeDay: number): Promise<{ accountId: Uint8Array; deviceId: number }[]>;
  setLastSeen(accountId: Uint8Array, deviceId: number, day: number): Promise<void>;
  /** Removes every stored last-seen day (used when last-seen is switched off). */
  clearLastSeen(): Promise<number>;
  setAccessKey(accountId: Uint8Array, accessKeyHash: Uint8Array | undefined, unrestricted: boolean): Promise<void>;

  // Administration and device management (spec/server.md §3.5, §9)
  /** Sets (or, undefined, deletes) the administrator's label of an account. False if the account does not exist. */
  setAccountLabel(accountId: Uint8Array, label: string | undefined): Promise<boolean>;
  /** Every stored label. */
  listAccountLabels(): Promise<AccountLabel[]>;
  /** Sets (or, undefined, deletes) a device's encrypted name. False if the device does not exist. */
  setDeviceName(accountId: Uint8Array, deviceId: number, encryptedName: Uint8Array | undefined): Promise<boolean>;
  /** The encrypted names of an account's devices that have one. */
  listDeviceNames(accountId: Uint8Array): Promise<Map<number, Uint8Array>>;
  /** The removal record of a device, if one is kept and not expired at `now`. */
  getDeviceRemoval(accountId: Uint8Array, deviceId: number, now: number): Promise<DeviceRemovalRecord | undefined>;

  // Key directory
  storePreKeys(accountId: Uint8Array, deviceId: number, upload: PreKeyUpload): Promise<void>;
  countPreKeys(accountId: Uint8Array, deviceId: number): Promise<PreKeyCounts>;
  /** Atomically takes one one-time EC and one one-time PQ prekey per device (last-resort PQ key when none). */
  takeBundles(accountId: Uint8Array, deviceIds: readonly number[] | undefined): Promise<TakeBundlesResult>;

  // Queues
  /** Stores a batch in one durable transaction; one result per request, in order. */
  enqueue(batch: readonly EnqueueRequest[]): Promise<EnqueueResult[]>;
  /**
   * Multi-recipient sealed sends, in one durable transaction: per request all
   * or nothing (every non-duplicate recipient must exist and list exactly its
   * devices), the payload stored once. One result per request, in order.
   */
  enqueueMulti(batch: readonly MultiEnqueueRequest[]): Promise<MultiEnqueueResult[]>;
  /** Access-key state and devices of many accounts in one lookup; undefined where an account does not exist. */
  getSealedRecipients(accountIds: readonly Uint8Array[]): Promise<(SealedRecipientRecord | undefined)[]>;
  /** Queued messages of a device with serverId > afterId, oldest first. */
  fetchQueue(accountId: Uint8Array, deviceId: number, afterId: number, limit: number): Promise<QueuedMessage[]>;
  /** Deletes acknowledged messages, each only from its own device's queue; returns, per request, the ones that existed. */
  ack(acks: readonly AckRequest[]): Promise<AckedMessage[][]>;
  queueDepth(): Promise<number>;

  // Attachments (metadata; blobs live beside the database)
  createAttachment(record: AttachmentRecord): Promise<void>;
  getAttachment(attachmentId: Uint8Array): Promise<AttachmentRecord | undefined>;
  completeAttachment(attachmentId: Uint8Array): Promise<boolean>;
  /** Checks the account's live usage counters against the quota and adds the charge, atomically (concurrent charges cannot both pass). */
  chargeAttachmentUsage(charge: AttachmentUsageCharge): Promise<AttachmentUsageResult>;

  // Usernames, profiles and the member directory (spec/server.md §3.1)
  /**
   * Gives the account this username hash, atomically: refused ('taken') when another
   * account holds it; the account's previous username and its directory entry go.
   */
  setUsername(accountId: Uint8Array, usernameHash: Uint8Array): Promise<SetUsernameResult>;
  /** Releases the account's username and removes its directory entry. False if it had none. */
  deleteUsername(accountId: Uint8Array): Promise<boolean>;
  /** The account holding a username hash (see `usernameHash` in @sigilo/protocol), or undefined. */
  accountByUsernameHash(usernameHash: Uint8Array): Promise<Uint8Array | undefined>;
  /** The username hash an account holds, or undefined. */
  usernameHashOf(accountId: Uint8Array): Promise<Uint8Array | undefined>;
  /** Stores (replaces) the account's encrypted profile; undefined removes it. */
  setProfile(accountId: Uint8Array, profile: ProfileRecord | undefined): Promise<void>;
  getProfile(accountId: Uint8Array): Promise<ProfileRecord | undefined>;
  /**
   * Lists the account in the directory, only if `usernameHash` is the one it holds (checked
   * in the same transaction: 'not-claimed' otherwise); replaces its previous entry.
   */
  publishDirectoryEntry(entry: DirectoryRecord, usernameHash: Uint8Array): Promise<PublishDirectoryResult>;
  /** Removes the account's directory entry. False if it had none. */
  removeDirectoryEntry(accountId: Uint8Array): Promise<boolean>;
  /**
   * Directory entries whose username or name contains `query` (case-insensitive for ASCII;
   * empty matches all), with username > `after`, ordered by username, at most `limit`.
   */
  searchDirectory(query: string, after: string, limit: number): Promise<DirectoryRecord[]>;
  /** Removes every directory entry (the directory was switched off). Returns how many. */
  clearDirectory(): Promise<number>;
  // Key transparency log (spec/transparency.md §3): leaves and every complete subtree hash, append-only
  /**
   * Appends the leaves in order in one transaction (concurrent appends, also
   * from other server processes, are serialised) and stores each complete
   * subtree they finish: node (0, i) is leaf i's hash, node (l+1, j) is
   * nodeHash(node (l, 2j), node (l, 2j+1)). Returns the new tree size.
   */
  appendKtLeaves(leaves: readonly KtLeafInput[], nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): Promise<number>;
  /** The number of leaves in the log. */
  ktSize(): Promise<number>;
  /** Stored complete subtree hashes, in the order asked; undefined where absent. */
  getKtNodes(nodes: readonly { readonly level: number; readonly index: number }[]): Promise<(Uint8Array | undefined)[]>;
  /** The leaves of an account (of the listed devices only, when given), by index. */
  findKtLeaves(accountId: Uint8Array, deviceIds?: readonly number[]): Promise<KtLeafRecord[]>;
  /** Devices with no add leaf in the log. */
  listKtUnlogged(limit: number): Promise<KtUnloggedDevice[]>;
  // Certification requests (at most one pending per account; deleted with the account, and when approved or rejected)
  /** Queues a request, replacing the account's pending one; undefined when the account does not exist. */
  putCertificationRequest(request: NewCertificationRequest): Promise<{ requestId: number; replaced: boolean } | undefined>;
  /** Every pending request, oldest first. */
  listCertificationRequests(): Promise<CertificationRequestRecord[]>;
  getCertificationRequest(requestId: number): Promise<CertificationRequestRecord | undefined>;
  deleteCertificationRequest(requestId: number): Promise<boolean>;
  // Push subscriptions (one per device; deleted with the device and the account)
  /** Sets (or, undefined, deletes) a device's push subscription. False if the device does not exist. */
  setPushSubscription(accountId: Uint8Array, deviceId: number, subscription: PushSubscriptionRecord | undefined): Promise<boolean>;
  getPushSubscription(accountId: Uint8Array, deviceId: number): Promise<PushSubscriptionRecord | undefined>;
  /**
   * Visits every row of every table of the database (not only the tables this
   * version knows), table by table; with `accountId`, only rows in which a
   * column that names an account (isAccountColumn) equals it, and only tables
   * that have such a column. For `sigilo admin audit --deep` and
   * `sigilo admin export-account`.
   */
  scanRows(visit: (table: string, row: StoredRow) => void, accountId?: Uint8Array): Promise<void>;

  // Retention and audit
  /** Deletes what expired by `now`; an expired invite is kept EXPIRED_INVITE_KEPT_MS longer, so that using it says "expired". */
  sweep(now: number): Promise<SweepResult>;
  audit(now: number): Promise<AuditReport>;
  /**
   * Runs `fn` unless another holder of the lock named `name` runs it now (then returns undefined
   * at once): one node at a time among several sharing the store (PostgreSQL advisory lock; an
   * embedded store has one process and always runs it).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;

  /** Makes everything committed so far part of the main database file (best effort) and closes. */
  close(): Promise<void>;
}

/**
 * How long an expired invite is kept after it expired: whoever tries it in that time is told it
 * expired (INVITE_EXPIRED), not that it is unknown. Only the code's hash and two dates are kept.
 */
export const EXPIRED_INVITE_KEPT_MS = 30 * 24 * 3_600_000;
