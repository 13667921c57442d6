/**
 * Times written with queued messages and message-id hashes are rounded
 * (spec/server.md §5, "Stored times"): a millisecond creation or expiry time
 * would pair two rows written a few milliseconds apart (a sealed message and the
 * sender's copy for their own other devices) long after the rest of them is
 * gone. Creation times are rounded down and expiry times up, so nothing is kept
 * for less than its configured retention.
 */

/** Queue rows (messages, shared payloads): their creation time is also Deliver.server_timestamp. */
export const QUEUE_TIME_STEP_MS = 60_000;
/** Message-id hashes (dedup), the only trace of a message kept after delivery: one expiry per hour. */
export const DEDUP_TIME_STEP_MS = 3_600_000;

export const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step;
export const ceilTo = (ms: number, step: number): number => Math.ceil(ms / step) * step;

export interface StoredTimes {
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly dedupExpiresAt: number;
}

/** The stored times of a message queued at `now`. */
export function storedTimes(now: number, undeliveredMs: number, dedupMs: number): StoredTimes {
  return {
    createdAt: floorTo(now, QUEUE_TIME_STEP_MS),
    expiresAt: ceilTo(now + undeliveredMs, QUEUE_TIME_STEP_MS),
    dedupExpiresAt: ceilTo(now + dedupMs, DEDUP_TIME_STEP_MS),
  };
}
