/**
 * Group commit: sends and acks that arrive within one turn of the event loop
 * are written in one storage transaction, so one fsync covers many messages.
 * A sender is answered only after its batch committed; recipients' live
 * connections are pushed the committed rows.
 */
import type { ServerContext } from '../context.js';
import type { Hub } from '../hub.js';
import type { ServerMetrics } from '../metrics.js';
import type {
  AckRequest, AckedMessage, EnqueueRequest, EnqueueResult, MultiEnqueueRequest, MultiEnqueueResult, Storage,
} from '../storage/port.js';
import { toHex } from '../ids.js';

/** recipientHex: the hub's key of the recipient, made once per send by its caller. */
interface PendingSend { req: EnqueueRequest; recipientHex: string; resolve: (r: EnqueueResult) => void }
interface PendingMulti { req: MultiEnqueueRequest; resolve: (r: MultiEnqueueResult) => void }
interface PendingAck { req: AckRequest; resolve: (r: AckedMessage[]) => void; reject: (e: unknown) => void }

/** Largest number of sends written in one transaction. */
const MAX_BATCH = 2048;
/** Largest number of queue rows (recipient devices) of multi-recipient sends written in one transaction. */
const MAX_MULTI_ROWS = 20_000;
/**
 * Sends waiting for their transaction above which connections that send stop reading until fewer than
 * BACKLOG_LOW wait (inbound backpressure, spec/server.md §13.3): a node behind on its commits leaves the
 * excess in the peers' sockets and the kernel's buffers rather than in its heap, where requests that wait
 * for seconds survive the young-generation collections and fill the old generation.
 */
const BACKLOG_HIGH = 2 * MAX_BATCH;
const BACKLOG_LOW = MAX_BATCH;
/** Queue rows whose exact commit time is kept in memory for the delivery-latency metric (the stored time is rounded). */
const MAX_TIMED_ROWS = 100_000;

