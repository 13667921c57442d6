/**
 * The Sigilo client: one device of one person. It keeps everything in an
 * encrypted ClientStore, talks to one server over a pinned TLS WebSocket, and
 * runs the protocol engine with I/O at the edges: load records, call the pure
 * engine, store the results in one transaction, then send or acknowledge.
 * (spec/client.md describes the behaviour; spec/protocol.md the cryptography.)
 */
import { EventEmitter } from 'node:events';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ProtocolError, DuplicateMessageError, InvalidCertificateError, authPayload, bytesEqual, decodeIdentityKeyPair, decodeOneTimePreKeyRecord, decodePqPreKeyRecord,
  decodePreKeyBundle, decodeSessionRecord, decodeSignedPreKeyRecord, decryptMessage, decryptPreKeyMessage, encodeIdentityKeyPair,
  encodeOneTimePreKeyRecord, encodePqPreKeyRecord, encodeSessionRecord, encodeSignedPreKeyRecord, encryptMessage,
  generateIdentityKeyPair, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey, initiateSession, messageType,
  parsePreKeyMessage, registerDevicePayload, registerIdentityPayload, safetyNumber, sealSender, assertSenderMatchesSession,
  unsealSender, verifySenderCertificate, generateX25519KeyPair, linkDevicePayload, linkIdentityPayload, formatSafetyNumber, verifySafetyNumberQr, SEALED_CONTENT_PREKEY, SEALED_CONTENT_RATCHET,
  type IdentityKeyPair, type ProtocolContext, type SessionRecord, type TrustedServerKey, type SealedSenderCache,
} from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import {
  ContentSchema, HistoryArchiveSchema, HistoryEntrySchema, ProvisionMessageSchema, ReceiptMessage_Type, TypingMessage_Action, type Content, type DataMessage,
  type HistoryEntry, type ProvisionMessage,
} from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Deliver, ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { decryptDeviceName, deviceRemovedMessage, encryptDeviceName } from './device-names.js';
import { Connection, ServerRequestError, fetchJson, normaliseFingerprint, type ClientBody, type ServerAddress } from './connection.js';
import { envelopeId } from './envelope-ids.js';
import { ClientError } from './errors.js';
import { formatAccountId, formatContactCard } from './ids.js';
import { pad, unpad } from './padding.js';
import { decryptHistory, encryptHistory, formatLinkCode, linkQrPayload, openProvision, parseLinkCode, sealProvision } from './provisioning.js';
import { GROUP_ID_LENGTH, Groups, type GroupChangeEvent, type GroupInfo } from './groups.js';
import type { ClientStore, ContactRow, MessageRow, MessageStatus } from './store/port.js';
import { AttachmentError, downloadFile, uploadFile, uploadStateKey, type DownloadOptions, type SendFileOptions } from './attachments.js';
import { acceptPointers, pointerFromAttachment, type Attachment } from './media/pointer.js';

/** One-time prekeys kept on the server; replenished below LOW_WATER (the server also tells us). */
export const PREKEY_BATCH = 100;
export const PQ_PREKEY_BATCH = 20;
const LOW_WATER = 20;
/** A typing indicator with no update for this long is over. */
export const TYPING_EXPIRY_MS = 15_000;
/** Deliveries decrypted and stored per transaction (and acknowledged together). */
const INBOX_BATCH = 256;

const META = {
  serverUrl: 'server.url',
  serverFingerprint: 'server.fingerprint',
  serverKeys: 'server.certificate-keys',
  accountId: 'account.id',
  deviceId: 'device.id',
  deviceKey: 'device.key',
  identity: 'identity',
  accessKey: 'access.key',
  nextPreKeyId: 'prekeys.next-id',
} as const;

const text = new TextEncoder();
const untext = new TextDecoder();
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
const readU32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export type ConnectionState = 'offline' | 'connecting' | 'online';

export type ClientEvent =
  | { type: 'message'; message: MessageRow }
  | { type: 'status'; conversation: Uint8Array; messageId: Uint8Array; status: MessageStatus }
  /** In a group, `conversation` is the group id and `from` the member typing. */
  | { type: 'typing'; conversation: Uint8Array; started: boolean; expiresAt: number; from?: Uint8Array }
  | { type: 'deleted'; conversation: Uint8Array; messageId: Uint8Array }
  | { type: 'history-deleted'; conversation: Uint8Array }
  | { type: 'identity-changed'; accountId: Uint8Array }
  | { type: 'connection'; state: ConnectionState; retryInMs?: number }
  | { type: 'caught-up' }
  | { type: 'undecryptable'; reason: string }
  /** A queued message could not be sent: `reason` says whether it will be retried. */
  | { type: 'send-failed'; conversation: Uint8Array; messageId: Uint8Array; reason: string }
  /** Groups: membership changes applied (who added, removed, promoted whom; renames). */
  | { type: 'group-update'; groupId: Uint8Array; revision: number; changes: GroupChangeEvent[] }
  /** Groups: something refused (a forged membership change, a message from a non-member…); nothing was applied. */
  | { type: 'group-rejected'; groupId: Uint8Array | undefined; reason: string };

export interface ClientOptions {
  readonly store: ClientStore;
  readonly ctx?: ProtocolContext;
  readonly now?: () => number;
}

/** What applying a batch of deliveries produces, acted on after its transaction commits. */
interface InboxEffects {
  readonly events: ClientEvent[];
  readonly followUps: (() => void)[];
  readonly receipts: Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>;
  /** Sealed deliveries signed by a server key we do not know: kept (not acknowledged) until the keys are refreshed. */
  readonly unknownSigner: Deliver[];
  readonly sessions: Map<string, { accountId: Uint8Array; deviceId: number; record: SessionRecord | undefined; dirty: boolean }>;
}

export class SigiloClient {
  readonly store: ClientStore;
  readonly #ctx: ProtocolContext;
  readonly #now: () => number;
  readonly #events = new EventEmitter();
  #connection: Connection | undefined;
  /** An unauthenticated connection for sealed sends, so the server cannot tie them to this device (server.md §5). */
  #anonymous: Promise<Connection> | undefined;
  #state: ConnectionState = 'offline';
  #wantOnline = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #backoffMs = 0;
  #certificate: { bytes: Uint8Array; expires: number } | undefined;
  #inbox: Deliver[] = [];
  /** Bumped by close(): work started before it does not bring the connection back. */
  #generation = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushBackoffMs = 0;
  #inboxTimer: NodeJS.Timeout | undefined;
  #inboxRunning: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  #ownDevices: number[] | undefined;
  #identity: IdentityKeyPair | undefined;
  /** The static half of sealed sender per peer identity (constant per pair, used sending and receiving) and verified certificates. */
  readonly #sealedCache: SealedSenderCache = { staticSecrets: new Map(), certificates: new Map() };
  #trusted: TrustedServerKey[] | undefined;
  #keysRefreshedAt = 0;
  #account: { accountId: Uint8Array; deviceId: number } | undefined;
  readonly #typingTimers = new Map<string, NodeJS.Timeout>();
  readonly #groups: Groups;

  constructor(options: ClientOptions) {
    this.store = options.store;
    this.#ctx = options.ctx ?? { crypto: nodeCrypto, random: systemRandom };
    this.#now = options.now ?? Date.now;
    this.#events.setMaxListeners(50);
    this.#groups = this.#groupEngine();
  }

  on(listener: (e: ClientEvent) => void): () => void {
    this.#events.on('event', listener);
    return () => this.#events.off('event', listener);
  }

