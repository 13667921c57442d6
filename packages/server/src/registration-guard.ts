/**
 * Bounds on guessing from one source address (spec/server.md §7, "Abuse bounds").
 *
 * Registration: every Register takes a token from a bucket of its source address (admission.ts
 * addressKey), from one of the whole server and from the address's shared budget below, before
 * the invite code is looked at, and a successful one gives them back; so failures (a wrong or
 * expired invite code, a bad signature) drain them, and while one is empty Register is refused
 * with RATE_LIMITED and the guesser learns nothing more. Taking before checking also bounds
 * guesses made in parallel on many connections.
 *
 * The shared budget of refused work (limits.refusedRequestsPerHour): failed registrations, sealed
 * sends refused for their access key (or an unknown recipient) and username lookups that find
 * nobody all draw on one bucket per address, so a guesser cannot spend each bound in turn. While
 * it is empty those requests are refused before they are looked at; accepted ones cost nothing
 * (an office behind one address sends sealed messages freely).
 *
 * Addresses are map keys in memory only, forgotten once their bucket has refilled; never stored or logged.
 */
import { RateLimitedError } from './errors.js';
import { KeyedBuckets, TokenBucket } from './rate-limit.js';

const HOUR_S = 3600;

export class RegistrationGuard {
  readonly #perAddress: KeyedBuckets;
  readonly #global: TokenBucket;
  readonly #refused: KeyedBuckets;

  constructor(perAddressPerHour: number, globalPerHour: number, now: number, refusedPerHour = 120) {
    this.#perAddress = new KeyedBuckets(perAddressPerHour / HOUR_S, perAddressPerHour);
    this.#global = new TokenBucket(globalPerHour / HOUR_S, globalPerHour, now);
    this.#refused = new KeyedBuckets(refusedPerHour / HOUR_S, refusedPerHour);
  }

  /** Takes one attempt for `sourceKey`, or throws RATE_LIMITED when it, its shared budget or the server has none left. */
  begin(sourceKey: string, now: number): void {
    const mine = this.#perAddress.take(sourceKey, now);
    if (mine > 0) throw new RateLimitedError(mine, 'failed registrations from your address', 'registration_address');
    const shared = this.#refused.take(sourceKey, now);
    if (shared > 0) {
      this.#perAddress.give(sourceKey, now);
      throw new RateLimitedError(shared, 'refused requests from your address', 'refused_address');
    }
    const all = this.#global.take(now);
    if (all > 0) {
      this.#perAddress.give(sourceKey, now);
      this.#refused.give(sourceKey, now);
      throw new RateLimitedError(all, 'failed registrations on this server', 'registration_global');
    }
  }

  /** The registration succeeded: its attempt is given back. */
  succeeded(sourceKey: string, now: number): void {
    this.#perAddress.give(sourceKey, now);
    this.#refused.give(sourceKey, now);
    this.#global.give(now);
  }

  /**
   * Before a request that may be refused as a guess (a sealed send, a username lookup): throws RATE_LIMITED
   * when the address's shared budget is spent. Takes nothing: a busy sender with many requests in flight is
   * never held back by its own accepted ones (charging before the check would be); refused() charges.
   */
  guess(sourceKey: string, now: number): void {
    const wait = this.#refused.wait(sourceKey, now);
    if (wait > 0) throw new RateLimitedError(wait, 'refused requests from your address', 'refused_address');
  }

  /** A request was refused as a guess (a wrong access key, an unknown recipient or username). */
  refused(sourceKey: string, now: number): void {
    this.#refused.take(sourceKey, now);
  }

  prune(now: number): void {
    this.#perAddress.prune(now);
    this.#refused.prune(now);
  }
}
