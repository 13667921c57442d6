/**
 * Group commit: sends and acks that arrive within one turn of the event loop
 * are written in one storage transaction, so one fsync covers many messages.
 * A sender is answered only after its batch committed; recipients' live
 * connections are pushed the committed rows.
 */
import type { ServerContext } from '../context.js';
import type { Hub } from '../hub.js';
import type { ServerMetrics } from '../metrics.js';
import type { AckRequest, AckedMessage, EnqueueRequest, EnqueueResult, Storage } from '../storage/port.js';
import { toHex } from '../ids.js';

interface PendingSend { req: EnqueueRequest; resolve: (r: EnqueueResult) => void }
interface PendingAck { req: AckRequest; resolve: (r: AckedMessage[]) => void; reject: (e: unknown) => void }

/** Largest number of sends written in one transaction. */
const MAX_BATCH = 2048;

export class Relay {
  #sends: PendingSend[] = [];
  #acks: PendingAck[] = [];
  #scheduled = false;
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly hub: Hub,
    private readonly metrics: ServerMetrics,
    private readonly now: () => number,
  ) {}

  enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    return new Promise((resolve) => {
      this.#sends.push({ req, resolve });
      this.#schedule();
    });
  }

  ack(req: AckRequest): Promise<AckedMessage[]> {
    return new Promise((resolve, reject) => {
      this.#acks.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#sends.length || this.#acks.length) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const sends = this.#sends.splice(0, MAX_BATCH);
    const acks = this.#acks;
    this.#acks = [];
    if (sends.length) {
      let results: EnqueueResult[];
      try {
        results = await this.storage.enqueue(sends.map((s) => s.req));
      } catch (error) {
        // Adapters report failures per request; this guards against one that throws instead.
        results = sends.map(() => ({ status: 'failed', error }));
      }
      this.metrics.commitBatch.observe(sends.length);
      sends.forEach((s, i) => {
        const r = results[i]!;
        s.resolve(r);
        if (r.status === 'stored') this.#push(s.req, r.serverIds);
      });
    }
    if (acks.length) {
      try {
        const results = await this.storage.ack(acks.map((a) => a.req));
        const now = this.now();
        acks.forEach((a, i) => {
          const done = results[i] ?? [];
          for (const m of done) this.metrics.deliveryLatency.observe(Math.max(0, now - m.createdAt) / 1000);
          this.metrics.messagesDelivered.inc(undefined, done.length);
          a.resolve(done);
        });
      } catch (err) {
        for (const a of acks) a.reject(err);
      }
    }
  }

  #push(req: EnqueueRequest, serverIds: ReadonlyMap<number, number>): void {
    this.metrics.messagesStored.inc(undefined, serverIds.size);
    const recipientHex = toHex(req.recipient);
    for (const e of req.entries) {
      const conn = this.hub.get(recipientHex, e.deviceId);
      if (!conn) continue;
      conn.push({
        serverId: serverIds.get(e.deviceId)!,
        messageId: req.messageId,
        createdAt: req.createdAt,
        sealed: req.sender === undefined,
        senderAccountId: req.sender?.accountId,
        senderDeviceId: req.sender?.deviceId,
        content: e.content,
      });
    }
  }

  /** Resolves once everything accepted so far is committed (graceful shutdown). */
  async settle(): Promise<void> {
    while (this.#flushing || this.#scheduled || this.#sends.length || this.#acks.length) {
      if (this.#flushing) await this.#flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }
}

export type { ServerContext };
