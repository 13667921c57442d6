/** The registry of live connections, by account and device (one connection per device). */
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Connection } from './ports.js';
import type { QueuedMessage } from './storage/port.js';

/** The other nodes of a cluster (cluster.ts), when there are any. */
export interface HubPeers {
  /** A device bound a connection on this node (at: when, Unix ms). */
  bound(accountHex: string, deviceId: number, at: number): void;
  unbound(accountHex: string, deviceId: number): void;
  /** Close the device's (or every device's of the account) connection on the other nodes. */
  close(accountHex: string, deviceId: number | undefined, reason: CloseReason, message: string): void;
  /**
   * A message was committed for a device with no connection here: rings the node that holds it. `unheld` is called
   * when presence says no node holds it (or cannot say: the bus is away), so a push wakes it (services/push.ts).
   */
  wake(accountHex: string, deviceId: number, unheld?: () => void): void;
  /** An online-only message for a device with no connection here: pushed by the node that holds it, if any. */
  ephemeral(accountHex: string, deviceId: number, message: QueuedMessage): void;
}

/**
 * Heartbeat rounds per heartbeat interval (server.ts): each connection belongs to one of them and is pinged once
 * per interval, in its round, so a node's pings are spread over the interval instead of all written in one turn
 * (at 10,000 connections one turn of pings took ~340 ms of the node's CPU, ~400 ms with the pongs, and delayed every
 * message of that moment by up to a second: spec/server.md §13.3).
 */
export const HEARTBEAT_ROUNDS = 45;

export class Hub {
  /** Every connection, with its heartbeat round. */
  readonly #all = new Map<Connection, number>();
  readonly #rounds: Set<Connection>[] = Array.from({ length: HEARTBEAT_ROUNDS }, () => new Set());
  #nextRound = 0;
  #round = 0;
  readonly #byAccount = new Map<string, Map<number, Connection>>();
  readonly #removalListeners = new Set<(accountHex: string, deviceId: number | undefined) => void>();
  /** When each bound connection was bound (Unix ms), for REPLACED from another node. */
  readonly #boundAt = new WeakMap<Connection, number>();
  /** The other nodes, when this node is one of several (set by Cluster.start). */
  peers: HubPeers | undefined;

  add(conn: Connection): void {
    if (this.#all.has(conn)) return;
    const r = this.#nextRound;
    this.#nextRound = (r + 1) % HEARTBEAT_ROUNDS;
    this.#all.set(conn, r);
    this.#rounds[r]!.add(conn);
  }

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
    const at = Date.now();
    this.#boundAt.set(conn, at);
    this.peers?.bound(accountHex, deviceId, at);
  }

  remove(conn: Connection): void {
    const r = this.#all.get(conn);
    if (r !== undefined) {
      this.#all.delete(conn);
      this.#rounds[r]!.delete(conn);
    }
    const s = conn.session;
    if (!s) return;
    const devices = this.#byAccount.get(s.accountHex);
    if (devices?.get(s.deviceId) === conn) {
      devices.delete(s.deviceId);
      if (devices.size === 0) this.#byAccount.delete(s.accountHex);
      this.peers?.unbound(s.accountHex, s.deviceId);
    }
  }

  /** Every device with a connection on this node. */
  *devices(): Iterable<[string, number]> {
    for (const [a, m] of this.#byAccount) for (const d of m.keys()) yield [a, d];
  }

  /** Every authenticated connection on this node. */
  *connections(): Iterable<Connection> {
    for (const m of this.#byAccount.values()) yield* m.values();
  }

  /** Whether a device of the account is connected now (the member directory's online state). */
  online(accountHex: string): boolean {
    return (this.#byAccount.get(accountHex)?.size ?? 0) > 0;
  }

  get(accountHex: string, deviceId: number): Connection | undefined {
    return this.#byAccount.get(accountHex)?.get(deviceId);
  }

  /** Closes the device's connection on this node and, through the peers, on any other; returns how many closed here. */
  /** An online-only message (never stored): to the device's connection here, or on another node; dropped if none. */
  pushEphemeral(accountHex: string, deviceId: number, message: QueuedMessage): void {
    const conn = this.get(accountHex, deviceId);
    if (conn) conn.pushEphemeral(message);
    else this.peers?.ephemeral(accountHex, deviceId, message);
  }

  closeDevice(accountHex: string, deviceId: number, reason: CloseReason, message: string): number {
    this.peers?.close(accountHex, deviceId, reason, message);
    return this.closeLocalDevice(accountHex, deviceId, reason, message);
  }

  closeAccount(accountHex: string, reason: CloseReason, message: string): number {
    this.peers?.close(accountHex, undefined, reason, message);
    return this.closeLocalAccount(accountHex, reason, message);
  }

  /** On this node only; `boundBefore`: only a connection bound before then (Unix ms). */
  closeLocalDevice(accountHex: string, deviceId: number, reason: CloseReason, message: string, boundBefore?: number): number {
    const conn = this.get(accountHex, deviceId);
    if (!conn || (boundBefore !== undefined && (this.#boundAt.get(conn) ?? 0) > boundBefore)) return 0;
    conn.close(reason, message);
    return 1;
  }

  closeLocalAccount(accountHex: string, reason: CloseReason, message: string): number {
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

  /** One heartbeat round (called HEARTBEAT_ROUNDS times per heartbeat interval): pings that round's connections. */
  heartbeat(): void {
    const round = this.#rounds[this.#round]!;
    this.#round = (this.#round + 1) % HEARTBEAT_ROUNDS;
    for (const c of [...round]) c.heartbeat();
  }

  closeAll(reason: CloseReason, message: string): void {
    for (const c of [...this.#all.keys()]) c.close(reason, message);
  }
}
