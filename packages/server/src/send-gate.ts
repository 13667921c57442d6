/**
 * Per-connection send order (spec/server.md §5, "Order"): the sends of one connection reach the
 * relay's queue in the order they arrived, whatever the order in which their checks finish. A
 * sealed send reads the recipient's account first; on PostgreSQL such reads run on several pooled
 * connections and may complete out of order, and a shared rate-limit check is a bus round trip.
 *
 * Each send takes a ticket when its frame arrives; just before it is handed to the relay it waits
 * for its turn (every earlier ticket passed), and it passes once handed over or refused. When the
 * checks finish in order (SQLite, one node) no send waits and nothing is allocated beyond the ticket.
 */
export class SendGate {
  /** Tickets handed out. */
  #issued = 0;
  /** Every ticket below this has passed. */
  #open = 0;
  /** Tickets at or above #open that passed early (refused before their turn). */
  readonly #early = new Set<number>();
  /** The ticket waiting for its turn, with what wakes it (only #open can be woken, so at most a few wait). */
  readonly #waiting = new Map<number, () => void>();

  take(): SendTurn { return new SendTurn(this, this.#issued++); }

  /** Undefined when `ticket` may go now, else a promise resolved when it may. */
  wait(ticket: number): Promise<void> | undefined {
    if (ticket <= this.#open) return undefined;
    return new Promise((resolve) => this.#waiting.set(ticket, resolve));
  }

  pass(ticket: number): void {
    if (ticket < this.#open) return;
    if (ticket > this.#open) { this.#early.add(ticket); return; }
    this.#open++;
    while (this.#early.delete(this.#open)) this.#open++;
    const wake = this.#waiting.get(this.#open);
    if (wake) {
      this.#waiting.delete(this.#open);
      wake();
    }
  }
}

/** One send's place in its connection's order. */
export class SendTurn {
  #passed = false;
  constructor(readonly gate: SendGate, readonly ticket: number) {}

  /** Undefined when this send may be handed to the relay now, else a promise of that moment. */
  wait(): Promise<void> | undefined { return this.#passed ? undefined : this.gate.wait(this.ticket); }

  /** Handed to the relay, or refused: the next send may go (idempotent). */
  pass(): void {
    if (this.#passed) return;
    this.#passed = true;
    this.gate.pass(this.ticket);
  }
}
