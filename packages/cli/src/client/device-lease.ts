/**
 * Who uses a client directory now (client.md §13). The server keeps one connection per
 * device: a second connection of the same device replaces the first (Closing REPLACED).
 * Every command that opens the store leaves a lease file `run/PID` in the directory while
 * it runs, so the others can tell who took the connection and when it is free again:
 *
 * - a command (send, inbox, …) waits for commands started before it, then takes the
 *   connection, even from a running `chat`;
 * - a `chat` yields: it connects once no command holds a lease, and after being replaced
 *   it waits until the command that replaced it has finished, then connects again.
 *
 * A lease whose process is gone (killed, crashed) is stale: it is ignored and removed.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type LeaseKind = 'command' | 'chat';

/** Written by a command as it ends (not a lease: never waited for). */
const LAST_COMMAND = 'last-command';

export interface Lease {
  readonly pid: number;
  readonly kind: LeaseKind;
  /** The command's words ("send", "inbox"), to say who holds the connection. */
  readonly command: string;
  readonly startedAt: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Earlier first: by start time, then by process id (a total order, so two waiting commands never wait for each other). */
export const before = (a: Lease, b: Lease) => a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.pid < b.pid);

export class DeviceLeases {
  readonly #runDir: string;
  #mine: Lease | undefined;

  constructor(dir: string) {
    this.#runDir = join(dir, 'run');
  }

  get mine(): Lease | undefined {
    return this.#mine;
  }

  /** Leaves this process's lease (once); removed by release() or, if the process dies, found stale by the others. */
  take(kind: LeaseKind, command: string, now = Date.now()): Lease {
    if (this.#mine) return this.#mine;
    mkdirSync(this.#runDir, { recursive: true, mode: 0o700 });
    const lease: Lease = { pid: process.pid, kind, command, startedAt: now };
    writeFileSync(join(this.#runDir, String(process.pid)), JSON.stringify(lease), { mode: 0o600 });
    this.#mine = lease;
    return lease;
  }

  /** Removes this process's lease; `trace` false leaves no run/last-command (a store being discarded). */
  release(trace = true): void {
    if (!this.#mine) return;
    // A command may end before a chat it replaced hears of it: the chat can still tell who it was.
    if (trace && this.#mine.kind === 'command') {
      try {
        writeFileSync(join(this.#runDir, LAST_COMMAND), JSON.stringify({ ...this.#mine, endedAt: Date.now() }), { mode: 0o600 });
      } catch { /* only an explanation */ }
    }
    rmSync(join(this.#runDir, String(this.#mine.pid)), { force: true });
    this.#mine = undefined;
    if (!trace) try { rmdirSync(this.#runDir); } catch { /* others run here */ }
  }

  /** The last command that ended on this directory, if it ended within `withinMs`. */
  recentlyEnded(withinMs: number, now = Date.now()): Lease | undefined {
    try {
      const v = JSON.parse(readFileSync(join(this.#runDir, LAST_COMMAND), 'utf8')) as Lease & { endedAt: number };
      return typeof v.endedAt === 'number' && now - v.endedAt <= withinMs ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** The live leases of other processes; stale ones are removed. */
  others(): Lease[] {
    let names: string[];
    try {
      names = readdirSync(this.#runDir);
    } catch {
      return [];
    }
    const out: Lease[] = [];
    for (const name of names) {
      const pid = Number(name);
      if (!/^\d+$/.test(name) || pid === process.pid) continue;
      let lease: Lease | undefined;
      try {
        const v = JSON.parse(readFileSync(join(this.#runDir, name), 'utf8')) as Lease;
        if (v.pid === pid && (v.kind === 'command' || v.kind === 'chat')) lease = v;
      } catch { /* being written, or damaged: judged by its process below */ }
      if (!alive(pid)) {
        rmSync(join(this.#runDir, name), { force: true });
        continue;
      }
      if (lease) out.push(lease);
    }
    return out;
  }

  /** A running chat on this directory, if any (it sends queued messages as soon as the server is back). */
  runningChat(): Lease | undefined {
    return this.others().find((l) => l.kind === 'chat');
  }

  /**
   * For a command: waits until the commands that started before it have finished (they may
   * be using the connection). Gives up waiting after `timeoutMs` and goes on.
   */
  async waitForEarlierCommands(onWait: (holder: Lease) => void, timeoutMs = 120_000, pollMs = 200): Promise<void> {
    const mine = this.#mine;
    if (!mine) return;
    const end = Date.now() + timeoutMs;
    let told = false;
    for (;;) {
      const holder = this.others().find((l) => l.kind === 'command' && before(l, mine));
      if (!holder || Date.now() > end) return;
      if (!told) onWait(holder);
      told = true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

export const describeLease = (l: Lease) => `\`sigilo ${l.command}\` (process ${l.pid})`;
