/**
 * Per-account limits that hold across nodes (spec/server.md §13): with a bus
 * that keeps shared counters (Redis), each send or bundle fetch takes its
 * tokens from one token bucket per key in Redis, updated atomically by a Lua
 * script on Redis's own clock, so an account spread over N nodes still gets
 * `rate` per second in all, not N times it. Without such a bus (one node), or
 * while the bus does not answer (an error, or no answer within
 * SHARED_TAKE_TIMEOUT_MS), the node's own buckets decide: a Redis outage
 * loosens the bound to per node, it never refuses or stalls sends.
 *
 * take() answers synchronously (a number) on one node, so the single-node hot
 * path pays nothing; with a shared bus it answers a promise.
 */
import { KeyedBuckets } from './rate-limit.js';

/**
 * KEYS[1]: the bucket (a hash: t = tokens, a = when, in Redis ms). ARGV: rate per
 * ms, burst, tokens wanted. Returns 0 when taken, else the ms until they would be.
 * The key expires once the bucket would be full again (a full bucket and no key are the same).
 */
export const TOKEN_BUCKET_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
if tokens >= n then
  tokens = tokens - n
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
  return 0
end
return math.max(1, math.ceil((n - tokens) / rate))
`;

/** How long a take waits for Redis before the node's own bucket answers (a hung connection never errors). */
export const SHARED_TAKE_TIMEOUT_MS = 500;

/** The part of the bus (src/bus.ts) the shared buckets use. */
export interface SharedCounters {
  takeTokens?(key: string, ratePerMs: number, burst: number, n: number): Promise<number>;
}

/** What the services call: a keyed token bucket, local or shared. */
export interface Limiter {
  /** Takes `n` tokens for `key`; 0 when taken, else the ms to wait. */
  take(key: string, now: number, n?: number): number | Promise<number>;
  /** Forgets full local buckets. */
  prune(now: number): void;
}

export class SharedBuckets implements Limiter {
  readonly local: KeyedBuckets;
  /** Takes answered by the node's own buckets because the bus failed (for tests and metrics). */
  fallbacks = 0;
  readonly #prefix: string;
  readonly #ratePerMs: number;

  constructor(readonly rate: number, readonly burst: number, private readonly bus: SharedCounters, prefix: string) {
    this.local = new KeyedBuckets(rate, burst);
    this.#prefix = prefix;
    this.#ratePerMs = rate / 1000;
  }

  take(key: string, now: number, n = 1): number | Promise<number> {
    const shared = this.bus.takeTokens;
    if (!shared) return this.local.take(key, now, n);
    // A Redis that hangs without closing never errors: past SHARED_TAKE_TIMEOUT_MS the node's own bucket decides.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), SHARED_TAKE_TIMEOUT_MS); });
    return Promise.race([shared.call(this.bus, this.#prefix + key, this.#ratePerMs, this.burst, n), deadline]).catch(() => {
      this.fallbacks++;
      return this.local.take(key, now, n);
    }).finally(() => clearTimeout(timer));
  }

  prune(now: number): void { this.local.prune(now); }
}

/** The buckets for one limit: shared through the bus when there is one that keeps counters, else this node's. */
export function limiter(rate: number, burst: number, bus: SharedCounters | undefined, prefix: string): Limiter {
  return bus?.takeTokens ? new SharedBuckets(rate, burst, bus, prefix) : new KeyedBuckets(rate, burst);
}
