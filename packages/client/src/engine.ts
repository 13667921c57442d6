/**
 * The state one client shares between its concept modules (sessions, outbox,
 * inbox, linking, groups…): the ports it was given (store, crypto, clock,
 * randomness, transport), what it knows about its account and server, and the
 * connections and timers in flight. It holds no behaviour of its own beyond
 * reading its metadata: each concept module receives it as `engine`.
 */
import {
  decodeIdentityKeyPair, type AsyncSymmetricCrypto, type IdentityKeyPair, type IdentityTokenOpener, type ProtocolContext, type SealedSenderCache, type TrustedServerKey,
} from '@sigilo/protocol';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { fromBase64 } from './bytes.js';
import type { Connection, ServerAddress } from './connection.js';
import type { AttachmentFiles } from './ports.js';
import type { AgreementCache, AsyncAgreement, UnsealedCache } from './agreement-prefetch.js';
import { ClientError } from './errors.js';
import { Emitter, type ClientEvent, type ConnectionState } from './events.js';
import type { Groups } from './groups.js';
import { recordGroupChanges } from './group-change-log.js';
import type { Profiles } from './profiles.js';
import type { KeyTransparencyClient } from './transparency.js';
import type { Usernames } from './usernames.js';
import type { Transport, TransportFactory } from './ports.js';
import type { ClientStore, MessageRow } from './store/port.js';

/** Where this device keeps what it knows about itself (ClientStore meta keys). */
export const META = {
  serverUrl: 'server.url',
  serverFingerprint: 'server.fingerprint',
  /** The organisation CA pinned at init (client.md §1.1): its fingerprint, and the certificate (PEM). */
  serverCaFingerprint: 'server.ca-fingerprint',
  serverCa: 'server.ca',
  serverKeys: 'server.certificate-keys',
  accountId: 'account.id',
  deviceId: 'device.id',
  deviceKey: 'device.key',
  identity: 'identity',
  accessKey: 'access.key',
  nextPreKeyId: 'prekeys.next-id',
} as const;

export const text = new TextEncoder();
export const untext = new TextDecoder();
export const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
export const readU32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0);

type Timer = ReturnType<typeof setTimeout>;

export class Engine {
  readonly events = new Emitter<ClientEvent>();
  /** The group engine (groups.ts), wired by SigiloClient once the engine exists. */
  groups!: Groups;
  /** Display name and avatar (encrypted profile), and the profile keys of others (client.md §11.1); wired by SigiloClient. */
  profiles!: Profiles;
  /** Username and the member directory (client.md §11.2); wired by SigiloClient. */
  usernames!: Usernames;
  /** Key transparency checks (spec/transparency.md §6); wired by SigiloClient. */
  kt!: KeyTransparencyClient;

  connection: Connection | undefined;
  /** An unauthenticated connection for sealed sends, so the server cannot tie them to this device (server.md §5). */
  anonymous: Promise<Connection> | undefined;
  state: ConnectionState = 'offline';
  wantOnline = false;
  reconnectTimer: Timer | undefined;
  backoffMs = 0;
  certificate: { bytes: Uint8Array; expires: number } | undefined;
  inbox: Deliver[] = [];
  /** Bumped by close(): work started before it does not bring the connection back. */
  generation = 0;
  flushTimer: Timer | undefined;
  flushBackoffMs = 0;
  inboxTimer: Timer | undefined;
  inboxRunning: Promise<void> | undefined;
  flushing: Promise<void> | undefined;
  ownDevices: number[] | undefined;
  /** The organisation CA/CRL/certificate fetch started on connect (org-trust.ts). */
  orgTrustRefresh: Promise<void> | undefined;
  identityCache: IdentityKeyPair | undefined;
  /** The static half of sealed sender per peer identity (constant per pair, used sending and receiving) and verified certificates. */
  readonly sealedCache: SealedSenderCache = { staticSecrets: new Map(), certificates: new Map() };
  trusted: TrustedServerKey[] | undefined;
  keysRefreshedAt = 0;
  account: { accountId: Uint8Array; deviceId: number } | undefined;
  readonly typingTimers = new Map<string, Timer>();
  /** Disappearing messages: the timer of the next countdown to run out (disappearing.ts). */
  expiryTimer: Timer | undefined;
  /** Confidential messages (client.md §15), by conversation (hex): in memory only, never in the store. */
  readonly memory = new Map<string, MessageRow[]>();
  /** This device keeps every 1:1 message in memory only (ClientOptions.confidential). */
  confidentialDevice = false;
  /** Give the server coarse expiry hints for disappearing messages (ClientOptions.expiryHints, server.md §8.3). */
  expiryHints = true;
  /** Opens an identity key on a PKCS#11 token (ClientOptions.identityToken, trust.md §7.1). */
  identityToken: IdentityTokenOpener | undefined;

  /**
   * Sealed deliveries' X25519 computed ahead of each inbox batch (agreement-prefetch.ts), when the platform can; with
   * `symmetric` the envelopes are also opened ahead (their HKDF and AES-GCM by the platform), into `unsealed`.
   */
  prefetch: { readonly agree: AsyncAgreement; readonly cache: AgreementCache; readonly symmetric?: AsyncSymmetricCrypto; readonly unsealed: UnsealedCache } | undefined;