  /** A listener that throws must not break the client: its error is dropped here. */
  #emit(e: ClientEvent): void {
    for (const listener of this.#events.listeners('event') as ((e: ClientEvent) => void)[]) {
      try {
        listener(e);
      } catch { /* the listener's problem */ }
    }
  }

  // ------------------------------------------------------------------ identity and setup

  get server(): ServerAddress | undefined {
    const url = this.store.getMeta(META.serverUrl);
    if (!url) return undefined;
    const fp = this.store.getMeta(META.serverFingerprint);
    return { url: untext.decode(url), fingerprint: fp ? untext.decode(fp) : undefined };
  }

  get accountId(): Uint8Array | undefined {
    return this.store.getMeta(META.accountId);
  }

  get deviceId(): number | undefined {
    const b = this.store.getMeta(META.deviceId);
    return b ? readU32(b) : undefined;
  }

  get identity(): IdentityKeyPair {
    if (!this.#identity) {
      const b = this.store.getMeta(META.identity);
      if (!b) throw new ClientError('NOT_REGISTERED', 'this device has no identity yet: run `sigilo register --invite CODE` or `sigilo link`');
      this.#identity = decodeIdentityKeyPair(this.#ctx.crypto, b);
      this.#retain(this.#identity);
    }
    return this.#identity;
  }

  /** The identity keys live as long as this client: let the provider keep them prepared. */
  #retain(identity: IdentityKeyPair): void {
    this.#ctx.crypto.retainPrivateKey?.(identity.agreement.privateKey, 'x25519');
    this.#ctx.crypto.retainPrivateKey?.(identity.signing.privateKey, 'ed25519');
  }

  get accessKey(): Uint8Array | undefined {
    return this.store.getMeta(META.accessKey);
  }

  /** The card to give people so they can write to this account (sealed from the first message). */
  get contactCard(): string {
    const id = this.#requireAccount();
    return formatContactCard(id.accountId, this.accessKey!);
  }

  #requireAccount(): { accountId: Uint8Array; deviceId: number } {
    if (this.#account) return this.#account;
    const accountId = this.accountId, deviceId = this.deviceId;
    if (!accountId || deviceId === undefined) throw new ClientError('NOT_REGISTERED', 'this device is not registered: run `sigilo register --invite CODE` or `sigilo link`');
    this.#account = { accountId, deviceId };
    return this.#account;
  }

  #trustedKeys(): TrustedServerKey[] {
    if (this.#trusted) return this.#trusted;
    const b = this.store.getMeta(META.serverKeys);
    if (!b) throw new ClientError('NOT_INITIALISED', 'no server configured: run `sigilo init URL --fingerprint FP`');
    this.#trusted = (JSON.parse(untext.decode(b)) as { keyId: number; publicKey: string }[]).map((k) => ({ keyId: k.keyId, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')) }));
    return this.#trusted;
  }

  /**
   * Points this device at a server: `url` (https://host:port or wss://host:port/v1/ws) and the
   * SHA-256 fingerprint of its certificate. Fetches the server's sender-certificate keys over
   * the pinned connection.
   */
  async init(url: string, fingerprint: string | undefined): Promise<{ url: string; fingerprint: string | undefined }> {
    const parsed = new URL(url.includes('://') ? url : `wss://${url}`);
    if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
    if (parsed.protocol !== 'wss:') throw new ClientError('INVALID_INPUT', 'the server URL must be https://HOST:PORT or wss://HOST:PORT (TLS is required)');
    if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1/ws';
    const address: ServerAddress = { url: parsed.toString(), fingerprint: fingerprint ? normaliseFingerprint(fingerprint) : undefined };
    const info = await fetchJson(address, '/v1/server-info') as { name?: string; certificateKeys?: { keyId: number; publicKey: string }[] };
    if (info.name !== 'sigilo' || !Array.isArray(info.certificateKeys)) throw new ClientError('SERVER_ERROR', 'this is not a Sigilo server (no server-info)');
    if (this.accountId && this.server && this.server.url !== address.url) {
      throw new ClientError('ALREADY_REGISTERED', 'this device is registered with another server; use a new --dir for a second account');
    }
    this.store.transaction(() => {
      this.store.setMeta(META.serverUrl, text.encode(address.url));
      this.store.setMeta(META.serverFingerprint, address.fingerprint ? text.encode(address.fingerprint) : undefined);
      this.store.setMeta(META.serverKeys, text.encode(JSON.stringify(info.certificateKeys)));
    });
    this.#trusted = undefined;
    this.#sealedCache.certificates.clear();
    return { url: address.url, fingerprint: address.fingerprint };
  }

  /** Fetches the server's sender-certificate keys again (over the pinned connection), e.g. after a key rotation. */
  async #refreshServerKeys(): Promise<void> {
    this.#keysRefreshedAt = this.#now();
    const info = await fetchJson(this.#requireServer(), '/v1/server-info') as { certificateKeys?: { keyId: number; publicKey: string }[] };
    if (!Array.isArray(info.certificateKeys)) return;
    this.store.setMeta(META.serverKeys, text.encode(JSON.stringify(info.certificateKeys)));
    this.#trusted = undefined;
    this.#sealedCache.certificates.clear();
  }

  #generateDeviceKey(): { privateKey: Uint8Array; publicKey: Uint8Array } {
    const privateKey = this.#ctx.random(32);
    return { privateKey, publicKey: this.#ctx.crypto.ed25519PublicKey(privateKey) };
  }

  /** Creates this person's identity and account with an administrator's invite code. */
  async register(inviteCode: string): Promise<{ accountId: Uint8Array; deviceId: number }> {
    if (this.accountId) throw new ClientError('ALREADY_REGISTERED', 'this device is already registered');
    const address = this.#requireServer();
    const identity = generateIdentityKeyPair(this.#ctx);
    const deviceKey = this.#generateDeviceKey();
    const { connection, nonce } = await Connection.open(address, () => {});
    try {
      const f = await connection.request({
        case: 'register',
        value: {
          inviteCode: inviteCode.trim(),
          identityKey: identity.publicKey,
          deviceKey: deviceKey.publicKey,
          identitySignature: this.#ctx.crypto.ed25519Sign(identity.signing.privateKey, registerIdentityPayload(nonce, deviceKey.publicKey)),
          deviceSignature: this.#ctx.crypto.ed25519Sign(deviceKey.privateKey, registerDevicePayload(nonce, identity.publicKey)),
        },
      });
      if (f.body.case !== 'registered') throw new ClientError('SERVER_ERROR', 'unexpected answer to registration');
      const { accountId, deviceId } = f.body.value;
      const accessKey = this.#ctx.random(16);
      this.store.transaction(() => {
        this.store.setMeta(META.identity, encodeIdentityKeyPair(identity));
        this.store.setMeta(META.deviceKey, deviceKey.privateKey);
        this.store.setMeta(META.accountId, accountId);
        this.store.setMeta(META.deviceId, u32(deviceId));
        this.store.setMeta(META.accessKey, accessKey);
      });
      this.#identity = identity;
        this.#retain(identity);
      // A successful registration authenticates this connection as the new device.
      await connection.request({ case: 'setAccessKey', value: { accessKey, unrestricted: false } });
      await this.#replenishPreKeys(connection, true);
      return { accountId, deviceId };
    } finally {
      connection.close();
    }
  }

  #requireServer(): ServerAddress {
    const s = this.server;
    if (!s) throw new ClientError('NOT_INITIALISED', 'no server configured: run `sigilo init URL --fingerprint FP` first');
    return s;
  }

  async #authenticate(connection: Connection, nonce: Uint8Array): Promise<void> {
    const { accountId, deviceId } = this.#requireAccount();
    const deviceKey = this.store.getMeta(META.deviceKey)!;
    await connection.request({
      case: 'authenticate',
      value: { accountId, deviceId, signature: this.#ctx.crypto.ed25519Sign(deviceKey, authPayload(nonce, accountId, deviceId)) },
    });
  }

  /** Generates and uploads prekeys: one-time EC and PQ keys up to the batch size, and the signed and last-resort keys when `full`. */
  async #replenishPreKeys(connection: Connection, full: boolean): Promise<void> {
    const count = await connection.request({ case: 'getPreKeyCount', value: {} });
    const c = count.body.case === 'preKeyCount' ? count.body.value : undefined;
    const needSigned = full || !c?.hasSignedPreKey;
    const needLastResort = full || !c?.hasLastResortPqPreKey;
    const oneTime = Math.max(0, PREKEY_BATCH - (c?.oneTimePreKeys ?? 0));
    const pq = Math.max(0, PQ_PREKEY_BATCH - (c?.pqPreKeys ?? 0));
    if (!needSigned && !needLastResort && oneTime < PREKEY_BATCH - LOW_WATER && pq < PQ_PREKEY_BATCH - LOW_WATER / 4) return;
    const identity = this.identity;
    const now = this.#now();
    const start = this.store.getMeta(META.nextPreKeyId);
    let next = start ? readU32(start) : 1;
    const take = () => { const id = next; next = (next + 1) >>> 0 || 1; return id; };
    const signed = needSigned ? generateSignedPreKey(this.#ctx, identity, take(), now) : undefined;
    const lastResort = needLastResort ? generatePqPreKey(this.#ctx, identity, take(), true, now) : undefined;
    const oneTimeKeys = oneTime > 0 ? generateOneTimePreKeys(this.#ctx, next, oneTime) : [];
    next = (next + oneTime) >>> 0;
    const pqKeys = Array.from({ length: pq }, () => generatePqPreKey(this.#ctx, identity, take(), false, now));
    // Private halves are stored before the public halves are published: a bundle handed out is always usable.
    this.store.transaction(() => {
      if (signed) this.store.putPreKey('signed', signed.id, encodeSignedPreKeyRecord(signed));
      if (lastResort) this.store.putPreKey('pq-last-resort', lastResort.id, encodePqPreKeyRecord(lastResort));
      for (const k of oneTimeKeys) this.store.putPreKey('one-time', k.id, encodeOneTimePreKeyRecord(k));
      for (const k of pqKeys) this.store.putPreKey('pq', k.id, encodePqPreKeyRecord(k));
      this.store.setMeta(META.nextPreKeyId, u32(next));
    });
    await connection.request({
      case: 'uploadPreKeys',
      value: {
        signedPreKey: signed ? { id: signed.id, publicKey: signed.keyPair.publicKey, signature: signed.signature } : undefined,
        oneTimePreKeys: oneTimeKeys.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })),
        pqPreKeys: pqKeys.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey, signature: k.signature, lastResort: false })),
        lastResortPqPreKey: lastResort ? { id: lastResort.id, publicKey: lastResort.keyPair.publicKey, signature: lastResort.signature, lastResort: true } : undefined,
      },
    });
  }

  // ------------------------------------------------------------------ linking devices

  /**
   * On a NEW device: asks the server for a provisioning address and returns the
   * code to show (and its QR payload). `completed` resolves once an existing
   * device approved the code: the identity, contacts and history are installed,
   * this device is linked to the account and its prekeys are published.
   */
  async startLink(): Promise<{ code: string; qrPayload: Uint8Array; completed: Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }>; cancel(): void }> {
    if (this.accountId) throw new ClientError('ALREADY_REGISTERED', 'this device is already registered; link from a new --dir');
    const address = this.#requireServer();
    const deliveries: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    const { connection, nonce } = await Connection.open(address, (f) => {
      if (f.body.case === 'provisionDeliver') {
        deliveries.push(f.body.value.body);
        wake?.();
      }
    });
    void connection.closed.then(() => wake?.());
    const listen = await connection.request({ case: 'provisionListen', value: {} });
    if (listen.body.case !== 'provisionAddress') throw new ClientError('SERVER_ERROR', 'the server has no provisioning relay; update it');
    const ephemeral = generateX25519KeyPair(this.#ctx);
    const code = { address: listen.body.value.address, publicKey: ephemeral.publicKey };
    const next = async (): Promise<Uint8Array> => {
      while (deliveries.length === 0) {
        if (!connection.isOpen) throw new ClientError('LINK_FAILED', 'the connection closed before the link was approved; run `sigilo link` again');
        await new Promise<void>((r) => { wake = r; });
      }
      return deliveries.shift()!;
    };
    // The server closes idle unauthenticated connections: keep this one alive while the person walks to the other device.
    const keepAlive = setInterval(() => { connection.request({ case: 'ping', value: {} }, 10_000).catch(() => {}); }, 5_000);
    const completed = (async () => {
      try {
        const pm = fromBinary(ProvisionMessageSchema, openProvision(this.#ctx, ephemeral, await next()));
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < pm.historyChunks; i++) chunks.push(await next());
        const archive = fromBinary(HistoryArchiveSchema, decryptHistory(this.#ctx, pm.historyKey, chunks, pm.historyChunks));
        return await this.#installAccount(connection, nonce, pm, archive.entries);
      } finally {
        clearInterval(keepAlive);
        connection.close();
      }
    })();
    completed.catch(() => {});
    return { code: formatLinkCode(code), qrPayload: linkQrPayload(code), completed, cancel: () => connection.close() };
  }

  /**
   * On an EXISTING device: sends the identity, contacts and the conversation
   * history, encrypted to the new device's code, through the provisioning relay.
   */
  async approveLink(codeText: string, options: { onProgress?: (sent: number, total: number) => void } = {}): Promise<{ historyMessages: number }> {
    const me = this.#requireAccount();
    const connection = this.#requireConnection();
    const code = parseLinkCode(codeText);
    const entries = this.#historyEntries();
    const historyKey = this.#ctx.random(32);
    const chunks = encryptHistory(this.#ctx, historyKey, toBinary(HistoryArchiveSchema, create(HistoryArchiveSchema, { entries })));
    const pm = this.#provisionMessage(me.accountId);
    pm.historyKey = historyKey;
    pm.historyChunks = chunks.length;
    const total = chunks.length + 1;
    await connection.request({ case: 'provisionSend', value: { address: code.address, body: sealProvision(this.#ctx, code.publicKey, toBinary(ProvisionMessageSchema, pm)) } });
    options.onProgress?.(1, total);
    for (let i = 0; i < chunks.length; i++) {
      await connection.request({ case: 'provisionSend', value: { address: code.address, body: chunks[i]! } });
      options.onProgress?.(i + 2, total);
    }
    historyKey.fill(0);
    this.#ownDevices = undefined; // the new device appears in the next device list
    return { historyMessages: entries.length };
  }


  /** The identity, contacts and groups a new device of this account gets (linking, backup). */
  #provisionMessage(accountId: Uint8Array): ProvisionMessage {
    return create(ProvisionMessageSchema, {
      accountId,
      identityKeyPair: encodeIdentityKeyPair(this.identity),
      accessKey: this.accessKey ?? new Uint8Array(0),
      contacts: this.store.listContacts().map((c) => ({
        alias: c.alias ?? '', accountId: c.accountId, identityKey: c.identityKey ?? new Uint8Array(0), verified: c.verified,
        accessKey: c.accessKey ?? new Uint8Array(0), mutedUntil: BigInt(c.mutedUntil),
      })),
      groups: this.#groups.forProvisioning(),
    });
  }

  /** Every stored message not deleted, with its attachment pointers (linking, backup). */
  #historyEntries(): HistoryEntry[] {
    return this.store.allMessages().filter((m) => !m.deleted).map((m) => create(HistoryEntrySchema, {
      conversationAccountId: m.conversation, messageId: m.messageId, authorAccountId: m.author, timestamp: BigInt(m.timestamp),
      text: m.text, status: statusToWire(m.status), outgoing: m.outgoing, privateWith: m.privateWith ?? new Uint8Array(0),
      attachments: (m.attachments ?? []).map(pointerFromAttachment),
    }));
  }

  /**
   * Links a new device to the account of `pm` (signing with its identity key) over `connection`, then installs the
   * identity, contacts, groups and history in one transaction and publishes this device's prekeys.
   */
  async #installAccount(connection: Connection, nonce: Uint8Array, pm: ProvisionMessage, entries: readonly HistoryEntry[]): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
    const identity = decodeIdentityKeyPair(this.#ctx.crypto, pm.identityKeyPair);
    const deviceKey = this.#generateDeviceKey();
    const f = await connection.request({
      case: 'linkDevice',
      value: {
        accountId: pm.accountId,
        deviceKey: deviceKey.publicKey,
        identitySignature: this.#ctx.crypto.ed25519Sign(identity.signing.privateKey, linkIdentityPayload(nonce, pm.accountId, deviceKey.publicKey)),
        deviceSignature: this.#ctx.crypto.ed25519Sign(deviceKey.privateKey, linkDevicePayload(nonce, pm.accountId)),
      },
    });
    if (f.body.case !== 'registered') throw new ClientError('SERVER_ERROR', 'unexpected answer to the link request');
    const deviceId = f.body.value.deviceId;
    const now = this.#now();
    this.store.transaction(() => {
      this.store.setMeta(META.identity, pm.identityKeyPair);
      this.store.setMeta(META.deviceKey, deviceKey.privateKey);
      this.store.setMeta(META.accountId, pm.accountId);
      this.store.setMeta(META.deviceId, u32(deviceId));
      this.store.setMeta(META.accessKey, pm.accessKey);
      for (const c of pm.contacts) {
        this.store.putContact({
          accountId: c.accountId, alias: c.alias || undefined, identityKey: c.identityKey.length ? c.identityKey : undefined, pendingIdentityKey: undefined,
          verified: c.verified, accessKey: c.accessKey.length ? c.accessKey : undefined, mutedUntil: Number(c.mutedUntil),
        });
      }
      for (const e of entries) {
        const attachments = acceptPointers(e.attachments);
        this.store.insertMessage({
          conversation: e.conversationAccountId, messageId: e.messageId, author: e.authorAccountId, outgoing: e.outgoing,
          timestamp: Number(e.timestamp), text: e.text, status: statusFromWire(e.status), deleted: false, receivedAt: now,
        });
        if (e.privateWith.length === 16) this.store.setMessagePrivateWith(e.conversationAccountId, e.messageId, e.privateWith);
        if (attachments.length) this.store.setMessageAttachments(e.conversationAccountId, e.messageId, attachments);
      }
      this.#groups.installProvisioned(pm.groups, now);
    });
    this.#identity = identity;
    this.#retain(identity);
    this.#account = undefined;
    await this.#replenishPreKeys(connection, true);
    return { accountId: pm.accountId, deviceId, historyMessages: entries.length };
  }

  /**
   * Backup (backup.ts, spec/backup.md): what a backup holds of this account. Never this device's own keys,
   * prekeys or sessions: a restore links a new device.
   */
  backupContents(): { account: ProvisionMessage; messages: HistoryEntry[]; server: ServerAddress } {
    const me = this.#requireAccount();
    return { account: this.#provisionMessage(me.accountId), messages: this.#historyEntries(), server: this.#requireServer() };
  }

  /**
   * Restore (backup.ts): on a device with a server configured and no account, links this device to the backup's
   * account with the identity key it holds, and installs its contacts, groups and history.
   */
  async restoreAccount(account: ProvisionMessage, messages: readonly HistoryEntry[]): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
    if (this.accountId) throw new ClientError('ALREADY_REGISTERED', 'this directory already holds an account; restore into a new --dir');
    const { connection, nonce } = await Connection.open(this.#requireServer(), () => {});
    try {
      return await this.#installAccount(connection, nonce, account, messages);
    } catch (e) {
      if (e instanceof ServerRequestError && e.serverCode === 'AUTH_FAILED') {
        throw new ClientError('ACCOUNT_GONE', 'the server does not have this account any more (the administrator removed it, or the backup is of an account on another server): nothing was restored; ask your administrator for an invite and run `sigilo register`');
      }
      throw e;
    } finally {
      connection.close();
    }
  }

  // ------------------------------------------------------------------ connection

  get state(): ConnectionState {
    return this.#state;
  }

  #setState(state: ConnectionState, retryInMs?: number): void {
    this.#state = state;
    this.#emit(retryInMs === undefined ? { type: 'connection', state } : { type: 'connection', state, retryInMs });
  }

  /**
   * Connects, authenticates, then receives everything queued while offline and
   * sends the outbox. With `reconnect`, a dropped connection is retried with
   * exponential backoff (1 s doubling to 60 s, with jitter) until close().
   */
  async connect(options: { reconnect?: boolean } = {}): Promise<void> {
    this.#requireAccount();
    this.#wantOnline = options.reconnect ?? true;
    await this.#connectOnce();
  }

  async #connectOnce(): Promise<void> {
    const generation = this.#generation;
    this.#setState('connecting');
    let opened: Awaited<ReturnType<typeof Connection.open>> | undefined;
    try {
      opened = await Connection.open(this.#requireServer(), (f) => this.#onPush(f));
      await this.#authenticate(opened.connection, opened.nonce);
    } catch (e) {
      opened?.connection.terminate();
      if (e instanceof ServerRequestError && e.serverCode === 'DEVICE_REMOVED') {
        // Removed from its account (server.md §3.5): reconnecting cannot help; say so in words.
        this.#wantOnline = false;
        const r = e.frame.body.case === 'error' ? e.frame.body.value.deviceRemoval : undefined;
        throw new ClientError('DEVICE_REMOVED', deviceRemovedMessage(r?.byDeviceId ?? 0, r?.day ?? 0));
      }
      if (generation === this.#generation) this.#scheduleReconnect();
      throw e;
    }
    const connection = opened.connection;
    if (generation !== this.#generation || this.#connection?.isOpen) {
      // close() was called meanwhile, or another connect won: this one is not wanted.
      connection.close();
      return;
    }
    this.#connection = connection;
    this.#backoffMs = 0;
    this.#ownDevices = undefined;
    this.#setState('online');
    void connection.closed.then(() => {
      if (this.#connection !== connection) return; // a stale connection: nothing to do
      this.#connection = undefined;
      this.#setState('offline');
      this.#scheduleReconnect();
    });
    await this.#replenishPreKeys(connection, false).catch(() => {});
    // Started now (not on a timer), so close() waits for the outbox to go out.
    this.flush().catch(() => { /* retried by the timer the failure set */ });
  }

  #scheduleReconnect(): void {
    if (!this.#wantOnline || this.#reconnectTimer) return;
    this.#backoffMs = Math.min(60_000, this.#backoffMs ? this.#backoffMs * 2 : 1000);
    const delay = Math.round(this.#backoffMs * (0.75 + Math.random() * 0.5));
    this.#setState('offline', delay);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connectOnce().catch(() => { /* scheduled again */ });
    }, delay);
  }

  /** Stops reconnecting, waits for work in progress, closes the connection. */
  async close(): Promise<void> {
    this.#wantOnline = false;
    this.#generation++;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#inboxTimer) clearTimeout(this.#inboxTimer);
    this.#inboxTimer = undefined;
    await this.#inboxRunning;
    await this.#flushing;
    for (const t of this.#typingTimers.values()) clearTimeout(t);
    this.#typingTimers.clear();
    this.#groups.close();
    const anonymous = this.#anonymous;
    this.#anonymous = undefined;
    void anonymous?.then((a) => a.close(), () => {});
    const c = this.#connection;
    this.#connection = undefined;
    if (c) {
      c.close();
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 2000))]);
    }
  }

  #requireConnection(): Connection {
    const c = this.#connection;
    if (!c || !c.isOpen) throw new ClientError('CONNECTION_FAILED', 'not connected to the server');
    return c;
  }

  #onPush(frame: ServerFrame): void {
    switch (frame.body.case) {
      case 'deliver':
        this.#inbox.push(frame.body.value);
        this.#drainInbox();
        return;
      case 'queueEmpty':
        void (this.#inboxRunning ?? Promise.resolve()).then(() => this.#emit({ type: 'caught-up' }));
        return;
      case 'preKeysLow': {
        const c = this.#connection;
        if (c) void this.#replenishPreKeys(c, false).catch(() => {});
        return;
      }
      case 'closing':
        // Revoked, removed, or replaced by another connection of this device: do not fight back.
        if (frame.body.value.reason === 2 || frame.body.value.reason === 3 || frame.body.value.reason === 4) this.#wantOnline = false;
        return;
      default:
    }
  }

  // ------------------------------------------------------------------ receiving

  #drainInbox(): void {
    if (this.#inboxRunning || this.#inboxTimer) return;
    const generation = this.#generation;
    this.#inboxRunning = (async () => {
      while (this.#inbox.length > 0) {
        const batch = this.#inbox.splice(0, INBOX_BATCH);
        const events: ClientEvent[] = [];
        const followUps: (() => void)[] = [];
        const acks: bigint[] = [];
        const receipts = new Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>();
        const sessions = new Map<string, { accountId: Uint8Array; deviceId: number; record: SessionRecord | undefined; dirty: boolean }>();
        const unknownSigner: Deliver[] = [];
        try {
          this.store.transaction(() => {
            for (const d of batch) {
              if (this.#receiveOne(d, { events, followUps, receipts, sessions, unknownSigner })) acks.push(d.serverId);
            }
            // Each session is decoded once per batch and written once, in the same transaction.
            for (const s of sessions.values()) if (s.dirty && s.record) this.store.putSession(s.accountId, s.deviceId, encodeSessionRecord(s.record));
            // One delivery receipt per sender per batch, through the outbox (survives a restart).
            const now = BigInt(this.#now());
            for (const { to, ids, groupId } of receipts.values()) {
              this.#queueContent(to, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.DELIVERY, messageIds: ids, timestamp: now, groupId } } }, undefined);
            }
          });
        } catch (e) {
          // The store failed (disk full, …): nothing of this batch was kept and nothing is
          // acknowledged; the server keeps it. Try again later, without spinning.
          this.#inbox.unshift(...batch);
          this.#emit({ type: 'undecryptable', reason: `could not store incoming messages (${(e as Error).message}); they stay on the server and will be retried` });
          if (!this.#inboxTimer && this.#generation === generation) {
            this.#inboxTimer = setTimeout(() => { this.#inboxTimer = undefined; this.#drainInbox(); }, 5_000);
            this.#inboxTimer.unref();
          }
          return;
        }
        if (acks.length) this.#connection?.post({ case: 'ack', value: { serverIds: acks } });
        for (const e of events) this.#emit(e);
        for (const f of followUps) f();
        if (receipts.size) this.#flushSoon(0);
        if (unknownSigner.length) {
          await this.#refreshServerKeys().catch(() => {});
          this.#inbox.unshift(...unknownSigner);
        }
        await new Promise((r) => setImmediate(r));
      }
    })().catch(() => { /* reported through events; never an unhandled rejection */ })
      .finally(() => { this.#inboxRunning = undefined; if (this.#inbox.length && !this.#inboxTimer) this.#drainInbox(); });
  }

  /**
   * Decrypts and applies one delivery inside the inbox transaction. Returns whether it may
   * be acknowledged: true when it was applied, or can never be decrypted (a duplicate, a
   * forgery): such messages would otherwise come back forever.
   */
  #receiveOne(d: Deliver, out: InboxEffects): boolean {
    const { events } = out;
    const me = this.#requireAccount();
    let sender: { accountId: Uint8Array; deviceId: number; identityKey: Uint8Array | undefined };
    let body: Uint8Array;
    let sealedIdentity: Uint8Array | undefined;
    try {
      if (d.recipientHeader.length > 0) {
        // A multi-recipient sealed group message (groups.md): decrypted with the sender's sender key.
        this.#groups.receiveMulti(d, out);
        return true;
      }
      if (d.sealed) {
        // The certificate is checked at the time the server accepted the message (protocol.md §6.3).
        const opened = unsealSender(this.#ctx, this.identity, d.content, this.#trustedKeys(), Number(d.serverTimestamp), this.#sealedCache);
        sender = { accountId: opened.sender.accountId, deviceId: opened.sender.deviceId, identityKey: opened.sender.identityKey };
        sealedIdentity = opened.sender.identityKey;
        body = opened.content;
      } else {
        sender = { accountId: d.senderAccountId, deviceId: d.senderDeviceId, identityKey: undefined };
        body = d.content;
      }
      const sessionKey = `${hex(sender.accountId)}.${sender.deviceId}`;
      let cached = out.sessions.get(sessionKey);
      if (!cached) {
        const stored = this.store.getSession(sender.accountId, sender.deviceId);
        cached = { accountId: sender.accountId, deviceId: sender.deviceId, record: stored ? decodeSessionRecord(stored) : undefined, dirty: false };
        out.sessions.set(sessionKey, cached);
      }
      const existing = cached.record;
      let record: SessionRecord;
      let plaintext: Uint8Array;
      let remoteIdentity: Uint8Array;
      if (messageType(body) === 'prekey') {
        const msg = parsePreKeyMessage(body);
        // A later prekey message of a session we already hold needs no prekeys (protocol.md §4.3).
        const known = existing !== undefined && [existing.current, ...existing.previous].some((st) => st && bytesEqual(st.baseKey, msg.baseKey));
        const spk = known ? undefined : this.store.getPreKey('signed', msg.signedPreKeyId);
        const otk = known || msg.oneTimePreKeyId === undefined ? undefined : this.store.getPreKey('one-time', msg.oneTimePreKeyId);
        const pq = known ? undefined : this.store.getPreKey('pq', msg.pqPreKeyId) ?? this.store.getPreKey('pq-last-resort', msg.pqPreKeyId);
        const result = decryptPreKeyMessage(this.#ctx, existing, this.identity, {
          signedPreKey: spk ? decodeSignedPreKeyRecord(spk) : undefined,
          oneTimePreKey: otk ? decodeOneTimePreKeyRecord(otk) : undefined,
          pqPreKey: pq ? decodePqPreKeyRecord(pq) : undefined,
        }, msg);
        if (result.consumed) {
          if (result.consumed.oneTimePreKeyId !== undefined) this.store.deletePreKey('one-time', result.consumed.oneTimePreKeyId);
          this.store.deletePreKey('pq', result.consumed.pqPreKeyId); // the last-resort key is kept (different kind)
        }
        ({ record, plaintext, remoteIdentity } = result);
      } else {
        ({ record, plaintext, remoteIdentity } = decryptMessage(this.#ctx, existing, body));
      }
      if (sealedIdentity) assertSenderMatchesSession({ accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sealedIdentity }, remoteIdentity);
      // From an identity the user has not accepted (yet): shown, but it may not act on the conversation.
      const unaccepted = this.#checkIncomingIdentity(sender.accountId, remoteIdentity, me.accountId, events);
      cached.record = record;
      cached.dirty = true;
      let content: Content;
      try {
        content = fromBinary(ContentSchema, unpad(plaintext));
      } catch {
        events.push({ type: 'undecryptable', reason: 'a message decrypted but its content is malformed' });
        return true;
      }
      if (this.#groups.applyPairwise(content, { accountId: sender.accountId, deviceId: sender.deviceId, identityKey: remoteIdentity }, out, unaccepted)) return true;
      this.#apply(content, sender.accountId, me.accountId, out, unaccepted);
      return true;
    } catch (e) {
      if (e instanceof DuplicateMessageError) return true;
      if (e instanceof InvalidCertificateError && /unknown server key/.test(e.message) && this.#keysRefreshedAt < this.#now() - 60_000) {
        // The server may have a new certificate key: keep the message (no ack), refresh the keys, try again.
        out.unknownSigner.push(d);
        return false;
      }
      if (e instanceof ProtocolError || e instanceof ClientError) {
        events.push({ type: 'undecryptable', reason: `${e.code}: ${e.message}` });
        return true;
      }
      throw e;
    }
  }

  /**
   * Trust on first use; a different key later is kept aside and blocks sending until accepted.
   * Returns whether `identityKey` is such a not-yet-accepted key.
   */
  #checkIncomingIdentity(accountId: Uint8Array, identityKey: Uint8Array, self: Uint8Array, events: ClientEvent[]): boolean {
    if (bytesEqual(accountId, self)) {
      if (!bytesEqual(identityKey, this.identity.publicKey)) throw new ClientError('IDENTITY_CHANGED', 'a message claiming to be from this account has another identity key');
      return false;
    }
    const c = this.#contact(accountId);
    if (!c.identityKey) {
      this.store.putContact({ ...c, identityKey: identityKey });
      return false;
    }
    if (bytesEqual(c.identityKey, identityKey)) return false;
    if (!(c.pendingIdentityKey && bytesEqual(c.pendingIdentityKey, identityKey))) {
      this.store.putContact({ ...c, pendingIdentityKey: identityKey, verified: false });
      events.push({ type: 'identity-changed', accountId });
    }
    return true;
  }

  #contact(accountId: Uint8Array): ContactRow {
    return this.store.getContact(accountId) ?? {
      accountId, alias: undefined, identityKey: undefined, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0,
    };
  }

  #apply(content: Content, from: Uint8Array, self: Uint8Array, { events, followUps, receipts }: InboxEffects, unaccepted = false): void {
    const fromSelf = bytesEqual(from, self);
    // A sender whose new identity key is not accepted can show a text, nothing more: no receipts,
    // deletions or access-key changes on the conversation with the accepted identity.
    if (unaccepted && content.body.case !== 'data') return;
    if (!fromSelf && !unaccepted && content.senderAccessKey.length === 16) {
      const c = this.#contact(from);
      if (!c.accessKey || !bytesEqual(c.accessKey, content.senderAccessKey)) this.store.putContact({ ...c, accessKey: content.senderAccessKey });
    }
    const now = this.#now();
    const b = content.body;
    switch (b.case) {
      case 'data': {
        if (fromSelf) return;
        const row = this.#storeData(b.value, from, from, false, 'received', now, events);
        if (row) {
          const key = hex(from);
          const r = receipts.get(key) ?? { to: from, ids: [] };
          r.ids.push(row.messageId);
          receipts.set(key, r);
        }
        return;
      }
      case 'receipt': {
        const status: MessageStatus = b.value.type === ReceiptMessage_Type.READ ? 'read' : 'delivered';
        for (const id of b.value.messageIds) {
          const m = this.store.getMessage(from, id);
          if (!m || !m.outgoing || rank(m.status) >= rank(status)) continue;
          this.store.setMessageStatus(from, id, status);
          events.push({ type: 'status', conversation: from, messageId: id, status });
        }
        return;
      }
      case 'typing': {
        if (fromSelf) return;
        const started = b.value.action === TypingMessage_Action.STARTED && Number(b.value.timestamp) > now - TYPING_EXPIRY_MS;
        events.push({ type: 'typing', conversation: from, started, expiresAt: started ? now + TYPING_EXPIRY_MS : now });
        followUps.push(() => this.#armTypingExpiry(from, started));
        return;
      }
      case 'delete': {
        const m = this.store.getMessage(from, b.value.messageId);
        if (m && bytesEqual(m.author, from) && !m.deleted) {
          this.store.markMessageDeleted(from, b.value.messageId);
          events.push({ type: 'deleted', conversation: from, messageId: b.value.messageId });
        }
        return;
      }
      case 'sync': {
        if (!fromSelf) return; // only this account's own devices may sync
        const s = b.value.body;
        switch (s.case) {
          case 'sent':
            if (s.value.message) this.#storeData(s.value.message, s.value.destinationAccountId, self, true, 'sent', now, events);
            if (s.value.delete) {
              this.store.markMessageDeleted(s.value.destinationAccountId, s.value.delete.messageId);
              events.push({ type: 'deleted', conversation: s.value.destinationAccountId, messageId: s.value.delete.messageId });
            }
            return;
          case 'read':
            for (const id of s.value.messageIds) {
              const m = this.store.getMessage(s.value.conversationAccountId, id);
              if (m && !m.outgoing && m.status !== 'read') {
                this.store.setMessageStatus(s.value.conversationAccountId, id, 'read');
                events.push({ type: 'status', conversation: s.value.conversationAccountId, messageId: id, status: 'read' });
              }
            }
            return;
          case 'deleteHistory':
            this.store.deleteHistory(s.value.conversationAccountId, Number(s.value.before));
            events.push({ type: 'history-deleted', conversation: s.value.conversationAccountId });
            return;
          case 'mute': {
            const c = this.#contact(s.value.conversationAccountId);
            this.store.putContact({ ...c, mutedUntil: Number(s.value.until) });
            return;
          }
          case 'deleteForMe':
            this.store.removeMessage(s.value.conversationAccountId, s.value.messageId);
            events.push({ type: 'deleted', conversation: s.value.conversationAccountId, messageId: s.value.messageId });
            return;
          default:
            return;
        }
      }
      default:
    }
  }

  #storeData(m: DataMessage, conversation: Uint8Array, author: Uint8Array, outgoing: boolean, status: MessageStatus, now: number, events: ClientEvent[]): MessageRow | undefined {
    if (m.messageId.length !== 16) return undefined;
    const attachments = acceptPointers(m.attachments);
    const row: MessageRow = {
      messageId: m.messageId, conversation, author, outgoing, timestamp: Number(m.timestamp), text: m.text, status, deleted: false, receivedAt: now,
      ...(attachments.length ? { attachments } : {}),
    };
    if (!this.store.insertMessage(row)) return undefined; // already stored: idempotent
    if (attachments.length) this.store.setMessageAttachments(conversation, m.messageId, attachments);
    events.push({ type: 'message', message: row });
    return row;
  }

  #flushSoon(delayMs: number): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush().catch(() => { /* retried by the timer the failure set */ });
    }, delayMs);
    this.#flushTimer.unref();
  }

  #armTypingExpiry(conversation: Uint8Array, started: boolean): void {
    const key = hex(conversation);
    const t = this.#typingTimers.get(key);
    if (t) clearTimeout(t);
    this.#typingTimers.delete(key);
    if (!started) return;
    const timer = setTimeout(() => {
      this.#typingTimers.delete(key);
      this.#emit({ type: 'typing', conversation, started: false, expiresAt: this.#now() });
    }, TYPING_EXPIRY_MS);
    timer.unref();
    this.#typingTimers.set(key, timer);
  }

  // ------------------------------------------------------------------ sending

  /** Adds or renames a contact from a contact card or account id. */
  addContact(alias: string, accountId: Uint8Array, accessKey: Uint8Array | undefined): ContactRow {
    if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(alias)) throw new ClientError('INVALID_INPUT', 'a contact name is 1–64 letters, digits, "_", "." or "-"');
    const me = this.accountId;
    if (me && bytesEqual(me, accountId)) throw new ClientError('INVALID_INPUT', 'that is your own account');
    const byAlias = this.store.contactByAlias(alias);
    if (byAlias && !bytesEqual(byAlias.accountId, accountId)) throw new ClientError('INVALID_INPUT', `the name "${alias}" is taken by another contact`);
    const c = this.#contact(accountId);
    const row = { ...c, alias, accessKey: accessKey ?? c.accessKey };
    this.store.putContact(row);
    return row;
  }

  resolveContact(nameOrId: string): ContactRow {
    const byAlias = this.store.contactByAlias(nameOrId);
    if (byAlias) return byAlias;
    for (const c of this.store.listContacts()) if (formatAccountId(c.accountId) === nameOrId.toLowerCase()) return c;
    throw new ClientError('UNKNOWN_CONTACT', `no contact "${nameOrId}": add it with \`sigilo contacts add NAME CARD\``);
  }

  #assertSendable(to: Uint8Array): void {
    const c = this.store.getContact(to);
    if (c?.pendingIdentityKey) {
      throw new ClientError('IDENTITY_CHANGED', 'this contact\'s safety number changed: compare it (`sigilo verify NAME`) and accept it with `sigilo verify NAME --accept` before sending');
    }
  }

  /** Queues a content for `to` (and a sync copy for this account's other devices) in the outbox. */
  #queueContent(to: Uint8Array, content: Parameters<typeof create<typeof ContentSchema>>[1], sync: Parameters<typeof create<typeof ContentSchema>>[1] | undefined, messageId = this.#ctx.random(16)): number {
    const c = create(ContentSchema, content);
    if (this.accessKey) c.senderAccessKey = this.accessKey;
    return this.store.enqueueOutbox({
      recipient: to,
      content: toBinary(ContentSchema, c),
      syncContent: sync ? toBinary(ContentSchema, create(ContentSchema, sync)) : undefined,
      messageId,
      createdAt: this.#now(),
    });
  }

  /**
   * Sends a text: stored as pending and queued in one transaction (so it survives a
   * restart and is sent when the connection is back), then sent at once if online.
   */
  async sendText(to: Uint8Array, body: string): Promise<MessageRow> {
    if (to.length === GROUP_ID_LENGTH) return this.sendGroupText(to, body);
    this.#assertSendable(to);
    return this.#sendData(to, { text: body });
  }

  /**
   * The 1:1 send path for a DataMessage (text, attachments): the message is stored as
   * pending and queued, with its copy for this account's other devices, in one
   * transaction (`alsoInTransaction` joins it), then sent at once if online.
   */
  async #sendData(to: Uint8Array, fields: { text: string; attachments?: readonly Attachment[] }, alsoInTransaction?: () => void): Promise<MessageRow> {
    const me = this.#requireAccount();
    const messageId = this.#ctx.random(16);
    const now = this.#now();
    const attachments = fields.attachments ?? [];
    const data = { messageId, timestamp: BigInt(now), text: fields.text, attachments: attachments.map(pointerFromAttachment) };
    const row: MessageRow = {
      messageId, conversation: to, author: me.accountId, outgoing: true, timestamp: now, text: fields.text, status: 'pending', deleted: false, receivedAt: now,
      ...(attachments.length ? { attachments } : {}),
    };
    this.store.transaction(() => {
      this.store.insertMessage(row);
      if (attachments.length) this.store.setMessageAttachments(to, messageId, attachments);
      this.#queueContent(to, { body: { case: 'data', value: data } },
        { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: to, message: data } } } } }, messageId);
      alsoInTransaction?.();
    });
    await this.flush();
    return this.store.getMessage(to, messageId) ?? row;
  }

  // ------------------------------------------------------------------ attachments (attachments.ts)

  /**
   * Sends a file to a contact (16-byte account id) or a group (32-byte group id):
   * prepares it (type, metadata removed from pictures unless `keepMetadata`,
   * thumbnail, duration), encrypts and uploads it as a stream, then sends the
   * message carrying its pointer. Needs the connection (the upload slot is
   * reserved over it). An interrupted upload (AbortSignal, lost connection,
   * process ended) is resumed by calling sendFile again with the same file and
   * recipient; a file changed since starts over.
   */
  async sendFile(to: Uint8Array, path: string, options: SendFileOptions & { caption?: string } = {}): Promise<MessageRow> {
    this.#requireAccount();
    const group = to.length === 32;
    if (!group) this.#assertSendable(to);
    else this.#assertGroupSendable(to);
    const stateKey = uploadStateKey(to, path);
    const server = this.#requireServer();
    const attachment = await uploadFile({
      store: this.store, ctx: this.#ctx, now: this.#now, server,
      allocate: async (size) => {
        const f = await this.#requireConnection().request({ case: 'allocateAttachment', value: { size: BigInt(size) } });
        if (f.body.case !== 'attachmentSlot') throw new ClientError('SERVER_ERROR', 'unexpected answer to an attachment request');
        const s = f.body.value;
        return { attachmentId: s.attachmentId, uploadPath: s.uploadPath, uploadToken: s.uploadToken, expires: Number(s.expires) };
      },
    }, stateKey, path, options);
    const text = options.caption ?? '';
    if (group) {
      const row = await this.#sendGroupData(to, text, attachment);
      this.store.transaction(() => {
        this.store.setMessageAttachments(to, row.messageId, [attachment]);
        this.store.setMeta(stateKey, undefined);
      });
      return this.store.getMessage(to, row.messageId) ?? row;
    }
    return this.#sendData(to, { text, attachments: [attachment] }, () => this.store.setMeta(stateKey, undefined));
  }

  /**
   * Downloads attachment `index` of a stored message to `outPath`, verified and
   * decrypted (attachments.ts downloadFile): the file appears only when complete;
   * an interrupted download resumes from `<outPath>.part` when called again.
   */
  async downloadAttachment(conversation: Uint8Array, messageId: Uint8Array, index: number, outPath: string, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
    const m = this.store.getMessage(conversation, messageId);
    if (!m || m.deleted) throw new ClientError('NOT_FOUND', 'no such message (it may have been deleted)');
    const a = m.attachments?.[index];
    if (!a) throw new ClientError('NOT_FOUND', m.attachments?.length ? `this message has ${m.attachments.length} attachment(s); index ${index} does not exist` : 'this message has no attachment');
    if (a.expires > 0 && a.expires <= this.#now()) {
      throw new AttachmentError('EXPIRED', 'this attachment expired on the server; ask the sender to send it again');
    }
    return downloadFile(this.#requireServer(), this.#ctx, a, outPath, options);
  }

  /** Groups: the group must be known before a file is uploaded for it (membership is checked again on sending). */
  #assertGroupSendable(groupId: Uint8Array): void {
    this.group(groupId);
  }

  /** Groups: the group send path (groups.ts) with the attachment's pointer. */
  #sendGroupData(groupId: Uint8Array, text: string, a: Attachment): Promise<MessageRow> {
    return this.#groups.sendText(groupId, text, { attachments: [pointerFromAttachment(a)] });
  }

  /** Marks received messages read and tells their author (read receipt) and this account's other devices. */
  async markRead(conversation: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
    if (conversation.length === GROUP_ID_LENGTH) return this.#groups.markRead(conversation, messageIds);
    const ids = (messageIds ?? this.store.listMessages(conversation, 10_000).filter((m) => !m.outgoing && m.status !== 'read' && !m.deleted).map((m) => m.messageId));
    if (ids.length === 0) return 0;
    const now = this.#now();
    this.store.transaction(() => {
      for (const id of ids) this.store.setMessageStatus(conversation, id, 'read');
      this.#queueContent(conversation, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.READ, messageIds: ids, timestamp: BigInt(now) } } },
        { body: { case: 'sync', value: { body: { case: 'read', value: { conversationAccountId: conversation, messageIds: ids } } } } });
    });
    await this.flush();
    return ids.length;
  }

  /** Typing indicators are ephemeral: sent only when online, never queued. */
  async typing(conversation: Uint8Array, started: boolean): Promise<void> {
    if (!this.#connection?.isOpen) return;
    if (conversation.length === GROUP_ID_LENGTH) return this.#groups.typing(conversation, started);
    this.#assertSendable(conversation);
    const c = create(ContentSchema, {
      body: { case: 'typing', value: { action: started ? TypingMessage_Action.STARTED : TypingMessage_Action.STOPPED, timestamp: BigInt(this.#now()) } },
    });
    if (this.accessKey) c.senderAccessKey = this.accessKey;
    await this.#deliverContent(conversation, toBinary(ContentSchema, c), this.#ctx.random(16), { onlineOnly: true }).catch(() => {});
  }

  /** Deletes one of this account's messages for everyone in the conversation. */
  async deleteForEveryone(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
    if (conversation.length === GROUP_ID_LENGTH) return this.#groups.deleteForEveryone(conversation, messageId); // groups.ts: to every member
    const me = this.#requireAccount();
    const m = this.store.getMessage(conversation, messageId);
    if (!m) throw new ClientError('NOT_FOUND', 'no such message');
    if (!bytesEqual(m.author, me.accountId)) throw new ClientError('INVALID_INPUT', 'only your own messages can be deleted for everyone; use delete for me');
    const del = { messageId, timestamp: BigInt(this.#now()) };
    this.store.transaction(() => {
      this.store.markMessageDeleted(conversation, messageId);
      this.#queueContent(conversation, { body: { case: 'delete', value: del } },
        { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: conversation, delete: del } } } } });
    });
    await this.flush();
  }

  /** Deletes a message on this person's devices only. */
  async deleteForMe(conversation: Uint8Array, messageId: Uint8Array): Promise<void> {
    this.store.transaction(() => {
      this.store.removeMessage(conversation, messageId);
      this.#queueSync({ body: { case: 'sync', value: { body: { case: 'deleteForMe', value: { conversationAccountId: conversation, messageId } } } } });
    });
    await this.flush();
  }

  /** Deletes a conversation's history on all of this person's devices. */
  async deleteHistory(conversation: Uint8Array): Promise<number> {
    const before = this.#now();
    const n = this.store.transaction(() => {
      const removed = this.store.deleteHistory(conversation, before);
      this.#queueSync({ body: { case: 'sync', value: { body: { case: 'deleteHistory', value: { conversationAccountId: conversation, before: BigInt(before) } } } } });
      return removed;
    });
    await this.flush();
    return n;
  }

  /** Mutes notifications for a conversation until `until` (Unix ms; 0 unmutes), on all devices. */
  async mute(conversation: Uint8Array, until: number): Promise<void> {
    this.store.transaction(() => {
      if (conversation.length === GROUP_ID_LENGTH) this.#groups.mute(conversation, until);
      else this.store.putContact({ ...this.#contact(conversation), mutedUntil: until });
      this.#queueSync({ body: { case: 'sync', value: { body: { case: 'mute', value: { conversationAccountId: conversation, until: BigInt(until) } } } } });
    });
    await this.flush();
  }

  #queueSync(content: Parameters<typeof create<typeof ContentSchema>>[1]): void {
    const me = this.#requireAccount();
    this.#queueContent(me.accountId, content, undefined);
  }

  /** Sends everything in the outbox, in order; stops at the first failure and leaves the rest queued. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => this.#flushOnce());
    return this.#flushOnce();
  }

  #flushOnce(): Promise<void> {
    if (this.#flushing || !this.#connection?.isOpen) return this.#flushing ?? Promise.resolve();
    this.#flushing = (async () => {
      const me = this.#requireAccount();
      /** Recipients whose earlier entries are held back: their later entries wait too (order per conversation). */
      const held = new Set<string>();
      let retryInMs: number | undefined;
      for (const item of this.store.listOutbox()) {
        if (!this.#connection?.isOpen) return;
        const key = hex(item.recipient);
        if (held.has(key)) continue;
        try {
          if (item.recipient.length === GROUP_ID_LENGTH) {
            await this.#groups.deliver(item); // a group message (groups.ts)
          } else {
            if (!bytesEqual(item.recipient, me.accountId)) this.#assertSendable(item.recipient);
            await this.#deliverContent(item.recipient, item.content, item.messageId);
          }
        } catch (e) {
          if (e instanceof ClientError && e.code === 'IDENTITY_CHANGED') {
            held.add(key);
            continue; // held until accepted; other conversations go on
          }
          if (isPermanent(e) || item.attempts >= MAX_ATTEMPTS) {
            // Retrying cannot help (no such account, a malformed bundle, refused…): drop it, mark it failed, go on.
            const reason = (e as Error).message;
            this.store.transaction(() => {
              this.store.removeOutbox(item.seq);
              if (this.store.getMessage(item.recipient, item.messageId)?.outgoing) this.store.setMessageStatus(item.recipient, item.messageId, 'failed');
            });
            this.#emit({ type: 'status', conversation: item.recipient, messageId: item.messageId, status: 'failed' });
            this.#emit({ type: 'send-failed', conversation: item.recipient, messageId: item.messageId, reason });
            continue;
          }
          this.store.bumpOutbox(item.seq);
          held.add(key);
          const after = e instanceof ServerRequestError && e.frame.body.case === 'error' ? e.frame.body.value.retryAfterMs : 0;
          retryInMs = Math.max(retryInMs ?? 0, after);
          this.#emit({ type: 'send-failed', conversation: item.recipient, messageId: item.messageId, reason: `${(e as Error).message} (will retry)` });
          continue;
        }
        // The copy for this account's other devices: best effort, it never holds the outbox back. It goes under an
        // envelope id of its own, so the server cannot pair it with the (sealed) copy to the recipient (envelope-ids.ts).
        const syncId = envelopeId(this.#ctx.crypto, this.identity, item.messageId, me.accountId);
        const syncLost = item.syncContent && await this.#deliverContent(me.accountId, item.syncContent, syncId).then(() => false, () => true);
        this.store.transaction(() => {
          this.store.removeOutbox(item.seq);
          // A sync copy that failed (e.g. the connection dropped) is queued on its own under the same id, so it is not lost.
          if (syncLost) this.store.enqueueOutbox({ recipient: me.accountId, content: item.syncContent!, syncContent: undefined, messageId: syncId, createdAt: this.#now() });
          const m = this.store.getMessage(item.recipient, item.messageId);
          if (m && m.outgoing && m.status === 'pending') this.store.setMessageStatus(item.recipient, item.messageId, 'sent');
        });
        if (syncLost) retryInMs ??= 0; // and sent again soon even if nothing else wakes the outbox
        const m = this.store.getMessage(item.recipient, item.messageId);
        if (m?.outgoing && m.status === 'sent') this.#emit({ type: 'status', conversation: item.recipient, messageId: item.messageId, status: 'sent' });
      }
      if (retryInMs !== undefined) {
        this.#flushBackoffMs = Math.min(60_000, Math.max(retryInMs, this.#flushBackoffMs ? this.#flushBackoffMs * 2 : 1000));
        this.#flushSoon(this.#flushBackoffMs);
      } else {
        this.#flushBackoffMs = 0;
      }
    })().finally(() => { this.#flushing = undefined; });
    return this.#flushing;
  }

  /** The connection sealed sends go over: opened on first use, never authenticated, reopened after it closes. */
  #anonymousConnection(): Promise<Connection> {
    const existing = this.#anonymous;
    if (existing) {
      return existing.then((c) => {
        if (c.isOpen) return c;
        this.#anonymous = undefined;
        return this.#anonymousConnection();
      });
    }
    const opening = Connection.open(this.#requireServer(), () => { /* nothing is pushed to an unauthenticated connection */ }).then((o) => o.connection);
    this.#anonymous = opening;
    opening.catch(() => { if (this.#anonymous === opening) this.#anonymous = undefined; });
    return opening;
  }

  async #senderCertificate(connection: Connection): Promise<Uint8Array> {
    const now = this.#now();
    if (this.#certificate && this.#certificate.expires - 60_000 > now) return this.#certificate.bytes;
    const f = await connection.request({ case: 'getSenderCertificate', value: {} });
    if (f.body.case !== 'senderCertificate') throw new ClientError('SERVER_ERROR', 'unexpected answer to a sender certificate request');
    // Check it before use: a certificate we could not verify, our peers could not either.
    const body = verifySenderCertificate(this.#ctx.crypto, this.#trustedKeys(), f.body.value.certificate, now);
    this.#certificate = { bytes: f.body.value.certificate, expires: body.expires };
    return this.#certificate.bytes;
  }

  /**
   * Encrypts `content` for every device of `to` (for this account: every other device) and
   * sends it, sealed when the recipient's access key is known. Repairs the device list on a
   * STALE_DEVICES answer and retries.
   */
  async #deliverContent(to: Uint8Array, content: Uint8Array, messageId: Uint8Array, options: { onlineOnly?: boolean } = {}): Promise<void> {
    const onlineOnly = options.onlineOnly ?? false;
    const me = this.#requireAccount();
    const connection = this.#requireConnection();
    const toSelf = bytesEqual(to, me.accountId);
    if (toSelf) {
      if (!this.#ownDevices) {
        const f = await connection.request({ case: 'listDevices', value: {} });
        this.#ownDevices = f.body.case === 'devices' ? f.body.value.devices.map((d) => d.deviceId) : [];
      }
      if (!this.#ownDevices.some((d) => d !== me.deviceId)) return; // no other device to sync
    }
    const padded = pad(content);
    const contact = toSelf ? undefined : this.store.getContact(to);
    let sealed = !toSelf && contact?.accessKey !== undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      let devices = this.store.sessionDevices(to).filter((d) => !(toSelf && d === me.deviceId));
      if (devices.length === 0) {
        await this.#fetchSessions(connection, to, []);
        devices = this.store.sessionDevices(to).filter((d) => !(toSelf && d === me.deviceId));
        if (devices.length === 0 && toSelf) return; // other own devices have no keys yet: nothing to sync to
      }
      const messages = this.store.transaction(() => devices.map((deviceId) => {
        const record = decodeSessionRecord(this.store.getSession(to, deviceId)!);
        const out = encryptMessage(this.#ctx, record, padded);
        this.store.putSession(to, deviceId, encodeSessionRecord(out.record));
        return { deviceId, message: out.message, remoteIdentity: out.record.current!.remoteIdentity };
      }));
      try {
        if (sealed) {
          const certificate = await this.#senderCertificate(connection);
          const anonymous = await this.#anonymousConnection();
          await anonymous.request({
            case: 'sealedSend',
            value: {
              recipientAccountId: to, messageId, accessKey: contact!.accessKey!, onlineOnly,
              messages: messages.map((m) => ({
                deviceId: m.deviceId,
                content: sealSender(this.#ctx, this.identity, m.remoteIdentity, certificate,
                  messageType(m.message) === 'prekey' ? SEALED_CONTENT_PREKEY : SEALED_CONTENT_RATCHET, m.message, this.#sealedCache),
              })),
            },
          } satisfies ClientBody);
        } else {
          await connection.request({ case: 'send', value: { recipientAccountId: to, messageId, onlineOnly, messages: messages.map((m) => ({ deviceId: m.deviceId, content: m.message })) } });
        }
        return;
      } catch (e) {
        if (e instanceof ServerRequestError && e.serverCode === 'STALE_DEVICES' && e.frame.body.case === 'error') {
          const stale = e.frame.body.value.staleDevices!;
          this.store.transaction(() => { for (const d of stale.extraDeviceIds) this.store.deleteSession(to, d); });
          if (toSelf) this.#ownDevices = [...stale.currentDeviceIds, me.deviceId];
          if (stale.missingDeviceIds.length) await this.#fetchSessions(connection, to, stale.missingDeviceIds);
          continue;
        }
        if (e instanceof ServerRequestError && e.serverCode === 'UNAUTHORIZED' && sealed) {
          // The access key we hold is wrong or was changed: fall back to an identified send.
          sealed = false;
          continue;
        }
        throw e;
      }
    }
    throw new ClientError('SERVER_ERROR', 'the recipient\'s device list kept changing; try again');
  }

  /** Fetches bundles (all devices, or the listed ones) and starts sessions, checking identities. */
  async #fetchSessions(connection: Connection, accountId: Uint8Array, deviceIds: number[]): Promise<void> {
    const f = await connection.request({ case: 'fetchBundles', value: { accountId, deviceIds } });
    if (f.body.case !== 'bundles') throw new ClientError('SERVER_ERROR', 'unexpected answer to a bundle request');
    const bundles = f.body.value.bundles;
    const me = this.#requireAccount();
    const toSelf = bytesEqual(accountId, me.accountId);
    const decoded = bundles.map((bytes) => decodePreKeyBundle(bytes));
    // Identity first, committed on its own: a changed key is remembered (and blocks sending)
    // even though no session is built with it.
    const events: ClientEvent[] = [];
    this.store.transaction(() => {
      for (const bundle of decoded) {
        if (toSelf) {
          if (!bytesEqual(bundle.identityKey, this.identity.publicKey)) throw new ClientError('IDENTITY_CHANGED', 'a device of this account has another identity key');
        } else {
          this.#checkIncomingIdentity(accountId, bundle.identityKey, me.accountId, events);
        }
      }
    });
    for (const e of events) this.#emit(e);
    if (!toSelf) this.#assertSendable(accountId);
    this.store.transaction(() => {
      for (const bundle of decoded) {
        const existing = this.store.getSession(accountId, bundle.deviceId);
        const record = initiateSession(this.#ctx, this.identity, bundle, existing ? decodeSessionRecord(existing) : undefined);
        this.store.putSession(accountId, bundle.deviceId, encodeSessionRecord(record));
      }
    });
    if (bundles.length === 0 && !toSelf) {
      throw new ClientError('CONNECTION_FAILED', 'the contact has no device with published keys yet; it will be retried');
    }
  }

  // ------------------------------------------------------------------ pairwise sends in bulk (for groups.ts)

  /**
   * Sends several pairwise Contents together (a group's membership change with the new sender key goes to every
   * member at once): every recipient's sessions are advanced and stored in one transaction before anything leaves
   * (one commit instead of one per recipient), then all the sends go out without waiting for each other. An item
   * that needs more (this account's own devices, a recipient with no session yet, a device list the server calls
   * stale, a refused access key) is sent by #deliverContent on its own, which repairs and retries. Resolves with
   * whether each item went out.
   */
  async #deliverContents(items: readonly { to: Uint8Array; content: Uint8Array; messageId: Uint8Array }[]): Promise<boolean[]> {
    const me = this.#requireAccount();
    const connection = this.#requireConnection();
    const results = new Array<boolean>(items.length).fill(false);
    const alone = (i: number) => this.#deliverContent(items[i]!.to, items[i]!.content, items[i]!.messageId).then(() => { results[i] = true; }, () => {});
    const single: number[] = [];
    const batch: { index: number; accessKey: Uint8Array | undefined; messages: { deviceId: number; message: Uint8Array; remoteIdentity: Uint8Array }[] }[] = [];
    this.store.transaction(() => items.forEach((item, index) => {
      const contact = this.store.getContact(item.to);
      if (contact?.pendingIdentityKey) return; // held until the new safety number is accepted
      const devices = bytesEqual(item.to, me.accountId) ? [] : this.store.sessionDevices(item.to);
      if (devices.length === 0) {
        single.push(index);
        return;
      }
      try {
        const padded = pad(item.content);
        const messages = devices.map((deviceId) => {
          const out = encryptMessage(this.#ctx, decodeSessionRecord(this.store.getSession(item.to, deviceId)!), padded);
          this.store.putSession(item.to, deviceId, encodeSessionRecord(out.record));
          return { deviceId, message: out.message, remoteIdentity: out.record.current!.remoteIdentity };
        });
        batch.push({ index, accessKey: contact?.accessKey, messages });
      } catch {
        single.push(index); // a session that cannot encrypt: the one-at-a-time path reports it (the outbox keeps the row)
      }
    }));
    const sealed = batch.some((b) => b.accessKey);
    const certificate = sealed ? await this.#senderCertificate(connection) : undefined;
    const anonymous = sealed ? await this.#anonymousConnection() : undefined;
    await Promise.all([
      ...single.map(alone),
      ...batch.map(async ({ index, accessKey, messages }) => {
        const { to, messageId } = items[index]!;
        try {
          if (accessKey) {
            await anonymous!.request({
              case: 'sealedSend',
              value: {
                recipientAccountId: to, messageId, accessKey,
                messages: messages.map((m) => ({
                  deviceId: m.deviceId,
                  content: sealSender(this.#ctx, this.identity, m.remoteIdentity, certificate!,
                    messageType(m.message) === 'prekey' ? SEALED_CONTENT_PREKEY : SEALED_CONTENT_RATCHET, m.message, this.#sealedCache),
                })),
              },
            } satisfies ClientBody);
          } else {
            await connection.request({ case: 'send', value: { recipientAccountId: to, messageId, messages: messages.map((m) => ({ deviceId: m.deviceId, content: m.message })) } });
          }
          results[index] = true;
        } catch (e) {
          // Stale devices, a refused access key…: the one-at-a-time path repairs that. Anything else waits for the outbox.
          if (e instanceof ServerRequestError) await alone(index);
        }
      }),
    ]);
    return results;
  }

  /** Runs `fn` while no outbox flush runs (a flush asked for meanwhile starts after it): groups.ts sends outbox rows itself. */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#flushing) await this.#flushing.catch(() => {});
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    this.#flushing = held;
    try {
      return await fn();
    } finally {
      if (this.#flushing === held) this.#flushing = undefined;
      release();
    }
  }

  // ------------------------------------------------------------------ groups (groups.ts; spec/groups.md)

  /** What the group engine may use of this client. */
  #groupEngine(): Groups {
    return new Groups({
      store: this.store,
      ctx: this.#ctx,
      sealedCache: this.#sealedCache,
      now: () => this.#now(),
      account: () => this.#requireAccount(),
      identity: () => this.identity,
      accessKey: () => this.accessKey,
      emit: (e) => this.#emit(e),
      flush: () => this.flush(),
      flushSoon: (ms) => this.#flushSoon(ms),
      connection: () => this.#requireConnection(),
      isOnline: () => this.#connection?.isOpen === true,
      anonymousConnection: () => this.#anonymousConnection(),
      senderCertificate: (c) => this.#senderCertificate(c),
      deliverContent: (to, content, messageId, options) => this.#deliverContent(to, content, messageId, options),
      deliverContents: (items) => this.#deliverContents(items),
      exclusive: (fn) => this.#exclusive(fn),
      fetchSessions: (c, accountId, deviceIds) => this.#fetchSessions(c, accountId, deviceIds),
      ownDevices: async (c) => {
        if (!this.#ownDevices) {
          const f = await c.request({ case: 'listDevices', value: {} });
          this.#ownDevices = f.body.case === 'devices' ? f.body.value.devices.map((d) => d.deviceId) : [];
        }
        return this.#ownDevices;
      },
      setOwnDevices: (ids) => { this.#ownDevices = ids; },
      trustedKeys: () => this.#trustedKeys(),
      contact: (accountId) => this.#contact(accountId),
    });
  }

  /** Creates a group named `name` with these members (contacts); this account is its first admin. */
  createGroup(name: string, memberAccountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#groups.create(name, memberAccountIds);
  }

  /** Adds members (admins only). Their devices get the whole membership log. */
  addMembers(groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'add', members: accountIds.map((accountId) => ({ accountId, identityKey: new Uint8Array(0) })) });
  }

  /** Removes members (admins only); every remaining member's next message uses a new sender key. */
  removeMembers(groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'remove', accountIds });
  }

  promote(groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'promote', accountId });
  }

  demote(groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'demote', accountId });
  }

  /** Leaves the group: history stays on this device; nothing more is sent or received in it. */
  leaveGroup(groupId: Uint8Array): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'leave' });
  }

  renameGroup(groupId: Uint8Array, name: string): Promise<GroupInfo> {
    return this.#groups.change(groupId, { type: 'rename', name });
  }

  listGroups(): GroupInfo[] {
    return this.#groups.list();
  }

  group(groupId: Uint8Array): GroupInfo {
    return this.#groups.info(groupId);
  }

  /** A group by name, or by id in hex (a unique prefix of 8 or more digits will do). */
  resolveGroup(nameOrHexId: string): GroupInfo {
    return this.#groups.resolve(nameOrHexId);
  }

  /** A text to every member of the group (encrypted once with this device's sender key, uploaded once). */
  sendGroupText(groupId: Uint8Array, text: string): Promise<MessageRow> {
    return this.#groups.sendText(groupId, text);
  }

  /** A private message to one member inside the group: pairwise, shown in the group to the two of you only. */
  sendPrivateInGroup(groupId: Uint8Array, accountId: Uint8Array, text: string): Promise<MessageRow> {
    return this.#groups.sendPrivate(groupId, accountId, text);
  }

  /** Per-member ticks of one of this account's group messages. */
  groupReceipts(groupId: Uint8Array, messageId: Uint8Array): { accountId: Uint8Array; status: MessageStatus }[] {
    return this.store.listGroupReceipts(groupId, messageId);
  }

  /** Mutes a group's notifications on this device until `until` (Unix ms; 0 unmutes). */
  muteGroup(groupId: Uint8Array, until: number): void {
    this.#groups.mute(groupId, until);
  }

  // ------------------------------------------------------------------ identity verification

  safetyNumber(accountId: Uint8Array): { digits: string; formatted: string; qrPayload: Uint8Array; verified: boolean; changed: boolean } {
    const me = this.#requireAccount();
    const c = this.store.getContact(accountId);
    const theirs = c?.pendingIdentityKey ?? c?.identityKey;
    if (!theirs) throw new ClientError('NOT_FOUND', 'no identity known for this contact yet: exchange a message first');
    const sn = safetyNumber(this.#ctx.crypto, { identityKey: this.identity.publicKey, stableId: me.accountId }, { identityKey: theirs, stableId: accountId });
    return { digits: sn.digits, formatted: formatSafetyNumber(sn.digits), qrPayload: sn.qrPayload, verified: c!.verified, changed: c!.pendingIdentityKey !== undefined };
  }

  /** Accepts a contact's changed identity key (after comparing safety numbers), unblocking sends. */
  acceptIdentity(accountId: Uint8Array, verified = false): void {
    const c = this.store.getContact(accountId);
    if (!c?.pendingIdentityKey) {
      if (c && verified) this.store.putContact({ ...c, verified: true });
      return;
    }
    this.store.transaction(() => {
      this.store.putContact({ ...c, identityKey: c.pendingIdentityKey, pendingIdentityKey: undefined, verified });
      // Sessions built with the old key are useless now.
      for (const d of this.store.sessionDevices(accountId)) {
        const record = decodeSessionRecord(this.store.getSession(accountId, d)!);
        if (record.current && !bytesEqual(record.current.remoteIdentity, c.pendingIdentityKey!)) this.store.deleteSession(accountId, d);
      }
    });
    this.#flushSoon(0);
  }

  /** Marks a contact verified after its QR payload was scanned (or digits compared). */
  verifyQr(accountId: Uint8Array, scanned: Uint8Array): boolean {
    const ok = verifySafetyNumberQr(this.safetyNumber(accountId).qrPayload, scanned);
    if (ok) this.acceptIdentity(accountId, true);
    return ok;
  }

  /** The account's devices; `name` is undefined when none is set or it cannot be read (device-names.ts). */
  async listDevices(): Promise<{ deviceId: number; createdDay: number; lastSeenDay: number; name: string | undefined }[]> {
    const f = await this.#requireConnection().request({ case: 'listDevices', value: {} });
    const { accountId } = this.#requireAccount();
    return f.body.case === 'devices'
      ? f.body.value.devices.map((d) => ({
        deviceId: d.deviceId, createdDay: d.createdDay, lastSeenDay: d.lastSeenDay,
        name: d.encryptedName.length ? decryptDeviceName(this.#ctx, this.identity, accountId, d.deviceId, d.encryptedName) : undefined,
      }))
      : [];
  }

  /** Names a device of this account (default: this one), encrypted for the account's devices only. */
  async setDeviceName(name: string, deviceId = this.#requireAccount().deviceId): Promise<void> {
    const { accountId } = this.#requireAccount();
    const encryptedName = encryptDeviceName(this.#ctx, this.identity, accountId, deviceId, name);
    await this.#requireConnection().request({ case: 'setDeviceName', value: { deviceId, encryptedName } });
  }

  /** Unlinks another device of this account (from the primary device): the server closes it and purges its queue. */
  async removeDevice(deviceId: number): Promise<void> {
    await this.#requireConnection().request({ case: 'removeDevice', value: { deviceId } });
    this.#ownDevices = undefined;
  }
}

/** Server answers that no retry can fix. */
const PERMANENT_SERVER_ERRORS = new Set(['NOT_FOUND', 'INVALID_ARGUMENT', 'MESSAGE_TOO_LARGE', 'UNAUTHORIZED', 'UNKNOWN_FRAME']);
/** Attempts before a queued entry is given up (a transient failure that never clears). */
const MAX_ATTEMPTS = 50;
function isPermanent(e: unknown): boolean {
  if (e instanceof ServerRequestError) return PERMANENT_SERVER_ERRORS.has(e.serverCode ?? '');
  // A bundle or key that does not verify will not verify next time either.
  if (e instanceof ProtocolError) return true;
  return e instanceof ClientError && e.code === 'INVALID_INPUT';
}

const WIRE_STATUS: readonly MessageStatus[] = ['pending', 'sent', 'delivered', 'read', 'received', 'failed'];
function statusToWire(s: MessageStatus): number { return Math.max(0, WIRE_STATUS.indexOf(s)); }
function statusFromWire(n: number): MessageStatus { return WIRE_STATUS[n] ?? 'received'; }

function rank(s: MessageStatus): number {
  return ({ pending: 0, failed: 0, sent: 1, received: 1, delivered: 2, read: 3 } as const)[s];
}
