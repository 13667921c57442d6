/**
 * The retention and privacy policy the administrator set, as the server shows
 * it to people (/v1/server-info `policy`, spec/server.md §8): clients print it
 * in plain words (`sigilo whoami`, the web app) and apply the maximum
 * disappearing-message timer to every conversation.
 */
import type { ServerConfig } from './config.js';

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

export function serverPolicy(config: ServerConfig): ServerPolicy {
  return {
    undeliveredMessagesMs: config.retention.undeliveredMs,
    attachmentsMs: config.retention.attachmentsMs,
    lastSeen: config.retention.lastSeen,
    keepsConnectionTimes: config.retention.lastSeen !== 'off',
    maxDisappearingTimerMs: config.retention.maxDisappearingMs,
    push: config.push.mode,
  };
}
