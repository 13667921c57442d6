/**
 * How a long-running `chat` shares the device's one connection with other commands on the
 * same directory (client.md §13): it hands the connection over and takes it back.
 *
 * - Before connecting it waits while a command holds a lease (that command is online).
 * - When the server closes its connection as REPLACED (another command of this device
 *   connected), it pauses: it shows who has the connection, keeps reading the store (that
 *   command stores what it receives and sends), and connects again as soon as that command
 *   has finished; a newer `chat` on the same directory keeps the connection until it ends.
 * - Replaced with nobody on this directory to yield to, nor a command that just ended there
 *   (so: a copy of the directory elsewhere),
 *   it connects again, but not more than MAX_UNEXPLAINED times in five minutes: then it
 *   stays offline and says why, instead of fighting the other copy for the connection.
 */
import type { SigiloClient } from '@sigilo/client-node';
import { before, describeLease, type DeviceLeases, type Lease } from './device-lease.js';

const POLL_MS = 300;
const MAX_UNEXPLAINED = 3;
const UNEXPLAINED_WINDOW_MS = 5 * 60_000;
/** A command that ended this recently explains a replacement. */
const RECENT_MS = 60_000;

export interface HandOverEvents {
  /** The title bar's state while paused or waiting ("paused: `sigilo inbox` … has the connection"). */
  state(text: string): void;
  /** Called every poll while paused: the store may hold what the other command received or sent. */
  poll(): void;
  /** A reason to stay offline for good. */
  notice(text: string): void;
}

export class HandOver {
  readonly #client: SigiloClient;
  readonly #leases: DeviceLeases;
  readonly #on: HandOverEvents;
  #paused = false;
  #stopped = false;
  /** When this chat was replaced with no lease to explain it, in the last UNEXPLAINED_WINDOW_MS. */
  #unexplained: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #off: () => void;

  constructor(client: SigiloClient, leases: DeviceLeases, on: HandOverEvents) {
    this.#client = client;
    this.#leases = leases;
    this.#on = on;
    this.#off = client.on((e) => { if (e.type === 'replaced') this.#replaced(); });
  }

  /** Whether the connection is with another command now (the chat shows "paused", not "offline"). */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Connects now, or once no command holds the connection. Resolves after the first attempt
   * (the SDK retries after that), or at once when it has to wait.
   */
  async start(): Promise<void> {
    const holder = this.#holder(false);
    if (!holder) return this.#client.connect({ reconnect: true });
    this.#pause(holder);
    this.#waitThen(() => this.#client.connect({ reconnect: true }).catch(() => { /* retried by the SDK with backoff */ }));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#off();
  }

  /** Who this chat yields to: a command, or (after being replaced) a chat started after this one. */
  #holder(includeNewerChats: boolean): Lease | undefined {
    const mine = this.#leases.mine;
    const others = this.#leases.others();
    return others.find((l) => l.kind === 'command')
      ?? (includeNewerChats && mine ? others.find((l) => l.kind === 'chat' && before(mine, l)) : undefined);
  }

  #pause(holder: Lease): void {
    this.#paused = true;
    this.#on.state(`paused: ${describeLease(holder)} is using this device's connection`);
  }

  #replaced(): void {
    if (this.#stopped) return;
    const holder = this.#holder(true);
    const now = Date.now();
    // A command that already ended explains it too (a short one can end before this process hears it was replaced).
    if (!holder && !this.#leases.recentlyEnded(RECENT_MS, now)) this.#unexplained = [...this.#unexplained.filter((t) => now - t < UNEXPLAINED_WINDOW_MS), now];
    if (this.#unexplained.length > MAX_UNEXPLAINED) {
      this.#on.notice('this device connected to the server from somewhere else (a copy of this directory?): staying offline; /quit and check');
      return;
    }
    if (holder) this.#pause(holder);
    this.#waitThen(() => {
      this.#client.connect({ reconnect: true }).catch(() => { /* retried by the SDK with backoff */ });
    });
  }

  /** Polls until nobody to yield to is left, then `then()`. */
  #waitThen(then: () => void): void {
    const tick = () => {
      this.#timer = undefined;
      if (this.#stopped) return;
      if (this.#paused) this.#on.poll();
      const holder = this.#holder(true);
      if (holder) {
        this.#pause(holder);
        this.#timer = setTimeout(tick, POLL_MS);
        return;
      }
      this.#paused = false;
      then();
    };
    tick();
  }
}
