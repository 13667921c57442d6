/**
 * Server configuration: one table of settings, each readable from the config
 * file (JSON, nested by the dots of its path), an environment variable and a
 * command-line flag. Precedence: flag > environment > config file > default.
 * Every value is validated; an error names the source, the setting and what
 * is accepted. Documented in README.md ("Running the server"); `settingsHelp()`
 * prints the same table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ConfigError } from './errors.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface ServerConfig {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly dataDir: string;
  readonly tls: { readonly cert: string | undefined; readonly key: string | undefined };
  readonly logLevel: LogLevel;
  /** The built web app served at `/` (undefined: packages/web/dist beside the server). */
  readonly webDir: string | undefined;
  readonly adminSocket: boolean;
  /** The Prometheus endpoint: its own plain-HTTP listener (loopback by default), never the client port. */
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly limits: {
    readonly maxDevicesPerAccount: number;
    readonly maxFrameBytes: number;
    readonly maxMessageBytes: number;
    /** Recipient accounts of one MultiSealedSend. */
    readonly maxMultiRecipients: number;
    /** Every TCP/TLS socket on the client port (handshaking, HTTP, WebSocket). */
    readonly maxConnections: number;
    /** Sockets not bound to an authenticated device; the rest of maxConnections is kept for devices. */
    readonly maxUnauthenticated: number;
    /** Unauthenticated sockets from one source address (IPv6: one /64). */
    readonly maxUnauthenticatedPerAddress: number;
    /** Bytes of incomplete frames all unauthenticated WebSockets together may hold in memory. */
    readonly unauthenticatedInboundBytes: number;
    /** The TLS handshake must finish within this. */
    readonly handshakeTimeoutMs: number;
    /** From connecting (or the end of the previous response) until the request headers are complete. */
    readonly headerTimeoutMs: number;
    /** A request other than an attachment transfer must be received and answered within this. */
    readonly requestTimeoutMs: number;
    /** The longest an unauthenticated (anonymous) WebSocket stays open. */
    readonly anonymousLifetimeMs: number;
    readonly maxAttachmentBytes: number;
    /** Attachment bytes one account may allocate within retention.attachments. */
    readonly attachmentQuotaBytes: number;
    /** An attachment upload or download that moves no byte for this long is cut. */
    readonly attachmentIdleTimeoutMs: number;
    readonly connectionFramesPerSecond: number;
    readonly connectionBurst: number;
    readonly accountSendsPerSecond: number;
    readonly accountBurst: number;
    readonly bundleFetchesPerHour: number;
    readonly maxOneTimePreKeys: number;
    /** Prekey signatures verified per second per device (the burst is one full upload). */
    readonly preKeyChecksPerSecond: number;
    readonly preKeyLowThreshold: number;
    readonly authTimeoutMs: number;
    /** A WebSocket message whose bytes have begun to arrive must be complete within this. */
    readonly frameTimeoutMs: number;
    /** Failed registrations (wrong or expired invite, bad signature) one source address may make per hour. */
    readonly failedRegistrationsPerHour: number;
    /** Failed registrations from all sources together per hour. */
    readonly failedRegistrationsPerHourGlobal: number;
    /** Refused anonymous work per source address per hour, one budget shared by registrations, sealed sends and username lookups. */
    readonly refusedRequestsPerHour: number;
    /** Requests for the web app's files and /ca per source address per minute. */
    readonly staticRequestsPerMinute: number;
  };
  readonly retention: {
    readonly undeliveredMs: number;
    readonly attachmentsMs: number;
    readonly dedupMs: number;
    readonly lastSeen: 'day' | 'off';
    readonly sweepIntervalMs: number;
    /** The longest disappearing-message timer the organisation allows (clients apply it to every conversation); 0: no maximum. */
    readonly maxDisappearingMs: number;
  };
  /** Wake-up pushes to closed apps (spec/server.md §Push). */
  readonly push: {
    readonly mode: 'webpush' | 'off';
    /** VAPID contact (RFC 8292 "sub"): a mailto: or https: URL. */
    readonly subject: string;
    /** Extra certificate authorities (PEM) trusted for push endpoints, e.g. an in-house ntfy. */
    readonly caFile: string | undefined;
    /** Hosts push endpoints may name besides the well-known push services (services/push-hosts.ts). */
    readonly allowedHosts: string;
  };
  readonly senderCertificateMs: number;
  readonly inviteLifetimeMs: number;
  /** Usernames, profiles and the member directory (spec/server.md §3.1). */
  readonly directory: {
    /** 'off': usernames are found by exact lookup only; 'members': members may list themselves and search the list. */
    readonly mode: 'off' | 'members';
    /** Username lookups and directory searches one account may make per hour. */
    readonly lookupsPerHour: number;
    /** Largest encrypted profile (display name and avatar). */
    readonly maxProfileBytes: number;
  };
  readonly kt: {
    /** Raw kt.witnesses text; parsed (and checked) when the server starts. */
    readonly witnesses: string;
  };
  /** Several nodes: the bus (spec/server.md §13). */
  readonly bus: {
    readonly url: string | undefined;
    readonly pollIntervalMs: number;
    readonly nodeId: string | undefined;
  };
  /** Where attachment bytes live (src/blobs): DATA/attachments, or an S3-compatible bucket every node reaches. */
  readonly blobs: {
    readonly backend: 'fs' | 's3';
    readonly s3: {
      readonly endpoint: string | undefined;
      readonly bucket: string | undefined;
      readonly region: string;
      readonly prefix: string | undefined;
      readonly accessKeyId: string | undefined;
      readonly secretAccessKey: string | undefined;
    };
  };
  readonly storage: {
    readonly backend: 'sqlite' | 'postgres';
    readonly postgresUrl: string | undefined;
    readonly postgresSchema: string;
    readonly synchronous: 'full' | 'normal';
    /** Test hook: caps the SQLite database size in pages to provoke SQLITE_FULL. */
    readonly maxPageCount: number | undefined;
  };
}

