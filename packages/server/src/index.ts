/** @sigilo/server: the self-hosted relay and key directory. */
export { startServer, type RunningServer, type StartServerOptions } from './server.js';
export { resolveConfig, settingsHelp, settingForFlag, parseDuration, SETTINGS, type ServerConfig, type ConfigSources, type LogLevel } from './config.js';
export { ServerError, ConfigError, TlsError, DataDirError, StaleDevicesError, RateLimitedError, StorageFullError, type ServerErrorCode, type WireErrorCode } from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export * from './auth.js';
export { AdminService, formatAudit, oldestAge, resolveAccountArg, MAX_LABEL_LENGTH, type AccountSummary, type AuditSummary, type InviteInfo } from './services/admin.js';
export { removalWords, MAX_ENCRYPTED_DEVICE_NAME } from './services/devices.js';
export { adminRequest, adminSocketAlive, adminSocketPath, type AdminOp } from './admin-socket.js';
export { generateInviteCode, normaliseInviteCode, inviteCodeHash } from './services/invites.js';
export { SqliteStorage, type SqliteStorageOptions } from './storage/sqlite.js';
// Types only: the adapter (and pg) is loaded by openStorage when the PostgreSQL backend is chosen.
export type { PostgresStorage, PostgresStorageOptions } from './storage/postgres.js';
export { openStorage, sqlitePath } from './storage/open.js';
export type * from './storage/port.js';
export { generateSelfSignedCertificate, fingerprintOf } from './tls/self-signed.js';
export { CLOSE_CODES, CLOSE_AUTH_FAILED, CLOSE_AUTH_TIMEOUT } from './connection.js';
export { createOrganisationCa, renewCaServerCertificate, SERVER_CERT_DAYS, type CaInfo, type CaNames } from './tls/ca.js';
export { WebStatic, securityHeaders, contentSecurityPolicy } from './web-static.js';
export { accountByUsername } from './services/usernames.js';
export { startWitness, addCheckpoint, type WitnessOptions, type RunningWitness } from './witness.js';
export { KeyTransparency, loadLogKey, type PublishedCheckpoint, type WitnessConfig } from './services/transparency.js';
export { serverPolicy, type ServerPolicy } from './policy.js';
export { WAKE_UP, PUSH_MIN_INTERVAL_MS, loadVapidKeys, vapidKeyPath, type VapidKeys } from './services/push.js';
export { deepAudit, exportAccount, PLAINTEXT_RUN, type AccountExport, type AuditFinding, type DataKind, type DeepAuditReport, type FindingKind } from './services/deep-audit.js';
