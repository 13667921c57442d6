/**
 * The Sigilo client: one device of one person, as one object. It keeps
 * everything in a ClientStore and runs the protocol engine with I/O at the
 * edges: load records, call the pure engine, store the results in one
 * transaction, then send or acknowledge (spec/client.md; spec/protocol.md for
 * the cryptography).
 *
 * This class is a façade: each concept lives in a module named after it (account, prekeys, contacts, verification,
 * sessions, pairwise-send, outbox, messages, receipts-typing, inbox, linking, online, devices, attachment-messages,
 * groups), and they share one Engine (engine.ts). Every I/O is a port handed in through ClientOptions.
 */
import type { AsyncSymmetricCrypto, IdentityKeyPair, IdentitySigner, IdentityTokenOpener, ProtocolContext, TokenKeyReference } from '@sigilo/protocol';
import { portableCrypto, systemRandom } from '@sigilo/protocol/portable';
import type { HistoryEntry, ProvisionMessage } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { DownloadOptions, SendFileOptions } from './attachments.js';
import { withAgreements, type AgreementCache, type AsyncAgreement } from './agreement-prefetch.js';
import type { AttachmentFiles, DownloadSink, FileInput, TransportFactory } from './ports.js';
import { fetchJson, type ClientBody, type ServerAddress } from './connection.js';
import { Profiles } from './profiles.js';
import { setPushSubscription, type PushSubscriptionKeys } from './push.js';
import { KeyTransparencyClient, type TransparencyOptions } from './transparency.js';
import { Usernames } from './usernames.js';
import { Engine } from './engine.js';
import type { ClientEvent, ConnectionState } from './events.js';
import { groupEngine } from './group-host.js';
import type { GroupInfo } from './groups.js';
import { formatContactCard } from './ids.js';
import type { ClientStore, ContactRow, MessageQuote, MessageRow, MessageStatus } from './store/port.js';
import { init, register } from './account.js';
import { downloadAttachment, sendFile } from './attachment-messages.js';
import { addContact, resolveContact } from './contacts.js';
import { listDevices, removeDevice, setDeviceName } from './devices.js';
import { approveLink, backupContents, restoreAccount, startLink } from './linking.js';
import { deleteForEveryone, deleteForMe, deleteHistory, mute, sendText } from './messages.js';
import { close, connect } from './online.js';
import { memoryMessages, wipeConfidential } from './confidential.js';
import { confidentialOn, disappearingTimer, setConfidential, setDisappearingTimer } from './conversation-privacy.js';
import { runExpiry } from './disappearing.js';
import { flush } from './outbox.js';
import { markRead, typing } from './receipts-typing.js';
import { acceptIdentity, safetyNumber, verifyQr } from './verification.js';
import { exportReceipts, setSignedReceipts, signedReceipts, signedReceiptsOn } from './signed-receipts.js';
import { answerSmp, pendingSmpQuestion, smpStatus, startSmp } from './smp-verification.js';
import { acceptRevoked, certificateStatus, orgCa, refreshOrgTrust, trusted, type CertificateStatus } from './org-trust/org-trust.js';
import { identityFingerprint } from './org-trust/certificate.js';
import { pendingCertification, requestCertification, type CertificationRequestResult, type PendingCertification } from './org-trust/request.js';

export { PREKEY_BATCH, PQ_PREKEY_BATCH } from './prekeys.js';
export { TYPING_EXPIRY_MS, type ClientEvent, type ConnectionState } from './events.js';

