/**
 * Durable commits without blocking the event loop (storage.synchronous = full).
 *
 * better-sqlite3 is synchronous: with synchronous=FULL every commit waits for an fsync of the
 * WAL on the main thread, and nothing else runs meanwhile. The hot-path transactions (sends,
 * multi-recipient sends, acks) instead commit with synchronous=NORMAL, which writes the WAL
 * frames to the operating system without an fsync, and then call sync(): it fdatasyncs the WAL
 * file on libuv's thread pool and resolves once everything written before the call is on disk.
 * Callers answer only after that, so an acknowledged message survives power loss exactly as
 * with FULL (which does the same fdatasync of the WAL inside the commit), and a process kill
 * as before (the frames are in the page cache once the commit returned).
 *
 * Group commit: calls made in one turn of the event loop share one fdatasync; calls made while
 * one runs share the next. SQLite itself never deletes the WAL file while this connection is
 * open (only when the last connection closes), so one descriptor serves for the whole life of
 * the storage; checkpoints truncate or rewrite the same file.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';

interface Waiter { resolve: () => void; reject: (e: unknown) => void }

export class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  #waiting: Waiter[] = [];
  #scheduled = false;
  #running: Promise<void> | undefined;
  #closed = false;
  /** fdatasync calls made so far. */
  rounds = 0;

  /** @param databasePath the database file; its WAL is `${databasePath}-wal`. */
  constructor(databasePath: string) {
    this.#path = `${databasePath}-wal`;
  }

  /** Resolves when everything written to the WAL before this call is on disk; rejects if the fdatasync failed. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // After the current turn's synchronous work: every commit of this turn shares the fdatasync.
    process.nextTick(() => {
      this.#scheduled = false;
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        if (this.#waiting.length) this.#schedule();
      });
    });
  }

  async #round(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = [];
    try {
      if (this.#closed) throw new Error('the storage is closed');
      this.#fd ??= openSync(this.#path, 'r');
      const fd = this.#fd;
      this.rounds++;
      await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const w of batch) w.resolve();
  }

  /** Waits for a running fdatasync, then releases the descriptor (before the database closes). */
  async close(): Promise<void> {
    while (this.#running || this.#scheduled) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setImmediate(r));
    }
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
