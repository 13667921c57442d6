/**
 * Every failure the server reports is a ServerError with a stable `code`. The
 * wire codes match `ErrorCode` in spec/sigilo/server/v1/frames.proto; the other
 * codes are for the administrator (configuration, TLS, data directory).
 * Messages never contain account ids, device ids, keys, addresses or content, except admin-socket
 * answers, which may name the account the administrator asked about (base32, spec/server.md §9).
 */
export type WireErrorCode =
  | 'MALFORMED_FRAME'
  | 'UNKNOWN_FRAME'
  | 'NOT_AUTHENTICATED'
  | 'AUTH_FAILED'
  | 'INVITE_INVALID'
  | 'INVITE_EXPIRED'
  | 'DEVICE_LIMIT'
  | 'INVALID_ARGUMENT'
  | 'INVALID_SIGNATURE'
  | 'NOT_FOUND'
  | 'STALE_DEVICES'
  | 'UNAUTHORIZED'
  | 'MESSAGE_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'STORAGE_FULL'
  | 'INTERNAL'
  | 'ALREADY_AUTHENTICATED'
  | 'UNAVAILABLE'
  | 'QUOTA_EXCEEDED'
  | 'DEVICE_REMOVED'
  | 'ACCOUNT_REMOVED'
  | 'PUSH_ENDPOINT_REFUSED'
  | 'USERNAME_TAKEN'
  | 'DIRECTORY_OFF'
  | 'PUSH_DISABLED'
  | 'TIMER_TOO_LONG'
  | 'NO_IDENTITY_CA';

export type ServerErrorCode = WireErrorCode | 'CONFIG_INVALID' | 'TLS_INVALID' | 'DATA_DIR' | 'ADMIN_UNAVAILABLE' | 'IDENTITY_CA';

export class ServerError extends Error {
  readonly code: ServerErrorCode;
  constructor(code: ServerErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration value (flag, environment variable or config file) is wrong. */
export class ConfigError extends ServerError {
  constructor(message: string) { super('CONFIG_INVALID', message); }
}

/** The TLS certificate or key could not be loaded or generated. */
export class TlsError extends ServerError {
  constructor(message: string) { super('TLS_INVALID', message); }
}

/** The data directory is missing, unreadable or not writable. */
export class DataDirError extends ServerError {
  constructor(message: string) { super('DATA_DIR', message); }
}

/** The device list of a send does not match the recipient's devices. */
export class StaleDevicesError extends ServerError {
  constructor(
    readonly current: readonly number[],
    readonly missing: readonly number[],
    readonly extra: readonly number[],
  ) {
    super('STALE_DEVICES', "the recipient's devices have changed: encrypt for the current device list and send again");
  }
}

/** Too many requests; `retryAfterMs` says when to try again. */
export class RateLimitedError extends ServerError {
  /** @param bound the configured bound that refused, as counted in sigilo_abuse_refusals_total (spec/server.md §7). */
  constructor(readonly retryAfterMs: number, what = 'requests', readonly bound = 'other') {
    super('RATE_LIMITED', `too many ${what}: wait ${Math.ceil(retryAfterMs / 1000)} s and try again`);
  }
}

/** The disk holding the database is full: nothing was stored. */
export class StorageFullError extends ServerError {
  constructor() { super('STORAGE_FULL', 'the server is out of disk space and stored nothing; try again later and tell the administrator'); }
}

export function invalidArgument(message: string): ServerError {
  return new ServerError('INVALID_ARGUMENT', message);
}

/** True when an error from a storage driver means "disk or database full". */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100' /* PostgreSQL disk_full */ || code === 'ENOSPC';
}
