/**
 * Several identical nodes on one shared store (spec/server.md §13): this node's part in the
 * presence table, wake-ups to the node holding a recipient's connection, the one-connection-
 * per-device rule across nodes, closing a revoked device wherever it is connected, and the
 * provisioning relay across nodes. Everything here is a hint on top of the store: a lost
 * bus message costs latency (the poll and reconnects re-read the queue), never a message.
 */
import { randomBytes } from 'node:crypto';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Bus } from './bus.js';
import type { Hub, HubPeers } from './hub.js';
import type { Logger } from './logger.js';
import type { QueuedMessage } from './storage/port.js';

/** How long a provisioning address's answer waits for its claim on the bus (cluster.ts listenProvision). */
const PROVISION_CLAIM_WAIT_MS = 500;

/** Presence lives this long without a heartbeat: a dead node's devices are free again after it. */
export const PRESENCE_TTL_MS = 30_000;
const HEARTBEAT_MS = 10_000;
const PREFIX = 'sigilo:';
/** Queue re-reads of one poll in flight at once (a pool of PostgreSQL connections serves sends too). */
const POLL_CONCURRENCY = 4;
/** Online-only messages relayed to other nodes per event-loop turn; more are dropped (they may be dropped anyway). */
const MAX_EPHEMERAL_PER_TURN = 20_000;

type BusMessage =
  | { t: 'wake'; w: [string, number][] }
  | { t: 'close'; a: string; d?: number; r: CloseReason; m: string; from: string }
  | { t: 'replaced'; a: string; d: number; at: number }
  | { t: 'prov'; addr: string; b: string }
  | { t: 'eph'; e: [string, number, WireMessage][] }
  | { t: 'org'; ca: string; crl: string; from: string };

/** An online-only message on the bus (bytes as base64). */
interface WireMessage { id: string; at: number; sealed: boolean; sa?: string; sd?: number; c: string; h?: string }

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

function toWire(m: QueuedMessage): WireMessage {
  return {
    id: b64(m.messageId), at: m.createdAt, sealed: m.sealed, c: b64(m.content),
    ...(m.senderAccountId ? { sa: b64(m.senderAccountId) } : {}), ...(m.senderDeviceId !== undefined ? { sd: m.senderDeviceId } : {}),
    ...(m.recipientHeader ? { h: b64(m.recipientHeader) } : {}),
  };
}

function fromWire(w: WireMessage): QueuedMessage {
  return {
    serverId: 0, messageId: bytesOf(w.id), createdAt: w.at, sealed: w.sealed, content: bytesOf(w.c),
    senderAccountId: w.sa === undefined ? undefined : bytesOf(w.sa), senderDeviceId: w.sd, recipientHeader: w.h === undefined ? undefined : bytesOf(w.h),
  };
}

export interface ClusterOptions {
  readonly bus: Bus;
  readonly hub: Hub;
  readonly log: Logger;
  readonly nodeId?: string;
  /** How often every live connection of this node re-reads its queue (missed wake-ups). */
  readonly pollIntervalMs: number;
  /** How long a provisioning address lives (the anonymous connection's lifetime). */
  readonly provisionTtlMs: number;
  /** The key prefix's namespace: nodes of one deployment share it (the PostgreSQL schema). */
  readonly namespace: string;
}

export class Cluster implements HubPeers {
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #hub: Hub;
  readonly #log: Logger;
  readonly #ns: string;
  readonly #provisionTtlMs: number;
  #wakes = new Map<string, [string, number, (() => void) | undefined]>();
  #ephemeral: [string, number, QueuedMessage][] = [];
  #wakeScheduled = false;
  #timers: NodeJS.Timeout[] = [];
  #provisionHandler: ((address: string, body: Uint8Array) => void) | undefined;
  #orgTrustHandler: ((ca: Uint8Array, crl: Uint8Array) => void) | undefined;
  #stopped = false;
  #polling: Promise<void> | undefined;
  #pollAgain = false;
  /** Wake-ups received and sent (for tests and metrics). */
  readonly counts = { wakesSent: 0, wakesReceived: 0, polls: 0 };

  constructor(private readonly options: ClusterOptions) {
    this.nodeId = options.nodeId ?? randomBytes(8).toString('hex');
    this.#bus = options.bus;
    this.#hub = options.hub;
    this.#log = options.log;
    this.#ns = `${PREFIX}${options.namespace}:`;
    this.#provisionTtlMs = options.provisionTtlMs;
  }

