/**
 * The retention and privacy policy the administrator set, as the server shows
 * it to people (/v1/server-info `policy`, spec/server.md §8): clients print it
 * in plain words (`sigilo whoami`, the web app) and apply the maximum
 * disappearing-message timer to every conversation.
 */
import type { ServerPolicy } from '@sigilo/protocol';
import type { ServerConfig } from './config.js';

export type { ServerPolicy };

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
