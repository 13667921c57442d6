/**
 * Typed errors of the browser adapters: a stable `code` and a message that says
 * what to do next. Messages never contain plaintext, keys or account ids.
 */
export type StoreErrorCode =
  /** Same code as the Node store (ClientError BAD_PASSPHRASE): the passphrase does not unwrap the store's keys. */
  | 'BAD_PASSPHRASE'
  /** The store existed on this device (the marker says so) and the browser deleted it. */
  | 'STORE_EVICTED'
  /** A record failed to decrypt or decode (tampered or damaged): the store was not opened. */
  | 'STORE_CORRUPT'
  /** The store was closed, or an earlier write failed; reopen it. */
  | 'STORE_CLOSED'
  /** IndexedDB refused a write (quota, or the database was deleted underneath): what was not flushed is lost. */
  | 'STORE_WRITE_FAILED'
  /** Another tab or worker of this browser profile has the store open (one engine per store). */
  | 'STORE_IN_USE'
  /** A store written by a newer version of Sigilo. */
  | 'STORE_VERSION'
  /** IndexedDB, WebCrypto or another required API is missing (private window, old browser). */
  | 'UNSUPPORTED';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
