/**
 * The ClientStore conformance suite: the same scenarios, parameterised by a
 * store factory, run on the SQLCipher store under Node
 * (store-conformance.test.ts) and on the IndexedDB store in real Chromium
 * (browser.test.ts, through the bundle in test/browser/entry.ts). Plain
 * TypeScript with its own asserts: it has to bundle for the browser, so no
 * vitest and nothing from node:*.
 */
import type { Attachment, ClientStore, MessageRow } from '@sigilo/client';

export interface StoreHandle {
  readonly store: ClientStore;
  /** Closes the store (waiting for its writes) and opens it again; the new store replaces `store`. */
  reopen(passphrase?: string): Promise<ClientStore>;
  close(): Promise<void>;
}

export interface StoreFactory {
  /** A new empty store with this passphrase. */
  fresh(passphrase: string): Promise<StoreHandle>;
}

// ------------------------------------------------------------------ asserts

export class AssertionError extends Error {}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `bytes:${Array.from(x, (b) => b.toString(16).padStart(2, '0')).join('')}` : x));
}

/** Deep equality; a key whose value is undefined counts as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort();
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort();
    return deepEqual(ka, kb) && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

export function eq(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function ok(cond: unknown, what: string): void {
  if (!cond) throw new AssertionError(what);
}

export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, what: string): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if ((e as { code?: unknown }).code !== code) throw new AssertionError(`${what}: expected error ${code}, got ${(e as { code?: unknown }).code ?? ''} ${String(e)}`);
    return e;
  }
  throw new AssertionError(`${what}: expected error ${code}, got success`);
}

// ------------------------------------------------------------------ fixtures

const bytes = (...xs: number[]) => new Uint8Array(xs);
export const id16 = (n: number) => { const b = new Uint8Array(16); b[0] = 0xa0; b[15] = n; return b; };
const id32 = (n: number) => { const b = new Uint8Array(32); b[0] = 0xb0; b[31] = n; return b; };

export const ALICE = id16(1), BOB = id16(2), CAROL = id16(3);

function message(conversation: Uint8Array, n: number, over: Partial<MessageRow> = {}): MessageRow {
  return {
    messageId: id16(100 + n), conversation, author: conversation, outgoing: n % 2 === 0, timestamp: 1000 + n, text: `message ${n}`,
    status: 'received', deleted: false, receivedAt: 5000 + n, ...over,
  };
}

const ATTACHMENT: Attachment = {
  attachmentId: id16(9), key: id32(9), digest: id32(10), size: 1234, encryptedSize: 4096, contentType: 'image/jpeg', fileName: 'photo.jpg',
  thumbnail: bytes(0xff, 0xd8, 0xff), width: 640, height: 480, durationMs: 1500, voiceNote: false, expires: 1_900_000_000_000,
};

const GROUP_CHANGE = { by: id16(1), kind: 'renamed', accounts: [id16(2), id16(3)], name: 'Equipo' } as const;

/** Writes something into every record group; `check` reads it all back. */
export function fill(s: ClientStore): void {
  s.transaction(() => {
    s.setMeta('identity', bytes(1, 2, 3));
    s.setMeta('gone', bytes(9));
    s.setMeta('gone', undefined);
    s.putPreKey('one-time', 7, bytes(7));
    s.putPreKey('one-time', 3, bytes(3));
    s.putPreKey('signed', 1, bytes(1));
    s.putPreKey('pq', 5, bytes(5));
    s.deletePreKey('pq', 5);
    s.putSession(ALICE, 2, bytes(0xa2));
    s.putSession(ALICE, 1, bytes(0xa1));
    s.putSession(BOB, 1, bytes(0xb1));
    s.deleteSession(BOB, 1);
    s.putContactProfile({ accountId: BOB, profileKey: bytes(0xb0), name: undefined, avatar: undefined, avatarType: undefined, fetchedAt: 0 });
    s.putContactProfile({ accountId: ALICE, profileKey: bytes(0xa0), name: 'Ana López', avatar: bytes(0xff, 0xd8), avatarType: 'image/jpeg', fetchedAt: 5 });
    s.putContactProfile({ accountId: BOB, profileKey: bytes(0xb2), name: 'Bruno', avatar: undefined, avatarType: undefined, fetchedAt: 7 });
    s.putContact({ accountId: BOB, alias: 'bob', identityKey: id32(2), pendingIdentityKey: undefined, verified: true, accessKey: id16(22), mutedUntil: 0 });
    s.putContact({ accountId: ALICE, alias: 'alice', identityKey: undefined, pendingIdentityKey: id32(1), verified: false, accessKey: undefined, mutedUntil: 99 });
    s.putContact({ accountId: CAROL, alias: undefined, identityKey: undefined, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0 });
  });
  for (let i = 0; i < 6; i++) s.insertMessage(message(ALICE, i));
  s.insertMessage(message(BOB, 10, { timestamp: 1, receivedAt: 1 }));
  s.insertMessage(message(CAROL, 20, { timestamp: 1e12, receivedAt: 1e12, text: '', groupChange: GROUP_CHANGE }));
  s.setMessageStatus(ALICE, id16(101), 'read');
  s.markMessageDeleted(ALICE, id16(102));
  s.setMessageAttachments(ALICE, id16(103), [ATTACHMENT]);
  s.removeMessage(ALICE, id16(104));
  s.setMessagePrivateWith(ALICE, id16(105), CAROL);
  const a = s.enqueueOutbox({ recipient: ALICE, content: bytes(1), syncContent: undefined, messageId: id16(50), createdAt: 1 });
  s.enqueueOutbox({ recipient: BOB, content: bytes(2), syncContent: bytes(3), messageId: id16(51), createdAt: 2 });
  s.bumpOutbox(a);
  s.bumpOutbox(a);

  const g = id32(1);
  s.putGroup({ groupId: g, name: 'team', revision: 3, status: 'active', mutedUntil: 0, updatedAt: 10 });
  s.putGroup({ groupId: id32(2), name: 'alpha', revision: 1, status: 'left', mutedUntil: 5, updatedAt: 11 });
  s.setGroupEntries(g, [bytes(1), bytes(2), bytes(3)]);
  s.addPendingGroupEntries(g, [bytes(8), bytes(9), bytes(8)], 100, 10);
  s.addOwnGroupChange(g, id32(7), 'rename', 20);
  s.addOwnGroupChange(g, id32(6), 'add', 10);
  s.putOwnSenderKey({ groupId: g, distributionId: id16(60), record: bytes(6, 0), distribution: bytes(6), members: [ALICE, BOB], createdAt: 1, current: true }, 5);
  s.putOwnSenderKey({ groupId: g, distributionId: id16(61), record: bytes(6, 1), distribution: bytes(61), members: [ALICE, BOB, CAROL], createdAt: 2, current: true }, 5);
  s.putSenderKey({ groupId: g, accountId: BOB, deviceId: 1, distributionId: id16(70), record: bytes(7), receivedAt: 30 });
  s.putSenderKey({ groupId: g, accountId: ALICE, deviceId: 2, distributionId: id16(71), record: bytes(71), receivedAt: 31 });
  s.addPendingGroupMessage({ accountId: BOB, deviceId: 1, identityKey: id32(2), distributionId: id16(80), groupId: g, message: bytes(8, 0), serverTimestamp: 1, receivedAt: 40, requestedAt: 0 }, 10, 0);
  s.markPendingGroupMessagesRequested(BOB, 1, id16(80), 41);
  s.putGroupReceipt(g, id16(100), BOB, 'delivered');
  s.putGroupReceipt(g, id16(100), ALICE, 'sent');
  s.putGroupReceipt(g, id16(100), BOB, 'read');
}