/** The ports a client is made with (client.md §7.4). */
export interface ClientOptions {
  /** Everything this device keeps (store/port.ts). */
  readonly store: ClientStore;
  /** The CryptoProvider and randomness (default: the portable provider and the platform's CSPRNG). */
  readonly ctx?: ProtocolContext;
  /** The clock (Unix ms). */
  readonly now?: () => number;
  /** Makes the Transport to the server `init` stored (needed for anything online). */
  readonly transport?: TransportFactory;
  /** Moves attachment bytes between the platform's files and the server (needed by sendFile/downloadAttachment). */
  readonly attachments?: AttachmentFiles;
  /** Key transparency witnesses and how many cosignatures a checkpoint needs (spec/transparency.md §6). */
  readonly transparency?: TransparencyOptions;
  /**
   * The platform's asynchronous X25519 and (optional) HKDF and AES-GCM (WebCrypto in a browser): sealed deliveries are opened
   * with them ahead of each inbox batch, in parallel (agreement-prefetch.ts). Optional: the CryptoProvider does it otherwise.
   */
  readonly agreement?: AsyncAgreement;
  readonly symmetric?: AsyncSymmetricCrypto;
  /** Confidential device (client.md §15): every 1:1 message sent or received is kept in memory only, never in the store. */
  readonly confidential?: boolean;
  /** Give the server a coarse expiry hint (whole hour) for disappearing messages and their files (default true; server.md §8.3). */
  readonly expiryHints?: boolean;
  /** Opens an identity signing key on a PKCS#11 token (client-node); without it such an identity is refused (trust.md §7.1). */
  readonly identityToken?: IdentityTokenOpener;
}

export class SigiloClient {
  readonly store: ClientStore;
  readonly #engine: Engine;

  constructor(options: ClientOptions) {
    this.store = options.store;
    const ctx = options.ctx ?? { crypto: portableCrypto, random: systemRandom };
    const agreements: AgreementCache = new Map();
    this.#engine = new Engine(options.store, options.agreement ? { ...ctx, crypto: withAgreements(ctx.crypto, agreements) } : ctx, options.now ?? Date.now, options.transport, options.attachments);
    if (options.agreement) this.#engine.prefetch = { agree: options.agreement, cache: agreements, symmetric: options.symmetric, unsealed: new Map() };
    this.#engine.groups = groupEngine(this.#engine);
    const engine = this.#engine;
    const request = (body: ClientBody) => engine.requireConnection().request(body);
    this.profiles = engine.profiles = new Profiles({ store: this.store, ctx: engine.ctx, now: () => engine.now(), accountId: () => engine.requireAccount().accountId, request });
    this.usernames = engine.usernames = new Usernames({ store: this.store, ctx: engine.ctx, request, displayName: () => this.profiles.own().name });
    engine.confidentialDevice = options.confidential ?? false;
    engine.expiryHints = options.expiryHints ?? true;
    engine.identityToken = options.identityToken;
    engine.kt = new KeyTransparencyClient(this.store, engine.ctx.crypto, () => fetchJson(engine.transport(), '/v1/server-info'), (e) => engine.emit(e), options.transparency);
    // Disappearing messages whose countdown ran out while this device was off go before anything can show them (client.md §14).
    void runExpiry(engine);
  }

  /** Display name and avatar (encrypted profile), and the profile keys of others (client.md §11.1). */
  readonly profiles: Profiles;
  /** Username and the member directory (client.md §11.2). */
  readonly usernames: Usernames;

