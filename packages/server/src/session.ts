/** An authenticated device on a connection. */
export interface Session {
  readonly accountId: Uint8Array;
  /** Map key only; never logged. */
  readonly accountHex: string;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
}
