/** Token buckets: `rate` tokens per second, at most `burst` saved up. */

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
      this.#at = now;
    }
  }

  /** Takes `n` tokens; returns 0 on success, else the milliseconds until they would be there. */
  take(now: number, n = 1): number {
    this.#refill(now);
    if (this.#tokens >= n) {
      this.#tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil(((n - this.#tokens) / this.rate) * 1000));
  }

  /** Returns `n` tokens taken earlier (up to the burst). */
  give(now: number, n = 1): void {
    this.#refill(now);
    this.#tokens = Math.min(this.burst, this.#tokens + n);
  }

  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.burst;
  }
}

/** One bucket per key (an account, a recipient); full buckets are forgotten on prune(). */
export class KeyedBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  constructor(readonly rate: number, readonly burst: number) {}

  take(key: string, now: number, n = 1): number {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = new TokenBucket(this.rate, this.burst, now)));
    return b.take(now, n);
  }

  /** Milliseconds until `key` has `n` tokens (0: it has them now); takes nothing. */
  wait(key: string, now: number, n = 1): number {
    const b = this.#buckets.get(key);
    if (!b) return 0;
    const w = b.take(now, n);
    if (w === 0) b.give(now, n);
    return w;
  }

  /** As TokenBucket.give (a key without a bucket is full already). */
  give(key: string, now: number, n = 1): void {
    this.#buckets.get(key)?.give(now, n);
  }

  prune(now: number): void {
    for (const [k, b] of this.#buckets) if (b.full(now)) this.#buckets.delete(k);
  }

  get size(): number { return this.#buckets.size; }
}