export function check(s: ClientStore): void {
  eq(s.getMeta('identity'), bytes(1, 2, 3), 'meta');
  eq(s.getMeta('gone'), undefined, 'deleted meta');
  eq(s.getPreKey('one-time', 7), bytes(7), 'pre-key');
  eq(s.getPreKey('pq', 5), undefined, 'deleted pre-key');
  eq(s.countPreKeys('one-time'), 2, 'pre-key count');
  eq(s.latestPreKey('one-time'), { id: 3, record: bytes(3) }, 'latest pre-key is the last stored');
  eq(s.latestPreKey('pq-last-resort'), undefined, 'no pre-key of a kind');
  eq(s.getSession(ALICE, 1), bytes(0xa1), 'session');
  eq(s.sessionDevices(ALICE), [1, 2], 'session devices in order');
  eq(s.sessionDevices(BOB), [], 'deleted session');
  eq(s.getContactProfile(ALICE), { accountId: ALICE, profileKey: bytes(0xa0), name: 'Ana López', avatar: bytes(0xff, 0xd8), avatarType: 'image/jpeg', fetchedAt: 5 }, 'contact profile');
  eq(s.getContactProfile(BOB)?.profileKey, bytes(0xb2), 'a replaced contact profile');
  eq(s.listContactProfiles().length, 2, 'contact profiles listed once each');
  eq(s.getContact(BOB)?.identityKey, id32(2), 'contact');
  eq(s.contactByAlias('alice')?.pendingIdentityKey, id32(1), 'contact by alias');
  eq(s.listContacts().map((c) => c.alias), [undefined, 'alice', 'bob'], 'contacts by alias, unnamed first');

  eq(s.getMessage(ALICE, id16(101))?.status, 'read', 'message status');
  const del = s.getMessage(ALICE, id16(102))!;
  eq([del.deleted, del.text], [true, ''], 'deleted message');
  eq(s.getMessage(ALICE, id16(103))?.attachments, [ATTACHMENT], 'attachments');
  eq(s.getMessage(ALICE, id16(104)), undefined, 'removed message');
  eq(s.getMessage(ALICE, id16(105))?.privateWith, CAROL, 'private with');
  eq(s.getMessage(CAROL, id16(120))?.groupChange, GROUP_CHANGE, 'a group change row');
  eq(s.getMessage(ALICE, id16(100)), { ...message(ALICE, 0) }, 'a whole message row');
  eq(s.listMessages(ALICE, 3).map((m) => m.text), ['', 'message 3', 'message 5'], 'newest three, oldest first (message 2 deleted for everyone)');
  eq(s.listMessages(undefined, 100).map((m) => m.text), ['message 10', 'message 0', 'message 1', '', 'message 3', 'message 5', ''], 'all by arrival');
  eq(s.allMessages().map((m) => m.text)[0], 'message 10', 'all messages by timestamp');

  const out = s.listOutbox();
  eq(out.map((o) => [o.seq, o.attempts, o.syncContent]), [[out[0]!.seq, 2, undefined], [out[0]!.seq + 1, 0, bytes(3)]], 'outbox');

  const g = id32(1);
  eq(s.listGroups().map((x) => x.name), ['alpha', 'team'], 'groups by name');
  eq(s.getGroup(g)?.revision, 3, 'group');
  eq(s.getGroupEntries(g), [bytes(1), bytes(2), bytes(3)], 'group entries');
  eq(s.listOwnGroupChanges(g).map((c) => c.change), ['add', 'rename'], 'own changes by time');
  eq(s.getOwnSenderKey(g)?.distributionId, id16(61), 'current own sender key');
  eq(s.ownSenderKeyByDistribution(id16(60))?.record, undefined, 'older own key lost its chain');
  eq(s.ownSenderKeyByDistribution(id16(60))?.members, [ALICE, BOB], 'older own key keeps its epoch');
  eq(s.listSenderKeys(g).map((k) => [k.accountId[15], k.deviceId, k.receivedAt]), [[1, 2, 31], [2, 1, 30]], 'sender keys by account');
  eq(s.pendingGroupMessages(BOB, 1, id16(80)).map((p) => p.requestedAt), [41], 'pending group message');
  eq(s.countPendingGroupMessages(), 1, 'pending count');
  eq(s.listGroupReceipts(g, id16(100)), [{ accountId: ALICE, status: 'sent' }, { accountId: BOB, status: 'read' }], 'receipts');
}