type Kind =
  | { t: 'int'; min: number; max: number }
  | { t: 'bytes'; min: number; max: number }
  | { t: 'duration'; min: number; max: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'bool' }
  | { t: 'host' }
  | { t: 'path' }
  | { t: 'url' }
  | { t: 'http-url' }
  | { t: 'enum-like'; pattern: string }
  | { t: 'bus-url' }
  | { t: 'text' }
  | { t: 'contact' };

interface Setting {
  /** Dotted path in the config file. */
  readonly path: string;
  readonly env: string;
  /** Dedicated flag of `sigilo server start`, if any (every setting also works with --set path=value). */
  readonly flag?: string;
  readonly kind: Kind;
  readonly def: string | undefined;
  readonly help: string;
  /** Where the parsed value goes in ServerConfig. */
  readonly key: string;
}

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const MiB = 1024 * 1024;

export const SETTINGS: readonly Setting[] = [
  { path: 'host', env: 'SIGILO_HOST', flag: 'host', kind: { t: 'host' }, def: '0.0.0.0', key: 'host', help: 'address to listen on' },
  { path: 'port', env: 'SIGILO_PORT', flag: 'port', kind: { t: 'int', min: 0, max: 65535 }, def: '8443', key: 'port', help: 'TLS port (0 = any free port)' },
  { path: 'dataDir', env: 'SIGILO_DATA', flag: 'data', kind: { t: 'path' }, def: './data', key: 'dataDir', help: 'data directory (database, TLS and certificate keys, admin socket)' },
  { path: 'tls.cert', env: 'SIGILO_TLS_CERT', flag: 'tls-cert', kind: { t: 'path' }, def: undefined, key: 'tls.cert', help: 'PEM certificate chain; omit both cert and key for a self-signed certificate' },
  { path: 'tls.key', env: 'SIGILO_TLS_KEY', flag: 'tls-key', kind: { t: 'path' }, def: undefined, key: 'tls.key', help: 'PEM private key of the certificate' },
  { path: 'webDir', env: 'SIGILO_WEB_DIR', kind: { t: 'path' }, def: undefined, key: 'webDir', help: "the signed web app build served at / (default: packages/web/dist of this installation)" },
  { path: 'logLevel', env: 'SIGILO_LOG_LEVEL', flag: 'log-level', kind: { t: 'enum', values: ['error', 'warn', 'info', 'debug'] }, def: 'info', key: 'logLevel', help: 'log verbosity; no level logs account ids, device ids, addresses or keys' },
  { path: 'adminSocket', env: 'SIGILO_ADMIN_SOCKET', kind: { t: 'bool' }, def: 'true', key: 'adminSocket', help: 'listen on DATA/admin.sock for `sigilo admin` (owner-only permissions)' },
  { path: 'metrics.enabled', env: 'SIGILO_METRICS', kind: { t: 'bool' }, def: 'false', key: 'metrics.enabled', help: 'serve Prometheus /metrics on its own plain-HTTP listener (metrics.host:metrics.port); never on the client port' },
  { path: 'metrics.host', env: 'SIGILO_METRICS_HOST', kind: { t: 'host' }, def: '127.0.0.1', key: 'metrics.host', help: 'address of the metrics listener; keep it loopback or on a private network (it is plain HTTP, without authentication)' },
  { path: 'metrics.port', env: 'SIGILO_METRICS_PORT', kind: { t: 'int', min: 0, max: 65535 }, def: '9464', key: 'metrics.port', help: 'port of the metrics listener (0 = any free port)' },
  { path: 'limits.maxDevicesPerAccount', env: 'SIGILO_MAX_DEVICES', flag: 'max-devices', kind: { t: 'int', min: 1, max: 100 }, def: '5', key: 'limits.maxDevicesPerAccount', help: 'devices per account' },
  { path: 'limits.maxFrameBytes', env: 'SIGILO_MAX_FRAME_BYTES', kind: { t: 'bytes', min: 4096, max: 64 * MiB }, def: '2MiB', key: 'limits.maxFrameBytes', help: 'largest WebSocket frame; larger frames close the connection (1009)' },
  { path: 'limits.maxMessageBytes', env: 'SIGILO_MAX_MESSAGE_BYTES', kind: { t: 'bytes', min: 256, max: 64 * MiB }, def: '256KiB', key: 'limits.maxMessageBytes', help: 'largest ciphertext for one device' },
  { path: 'limits.maxMultiRecipients', env: 'SIGILO_MAX_MULTI_RECIPIENTS', kind: { t: 'int', min: 1, max: 100_000 }, def: '2000', key: 'limits.maxMultiRecipients', help: 'recipient accounts of one multi-recipient sealed send (group message); the frame must also fit limits.maxFrameBytes' },
  { path: 'limits.maxAttachmentBytes', env: 'SIGILO_MAX_ATTACHMENT_BYTES', kind: { t: 'bytes', min: 1024, max: 64 * 1024 * MiB }, def: '2GiB', key: 'limits.maxAttachmentBytes', help: 'largest attachment upload (encrypted size)' },
  { path: 'limits.attachmentQuotaBytes', env: 'SIGILO_ATTACHMENT_QUOTA', kind: { t: 'bytes', min: 1024, max: 1024 * 1024 * MiB }, def: '10GiB', key: 'limits.attachmentQuotaBytes', help: 'attachment bytes one account may allocate within retention.attachments (counted per day)' },
  { path: 'limits.attachmentIdleTimeout', env: 'SIGILO_ATTACHMENT_IDLE_TIMEOUT', kind: { t: 'duration', min: SECOND, max: HOUR }, def: '60s', key: 'limits.attachmentIdleTimeoutMs', help: 'an attachment upload or download that moves no byte for this long is cut (the client resumes)' },
  { path: 'limits.maxConnections', env: 'SIGILO_MAX_CONNECTIONS', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '50000', key: 'limits.maxConnections', help: 'simultaneous TCP/TLS sockets on the client port (WebSockets, HTTP requests, handshakes in progress); more are closed at once' },
  { path: 'limits.maxUnauthenticated', env: 'SIGILO_MAX_UNAUTHENTICATED', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '10000', key: 'limits.maxUnauthenticated', help: 'of those, sockets not bound to an authenticated device (handshakes, HTTP requests, WebSockets before Authenticate, anonymous sealed-send and linking connections); the rest of limits.maxConnections is kept for authenticated devices' },
  { path: 'limits.maxUnauthenticatedPerAddress', env: 'SIGILO_MAX_UNAUTHENTICATED_PER_ADDRESS', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '256', key: 'limits.maxUnauthenticatedPerAddress', help: 'unauthenticated sockets from one source address (IPv6: one /64); raise it when many devices share one NAT address. The address is held in memory only' },
  { path: 'limits.unauthenticatedInboundBytes', env: 'SIGILO_UNAUTHENTICATED_INBOUND', kind: { t: 'bytes', min: 64 * 1024, max: 64 * 1024 * MiB }, def: '256MiB', key: 'limits.unauthenticatedInboundBytes', help: 'bytes of frames still arriving that all unauthenticated WebSockets together may hold in memory; past it, the connection holding the most is dropped' },
  { path: 'limits.handshakeTimeout', env: 'SIGILO_HANDSHAKE_TIMEOUT', kind: { t: 'duration', min: 100, max: 10 * 60 * SECOND }, def: '10s', key: 'limits.handshakeTimeoutMs', help: 'a socket that has not completed the TLS handshake within this is closed' },
  { path: 'limits.headerTimeout', env: 'SIGILO_HEADER_TIMEOUT', kind: { t: 'duration', min: 100, max: 10 * 60 * SECOND }, def: '20s', key: 'limits.headerTimeoutMs', help: 'a socket that has not sent complete request headers (HTTP or WebSocket upgrade) within this of connecting or of its previous response is closed' },
  { path: 'limits.requestTimeout', env: 'SIGILO_REQUEST_TIMEOUT', kind: { t: 'duration', min: 100, max: HOUR }, def: '30s', key: 'limits.requestTimeoutMs', help: 'an HTTP request other than an attachment transfer (those use limits.attachmentIdleTimeout) must be received and answered within this' },
  { path: 'limits.anonymousLifetime', env: 'SIGILO_ANONYMOUS_LIFETIME', kind: { t: 'duration', min: SECOND, max: DAY }, def: '15m', key: 'limits.anonymousLifetimeMs', help: 'the longest an unauthenticated WebSocket (sealed sends, a new device waiting to be linked) stays open; clients reconnect' },
  { path: 'limits.connectionFramesPerSecond', env: 'SIGILO_CONNECTION_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '500', key: 'limits.connectionFramesPerSecond', help: 'sustained frames per second per connection' },
  { path: 'limits.connectionBurst', env: 'SIGILO_CONNECTION_BURST', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '2000', key: 'limits.connectionBurst', help: 'frames a connection may send at once above the sustained rate' },
  { path: 'limits.accountSendsPerSecond', env: 'SIGILO_ACCOUNT_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '200', key: 'limits.accountSendsPerSecond', help: 'sustained sends per second per account (all its devices); and messages per second to one account from all others together (sealed sends, identified sends from other accounts)' },
  { path: 'limits.accountBurst', env: 'SIGILO_ACCOUNT_BURST', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '1000', key: 'limits.accountBurst', help: 'sends an account may make at once above the sustained rate' },
  { path: 'limits.bundleFetchesPerHour', env: 'SIGILO_BUNDLE_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '600', key: 'limits.bundleFetchesPerHour', help: 'prekey bundles (one per device) a requesting account may take per hour' },
  { path: 'limits.maxOneTimePreKeys', env: 'SIGILO_MAX_ONE_TIME_PREKEYS', kind: { t: 'int', min: 1, max: 100_000 }, def: '1000', key: 'limits.maxOneTimePreKeys', help: 'one-time EC (and, separately, PQ) prekeys stored per device' },
  { path: 'limits.preKeyChecksPerSecond', env: 'SIGILO_PREKEY_CHECK_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '100', key: 'limits.preKeyChecksPerSecond', help: 'prekey signatures the server verifies per second per device (a burst of one full upload, limits.maxOneTimePreKeys + 2)' },
  { path: 'limits.preKeyLowThreshold', env: 'SIGILO_PREKEY_LOW', kind: { t: 'int', min: 0, max: 100_000 }, def: '10', key: 'limits.preKeyLowThreshold', help: 'tell a device to upload more one-time prekeys below this count' },
  { path: 'limits.authTimeout', env: 'SIGILO_AUTH_TIMEOUT', kind: { t: 'duration', min: 100, max: 10 * 60 * SECOND }, def: '15s', key: 'limits.authTimeoutMs', help: 'an unauthenticated WebSocket is closed after this without a valid request (malformed frames and pings do not count; a device waiting to be linked is exempt up to limits.anonymousLifetime)' },
  { path: 'limits.frameTimeout', env: 'SIGILO_FRAME_TIMEOUT', kind: { t: 'duration', min: 100, max: HOUR }, def: '60s', key: 'limits.frameTimeoutMs', help: 'a WebSocket frame (or a message in fragments) whose first bytes have arrived must be complete within this, or the connection is closed (1008): a frame trickled in a byte at a time holds no buffer for long' },
  { path: 'limits.failedRegistrationsPerHour', env: 'SIGILO_FAILED_REGISTRATION_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '20', key: 'limits.failedRegistrationsPerHour', help: 'failed registrations (wrong or expired invite code, bad signature) one source address (IPv6: one /64) may make per hour; beyond it, Register is refused (RATE_LIMITED) before the code is checked. The address is held in memory only' },
  { path: 'limits.refusedRequestsPerHour', env: 'SIGILO_REFUSED_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '120', key: 'limits.refusedRequestsPerHour', help: 'refused guesses one source address (IPv6: one /64) may make per hour, one budget shared by failed registrations, sealed sends refused for their access key and username lookups that find nobody; beyond it those requests are refused (RATE_LIMITED) before they are looked at. Accepted requests cost nothing. The address is held in memory only' },
  { path: 'limits.staticRequestsPerMinute', env: 'SIGILO_STATIC_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '600', key: 'limits.staticRequestsPerMinute', help: 'requests for the web app\'s files and /ca one source address may make per minute (a burst of as many); beyond it, 429 with Retry-After. The address is held in memory only' },
  { path: 'limits.failedRegistrationsPerHourGlobal', env: 'SIGILO_FAILED_REGISTRATION_RATE_GLOBAL', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '1000', key: 'limits.failedRegistrationsPerHourGlobal', help: 'failed registrations from all addresses together per hour (against guessing from many addresses); beyond it, every Register is refused (RATE_LIMITED) until it refills' },
  { path: 'retention.undelivered', env: 'SIGILO_UNDELIVERED_TTL', kind: { t: 'duration', min: SECOND, max: 3650 * DAY }, def: '30d', key: 'retention.undeliveredMs', help: 'undelivered messages are deleted after this' },
  { path: 'retention.attachments', env: 'SIGILO_ATTACHMENT_TTL', kind: { t: 'duration', min: SECOND, max: 3650 * DAY }, def: '30d', key: 'retention.attachmentsMs', help: 'attachment metadata and blobs are deleted after this' },
  { path: 'retention.dedup', env: 'SIGILO_DEDUP_WINDOW', kind: { t: 'duration', min: SECOND, max: 3650 * DAY }, def: '7d', key: 'retention.dedupMs', help: 'how long a message id is remembered to drop resends (stored as an unlinkable hash)' },
  { path: 'retention.lastSeen', env: 'SIGILO_LAST_SEEN', kind: { t: 'enum', values: ['day', 'off'] }, def: 'day', key: 'retention.lastSeen', help: "'day': store the day a device last connected; 'off': store nothing (and erase what is stored)" },
  { path: 'retention.sweepInterval', env: 'SIGILO_SWEEP_INTERVAL', kind: { t: 'duration', min: SECOND, max: DAY }, def: '1h', key: 'retention.sweepIntervalMs', help: 'how often expired data is deleted' },
  { path: 'retention.maxDisappearingTimer', env: 'SIGILO_MAX_DISAPPEARING', kind: { t: 'duration', min: 0, max: 3650 * DAY }, def: '0', key: 'retention.maxDisappearingMs', help: 'longest disappearing-message timer allowed; clients apply it to every conversation (0: no maximum)' },
  { path: 'push.mode', env: 'SIGILO_PUSH', kind: { t: 'enum', values: ['webpush', 'off'] }, def: 'webpush', key: 'push.mode', help: "'webpush': wake closed apps with an empty, fixed-size Web Push (browsers' push services, UnifiedPush distributors); 'off': no push, apps keep their connection open while they run" },
  { path: 'push.subject', env: 'SIGILO_PUSH_SUBJECT', kind: { t: 'contact' }, def: 'mailto:postmaster@localhost', key: 'push.subject', help: 'contact sent to push services with each wake-up (VAPID subject): a mailto: or https: URL' },
  { path: 'push.allowedHosts', env: 'SIGILO_PUSH_HOSTS', kind: { t: 'text' }, def: '', key: 'push.allowedHosts', help: 'hosts a device\'s push endpoint may name besides the browsers\' push services and ntfy.sh: your UnifiedPush servers, comma-separated (ntfy.example.org, *.push.example.org, host:port); other endpoints are refused (PUSH_ENDPOINT_REFUSED)' },
  { path: 'push.ca', env: 'SIGILO_PUSH_CA', kind: { t: 'path' }, def: undefined, key: 'push.caFile', help: 'PEM file of extra certificate authorities trusted for push endpoints (an in-house ntfy server)' },
  { path: 'senderCertificateLifetime', env: 'SIGILO_SENDER_CERT_LIFETIME', kind: { t: 'duration', min: 60 * SECOND, max: 7 * DAY }, def: '1h', key: 'senderCertificateMs', help: 'validity of the sender certificates the server issues: a revoked device can send sealed messages for at most this long after revocation' },
  { path: 'inviteLifetime', env: 'SIGILO_INVITE_LIFETIME', kind: { t: 'duration', min: 60 * SECOND, max: 365 * DAY }, def: '7d', key: 'inviteLifetimeMs', help: 'default validity of `sigilo admin invite` codes' },
  // Usernames, profiles and the member directory (spec/server.md §3.1)
  { path: 'directory.mode', env: 'SIGILO_DIRECTORY', kind: { t: 'enum', values: ['off', 'members'] }, def: 'off', key: 'directory.mode', help: "'off': usernames are found by exact lookup only; 'members': members may list their username and name for other members to search, with online state (switching to 'off' erases the list)" },
  { path: 'directory.lookupsPerHour', env: 'SIGILO_LOOKUP_RATE', kind: { t: 'int', min: 1, max: 1_000_000 }, def: '100', key: 'directory.lookupsPerHour', help: 'username lookups and directory searches one account may make per hour' },
  { path: 'directory.maxProfileBytes', env: 'SIGILO_MAX_PROFILE_BYTES', kind: { t: 'bytes', min: 1024, max: MiB }, def: '64KiB', key: 'directory.maxProfileBytes', help: 'largest encrypted profile (display name and avatar) an account may store' },
  { path: 'kt.witnesses', env: 'SIGILO_KT_WITNESSES', kind: { t: 'text' }, def: '', key: 'kt.witnesses', help: "key transparency witnesses asked to cosign each checkpoint: comma-separated '<witness vkey> <url>' entries, as `sigilo witness` prints them (spec/transparency.md)" },
  { path: 'storage.backend', env: 'SIGILO_STORAGE', flag: 'storage', kind: { t: 'enum', values: ['sqlite', 'postgres'] }, def: 'sqlite', key: 'storage.backend', help: "'sqlite': DATA/sigilo.db (embedded); 'postgres': storage.postgresUrl" },
  { path: 'storage.postgresUrl', env: 'SIGILO_POSTGRES_URL', flag: 'postgres-url', kind: { t: 'url' }, def: undefined, key: 'storage.postgresUrl', help: 'PostgreSQL connection URL, e.g. postgresql://sigilo@db.internal:5432/sigilo (with storage.backend postgres)' },
  { path: 'storage.postgresSchema', env: 'SIGILO_POSTGRES_SCHEMA', kind: { t: 'enum-like', pattern: '^[a-z_][a-z0-9_]{0,62}$' }, def: 'sigilo', key: 'storage.postgresSchema', help: 'PostgreSQL schema holding the tables (created if absent)' },
  // Several nodes (spec/server.md §13)
  { path: 'bus.url', env: 'SIGILO_BUS', flag: 'bus', kind: { t: 'bus-url' }, def: undefined, key: 'bus.url', help: 'Redis URL (redis://host:6379) of the bus shared by the nodes of one deployment (with storage.backend postgres); omit for a single node' },
  { path: 'bus.pollInterval', env: 'SIGILO_BUS_POLL', kind: { t: 'duration', min: 100, max: 10 * 60 * SECOND }, def: '5s', key: 'bus.pollIntervalMs', help: 'with bus.url: how often each node re-reads the queues of its connected devices, so a lost wake-up costs at most this much latency' },
  { path: 'bus.nodeId', env: 'SIGILO_NODE_ID', kind: { t: 'enum-like', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }, def: undefined, key: 'bus.nodeId', help: "with bus.url: this node's name on the bus and in its metrics (sigilo_node_info{node=...}); default: random at each start" },
  // Attachment bytes (src/blobs): every node of a deployment must reach the same store
  { path: 'blobs.backend', env: 'SIGILO_BLOBS', kind: { t: 'enum', values: ['fs', 's3'] }, def: 'fs', key: 'blobs.backend', help: "'fs': DATA/attachments (with several nodes: a directory they all mount); 's3': an S3-compatible bucket (blobs.s3.*)" },
  { path: 'blobs.s3.endpoint', env: 'SIGILO_S3_ENDPOINT', kind: { t: 'http-url' }, def: undefined, key: 'blobs.s3.endpoint', help: 'with blobs.backend s3: the service URL, e.g. https://s3.eu-central-1.amazonaws.com or http://minio.internal:9000 (path-style requests)' },
  { path: 'blobs.s3.bucket', env: 'SIGILO_S3_BUCKET', kind: { t: 'enum-like', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }, def: undefined, key: 'blobs.s3.bucket', help: 'with blobs.backend s3: the bucket (it must exist)' },
  { path: 'blobs.s3.region', env: 'SIGILO_S3_REGION', kind: { t: 'enum-like', pattern: '^[a-z0-9-]{1,40}$' }, def: 'us-east-1', key: 'blobs.s3.region', help: 'with blobs.backend s3: the region the requests are signed for' },
  { path: 'blobs.s3.prefix', env: 'SIGILO_S3_PREFIX', kind: { t: 'enum-like', pattern: '^([A-Za-z0-9._-]+/)+$' }, def: undefined, key: 'blobs.s3.prefix', help: "with blobs.backend s3: a key prefix ending in '/', to share a bucket (default: none)" },
  { path: 'blobs.s3.accessKeyId', env: 'SIGILO_S3_ACCESS_KEY_ID', kind: { t: 'text' }, def: undefined, key: 'blobs.s3.accessKeyId', help: 'with blobs.backend s3: the access key id (default: AWS_ACCESS_KEY_ID)' },
  { path: 'blobs.s3.secretAccessKey', env: 'SIGILO_S3_SECRET_ACCESS_KEY', kind: { t: 'text' }, def: undefined, key: 'blobs.s3.secretAccessKey', help: 'with blobs.backend s3: the secret access key (default: AWS_SECRET_ACCESS_KEY); prefer the environment to the config file' },
  { path: 'storage.synchronous', env: 'SIGILO_SYNCHRONOUS', kind: { t: 'enum', values: ['full', 'normal'] }, def: 'full', key: 'storage.synchronous', help: "'full': acknowledged messages survive power loss; 'normal': they survive a process crash only" },
];

const UNITS: Record<string, number> = { ms: 1, s: SECOND, m: 60 * SECOND, h: HOUR, d: DAY };
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB, kb: 1000, mb: 1_000_000, gb: 1_000_000_000 };

/** Parses "30d", "12h", "90s", "500ms" or a plain number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

function describeKind(k: Kind): string {
  switch (k.t) {
    case 'int': return `an integer from ${k.min} to ${k.max}`;
    case 'bytes': return `a size such as 256KiB or 2MiB, from ${k.min} to ${k.max} bytes`;
    case 'duration': return `a duration such as 500ms, 30s, 15m, 12h or 30d, from ${k.min} ms to ${k.max} ms`;
    case 'enum': return `one of ${k.values.map((v) => `'${v}'`).join(', ')}`;
    case 'bool': return 'true or false';
    case 'host': return 'an IPv4 or IPv6 address, or a host name';
    case 'path': return 'a file system path';
    case 'url': return 'a postgresql:// URL';
    case 'http-url': return 'an http:// or https:// URL';
    case 'bus-url': return 'a redis:// or rediss:// URL';
    case 'enum-like': return `a lower-case identifier (${k.pattern})`;
    case 'text': return 'text';
    case 'contact': return 'a mailto: or https: URL';
  }
}

function parseValue(s: Setting, raw: unknown, source: string): unknown {
  const fail = (): never => {
    throw new ConfigError(`${source}: ${s.path} must be ${describeKind(s.kind)} (got ${JSON.stringify(raw)}); fix it and start again`);
  };
  const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : fail();
  const k = s.kind;
  switch (k.t) {
    case 'int': {
      if (!/^\s*\d+\s*$/.test(text)) fail();
      const n = Number(text);
      return n >= k.min && n <= k.max ? n : fail();
    }
    case 'bytes': {
      const n = parseBytes(text);
      return n !== undefined && n >= k.min && n <= k.max ? n : fail();
    }
    case 'duration': {
      const n = parseDuration(text);
      return n !== undefined && n >= k.min && n <= k.max ? n : fail();
    }
    case 'enum': return k.values.includes(text) ? text : fail();
    case 'bool': return text === 'true' ? true : text === 'false' ? false : fail();
    case 'host': return text.length > 0 && (isIP(text) !== 0 || /^[A-Za-z0-9.-]+$/.test(text)) ? text : fail();
    case 'path': return text.length > 0 ? text : fail();
    case 'url': return /^postgres(ql)?:\/\/\S+$/.test(text) ? text : fail();
    case 'http-url': return /^https?:\/\/[^\s/?#]+(\/\S*)?$/.test(text) ? text : fail();
    case 'enum-like': return new RegExp(k.pattern).test(text) ? text : fail();
    case 'bus-url': return /^rediss?:\/\/\S+$/.test(text) ? text : fail();
    case 'text': return text;
    case 'contact': return /^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(text) ? text : fail();
  }
}

/** Flattens a parsed JSON config file into dotted paths, rejecting unknown keys. */
function flattenFile(obj: unknown, file: string, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`config file ${file}: ${prefix ? `'${prefix.slice(0, -1)}'` : 'the top level'} must be a JSON object`);
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const path = prefix + k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [p, x] of flattenFile(v, file, `${path}.`)) out.set(p, x);
    } else if (SETTINGS.some((s) => s.path === path)) {
      out.set(path, v);
    } else {
      throw new ConfigError(`config file ${file}: unknown setting '${path}'; known settings: ${SETTINGS.map((s) => s.path).join(', ')}`);
    }
  }
  return out;
}

export interface ConfigSources {
  /** Values from command-line flags, by setting path (already mapped from flag names). */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Explicit config file (--config); otherwise SIGILO_CONFIG, otherwise DATA/sigilo.json when it exists. */
  readonly configFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Programmatic overrides, by setting path, highest precedence (startServer). */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** Relative paths resolve against this (default: process.cwd()). */
  readonly cwd?: string;
  /** Test hook passed through unvalidated. */
  readonly maxPageCount?: number;
}

/** Maps a flag name (`max-devices`) to its setting path, or undefined. */
export function settingForFlag(flag: string): string | undefined {
  return SETTINGS.find((s) => s.flag === flag)?.path;
}

export function resolveConfig(sources: ConfigSources = {}): ServerConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const values = new Map<string, unknown>();
  const set = (s: Setting, raw: unknown, source: string) => values.set(s.path, parseValue(s, raw, source));

  for (const s of SETTINGS) if (s.def !== undefined) set(s, s.def, 'default');

  for (const [path] of Object.entries({ ...sources.flags, ...sources.overrides })) {
    if (!SETTINGS.some((s) => s.path === path)) {
      throw new ConfigError(`unknown setting '${path}'; known settings: ${SETTINGS.map((s) => s.path).join(', ')}`);
    }
  }

  // The data directory decides where the default config file is, so find it first.
  const pick = (path: string): unknown => sources.overrides?.[path] ?? sources.flags?.[path] ?? env[SETTINGS.find((s) => s.path === path)!.env];
  const explicitFile = sources.configFile ?? (env.SIGILO_CONFIG || undefined);
  let file: string | undefined;
  if (explicitFile) {
    file = resolve(cwd, explicitFile);
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist; check --config or SIGILO_CONFIG`);
  } else {
    const dataSetting = SETTINGS.find((s) => s.path === 'dataDir')!;
    const dataRaw = pick('dataDir') ?? dataSetting.def;
    const candidate = join(resolve(cwd, String(parseValue(dataSetting, dataRaw, 'data directory'))), 'sigilo.json');
    if (existsSync(candidate)) file = candidate;
  }
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid JSON (${(e as Error).message}); fix it and start again`);
    }
    for (const [path, raw] of flattenFile(parsed, file)) set(SETTINGS.find((s) => s.path === path)!, raw, `config file ${file}`);
  }
  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw !== undefined && raw !== '') set(s, raw, `environment variable ${s.env}`);
  }
  for (const [path, raw] of Object.entries(sources.flags ?? {})) {
    const s = SETTINGS.find((x) => x.path === path)!;
    if (raw !== undefined) set(s, raw, s.flag ? `--${s.flag}` : `--set ${path}`);
  }
  for (const [path, raw] of Object.entries(sources.overrides ?? {})) {
    if (raw !== undefined) set(SETTINGS.find((x) => x.path === path)!, raw, `option ${path}`);
  }

  const cert = values.get('tls.cert') as string | undefined;
  const key = values.get('tls.key') as string | undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError('tls.cert and tls.key go together: give both (your certificate) or neither (a self-signed certificate is generated)');
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    let v = values.get(s.path);
    if (s.kind.t === 'path' && typeof v === 'string') v = resolve(cwd, v);
    const parts = s.key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = v;
  }
  (out.storage as Record<string, unknown>).maxPageCount = sources.maxPageCount;
  const config = out as unknown as ServerConfig;
  if (config.storage.backend === 'postgres' && !config.storage.postgresUrl) {
    throw new ConfigError('storage.backend is postgres: set storage.postgresUrl (or SIGILO_POSTGRES_URL) to the database URL');
  }
  if (config.bus.url && config.storage.backend !== 'postgres') {
    throw new ConfigError('bus.url joins several nodes, which must share one store: set storage.backend postgres and storage.postgresUrl, or remove bus.url for a single node');
  }
  if (config.blobs.backend === 's3' && (!config.blobs.s3.endpoint || !config.blobs.s3.bucket)) {
    throw new ConfigError('blobs.backend is s3: set blobs.s3.endpoint and blobs.s3.bucket (or SIGILO_S3_ENDPOINT and SIGILO_S3_BUCKET)');
  }
  if (config.limits.attachmentQuotaBytes < config.limits.maxAttachmentBytes) {
    throw new ConfigError('limits.attachmentQuotaBytes must be at least limits.maxAttachmentBytes (or no account could upload the largest attachment); raise the quota or lower the maximum');
  }
  if (config.limits.maxMessageBytes > config.limits.maxFrameBytes) {
    throw new ConfigError('limits.maxMessageBytes must not exceed limits.maxFrameBytes');
  }
  return config;
}

/** The settings table as text, for `sigilo server start --help` and the README. */
export function settingsHelp(): string {
  const rows = SETTINGS.map((s) => `  ${s.path.padEnd(32)} ${s.env.padEnd(28)} ${(s.flag ? `--${s.flag}` : '').padEnd(14)} ${s.def ?? '(none)'}\n      ${s.help}`);
  return `Settings (config file path, environment variable, flag, default):\n${rows.join('\n')}\nAny setting can also be given as --set PATH=VALUE.`;
}