  get bus(): Bus { return this.#bus; }

  async start(): Promise<void> {
    const handler = (data: string) => {
      try {
        this.#receive(JSON.parse(data) as BusMessage);
      } catch {
        this.#log.warn('ignored a malformed bus message');
      }
    };
    await this.#bus.subscribe(this.#nodeChannel(this.nodeId), handler);
    await this.#bus.subscribe(`${this.#ns}all`, handler);
    this.#bus.onReconnect(() => {
      // Wake-ups sent while this node was cut off from the bus are lost: re-read every queue.
      this.pollAll();
      void this.#heartbeat();
    });
    this.#hub.peers = this;
    const hb = setInterval(() => void this.#heartbeat(), HEARTBEAT_MS);
    const poll = setInterval(() => this.pollAll(), this.options.pollIntervalMs);
    hb.unref();
    poll.unref();
    this.#timers.push(hb, poll);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    const held = [...this.#hub.devices()];
    await this.#bus.release(held.map(([a, d]) => this.#deviceKey(a, d)), this.nodeId).catch(() => {});
    await this.#bus.unmark([...new Set(held.map(([a]) => this.#accountKey(a)))], this.nodeId).catch(() => {});
    await this.#bus.close();
  }

  /**
   * Re-reads the queue of every live connection on this node, POLL_CONCURRENCY at a time, so that
   * a poll of many devices never takes every database connection from the sends of the moment.
   */
  pollAll(): void {
    if (this.#polling) { this.#pollAgain = true; return; }
    this.counts.polls++;
    this.#polling = (async () => {
      const all = [...this.#hub.connections()];
      for (let i = 0; i < all.length && !this.#stopped; i += POLL_CONCURRENCY) {
        await Promise.all(all.slice(i, i + POLL_CONCURRENCY).map((c) => c.recheck()));
      }
    })().finally(() => {
      this.#polling = undefined;
      if (this.#pollAgain && !this.#stopped) { this.#pollAgain = false; this.pollAll(); }
    });
  }

  onProvision(handler: (address: string, body: Uint8Array) => void): void { this.#provisionHandler = handler; }

  /** Called with a CA and CRL that another node published (spec/trust.md §5): push them to this node's devices. */
  onOrgTrust(handler: (ca: Uint8Array, crl: Uint8Array) => void): void { this.#orgTrustHandler = handler; }

  /**
   * A new CA/CRL was published on this node (`sigilo admin ca` → admin socket): every other node pushes
   * it to its own devices at once. Best effort, like every bus message: a device that misses it fetches
   * the CRL when it next connects.
   */
  publishOrgTrust(ca: Uint8Array, crl: Uint8Array): void {
    this.#publish(`${this.#ns}all`, { t: 'org', ca: b64(ca), crl: b64(crl), from: this.nodeId });
  }

  #nodeChannel(node: string): string { return `${this.#ns}node:${node}`; }
  #deviceKey(accountHex: string, deviceId: number): string { return `${this.#ns}dev:${accountHex}:${deviceId}`; }
  #provKey(address: string): string { return `${this.#ns}prov:${address}`; }
  /** The nodes holding a connection of the account (sorted set: node -> until when), for the directory's online state. */
  #accountKey(accountHex: string): string { return `${this.#ns}acct:${accountHex}`; }

  #publish(channel: string, m: BusMessage): void {
    if (this.#stopped) return;
    this.#bus.publish(channel, JSON.stringify(m)).catch(() => { /* the poll catches up */ });
  }

  #receive(m: BusMessage): void {
    switch (m.t) {
      case 'wake':
        this.counts.wakesReceived++;
        for (const [a, d] of m.w) this.#hub.get(a, d)?.recheck();
        return;
      case 'close':
        if (m.from !== this.nodeId) {
          if (m.d === undefined) this.#hub.closeLocalAccount(m.a, m.r, m.m);
          else this.#hub.closeLocalDevice(m.a, m.d, m.r, m.m);
        }
        return;
      case 'replaced':
        this.#hub.closeLocalDevice(m.a, m.d, CloseReason.REPLACED, 'this device connected again from elsewhere', m.at);
        return;
      case 'prov':
        this.#provisionHandler?.(m.addr, Buffer.from(m.b, 'base64'));
        return;
      case 'eph':
        for (const [a, d, w] of m.e) this.#hub.get(a, d)?.pushEphemeral(fromWire(w));
        return;
      case 'org':
        if (m.from !== this.nodeId) this.#orgTrustHandler?.(bytesOf(m.ca), bytesOf(m.crl));
        return;
      default:
    }
  }

  // HubPeers

  bound(accountHex: string, deviceId: number, at: number): void {
    this.#bus.mark([this.#accountKey(accountHex)], this.nodeId, Date.now() + PRESENCE_TTL_MS, PRESENCE_TTL_MS).catch(() => {});
    this.#bus.claim([this.#deviceKey(accountHex, deviceId)], this.nodeId, PRESENCE_TTL_MS).then(([previous]) => {
      if (previous && previous !== this.nodeId) this.#publish(this.#nodeChannel(previous), { t: 'replaced', a: accountHex, d: deviceId, at });
    }, () => { /* the heartbeat claims it again */ });
  }