  #transport: { key: string; transport: Transport } | undefined;

  constructor(
    readonly store: ClientStore,
    readonly ctx: ProtocolContext,
    readonly now: () => number,
    readonly makeTransport: TransportFactory | undefined,
    /** Moves attachment bytes between files and the server (the platform's; undefined: files cannot be sent here). */
    readonly files: AttachmentFiles | undefined,
  ) {}

  /** The Transport to `address` (one per address, made by the factory handed in). */
  transportFor(address: ServerAddress): Transport {
    if (!this.makeTransport) throw new ClientError('NOT_INITIALISED', 'this client was made without a transport: pass one in ClientOptions (or use createNodeClient from @sigilo/client-node)');
    const key = `${address.url} ${address.fingerprint ?? ''} ${address.caFingerprint ?? ''}`;
    if (this.#transport?.key !== key) this.#transport = { key, transport: this.makeTransport(address) };
    return this.#transport.transport;
  }

  /** The Transport to the server this device was pointed at. */
  transport(): Transport {
    return this.transportFor(this.requireServer());
  }

  /** Resolves once what the store committed so far is durable (stores that write behind: client.md §7.2). */
  durable(): Promise<void> {
    return this.store.flush?.() ?? Promise.resolve();
  }

  /** Tells the application; a listener that throws must not break the client. */
  emit(e: ClientEvent): void {
    // Kept in the conversation before anyone hears of it, so a listener reloading the conversation sees it (client.md §12).
    if (e.type === 'group-update') {
      try { recordGroupChanges(this.store, e, this.accountId, this.now()); } catch { /* shown live anyway */ }
    }
    this.events.emit(e);
  }

  get server(): ServerAddress | undefined {
    const url = this.store.getMeta(META.serverUrl);
    if (!url) return undefined;
    const fp = this.store.getMeta(META.serverFingerprint);
    const caFp = this.store.getMeta(META.serverCaFingerprint);
    const ca = this.store.getMeta(META.serverCa);
    return {
      url: untext.decode(url), fingerprint: fp ? untext.decode(fp) : undefined,
      ...(caFp && ca ? { caFingerprint: untext.decode(caFp), caCert: untext.decode(ca) } : {}),
    };
  }

  get accountId(): Uint8Array | undefined {
    return this.store.getMeta(META.accountId);
  }

  get deviceId(): number | undefined {
    const b = this.store.getMeta(META.deviceId);
    return b ? readU32(b) : undefined;
  }

  get identity(): IdentityKeyPair {
    if (!this.identityCache) {
      const b = this.store.getMeta(META.identity);
      if (!b) throw new ClientError('NOT_REGISTERED', 'this device has no identity yet: run `sigilo register --invite CODE` or `sigilo link`');
      this.identityCache = decodeIdentityKeyPair(this.ctx.crypto, b, this.identityToken);
      this.retain(this.identityCache);
    }
    return this.identityCache;
  }

  /** The identity keys live as long as this client: let the provider keep them prepared. */
  retain(identity: IdentityKeyPair): void {
    this.ctx.crypto.retainPrivateKey?.(identity.agreement.privateKey, 'x25519');
    if (identity.signing.privateKey) this.ctx.crypto.retainPrivateKey?.(identity.signing.privateKey, 'ed25519');
  }

  get accessKey(): Uint8Array | undefined {
    return this.store.getMeta(META.accessKey);
  }

  requireAccount(): { accountId: Uint8Array; deviceId: number } {
    if (this.account) return this.account;
    const accountId = this.accountId, deviceId = this.deviceId;
    if (!accountId || deviceId === undefined) throw new ClientError('NOT_REGISTERED', 'this device is not registered: run `sigilo register --invite CODE` or `sigilo link`');
    this.account = { accountId, deviceId };
    return this.account;
  }

  requireServer(): ServerAddress {
    const s = this.server;
    if (!s) throw new ClientError('NOT_INITIALISED', 'no server configured: run `sigilo init URL --fingerprint FP` first');
    return s;
  }

  requireConnection(): Connection {
    const c = this.connection;
    if (!c || !c.isOpen) throw new ClientError('CONNECTION_FAILED', 'not connected to the server');
    return c;
  }

  trustedKeys(): TrustedServerKey[] {
    if (this.trusted) return this.trusted;
    const b = this.store.getMeta(META.serverKeys);
    if (!b) throw new ClientError('NOT_INITIALISED', 'no server configured: run `sigilo init URL --fingerprint FP`');
    this.trusted = (JSON.parse(untext.decode(b)) as { keyId: number; publicKey: string }[]).map((k) => ({ keyId: k.keyId, publicKey: fromBase64(k.publicKey) }));
    return this.trusted;
  }

  setState(state: ConnectionState, retryInMs?: number): void {
    this.state = state;
    this.emit(retryInMs === undefined ? { type: 'connection', state } : { type: 'connection', state, retryInMs });
  }
}
