/**
 * Bounds on guessing at registration (spec/server.md §7, "Abuse bounds"): failed Register
 * requests (a wrong or expired invite code, a bad signature) drain a token bucket of their
 * source address (admission.ts addressKey) and one of the whole server. While either is empty,
 * Register is refused with RATE_LIMITED before the invite code is looked at, so a guesser
 * learns nothing more. Successful registrations take nothing. Addresses are map keys in
 * memory only, forgotten once their bucket has refilled; never stored or logged.
 */
import { RateLimitedError } from './errors.js';
import { KeyedBuckets, TokenBucket } from './rate-limit.js';

const HOUR_S = 3600;

export class RegistrationGuard {
  readonly #perAddress: KeyedBuckets;
  readonly #global: TokenBucket;

  constructor(perAddressPerHour: number, globalPerHour: number, now: number) {
    this.#perAddress = new KeyedBuckets(perAddressPerHour / HOUR_S, perAddressPerHour);
    this.#global = new TokenBucket(globalPerHour / HOUR_S, globalPerHour, now);
  }

  /** Throws RATE_LIMITED when `sourceKey` or the server as a whole has no failed attempt left. */
  check(sourceKey: string, now: number): void {
    const mine = this.#perAddress.wait(sourceKey, now);
    if (mine > 0) throw new RateLimitedError(mine, 'failed registrations from your address', 'registration_address');
    const all = this.#global.wait(now);
    if (all > 0) throw new RateLimitedError(all, 'failed registrations on this server', 'registration_global');
  }

  /** A Register from `sourceKey` failed: one token from each bucket. */
  failed(sourceKey: string, now: number): void {
    this.#perAddress.take(sourceKey, now);
    this.#global.take(now);
  }

  prune(now: number): void {
    this.#perAddress.prune(now);
  }
}
