/**
 * Client errors: a stable `code`, and a message that says what to do next.
 * Messages never contain plaintext, keys or account ids.
 */
export type ClientErrorCode =
  | 'NOT_INITIALISED'
  | 'NOT_REGISTERED'
  | 'ALREADY_REGISTERED'
  | 'BAD_PASSPHRASE'
  | 'FINGERPRINT_MISMATCH'
  | 'CONNECTION_FAILED'
  | 'TIMEOUT'
  | 'SERVER_ERROR'
  | 'UNKNOWN_CONTACT'
  | 'IDENTITY_CHANGED'
  | 'INVALID_INPUT'
  | 'LINK_FAILED'
  | 'NOT_FOUND'
  /** This device was removed from its account (by another device or the administrator): link it again or register. */
  | 'DEVICE_REMOVED'
  /** The administrator removed this device's whole account: ask for an invite and register a new one. */
  | 'ACCOUNT_REMOVED'
  /** Restore: the server no longer has the backup's account. */
  | 'ACCOUNT_GONE'
  /** Backup: the recovery code does not open the file, or the file was altered or cut. */
  | 'BACKUP_INVALID'
  /** Key transparency (spec/transparency.md §6): a key or checkpoint failed verification, or lacks the witness cosignatures required. */
  | 'KEY_TRANSPARENCY'
  /** Disappearing messages (client.md §14): the organisation does not allow a timer this long (or none at all). */
  | 'TIMER_TOO_LONG'
  /** Confidential mode (client.md §15): a confidential message is never queued; connect first. */
  | 'CONFIDENTIAL_OFFLINE'
  /** Organisation certificates (spec/trust.md §6): a certificate or CRL that does not decode or verify against the organisation's CA. */
  | 'CERTIFICATE_INVALID'
  /** The contact's identity certificate was revoked by the organisation: sending is held until the person accepts the key anyway. */
  | 'CERTIFICATE_REVOKED';

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** For SERVER_ERROR: the server's ErrorCode name (e.g. "RATE_LIMITED"). */
  readonly serverCode: string | undefined;
  constructor(code: ClientErrorCode, message: string, serverCode?: string) {
    super(message);
    this.name = 'ClientError';
    this.code = code;
    this.serverCode = serverCode;
  }
}
