/**
 * The server's retention and privacy policy (/v1/server-info `policy`,
 * spec/server.md §8) in plain words, as `sigilo whoami` and the web app show
 * it, and the maximum disappearing-message timer clients apply.
 */
import type { ServerPolicy } from '@sigilo/protocol';

export type { ServerPolicy };

/** Reads the policy from a /v1/server-info answer; undefined when the server does not publish one. */
export function readServerPolicy(info: unknown): ServerPolicy | undefined {
  const p = (info as { policy?: Record<string, unknown> } | undefined)?.policy;
  if (!p || typeof p.undeliveredMessagesMs !== 'number' || typeof p.attachmentsMs !== 'number') return undefined;
  return {
    undeliveredMessagesMs: p.undeliveredMessagesMs,
    attachmentsMs: p.attachmentsMs,
    lastSeen: p.lastSeen === 'off' ? 'off' : 'day',
    keepsConnectionTimes: p.keepsConnectionTimes !== false,
    maxDisappearingTimerMs: readMaxTimer(p.maxDisappearingTimerMs),
    push: p.push === 'off' ? 'off' : 'webpush',
  };
}

/** The shortest disappearing timer (MIN_DISAPPEARING_MS, client.md §14); kept here so this module imports nothing. */
const SHORTEST_TIMER_MS = 30_000;

/**
 * The organisation's maximum timer as the client shows and applies it: a whole number of milliseconds, and never
 * shorter than the shortest timer a person can choose (30 s). A server saying 1 ms (or 1e400, read as Infinity)
 * would otherwise make every message vanish as soon as it is read, or every send fail, and say so as its policy.
 */
function readMaxTimer(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) return 0;
  return Math.max(v, SHORTEST_TIMER_MS);
}

/** "30 days", "12 hours", "1 day", "90 seconds". */
export function durationWords(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  for (const [size, name] of units) if (ms >= size) return `${+(ms / size).toFixed(1)} ${name}s`;
  return `${ms} ms`;
}

/** The timer a conversation really uses under the server's maximum (0 = off). */
export function effectiveDisappearingTimer(requestedMs: number, policy: ServerPolicy | undefined): number {
  const max = policy?.maxDisappearingTimerMs ?? 0;
  if (max <= 0) return requestedMs;
  return requestedMs <= 0 ? max : Math.min(requestedMs, max);
}

/**
 * The words a policy is told in, one per fact, so that every application (the CLI in English, the web app in each of
 * its languages) says the same facts the same way. `duration` names a length of time ("30 days").
 */
export interface PolicyWords {
  duration(ms: number): string;
  undelivered(duration: string): string;
  attachments(duration: string): string;
  lastSeenDay: string;
  noConnectionTimes: string;
  maxTimer(duration: string): string;
  noMaxTimer: string;
  push: string;
  noPush: string;
}

export const ENGLISH_POLICY_WORDS: PolicyWords = {
  duration: durationWords,
  undelivered: (d) => `This server deletes undelivered messages after ${d}; delivered messages are deleted from it at once.`,
  attachments: (d) => `It deletes attachments ${d} after they are uploaded.`,
  lastSeenDay: 'It keeps the day each device was last seen, and no other connection time.',
  noConnectionTimes: 'It keeps no record of when devices connect.',
  maxTimer: (d) => `Your organisation makes every conversation disappear after at most ${d}.`,
  noMaxTimer: 'Your organisation sets no maximum for disappearing messages.',
  push: 'When your app is closed, the server can wake it with an empty push that names no sender, conversation or message.',
  noPush: 'This server sends no push notifications: keep the app open to receive messages.',
};

/** What a policy says, one fact a line, in order: a key (for tests and styling) and its sentence. */
export function policyFacts(p: ServerPolicy, w: PolicyWords = ENGLISH_POLICY_WORDS): { key: 'undelivered' | 'attachments' | 'connections' | 'max-timer' | 'push'; text: string }[] {
  return [
    { key: 'undelivered', text: w.undelivered(w.duration(p.undeliveredMessagesMs)) },
    { key: 'attachments', text: w.attachments(w.duration(p.attachmentsMs)) },
    { key: 'connections', text: p.keepsConnectionTimes && p.lastSeen === 'day' ? w.lastSeenDay : w.noConnectionTimes },
    { key: 'max-timer', text: p.maxDisappearingTimerMs > 0 ? w.maxTimer(w.duration(p.maxDisappearingTimerMs)) : w.noMaxTimer },
    { key: 'push', text: p.push === 'webpush' ? w.push : w.noPush },
  ];
}

/** The policy as sentences a person reads (`sigilo whoami`; the web app passes its own language's words). */
export function describeServerPolicy(p: ServerPolicy, w: PolicyWords = ENGLISH_POLICY_WORDS): string[] {
  return policyFacts(p, w).map((f) => f.text);
}
