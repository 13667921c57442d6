/** What the group engine (groups.ts) may use of this client: its engine, connections, outbox and sessions. */
import { keepInMemory } from './confidential.js';
import { contact } from './contacts.js';
import { expiryHint, scheduleExpiry } from './disappearing.js';
import type { Engine } from './engine.js';
import { Groups } from './groups.js';
import { exclusive, flush, flushSoon } from './outbox.js';
import { anonymousConnection, deliverContent, deliverContents, ownDevices, senderCertificate } from './pairwise-send.js';
import { fetchSessions } from './sessions.js';

export function groupEngine(engine: Engine): Groups {
  return new Groups({
    store: engine.store,
    ctx: engine.ctx,
    sealedCache: engine.sealedCache,
    now: () => engine.now(),
    account: () => engine.requireAccount(),
    identity: () => engine.identity,
    accessKey: () => engine.accessKey,
    profileKey: () => engine.profiles.ownKey(),
    learnProfileKey: (from, key) => engine.profiles.learnKey(from, key),
    emit: (e) => engine.emit(e),
    expiryChanged: () => scheduleExpiry(engine),
    expiryHint: (content) => (engine.expiryHints ? expiryHint(content, engine.now()) : 0n),
    memoryOnly: () => engine.confidentialDevice,
    keepInMemory: (row) => keepInMemory(engine, row),
    flush: () => flush(engine),
    flushSoon: (ms) => flushSoon(engine, ms),
    connection: () => engine.requireConnection(),
    isOnline: () => engine.connection?.isOpen === true,
    anonymousConnection: () => anonymousConnection(engine),
    senderCertificate: (c) => senderCertificate(engine, c),
    deliverContent: (to, content, messageId, options) => deliverContent(engine, to, content, messageId, options),
    deliverContents: (items) => deliverContents(engine, items),
    exclusive: (fn) => exclusive(engine, fn),
    fetchSessions: (c, accountId, deviceIds) => fetchSessions(engine, c, accountId, deviceIds),
    ownDevices: (c) => ownDevices(engine, c),
    setOwnDevices: (ids) => { engine.ownDevices = ids; },
    trustedKeys: () => engine.trustedKeys(),
    contact: (accountId) => contact(engine, accountId),
  });
}