export class Relay {
  #sends: PendingSend[] = [];
  #acks: PendingAck[] = [];
  #multis: PendingMulti[] = [];
  #scheduled = false;
  #flushing: Promise<void> | undefined;
  /**
   * server id -> when it was committed, in memory only: stored times are rounded (services/stored-times.ts), so the
   * delivery latency is measured from this. Rows queued before a restart, or pushed out by MAX_TIMED_ROWS newer ones, are not measured.
   */
  readonly #committedAt = new Map<number, number>();
  /** Connections that stopped reading because of the backlog, resumed once it is below BACKLOG_LOW. */
  #stalled: (() => void)[] = [];
  /** Told of each stored row whose device is not connected (wake-up pushes, services/push.ts). */
  #offline: ((accountId: Uint8Array, accountHex: string, deviceId: number) => void) | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly hub: Hub,
    private readonly metrics: ServerMetrics,
    private readonly now: () => number,
  ) {}

  onOffline(listener: (accountId: Uint8Array, accountHex: string, deviceId: number) => void): void {
    this.#offline = listener;
  }

  enqueue(req: EnqueueRequest, recipientHex = toHex(req.recipient)): Promise<EnqueueResult> {
    return new Promise((resolve) => {
      this.#sends.push({ req, recipientHex, resolve });
      this.#schedule();
    });
  }

  /** A multi-recipient sealed send: committed with the others of this turn, answered after the commit. */
  enqueueMulti(req: MultiEnqueueRequest): Promise<MultiEnqueueResult> {
    return new Promise((resolve) => {
      this.#multis.push({ req, resolve });
      this.#schedule();
    });
  }

  ack(req: AckRequest): Promise<AckedMessage[]> {
    return new Promise((resolve, reject) => {
      this.#acks.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * True when sends arrive faster than they commit (BACKLOG_HIGH or more wait): the caller stops reading its
   * connection and `resume` is called once fewer than BACKLOG_LOW wait. Sends already read are all handled.
   */
  congested(resume: () => void): boolean {
    if (this.#sends.length + this.#multis.length < BACKLOG_HIGH) return false;
    this.#stalled.push(resume);
    return true;
  }

  #resumeStalled(): void {
    if (this.#stalled.length === 0 || this.#sends.length + this.#multis.length >= BACKLOG_LOW) return;
    const list = this.#stalled;
    this.#stalled = [];
    for (const resume of list) resume();
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#sends.length || this.#acks.length || this.#multis.length) this.#schedule();
      });
    });
  }

  /** Sends, multi-recipient sends and acks of this turn go to storage together (their commits share one fsync, storage/sqlite-wal-sync.ts). */
  async #flush(): Promise<void> {
    await Promise.all([this.#flushSends(), this.#multis.length ? this.#flushMulti() : undefined, this.#flushAcks()]);
  }

  async #flushSends(): Promise<void> {
    const sends = this.#sends.splice(0, MAX_BATCH);
    this.#resumeStalled();
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
        if (r.status === 'stored') this.#push(s.req, s.recipientHex, r.serverIds);
      });
    }
  }

  async #flushAcks(): Promise<void> {
    const acks = this.#acks;
    this.#acks = [];
    if (acks.length) {
      try {
        const results = await this.storage.ack(acks.map((a) => a.req));
        const now = this.now();
        acks.forEach((a, i) => {
          const done = results[i] ?? [];
          for (const m of done) {
            const at = this.#committedAt.get(m.serverId);
            if (at === undefined) continue;
            this.#committedAt.delete(m.serverId);
            this.metrics.deliveryLatency.observe(Math.max(0, now - at) / 1000);
          }
          this.metrics.messagesDelivered.inc(undefined, done.length);
          a.resolve(done);
        });
      } catch (err) {
        for (const a of acks) a.reject(err);
      }
    }
  }

  #timed(serverIds: Iterable<number>): void {
    const now = this.now();
    for (const id of serverIds) {
      // The oldest go first (messages that wait long, or never get acknowledged, are the ones not measured).
      if (this.#committedAt.size >= MAX_TIMED_ROWS) this.#committedAt.delete(this.#committedAt.keys().next().value!);
      this.#committedAt.set(id, now);
    }
  }

  /**
   * A row was stored for a device with no connection on this node. One node: it is offline, push. Several: ring
   * the node that holds it, and push only when presence says none does (a device online elsewhere needs no push).
   */
  #notHere(accountId: Uint8Array, accountHex: string, deviceId: number): void {
    const peers = this.hub.peers;
    const offline = this.#offline;
    if (!peers) offline?.(accountId, accountHex, deviceId);
    else peers.wake(accountHex, deviceId, offline && (() => offline(accountId, accountHex, deviceId)));
  }

  #push(req: EnqueueRequest, recipientHex: string, serverIds: readonly number[]): void {
    this.#timed(serverIds);
    this.metrics.messagesStored.inc(undefined, serverIds.length);
    for (let i = 0; i < req.entries.length; i++) {
      const e = req.entries[i]!;
      const conn = this.hub.get(recipientHex, e.deviceId);
      if (!conn) {
        this.#notHere(req.recipient, recipientHex, e.deviceId);
        continue;
      }
      conn.push({
        serverId: serverIds[i]!,
        messageId: req.messageId,
        createdAt: req.createdAt,
        sealed: req.sender === undefined,
        senderAccountId: req.sender?.accountId,
        senderDeviceId: req.sender?.deviceId,
        content: e.content,
      });
    }
  }

  /** Writes waiting multi-recipient sends (at most MAX_MULTI_ROWS rows, always at least one send) in one transaction. */
  async #flushMulti(): Promise<void> {
    let n = 0;
    let rows = 0;
    while (n < this.#multis.length && (n === 0 || rows + rowsOf(this.#multis[n]!.req) <= MAX_MULTI_ROWS)) rows += rowsOf(this.#multis[n++]!.req);
    const multis = this.#multis.splice(0, n);
    this.#resumeStalled();
    let results: MultiEnqueueResult[];
    try {
      results = await this.storage.enqueueMulti(multis.map((m) => m.req));
    } catch (error) {
      results = multis.map(() => ({ status: 'failed', error }));
    }
    multis.forEach((m, i) => {
      const r = results[i]!;
      m.resolve(r);
      if (r.status === 'stored') this.#pushMulti(m.req, r.serverIds);
    });
  }

  #pushMulti(req: MultiEnqueueRequest, serverIds: readonly (ReadonlyMap<number, number> | undefined)[]): void {
    let stored = 0;
    req.recipients.forEach((r, i) => {
      const ids = serverIds[i];
      if (!ids) return; // this account already had the message
      this.#timed(ids.values());
      stored += ids.size;
      const recipientHex = toHex(r.recipient);
      for (const [deviceId, serverId] of ids) {
        const conn = this.hub.get(recipientHex, deviceId);
        if (!conn) {
          this.#notHere(r.recipient, recipientHex, deviceId);
          continue;
        }
        conn.push({
          serverId, messageId: req.messageId, createdAt: req.createdAt, sealed: true,
          senderAccountId: undefined, senderDeviceId: undefined, content: req.payload, recipientHeader: r.header,
        });
      }
    });
    this.metrics.messagesStored.inc(undefined, stored);
  }

  /** Resolves once everything accepted so far is committed (graceful shutdown). */
  async settle(): Promise<void> {
    while (this.#flushing || this.#scheduled || this.#sends.length || this.#acks.length || this.#multis.length) {
      if (this.#flushing) await this.#flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }
}

export type { ServerContext };

const rowsOf = (req: MultiEnqueueRequest): number => req.recipients.reduce((n, r) => n + r.deviceIds.length, 0);