  unbound(accountHex: string, deviceId: number): void {
    this.#bus.release([this.#deviceKey(accountHex, deviceId)], this.nodeId).catch(() => { /* expires */ });
    if (!this.#hub.online(accountHex)) this.#bus.unmark([this.#accountKey(accountHex)], this.nodeId).catch(() => { /* expires */ });
  }

  /** Whether each account has a connection on any node (the member directory's online state). */
  async online(accountHexes: readonly string[]): Promise<boolean[]> {
    return this.#bus.anyMarked(accountHexes.map((a) => this.#accountKey(a)), Date.now());
  }

  close(accountHex: string, deviceId: number | undefined, reason: CloseReason, message: string): void {
    this.#publish(`${this.#ns}all`, { t: 'close', a: accountHex, d: deviceId, r: reason, m: message, from: this.nodeId });
  }

  /** A message was committed for a device that has no connection on this node: ring the node that holds it. */
  wake(accountHex: string, deviceId: number, unheld?: () => void): void {
    this.#wakes.set(`${accountHex}:${deviceId}`, [accountHex, deviceId, unheld]);
    this.#scheduleFlush();
  }

  /** An online-only message for a device not connected here: relayed to its node (dropped if none, as on one node). */
  ephemeral(accountHex: string, deviceId: number, message: QueuedMessage): void {
    if (this.#ephemeral.length >= MAX_EPHEMERAL_PER_TURN) return;
    this.#ephemeral.push([accountHex, deviceId, message]);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => void this.#flushWakes());
  }

  async #flushWakes(): Promise<void> {
    const wakes = [...this.#wakes.values()];
    const ephemeral = this.#ephemeral;
    this.#wakes = new Map();
    this.#ephemeral = [];
    this.#wakeScheduled = false;
    let nodes: (string | undefined)[];
    try {
      nodes = await this.#bus.read([...wakes, ...ephemeral].map(([a, d]) => this.#deviceKey(a, d)));
    } catch {
      // The bus is away: the holding node's poll catches up (online-only messages are dropped). Whether any node
      // holds the devices is unknown: a push wakes them (a wake-up too many costs less than one missing).
      for (const [, , unheld] of wakes) unheld?.();
      return;
    }
    const ephemeralByNode = new Map<string, [string, number, WireMessage][]>();
    ephemeral.forEach(([a, d, m], i) => {
      const node = nodes[wakes.length + i];
      if (!node || node === this.nodeId) return;
      let list = ephemeralByNode.get(node);
      if (!list) ephemeralByNode.set(node, (list = []));
      list.push([a, d, toWire(m)]);
    });
    for (const [node, e] of ephemeralByNode) this.#publish(this.#nodeChannel(node), { t: 'eph', e });
    const byNode = new Map<string, [string, number][]>();
    wakes.forEach(([a, d, unheld], i) => {
      const node = nodes[i];
      // No node holds it (or only this one, by a presence entry its connection has outlived): push.
      if (!node || node === this.nodeId) { unheld?.(); return; }
      let list = byNode.get(node);
      if (!list) byNode.set(node, (list = []));
      list.push([a, d]);
    });
    for (const [node, w] of byNode) {
      this.counts.wakesSent += w.length;
      this.#publish(this.#nodeChannel(node), { t: 'wake', w });
    }
  }

  async #heartbeat(): Promise<void> {
    const mine = [...this.#hub.devices()];
    if (mine.length === 0) return;
    try {
      await this.#bus.claim(mine.map(([a, d]) => this.#deviceKey(a, d)), this.nodeId, PRESENCE_TTL_MS);
      const accounts = [...new Set(mine.map(([a]) => this.#accountKey(a)))];
      await this.#bus.mark(accounts, this.nodeId, Date.now() + PRESENCE_TTL_MS, PRESENCE_TTL_MS);
    } catch {
      // The bus is away; presence is claimed again on reconnect.
    }
  }

  // The provisioning relay across nodes

  /**
   * Resolves once the claim is on the bus (so another node finds the address as soon as the device has it), or failed:
   * then the address works on this node only, as on one node.
   */
  async listenProvision(address: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    // A bus that hangs without closing delays the answer by at most PROVISION_CLAIM_WAIT_MS (the claim still lands later, if it does).
    await Promise.race([
      this.#bus.claim([this.#provKey(address)], this.nodeId, this.#provisionTtlMs).catch(() => {}),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, PROVISION_CLAIM_WAIT_MS); }),
    ]);
    clearTimeout(timer);
  }

  forgetProvision(address: string): void {
    this.#bus.release([this.#provKey(address)], this.nodeId).catch(() => {});
  }

  /** Relays a provisioning body to the node where `address` waits: false if no node has it. */
  async sendProvision(address: string, body: Uint8Array): Promise<boolean> {
    const [node] = await this.#bus.read([this.#provKey(address)]);
    if (!node) return false;
    this.#publish(this.#nodeChannel(node), { t: 'prov', addr: address, b: Buffer.from(body).toString('base64') });
    return true;
  }
}
