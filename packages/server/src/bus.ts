/**
 * The bus port (spec/server.md §13, Several nodes): wake-ups and control messages between
 * server nodes, and the presence table (which node holds a device's connection).
 *
 * The bus never carries a message: every message is committed to the shared store before its
 * sender is answered, and a wake-up only tells the node holding the recipient's connection to
 * re-read that device's queue. A lost wake-up costs latency (the node also polls), never a message.
 *
 * Adapters: LocalBus (one process; the default, and for tests of several nodes in one process)
 * and RedisBus (Redis pub/sub for the doorbell, keys with expiry for presence).
 */
import { Redis } from 'ioredis';
import { TOKEN_BUCKET_SCRIPT } from './shared-limits.js';

/** One node's view of the cluster's shared, expiring state and its channels. */
export interface Bus {
  /** Sends `data` to every subscriber of `channel` (best effort). */
  publish(channel: string, data: string): Promise<void>;
  /** Receives what is published on `channel` from now on. */
  subscribe(channel: string, handler: (data: string) => void): Promise<void>;
  /** Sets keys to `value` for `ttlMs`; returns the previous values (undefined where none). */
  claim(keys: readonly string[], value: string, ttlMs: number): Promise<(string | undefined)[]>;
  /** Deletes each key whose value is still `value`. */
  release(keys: readonly string[], value: string): Promise<void>;
  /** The values of the keys (undefined where absent or expired). */
  read(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Marks `member` present in each set until `untilMs` (Unix ms); the set itself lives `ttlMs`. */
  mark(sets: readonly string[], member: string, untilMs: number, ttlMs: number): Promise<void>;
  /** Removes `member` from each set. */
  unmark(sets: readonly string[], member: string): Promise<void>;
  /** For each set: whether any member is marked present after `nowMs`. */
  anyMarked(sets: readonly string[], nowMs: number): Promise<boolean[]>;
  /** Called (possibly many times) after the bus connection came back: wake-ups may have been lost meanwhile. */
  onReconnect(listener: () => void): void;
  /**
   * A token bucket shared by every node (src/shared-limits.ts): takes `n` tokens of `key`
   * (refilled at `ratePerMs`, at most `burst`); 0 when taken, else the ms to wait. Absent: limits stay per node.
   */
  takeTokens?(key: string, ratePerMs: number, burst: number, n: number): Promise<number>;
  close(): Promise<void>;
}

/** A bus inside one process: shared by the nodes given the same instance (tests), or private to one node. */
export class LocalBus implements Bus {
  readonly #subs = new Map<string, Set<(data: string) => void>>();
  readonly #keys = new Map<string, { value: string; until: number }>();
  readonly #reconnect = new Set<() => void>();
  constructor(private readonly now: () => number = Date.now) {}

