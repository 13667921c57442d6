/**
 * Disappearing messages, the device's side (client.md §14): the organisation's maximum read from the server, and
 * expiry itself: rows whose countdown ran out are deleted from the store (pointers, keys and thumbnails with them),
 * in-memory confidential rows dropped, and the files downloaded for them deleted. One timer is armed for the soonest
 * countdown. The rules of timers (what a message carries, when a countdown starts) are in disappearing-timer.ts.
 */
import { toHex, unrefTimer } from './bytes.js';
import { fetchJson } from './connection.js';
import { enc, filesKey, listFiles, POLICY_MAX_KEY } from './disappearing-timer.js';
import type { Engine } from './engine.js';
import type { ClientEvent } from './events.js';
import { readServerPolicy } from './server-policy.js';

export * from './disappearing-timer.js';

/** Reads the server's policy again and keeps its maximum timer. */
export async function refreshPolicy(engine: Engine): Promise<number> {
  const policy = readServerPolicy(await fetchJson(engine.transport(), '/v1/server-info'));
  const max = policy?.maxDisappearingTimerMs ?? 0;
  engine.store.setMeta(POLICY_MAX_KEY, max > 0 ? enc.encode(String(max)) : undefined);
  return max;
}

/**
 * Deletes every message whose countdown ran out (inside the caller's transaction, or one of its own): the rows, their
 * pointers and the list of their downloaded files. Returns the ids removed ("conversation:message" in hex) and the
 * files to delete once the transaction committed.
 */
export function removeExpired(engine: Engine, events: ClientEvent[]): { removed: Set<string>; files: string[] } {
  const removed = new Set<string>();
  const files: string[] = [];
  const now = engine.now();
  // Reading first: no write transaction (and no lock on a store shared by several processes) when nothing is due.
  const first = engine.store.expiringMessages(1)[0];
  if (first && first.expiresAt! <= now) engine.store.transaction(() => {
    for (;;) {
      const due = engine.store.expiringMessages(256).filter((m) => m.expiresAt! <= now);
      if (due.length === 0) break;
      for (const m of due) {
        const key = filesKey(m.conversation, m.messageId);
        files.push(...listFiles(engine.store, key));
        engine.store.setMeta(key, undefined);
        engine.store.removeMessage(m.conversation, m.messageId);
        removed.add(`${toHex(m.conversation)}:${toHex(m.messageId)}`);
        events.push({ type: 'expired', conversation: m.conversation, messageId: m.messageId });
      }
      if (due.length < 256) break;
    }
  });
  // Confidential messages (confidential.ts) live in memory and disappear the same way.
  for (const [key, list] of engine.memory) {
    const keep = list.filter((m) => !(m.expiresAt && m.expiresAt <= now));
    if (keep.length === list.length) continue;
    for (const m of list) if (m.expiresAt && m.expiresAt <= now) events.push({ type: 'expired', conversation: m.conversation, messageId: m.messageId });
    engine.memory.set(key, keep);
  }
  return { removed, files };
}

/** Deletes the downloaded files of expired messages (and any partial download beside them). */
export async function removeFiles(engine: Engine, files: readonly string[]): Promise<void> {
  for (const f of files) await engine.files?.remove?.(f).catch(() => {});
}

/** Runs expiry now and arms the timer for the next message due; resolves once the expired messages' files are deleted. */
export async function runExpiry(engine: Engine): Promise<number> {
  const events: ClientEvent[] = [];
  let files: string[] = [];
  try {
    files = removeExpired(engine, events).files;
  } catch { /* the store failed: tried again at the next timer */ }
  for (const e of events) engine.emit(e);
  scheduleExpiry(engine);
  if (files.length) await removeFiles(engine, files);
  return events.filter((e) => e.type === 'expired').length;
}

/** Arms one timer for the soonest countdown (at most a day ahead: then it looks again). */
export function scheduleExpiry(engine: Engine): void {
  if (engine.expiryTimer) clearTimeout(engine.expiryTimer);
  engine.expiryTimer = undefined;
  let next: number | undefined;
  try {
    next = engine.store.expiringMessages(1)[0]?.expiresAt;
  } catch {
    return; // the store is closed
  }
  for (const list of engine.memory.values()) for (const m of list) if (m.expiresAt && (next === undefined || m.expiresAt < next)) next = m.expiresAt;
  if (next === undefined) return;
  const delay = Math.min(86_400_000, Math.max(0, next - engine.now()));
  engine.expiryTimer = setTimeout(() => { engine.expiryTimer = undefined; void runExpiry(engine); }, delay);
  unrefTimer(engine.expiryTimer);
}