// ------------------------------------------------------------------ scenarios

export const storeScenarios: Record<string, (f: StoreFactory) => Promise<void>> = {
  async 'every record group round-trips'(f) {
    const h = await f.fresh('correct horse');
    try {
      fill(h.store);
      check(h.store);
    } finally {
      await h.close();
    }
  },

  async 'reopening keeps every record'(f) {
    const h = await f.fresh('correct horse');
    try {
      fill(h.store);
      const s = await h.reopen();
      check(s);
      // And it keeps working after a reopen (counters and order continue).
      const seq = s.enqueueOutbox({ recipient: BOB, content: bytes(4), syncContent: undefined, messageId: id16(52), createdAt: 3 });
      ok(seq > Math.max(...s.listOutbox().filter((o) => o.seq !== seq).map((o) => o.seq)), 'outbox sequence continues');
      s.putPreKey('one-time', 1, bytes(1));
      eq(s.latestPreKey('one-time')?.id, 1, 'insertion order continues after reopen');
    } finally {
      await h.close();
    }
  },

  async 'an exception inside transaction() rolls everything back'(f) {
    const h = await f.fresh('correct horse');
    try {
      const s = h.store;
      s.setMeta('kept', bytes(1));
      s.insertMessage(message(ALICE, 1));
      const boom = new Error('boom');
      let thrown: unknown;
      try {
        s.transaction(() => {
          s.setMeta('kept', bytes(2));
          s.setMeta('new', bytes(3));
          s.putSession(ALICE, 1, bytes(4));
          s.removeMessage(ALICE, id16(101));
          s.insertMessage(message(ALICE, 2));
          s.enqueueOutbox({ recipient: ALICE, content: bytes(1), syncContent: undefined, messageId: id16(50), createdAt: 1 });
          s.transaction(() => s.putGroup({ groupId: id32(1), name: 'nested', revision: 1, status: 'active', mutedUntil: 0, updatedAt: 1 }));
          throw boom;
        });
      } catch (e) {
        thrown = e;
      }
      ok(thrown === boom, 'the exception comes out of transaction()');
      const checkUnchanged = (st: ClientStore, when: string) => {
        eq(st.getMeta('kept'), bytes(1), `${when}: changed meta rolled back`);
        eq(st.getMeta('new'), undefined, `${when}: new meta rolled back`);
        eq(st.getSession(ALICE, 1), undefined, `${when}: session rolled back`);
        eq(st.sessionDevices(ALICE), [], `${when}: session index rolled back`);
        eq(st.getMessage(ALICE, id16(101))?.text, 'message 1', `${when}: removed message restored`);
        eq(st.listMessages(ALICE, 10).length, 1, `${when}: inserted message rolled back`);
        eq(st.listOutbox(), [], `${when}: outbox rolled back`);
        eq(st.listGroups(), [], `${when}: nested transaction rolled back with the outer one`);
      };
      checkUnchanged(s, 'in memory');
      // Ids handed out inside the rolled-back transaction: the next one is valid either way.
      const seq = s.enqueueOutbox({ recipient: ALICE, content: bytes(1), syncContent: undefined, messageId: id16(50), createdAt: 1 });
      eq(s.listOutbox().map((o) => o.seq), [seq], 'outbox after rollback');
      s.removeOutbox(seq);
      checkUnchanged(await h.reopen(), 'after reopen');
      // A committed transaction is all there after a reopen.
      h.store.transaction(() => {
        h.store.setMeta('a', bytes(1));
        h.store.putSession(BOB, 3, bytes(2));
      });
      const s2 = await h.reopen();
      eq([s2.getMeta('a'), s2.getSession(BOB, 3)], [bytes(1), bytes(2)], 'committed transaction survives');
    } finally {
      await h.close();
    }
  },

  async 'outbox sequence numbers are never reused'(f) {
    const h = await f.fresh('correct horse');
    try {
      const s = h.store;
      const o = { recipient: ALICE, content: bytes(1), syncContent: undefined, messageId: id16(50), createdAt: 1 };
      const a = s.enqueueOutbox(o);
      const b = s.enqueueOutbox(o);
      s.removeOutbox(b);
      const c = s.enqueueOutbox(o);
      ok(a < b && b < c, `sequence grows (${a}, ${b}, ${c})`);
      const s2 = await h.reopen();
      s2.removeOutbox(c);
      const d = s2.enqueueOutbox(o);
      ok(d > c, 'sequence grows across a reopen after the last entry was removed');
    } finally {
      await h.close();
    }
  },

  async 'message rules: duplicates, deletes, history'(f) {
    const h = await f.fresh('correct horse');
    try {
      const s = h.store;
      ok(s.insertMessage(message(ALICE, 1)), 'first insert is new');
      ok(!s.insertMessage(message(ALICE, 1, { text: 'other' })), 'a duplicate id is not new');
      eq(s.getMessage(ALICE, id16(101))?.text, 'message 1', 'a duplicate changes nothing');
      ok(s.insertMessage(message(BOB, 1)), 'the same id in another conversation is new');
      s.setMessageAttachments(ALICE, id16(101), [ATTACHMENT]);
      s.markMessageDeleted(ALICE, id16(101));
      eq(s.getMessage(ALICE, id16(101))?.attachments, undefined, 'delete for everyone drops the attachments');
      s.setMessageAttachments(BOB, id16(101), [ATTACHMENT]);
      s.setMessageAttachments(BOB, id16(101), []);
      eq(s.getMessage(BOB, id16(101))?.attachments, undefined, 'no attachments');
      for (let i = 2; i < 8; i++) s.insertMessage(message(ALICE, i));
      eq(s.deleteHistory(ALICE, 5004), 4, 'history up to a time (inclusive)');
      eq(s.listMessages(ALICE, 100).map((m) => m.text), ['message 5', 'message 6', 'message 7'], 'what is left');
      eq(s.listMessages(BOB, 100).length, 1, 'other conversations untouched');
    } finally {
      await h.close();
    }
  },

  async 'group bounds: pending entries, own keys, sender keys, waiting messages'(f) {
    const h = await f.fresh('correct horse');
    try {
      const s = h.store;
      const g1 = id32(1), g2 = id32(2), g3 = id32(3);
      s.addPendingGroupEntries(g1, [bytes(1), bytes(2), bytes(3)], 10, 2);
      eq(s.takePendingGroupEntries(g1), [bytes(2), bytes(3)], 'pending entries bounded, oldest dropped');
      eq(s.takePendingGroupEntries(g1), [], 'taken entries are gone');
      s.addPendingGroupEntries(g1, [bytes(1)], 10, 5);
      s.addPendingGroupEntries(g2, [bytes(2)], 20, 5);
      s.addPendingGroupEntries(g3, [bytes(3)], 30, 5);
      eq(s.prunePendingGroupEntries(1, 15), 2, 'one expired, one group over the bound');
      eq(s.takePendingGroupEntries(g3), [bytes(3)], 'most recent group kept');

      for (let i = 0; i < 4; i++) {
        s.putOwnSenderKey({ groupId: g1, distributionId: id16(i), record: bytes(i), distribution: bytes(i), members: [ALICE], createdAt: 10 * (i + 1), current: true }, 3);
      }
      eq(s.ownSenderKeyByDistribution(id16(0)), undefined, 'own keys pruned to `keep`');
      s.updateOwnSenderKeyRecord(g1, id16(2), bytes(9));
      eq(s.ownSenderKeyByDistribution(id16(2))?.record, undefined, 'an old key is never updated');
      s.updateOwnSenderKeyRecord(g1, id16(3), bytes(9));
      eq(s.getOwnSenderKey(g1)?.record, bytes(9), 'the current key is');
      s.forgetEndedOwnSenderKeys(g1, 35);
      eq([1, 2, 3].map((i) => s.ownSenderKeyByDistribution(id16(i)) !== undefined), [false, true, true], 'keys whose epoch ended before the time forgotten');
      s.retireOwnSenderKey(g1);
      eq(s.getOwnSenderKey(g1), undefined, 'retired');
      s.deleteOwnSenderKeys(g1);
      eq(s.ownSenderKeyByDistribution(id16(3)), undefined, 'all own keys deleted');

      s.putGroup({ groupId: g1, name: 'held', revision: 1, status: 'active', mutedUntil: 0, updatedAt: 1 });
      for (let i = 0; i < 4; i++) s.putSenderKey({ groupId: g1, accountId: BOB, deviceId: 1, distributionId: id16(i), record: bytes(i), receivedAt: 100 + i });
      s.putSenderKey({ groupId: g2, accountId: BOB, deviceId: 1, distributionId: id16(1), record: bytes(42), receivedAt: 999 });
      eq(s.getSenderKey(BOB, 1, id16(1))?.receivedAt, 101, 'an update keeps the arrival time');
      eq(s.getSenderKey(BOB, 1, id16(1))?.groupId, g2, 'and takes the new group and record');
      eq(s.pruneSenderKeys(g1, BOB, 1, 2, 0), 1, 'keep the newest two of a device');
      eq(s.getSenderKey(BOB, 1, id16(0)), undefined, 'oldest dropped');
      eq(s.pruneSenderKeys(g1, BOB, 1, 10, 104), 1, 'superseded before the time');
      eq(s.listSenderKeys(g1).map((k) => k.distributionId[15]), [3], 'newest kept');
      for (let i = 10; i < 14; i++) s.putSenderKey({ groupId: id32(i), accountId: CAROL, deviceId: 2, distributionId: id16(i), record: bytes(i), receivedAt: i });
      eq(s.pruneUnheldSenderKeys(CAROL, 2, 3), 1, 'unheld keys of one device bounded');
      eq(s.pruneAllUnheldSenderKeys(10, 10, 12), 1, 'expired unheld keys dropped');
      eq(s.pruneAllUnheldSenderKeys(1, 10, 0), 2, 'unheld keys of the most recent group kept');
      eq(s.deleteSenderKeys(g1, BOB), 1, 'delete one account\'s keys');
      eq(s.deleteSenderKeys(id32(13)), 1, 'delete a group\'s keys');

      const p = { accountId: BOB, deviceId: 1, identityKey: id32(2), distributionId: id16(80), groupId: g1, message: bytes(1), serverTimestamp: 1, requestedAt: 0 };
      eq(s.addPendingGroupMessage({ ...p, receivedAt: 1 }, 2, 0), 0, 'first waiting message');
      eq(s.addPendingGroupMessage({ ...p, receivedAt: 2 }, 2, 0), 0, 'second');
      eq(s.addPendingGroupMessage({ ...p, receivedAt: 3 }, 2, 0), 1, 'third pushes out the oldest of that sender');
      eq(s.addPendingGroupMessage({ ...p, accountId: CAROL, receivedAt: 4 }, 2, 3), 1, 'expired ones dropped');
      const waiting = s.pendingGroupMessages(BOB, 1, id16(80));
      eq(waiting.map((w) => w.receivedAt), [3], 'what waits');
      s.removePendingGroupMessage(waiting[0]!.seq);
      eq(s.countPendingGroupMessages(), 1, 'count');
    } finally {
      await h.close();
    }
  },

  async 'a wrong passphrase is a typed error and the store stays intact'(f) {
    const h = await f.fresh('correct horse');
    try {
      fill(h.store);
      await rejectsWith(h.reopen('battery staple'), 'BAD_PASSPHRASE', 'wrong passphrase');
      check(await h.reopen('correct horse'));
    } finally {
      await h.close();
    }
  },

  async 'disappearing messages: timers, notices and expiry order survive a reopen (client.md §14)'(f) {
    const h = await f.fresh('correct horse');
    try {
      const s = h.store;
      s.insertMessage({ ...message(ALICE, 1), expireTimerMs: 60_000, expiresAt: 5_000 });
      s.insertMessage({ ...message(ALICE, 2), expireTimerMs: 60_000 });
      s.insertMessage({ ...message(BOB, 3), text: '', notice: 'timer', expireTimerMs: 3_600_000 });
      s.insertMessage({ ...message(BOB, 4), expireTimerMs: 30_000, expiresAt: 2_000 });
      eq(s.expiringMessages(10).map((m) => m.expiresAt), [2_000, 5_000], 'only started countdowns, soonest first');
      s.setMessageExpiry(ALICE, id16(102), 3_000);
      const r = await h.reopen();
      eq(r.expiringMessages(10).map((m) => [m.expiresAt, m.expireTimerMs]), [[2_000, 30_000], [3_000, 60_000], [5_000, 60_000]], 'after a reopen');
      eq(r.expiringMessages(1).length, 1, 'limit');
      const notice = r.listMessages(BOB, 10).find((m) => m.notice);
      eq([notice?.notice, notice?.expireTimerMs, notice?.expiresAt], ['timer', 3_600_000, undefined], 'a notice row');
      r.removeMessage(BOB, id16(104));
      eq(r.expiringMessages(10).map((m) => m.expiresAt), [3_000, 5_000], 'removed with its row');
    } finally {
      await h.close();
    }
  },
};