  async publish(channel: string, data: string): Promise<void> {
    for (const h of [...(this.#subs.get(channel) ?? [])]) queueMicrotask(() => h(data));
  }

  async subscribe(channel: string, handler: (data: string) => void): Promise<void> {
    let s = this.#subs.get(channel);
    if (!s) this.#subs.set(channel, (s = new Set()));
    s.add(handler);
  }

  #get(key: string): string | undefined {
    const e = this.#keys.get(key);
    if (e && e.until <= this.now()) this.#keys.delete(key);
    return e && e.until > this.now() ? e.value : undefined;
  }

  async claim(keys: readonly string[], value: string, ttlMs: number): Promise<(string | undefined)[]> {
    return keys.map((k) => {
      const old = this.#get(k);
      this.#keys.set(k, { value, until: this.now() + ttlMs });
      return old;
    });
  }

  async release(keys: readonly string[], value: string): Promise<void> {
    for (const k of keys) if (this.#get(k) === value) this.#keys.delete(k);
  }

  async read(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((k) => this.#get(k));
  }

  readonly #sets = new Map<string, Map<string, number>>();

  async mark(sets: readonly string[], member: string, untilMs: number): Promise<void> {
    for (const k of sets) {
      let m = this.#sets.get(k);
      if (!m) this.#sets.set(k, (m = new Map()));
      m.set(member, untilMs);
    }
  }

  async unmark(sets: readonly string[], member: string): Promise<void> {
    for (const k of sets) this.#sets.get(k)?.delete(member);
  }

  async anyMarked(sets: readonly string[], nowMs: number): Promise<boolean[]> {
    return sets.map((k) => [...(this.#sets.get(k)?.values() ?? [])].some((until) => until > nowMs));
  }

  onReconnect(listener: () => void): void { this.#reconnect.add(listener); }
  async close(): Promise<void> { this.#subs.clear(); }
}

const RELEASE_SCRIPT = "for i, k in ipairs(KEYS) do if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end end return 0";

/**
 * Redis: PUBLISH/SUBSCRIBE for wake-ups (fire and forget, lost while disconnected: the poll covers
 * that), SET ... PX ... GET for presence. Two connections: a subscribed Redis connection can do nothing else.
 */
export class RedisBus implements Bus {
  readonly #cmd: Redis;
  readonly #sub: Redis;
  readonly #handlers = new Map<string, (data: string) => void>();
  readonly #reconnect = new Set<() => void>();
  #closed = false;

  private constructor(url: string) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 5000 };
    this.#cmd = new Redis(url, options);
    this.#sub = new Redis(url, { ...options, enableOfflineQueue: true });
    this.#cmd.defineCommand('sigiloTake', { numberOfKeys: 1, lua: TOKEN_BUCKET_SCRIPT });
    // Errors are retried by ioredis; they never reach the log with their text (it may carry the URL).
    this.#cmd.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#sub.on('message', (channel: string, data: string) => this.#handlers.get(channel)?.(data));
    let first = true;
    this.#sub.on('ready', () => {
      if (first) { first = false; return; }
      for (const l of [...this.#reconnect]) l();
    });
  }

  static async connect(url: string): Promise<RedisBus> {
    const bus = new RedisBus(url);
    try {
      await Promise.all([bus.#cmd.connect(), bus.#sub.connect()]);
    } catch (e) {
      await bus.close();
      throw e;
    }
    return bus;
  }

  async publish(channel: string, data: string): Promise<void> {
    if (this.#closed) return;
    await this.#cmd.publish(channel, data);
  }

  async subscribe(channel: string, handler: (data: string) => void): Promise<void> {
    this.#handlers.set(channel, handler);
    await this.#sub.subscribe(channel);
  }

  async claim(keys: readonly string[], value: string, ttlMs: number): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const p = this.#cmd.pipeline();
    for (const k of keys) p.set(k, value, 'PX', ttlMs, 'GET');
    const results = (await p.exec()) ?? [];
    return results.map(([err, v]) => (err || v === null ? undefined : String(v)));
  }

  async release(keys: readonly string[], value: string): Promise<void> {
    if (keys.length === 0) return;
    await this.#cmd.eval(RELEASE_SCRIPT, keys.length, ...keys, value);
  }

  async read(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    return (await this.#cmd.mget(...keys)).map((v) => v ?? undefined);
  }

  async mark(sets: readonly string[], member: string, untilMs: number, ttlMs: number): Promise<void> {
    if (sets.length === 0) return;
    const p = this.#cmd.pipeline();
    for (const k of sets) p.zadd(k, untilMs, member).pexpire(k, ttlMs);
    await p.exec();
  }

  async unmark(sets: readonly string[], member: string): Promise<void> {
    if (sets.length === 0) return;
    const p = this.#cmd.pipeline();
    for (const k of sets) p.zrem(k, member);
    await p.exec();
  }

  async anyMarked(sets: readonly string[], nowMs: number): Promise<boolean[]> {
    if (sets.length === 0) return [];
    const p = this.#cmd.pipeline();
    for (const k of sets) p.zcount(k, `(${nowMs}`, '+inf');
    return ((await p.exec()) ?? []).map(([err, n]) => !err && Number(n) > 0);
  }

  onReconnect(listener: () => void): void { this.#reconnect.add(listener); }

  async takeTokens(key: string, ratePerMs: number, burst: number, n: number): Promise<number> {
    // EVALSHA after the first call (ioredis keeps the script's digest).
    return Number(await (this.#cmd as Redis & { sigiloTake(key: string, rate: number, burst: number, n: number): Promise<number> }).sigiloTake(key, ratePerMs, burst, n));
  }

  /** Test hook: drops both connections as if Redis went away; ioredis reconnects on its own. */
  simulateDisconnect(): void {
    this.#cmd.disconnect(true);
    this.#sub.disconnect(true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cmd.disconnect();
    this.#sub.disconnect();
  }
}

/** Opens the bus named by bus.url ('redis://…' or 'rediss://…'). */
export async function openBus(url: string): Promise<Bus> {
  if (/^rediss?:\/\//.test(url)) return RedisBus.connect(url);
  throw new Error('bus.url must be a redis:// or rediss:// URL');
}
