/** The registry of live connections, by account and device (one connection per device). */
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Connection } from './connection.js';

export class Hub {
  readonly #all = new Set<Connection>();
  readonly #byAccount = new Map<string, Map<number, Connection>>();
  readonly #removalListeners = new Set<(accountHex: string, deviceId: number | undefined) => void>();

  add(conn: Connection): void { this.#all.add(conn); }

  get size(): number { return this.#all.size; }
  get authenticated(): number {
    let n = 0;
    for (const m of this.#byAccount.values()) n += m.size;
    return n;
  }

  /** Binds an authenticated connection to its device, closing an older connection of the same device. */
  bind(conn: Connection, accountHex: string, deviceId: number): void {
    let devices = this.#byAccount.get(accountHex);
    if (!devices) this.#byAccount.set(accountHex, (devices = new Map()));
    const previous = devices.get(deviceId);
    devices.set(deviceId, conn);
    if (previous && previous !== conn) previous.close(CloseReason.REPLACED, 'this device connected again from elsewhere');
  }

  remove(conn: Connection): void {
    this.#all.delete(conn);
    const s = conn.session;
    if (!s) return;
    const devices = this.#byAccount.get(s.accountHex);
    if (devices?.get(s.deviceId) === conn) {
      devices.delete(s.deviceId);
      if (devices.size === 0) this.#byAccount.delete(s.accountHex);
    }
  }

  /** Whether a device of the account is connected now (the member directory's online state). */
  online(accountHex: string): boolean {
    return (this.#byAccount.get(accountHex)?.size ?? 0) > 0;
  }

  get(accountHex: string, deviceId: number): Connection | undefined {
    return this.#byAccount.get(accountHex)?.get(deviceId);
  }

  closeDevice(accountHex: string, deviceId: number, reason: CloseReason, message: string): number {
    const conn = this.get(accountHex, deviceId);
    conn?.close(reason, message);
    return conn ? 1 : 0;
  }

  closeAccount(accountHex: string, reason: CloseReason, message: string): number {
    const conns = [...(this.#byAccount.get(accountHex)?.values() ?? [])];
    for (const c of conns) c.close(reason, message);
    return conns.length;
  }

  /**
   * Listens for devices the administrator revoked (deviceId) and accounts it
   * removed (undefined), announced after the storage change committed; for
   * work that outlives a request, such as an upload in progress.
   */
  onRemoved(listener: (accountHex: string, deviceId: number | undefined) => void): () => void {
    this.#removalListeners.add(listener);
    return () => this.#removalListeners.delete(listener);
  }

  removed(accountHex: string, deviceId: number | undefined): void {
    for (const l of [...this.#removalListeners]) l(accountHex, deviceId);
  }

  heartbeat(): void {
    for (const c of [...this.#all]) c.heartbeat();
  }

  closeAll(reason: CloseReason, message: string): void {
    for (const c of [...this.#all]) c.close(reason, message);
  }
}