  /** The server's public information (/v1/server-info: keys, limits, policy, push), over this client's transport. */
  serverInfo(): Promise<unknown> {
    return fetchJson(this.#engine.transport(), '/v1/server-info');
  }

  /**
   * Key transparency (spec/transparency.md §6.3): checks this account's bindings in the log now, and
   * returns the latest checkpoint seen. Throws KEY_TRANSPARENCY (and emits kt-alert) on a finding.
   */
  async checkTransparency(): Promise<{ bindings: number; treeSize: number }> {
    const me = this.#engine.requireAccount();
    const { bindings } = await this.#engine.kt.monitor(this.#engine.requireConnection(), me.accountId, this.identity.publicKey);
    return { bindings, treeSize: this.#engine.kt.latest()?.size ?? 0 };
  }

  /** Registers (or, undefined, removes) this device's wake-up push subscription (push.ts). */
  async setPushSubscription(subscription: PushSubscriptionKeys | undefined): Promise<void> {
    await setPushSubscription(this.#engine.requireConnection(), subscription);
  }

  on(listener: (e: ClientEvent) => void): () => void {
    return this.#engine.events.on(listener);
  }

  get server(): ServerAddress | undefined {
    return this.#engine.server;
  }

  get accountId(): Uint8Array | undefined {
    return this.#engine.accountId;
  }

  get deviceId(): number | undefined {
    return this.#engine.deviceId;
  }

  get identity(): IdentityKeyPair {
    return this.#engine.identity;
  }

  get accessKey(): Uint8Array | undefined {
    return this.#engine.accessKey;
  }

  /** The card to give people so they can write to this account (sealed from the first message). */
  get contactCard(): string {
    const id = this.#engine.requireAccount();
    return formatContactCard(id.accountId, this.accessKey!, this.profiles.ownKey());
  }

  /**
   * Points this device at a server: `url` (https://host:port or wss://host:port/v1/ws) and the
   * SHA-256 fingerprint of its certificate. Fetches the server's sender-certificate keys over
   * the pinned connection.
   */
  init(url: string, fingerprint: string | undefined, ca?: { fingerprint: string; cert: string }): Promise<{ url: string; fingerprint: string | undefined; caFingerprint?: string }> {
    return init(this.#engine, url, fingerprint, ca);
  }

  /** Creates this person's identity and account with an administrator's invite code; `onToken`: its signing key on a PKCS#11 token. */
  register(inviteCode: string, onToken?: { token: TokenKeyReference; signer: IdentitySigner }): Promise<{ accountId: Uint8Array; deviceId: number }> {
    return register(this.#engine, inviteCode, onToken);
  }

  /**
   * On a NEW device: asks the server for a provisioning address and returns the
   * code to show (and its QR payload). `completed` resolves once an existing
   * device approved the code: the identity, contacts and history are installed,
   * this device is linked to the account and its prekeys are published.
   */
  startLink(): Promise<{ code: string; qrPayload: Uint8Array; completed: Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }>; cancel(): void }> {
    return startLink(this.#engine);
  }

  /**
   * On an EXISTING device: sends the identity, contacts and the conversation
   * history, encrypted to the new device's code, through the provisioning relay.
   */
  approveLink(codeText: string, options: { onProgress?: (sent: number, total: number) => void } = {}): Promise<{ historyMessages: number }> {
    return approveLink(this.#engine, codeText, options);
  }

  /**
   * Backup (backup.ts, spec/backup.md): what a backup holds of this account. Never this device's own keys,
   * prekeys or sessions: a restore links a new device.
   */
  backupContents(): { account: ProvisionMessage; messages: HistoryEntry[]; server: ServerAddress } {
    return backupContents(this.#engine);
  }

  /**
   * Restore (backup.ts): on a device with a server configured and no account, links this device to the backup's
   * account with the identity key it holds, and installs its contacts, groups and history.
   */
  restoreAccount(account: ProvisionMessage, messages: readonly HistoryEntry[]): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
    return restoreAccount(this.#engine, account, messages);
  }

  get state(): ConnectionState {
    return this.#engine.state;
  }

  /**
   * Connects, authenticates, then receives everything queued while offline and
   * sends the outbox. With `reconnect`, a dropped connection is retried with
   * exponential backoff (1 s doubling to 60 s, with jitter) until close().
   */
  connect(options: { reconnect?: boolean } = {}): Promise<void> {
    return connect(this.#engine, options);
  }

  /** Stops reconnecting, waits for work in progress, closes the connection. */
  close(): Promise<void> {
    return close(this.#engine);
  }

  /** Adds or renames a contact from a contact card or account id. */
  addContact(alias: string, accountId: Uint8Array, accessKey: Uint8Array | undefined, profileKey?: Uint8Array): ContactRow {
    return addContact(this.#engine, alias, accountId, accessKey, profileKey);
  }

  resolveContact(nameOrId: string): ContactRow {
    return resolveContact(this.#engine, nameOrId);
  }

  /**
   * Sends a text: stored as pending and queued in one transaction (so it survives a
   * restart and is sent when the connection is back), then sent at once if online.
   */
  sendText(to: Uint8Array, body: string, options: { quote?: MessageQuote } = {}): Promise<MessageRow> {
    return sendText(this.#engine, to, body, options);
  }

  /**
   * Sends a file to a contact (16-byte account id) or a group (32-byte group id):
   * prepares it (type, metadata removed from pictures unless `keepMetadata`,
   * thumbnail, duration), encrypts and uploads it as a stream, then sends the
   * message carrying its pointer. Needs the connection (the upload slot is
   * reserved over it). An interrupted upload (AbortSignal, lost connection,
   * process ended) is resumed by calling sendFile again with the same file and
   * recipient; a file changed since starts over. `file` is a platform name
   * (a path in Node, opened through the AttachmentFiles port) or an opened
   * FileInput (a browser's Blob: client-web's blobInput).
   */
  sendFile(to: Uint8Array, path: string | FileInput, options: SendFileOptions & { caption?: string } = {}): Promise<MessageRow> {
    return sendFile(this.#engine, to, path, options);
  }

  /**
   * Downloads attachment `index` of a stored message to `outPath` (a platform
   * name, or a DownloadSink such as an OPFS file), verified and decrypted
   * (attachment-download.ts): the file appears only when complete; an
   * interrupted download resumes from what the sink kept (`<outPath>.part` in
   * Node) when called again.
   */
  downloadAttachment(conversation: Uint8Array, messageId: Uint8Array, index: number, outPath: string | DownloadSink, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
    return downloadAttachment(this.#engine, conversation, messageId, index, outPath, options);
  }

  /**
   * A conversation's messages (all conversations': undefined), oldest first: the stored ones and the confidential ones held in memory (client.md §15).
   * Expired disappearing messages are removed first, so none is ever shown (client.md §14).
   */
  listMessages(conversation: Uint8Array | undefined, limit = 200): MessageRow[] {
    void runExpiry(this.#engine);
    const all = [...this.store.listMessages(conversation, limit), ...memoryMessages(this.#engine, conversation)];
    const by = conversation ? 'timestamp' : 'receivedAt'; // as the store orders them
    return all.sort((a, b) => a[by] - b[by]).slice(-limit);
  }

  /**
   * Sets a conversation's disappearing-message timer (ms; 0 off; 30 s to 4 weeks) and tells its participants with a
   * notice message. TIMER_TOO_LONG above the organisation's maximum; in a group only admins may (client.md §14).
   */
  setDisappearingTimer(conversation: Uint8Array, timerMs: number): Promise<MessageRow> { return setDisappearingTimer(this.#engine, conversation, timerMs); }

  /** The timer new messages of the conversation carry (ms; 0 off), the organisation's maximum applied. */
  disappearingTimer(conversation: Uint8Array): number { return disappearingTimer(this.#engine, conversation); }

  /**
   * Deletes every message whose disappearing countdown ran out now (also done on a timer and on start); resolves with
   * how many, once their downloaded files are deleted too.
   */
  expireMessages(): Promise<number> { return runExpiry(this.#engine); }

  /** Switches confidential mode of a 1:1 conversation, with a notice both sides see (client.md §15). */
  setConfidential(conversation: Uint8Array, on: boolean): Promise<MessageRow> { return setConfidential(this.#engine, conversation, on); }

  /** Whether messages of this conversation stay in memory only (its mode, or this device's option). */
  confidential(conversation: Uint8Array): boolean { return confidentialOn(this.#engine, conversation); }

  /** Forgets a conversation's confidential messages now (chat closed, app hidden): a 'confidential-wiped' event follows. */
  wipeConfidential(conversation: Uint8Array): void { wipeConfidential(this.#engine, conversation); }

  /** Marks received messages read and tells their author (read receipt) and this account's other devices. */
  markRead(conversation: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
    return markRead(this.#engine, conversation, messageIds);
  }

  /** Typing indicators are ephemeral: sent only when online, never queued. */
  typing(conversation: Uint8Array, started: boolean): Promise<void> {
    return typing(this.#engine, conversation, started);
  }

  /** Deletes one of this account's messages for everyone in the conversation. */
  deleteForEveryone(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
    return deleteForEveryone(this.#engine, conversation, messageId);
  }

  /** Deletes a message on this person's devices only. */
  deleteForMe(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
    return deleteForMe(this.#engine, conversation, messageId);
  }

  /** Deletes a conversation's history on all of this person's devices. */
  deleteHistory(conversation: Uint8Array): Promise<number> {
    return deleteHistory(this.#engine, conversation);
  }

  /** Mutes notifications for a conversation until `until` (Unix ms; 0 unmutes), on all devices. */
  mute(conversation: Uint8Array, until: number): Promise<void> {
    return mute(this.#engine, conversation, until);
  }

  /** Sends everything in the outbox, in order; stops at the first failure and leaves the rest queued. */
  flush(): Promise<void> {
    return flush(this.#engine);
  }

  /** Creates a group named `name` with these members (contacts); this account is its first admin. */
  createGroup(name: string, memberAccountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#engine.groups.create(name, memberAccountIds);
  }

  /** Adds members (admins only). Their devices get the whole membership log. */
  addMembers(groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'add', members: accountIds.map((accountId) => ({ accountId, identityKey: new Uint8Array(0) })) });
  }

  /** Removes members (admins only); every remaining member's next message uses a new sender key. */
  removeMembers(groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'remove', accountIds });
  }

  promote(groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'promote', accountId });
  }

  demote(groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'demote', accountId });
  }

  /** Leaves the group: history stays on this device; nothing more is sent or received in it. */
  leaveGroup(groupId: Uint8Array): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'leave' });
  }

  renameGroup(groupId: Uint8Array, name: string): Promise<GroupInfo> {
    return this.#engine.groups.change(groupId, { type: 'rename', name });
  }

  listGroups(): GroupInfo[] {
    return this.#engine.groups.list();
  }

  group(groupId: Uint8Array): GroupInfo {
    return this.#engine.groups.info(groupId);
  }

  /** A group by name, or by id in hex (a unique prefix of 8 or more digits will do). */
  resolveGroup(nameOrHexId: string): GroupInfo {
    return this.#engine.groups.resolve(nameOrHexId);
  }

  /** A text to every member of the group (encrypted once with this device's sender key, uploaded once). */
  sendGroupText(groupId: Uint8Array, text: string): Promise<MessageRow> {
    return this.#engine.groups.sendText(groupId, text);
  }

  /** A private message to one member inside the group: pairwise, shown in the group to the two of you only. */
  sendPrivateInGroup(groupId: Uint8Array, accountId: Uint8Array, text: string): Promise<MessageRow> {
    return this.#engine.groups.sendPrivate(groupId, accountId, text);
  }

  /** Per-member ticks of one of this account's group messages. */
  groupReceipts(groupId: Uint8Array, messageId: Uint8Array): { accountId: Uint8Array; status: MessageStatus }[] {
    return this.store.listGroupReceipts(groupId, messageId);
  }

  /** Mutes a group's notifications on this device until `until` (Unix ms; 0 unmutes). */
  muteGroup(groupId: Uint8Array, until: number): void {
    this.#engine.groups.mute(groupId, until);
  }

  safetyNumber(accountId: Uint8Array): { digits: string; formatted: string; qrPayload: Uint8Array; verified: boolean; changed: boolean } {
    return safetyNumber(this.#engine, accountId);
  }

  /** Accepts a contact's changed identity key (after comparing safety numbers), unblocking sends. */
  acceptIdentity(accountId: Uint8Array, verified = false): void {
    return acceptIdentity(this.#engine, accountId, verified);
  }

  /** Marks a contact verified after its QR payload was scanned (or digits compared). */
  verifyQr(accountId: Uint8Array, scanned: Uint8Array): boolean {
    return verifyQr(this.#engine, accountId, scanned);
  }

  /** Verifies a contact by a question only they can answer (SMP, client.md §4.4); the outcome comes as an 'smp-result' event. */
  startSmp(accountId: Uint8Array, question: string, answer: string): Promise<void> {
    return startSmp(this.#engine, accountId, question, answer);
  }

  /** Answers the verification question a contact asked ('smp-question' event). */
  answerSmp(accountId: Uint8Array, answer: string): Promise<void> {
    return answerSmp(this.#engine, accountId, answer);
  }

  /** The verification question a contact asked that waits for our answer. */
  pendingSmpQuestion(accountId: Uint8Array): string | undefined {
    return pendingSmpQuestion(this.#engine, accountId);
  }

  /** Where the verification with a contact stands (phase; result once finished). */
  smpStatus(accountId: Uint8Array): { phase: string; result?: 'match' | 'no-match'; question?: string } {
    return smpStatus(this.#engine, accountId);
  }

  /** Turns signed read receipts on or off for a 1:1 conversation (client.md §4.5). */
  setSignedReceipts(accountId: Uint8Array, on: boolean): void {
    setSignedReceipts(this.#engine, accountId, on);
  }

  signedReceiptsOn(accountId: Uint8Array): boolean {
    return signedReceiptsOn(this.#engine, accountId);
  }

  /** The signed read receipts kept for one of our messages. */
  signedReceipts(accountId: Uint8Array, messageId: Uint8Array) {
    return signedReceipts(this.#engine, accountId, messageId);
  }

  /** The export file (receipts.md) of one of our messages with its signed read receipts. */
  exportReceipts(accountId: Uint8Array, messageId: Uint8Array): string {
    return exportReceipts(this.#engine, accountId, messageId);
  }

  /** Where an account's identity stands with the organisation's CA (spec/trust.md §6): certified, expired, revoked, uncertified. */
  certificateStatus(accountId: Uint8Array, now = this.#engine.now()): CertificateStatus {
    return certificateStatus(this.#engine, accountId, now);
  }

  /** The organisation CA this device pinned (its name and SHA-256 fingerprint), if any. */
  orgCa(): ReturnType<typeof orgCa> { return orgCa(this.#engine); }

  /** Verified by hand, or certified where the organisation's CA says a certificate suffices (spec/trust.md §6.4). */
  trusted(accountId: Uint8Array): ReturnType<typeof trusted> { return trusted(this.#engine, accountId); }

  /** Fetches the organisation's CA, CRL and the certificates of this account and its contacts now (also done on connect). */
  async refreshOrgTrust(): Promise<void> {
    await this.#engine.orgTrustRefresh;
    await refreshOrgTrust(this.#engine, this.#engine.requireConnection());
  }

  /** Sends to a contact whose certificate was revoked anyway (after checking with them); false if it is not revoked. */
  acceptRevokedCertificate(accountId: Uint8Array): boolean { return acceptRevoked(this.#engine, accountId); }

  /** Asks the organisation to certify this account's identity key as `name` (spec/trust.md §4.1); the administrator approves it. */
  requestCertification(name: string): Promise<CertificationRequestResult> { return requestCertification(this.#engine, name); }
  /** The request sent from this device and not yet answered by a certificate of this key. */
  pendingCertification(): PendingCertification | undefined { return pendingCertification(this.#engine, this.certificateStatus(this.#engine.requireAccount().accountId).state === 'certified'); }

  /** This account's identity fingerprint, which the administrator compares before certifying it (spec/trust.md §4). */
  get identityFingerprint(): string {
    return identityFingerprint(this.#engine.ctx.crypto, this.identity.publicKey);
  }

  /** The account's devices; `name` is undefined when none is set or it cannot be read (device-names.ts). */
  listDevices(): Promise<{ deviceId: number; createdDay: number; lastSeenDay: number; name: string | undefined }[]> {
    return listDevices(this.#engine);
  }

  /** Names a device of this account (default: this one), encrypted for the account's devices only. */
  setDeviceName(name: string, deviceId = this.#engine.requireAccount().deviceId): Promise<void> {
    return setDeviceName(this.#engine, name, deviceId);
  }

  /** Unlinks another device of this account (from the primary device): the server closes it and purges its queue. */
  removeDevice(deviceId: number): Promise<void> {
    return removeDevice(this.#engine, deviceId);
  }
}
