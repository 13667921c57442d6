/**
 * The memory unauthenticated WebSockets hold in frames still arriving (spec/server.md §7).
 *
 * The WebSocket library keeps a frame's bytes until the frame is complete, up to
 * limits.maxFrameBytes. A peer that sends most of a large frame and then stalls holds that
 * much memory until its connection ends; with limits.maxUnauthenticated such connections
 * (no account needed) that would be up to maxUnauthenticated × maxFrameBytes (20 GiB by
 * default). The bytes each unauthenticated connection received since its last complete
 * frame are counted here, and all of them together may not pass
 * limits.unauthenticatedInboundBytes: past it, the connection holding the most is closed.
 * A device that authenticated leaves the count (its frames are bounded by its account).
 */
import type { Socket } from 'node:net';

export class InboundEntry {
  pending = 0;
  released = false;
  /** Removes the listeners of this entry (set by InboundBudget.track). */
  onRelease: (() => void) | undefined;
  constructor(readonly socket: Socket, private readonly budget: InboundBudget) {}

  /** A frame (data or control) completed: what arrived so far was consumed. */
  consumed(): void { this.budget.settle(this, 0); }

  /** The connection authenticated or closed: it leaves the count. */
  release(): void {
    if (this.released) return;
    this.budget.settle(this, 0);
    this.released = true;
    this.budget.forget(this);
    this.onRelease?.();
    this.onRelease = undefined;
  }
}

export class InboundBudget {
  #total = 0;
  readonly #entries = new Set<InboundEntry>();

  constructor(private readonly limit: number, private readonly onShed: () => void = () => {}) {}

  get total(): number { return this.#total; }

  /**
   * Counts the bytes arriving on `socket` (a WebSocket just upgraded). Call inside the upgrade
   * callback: the listener is put before the WebSocket library's own, so a chunk is counted
   * before the frames it completes are handled.
   */
  track(socket: Socket): InboundEntry {
    const entry = new InboundEntry(socket, this);
    this.#entries.add(entry);
    const onData = (chunk: Buffer) => {
      if (entry.released) return;
      this.settle(entry, entry.pending + chunk.length);
      if (this.#total > this.limit) this.#shed();
    };
    socket.prependListener('data', onData);
    // Released (authenticated or closed): the listener goes, so an authenticated connection's chunks cost nothing here.
    entry.onRelease = () => socket.off('data', onData);
    socket.once('close', () => entry.release());
    return entry;
  }

  settle(entry: InboundEntry, pending: number): void {
    if (entry.released) return;
    this.#total += pending - entry.pending;
    entry.pending = pending;
  }

  forget(entry: InboundEntry): void {
    this.#entries.delete(entry);
  }

  /** Closes the connections holding the most until the total is within the limit again. */
  #shed(): void {
    while (this.#total > this.limit) {
      let victim: InboundEntry | undefined;
      for (const e of this.#entries) if (!victim || e.pending > victim.pending) victim = e;
      if (!victim || victim.pending === 0) return;
      victim.release();
      this.onShed();
      victim.socket.destroy();
    }
  }
}
