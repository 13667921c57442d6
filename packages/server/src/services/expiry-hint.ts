/**
 * Expiry hints (spec/server.md §8.3): a client sending a disappearing message may tell the server, coarsely, when an
 * undelivered copy (and the blob of its attachment) can go. The server only ever shortens what it keeps: the hint
 * replaces retention.undelivered (or retention.attachments) when it is earlier. A hint beyond the organisation's
 * maximum timer (retention.maxDisappearingTimer) is refused with TIMER_TOO_LONG: that client is not applying it.
 */
import { invalidArgument, ServerError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { ceilTo } from './stored-times.js';

/** Clients round hints up to the hour; the server accepts this much on top of the maximum timer. */
export const HINT_SLACK_MS = 3_600_000;
/** Stored hints are rounded up to the hour too, so a stored expiry never tells more than the hint did. */
export const HINT_STEP_MS = 3_600_000;

/** The expiry to store for a row that would otherwise expire at `defaultExpiresAt`. */
export function applyExpiryHint(ctx: ServerContext, hint: bigint, now: number, defaultExpiresAt: number): number {
  if (hint === 0n) return defaultExpiresAt;
  if (hint > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument('expires_hint is not a time');
  const at = ceilTo(Number(hint), HINT_STEP_MS);
  if (at <= now) throw invalidArgument('expires_hint is in the past: the message would be deleted at once; send it without a timer or not at all');
  const max = ctx.config.retention.maxDisappearingMs;
  if (max > 0 && at > now + max + HINT_SLACK_MS) {
    throw new ServerError('TIMER_TOO_LONG', 'this server allows disappearing timers up to retention.maxDisappearingTimer: shorten the conversation\'s timer');
  }
  return Math.min(defaultExpiresAt, at);
}
