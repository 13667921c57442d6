/**
 * Bounds on guessing at registration (spec/server.md §7, "Abuse bounds"): every Register takes
 * a token from a bucket of its source address (admission.ts addressKey) and from one of the
 * whole server before the invite code is looked at, and a successful one gives both back; so
 * failures (a wrong or expired invite code, a bad signature) drain them, and while either is
 * empty Register is refused with RATE_LIMITED and the guesser learns nothing more. Taking
 * before checking also bounds guesses made in parallel on many connections. Addresses are map
 * keys in memory only, forgotten once their bucket has refilled; never stored or logged.
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

  /** Takes one attempt for `sourceKey`, or throws RATE_LIMITED when it or the server has none left. */
  begin(sourceKey: string, now: number): void {
    const mine = this.#perAddress.take(sourceKey, now);
    if (mine > 0) throw new RateLimitedError(mine, 'failed registrations from your address', 'registration_address');
    const all = this.#global.take(now);
    if (all > 0) {
      this.#perAddress.give(sourceKey, now);
      throw new RateLimitedError(all, 'failed registrations on this server', 'registration_global');
    }
  }

  /** The registration succeeded: its attempt is given back. */
  succeeded(sourceKey: string, now: number): void {
    this.#perAddress.give(sourceKey, now);
    this.#global.give(now);
  }

  prune(now: number): void {
    this.#perAddress.prune(now);
  }
}
