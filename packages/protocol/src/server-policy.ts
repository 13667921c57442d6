/**
 * The retention and privacy policy a server publishes (/v1/server-info `policy`,
 * spec/server.md §8.1): the server writes it from its configuration, clients
 * read it, print it in plain words and apply the maximum disappearing-message
 * timer. One shape for both sides.
 */
export interface ServerPolicy {
  /** Undelivered messages are deleted after this many milliseconds. */
  readonly undeliveredMessagesMs: number;
  /** Attachments (encrypted bytes and their metadata) are deleted after this. */
  readonly attachmentsMs: number;
  /** 'day': the server keeps the day each device last connected; 'off': nothing. */
  readonly lastSeen: 'day' | 'off';
  /** Whether the server keeps any per-device connection time at all (only the last-seen day exists). */
  readonly keepsConnectionTimes: boolean;
  /** The longest disappearing-message timer the organisation allows; 0: no maximum. */
  readonly maxDisappearingTimerMs: number;
  /** 'webpush': closed apps are woken by an empty push; 'off': apps must stay open to receive. */
  readonly push: 'webpush' | 'off';
}
