/** The membership log (groups.md §4): making and announcing changes, receiving them, asking for and answering the chain, re-signing a lost change. */
import { bytesEqual, createGroup, type GroupChange, groupEntryHash, GroupLog, type GroupState, OutOfOrderGroupEntryError, ProtocolError, signGroupChange } from '@sigilo/protocol';
import type { GroupUpdate } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { afterMembershipChange, ANSWER_INTERVAL_MS, CHAIN_ASKED_KEPT, CHAIN_REQUEST_INTERVAL_MS, CHAIN_REQUESTS_PER_INTERVAL, chainFor, changeEvents, checkGroupName, describeChange, forgetKeys, freshLog, GROUP_ID_LENGTH, type GroupEngine, type GroupInboxEffects, groupInfo, type GroupInfo, hex, infoOf, isContact, isGenesisOf, keepPendingEntries, learnMembers, leftBySelf, openLog, OWN_CHANGE_TTL_MS, parseChange, type Queued, requireLog, sameSet, saveLog, type Sender, serialiseChange, stillToDo, unique } from './group-log.js';
import { encode, enqueue, enqueueEncoded, sendQueued } from './group-queue.js';
import { currentSenderKey, newSenderKey, readPending } from './sender-keys.js';
import type { GroupStatus } from './store/port.js';

/** The identity keys of future members: from the contact (or an earlier group log), fetched from the server when unknown. */
export async function memberKeys(ge: GroupEngine, ids: Uint8Array[]): Promise<{ accountId: Uint8Array; identityKey: Uint8Array }[]> {
  const out: { accountId: Uint8Array; identityKey: Uint8Array }[] = [];
  for (const id of ids) {
    let c = ge.h.store.getContact(id);
    if (!c) throw new ClientError('UNKNOWN_CONTACT', 'a member is not in your contacts: add it with `sigilo contacts add NAME CARD` first');
    if (c.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', `the safety number of ${c.alias ?? 'a member'} changed: compare it (\`sigilo verify NAME\`) and accept it before adding them to a group`);
    if (!c.identityKey) {
      let connection: Connection;
      try {
        connection = ge.h.connection();
      } catch {
        throw new ClientError('CONNECTION_FAILED', `the identity key of ${c.alias ?? 'a member'} is not known yet and the server cannot be reached: connect and try again`);
      }
      await ge.h.fetchSessions(connection, id, []);
      c = ge.h.store.getContact(id)!;
      if (c.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', `the safety number of ${c.alias ?? 'a member'} changed: compare it and accept it first`);
      if (!c.identityKey) throw new ClientError('NOT_FOUND', `${c.alias ?? 'a member'} has no published keys yet; try again later`);
    }
    out.push({ accountId: id, identityKey: c.identityKey });
  }
  return out;
}

/** Creates a group with this account as its admin, and sends the log to every member. */
export async function createGroupNow(ge: GroupEngine, name: string, memberIds: Uint8Array[]): Promise<GroupInfo> {
  const me = ge.h.account();
  const clean = checkGroupName(name);
  const ids = unique(memberIds).filter((id) => !bytesEqual(id, me.accountId));
  const members = await memberKeys(ge, ids);
  const now = ge.h.now();
  const { log } = createGroup(ge.h.ctx, { accountId: me.accountId, identity: ge.h.identity() }, clean, members, now);
  const groupId = log.state.groupId;
  const queued = ge.h.store.transaction(() => {
    saveLog(ge, groupId, log, 'active', now);
    learnMembers(ge, log.state);
    return announce(ge, groupId, log, undefined, log.chain());
  });
  ge.h.emit({ type: 'group-update', groupId, revision: log.state.revision, changes: [{ by: me.accountId, kind: 'created', accounts: ids, name: clean }] });
  await sendQueued(ge, queued);
  return groupInfo(ge, groupId);
}

/** Signs one change as this account, applies it and sends the log to every member before and after it. */
export async function changeGroup(ge: GroupEngine, groupId: Uint8Array, change: GroupChange): Promise<GroupInfo> {
  const me = ge.h.account();
  let log = requireLog(ge, groupId, true);
  const mine = log.state.members.find((m) => bytesEqual(m.accountId, me.accountId));
  if (!mine) throw new ClientError('INVALID_INPUT', 'you are not a member of this group any more');
  if (change.type !== 'leave' && mine.role !== 'admin') {
    throw new ClientError('INVALID_INPUT', 'only an admin of the group can change it: ask one of its admins (`sigilo group show GROUP` lists them)');
  }
  let ch = change;
  if (ch.type === 'add') {
    const fresh = unique(ch.members.map((m) => m.accountId)).filter((id) => !log.state.members.some((m) => bytesEqual(m.accountId, id)));
    if (fresh.length === 0) throw new ClientError('INVALID_INPUT', 'they are members already');
    ch = { type: 'add', members: await memberKeys(ge, fresh) };
    log = requireLog(ge, groupId, true); // another change may have arrived while the keys were fetched
  } else if (ch.type === 'remove') {
    const ids = unique(ch.accountIds);
    if (ids.some((id) => bytesEqual(id, me.accountId))) throw new ClientError('INVALID_INPUT', 'to remove yourself, leave the group (`sigilo group leave GROUP`)');
    if (ids.some((id) => !log.state.members.some((m) => bytesEqual(m.accountId, id)))) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
    ch = { type: 'remove', accountIds: ids };
  } else if (ch.type === 'promote' || ch.type === 'demote') {
    const target = log.state.members.find((m) => bytesEqual(m.accountId, (ch as { accountId: Uint8Array }).accountId));
    if (!target) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
    if (ch.type === 'promote' && target.role === 'admin') throw new ClientError('INVALID_INPUT', 'that member is an admin already');
    if (ch.type === 'demote' && target.role !== 'admin') throw new ClientError('INVALID_INPUT', 'that member is not an admin');
  } else if (ch.type === 'rename') {
    ch = { type: 'rename', name: checkGroupName(ch.name) };
  }
  const now = ge.h.now();
  const before = log.state;
  const entry = signGroupChange(ge.h.ctx, before, { accountId: me.accountId, identity: ge.h.identity() }, ch, now);
  log.add(entry);
  const queued = ge.h.store.transaction(() => {
    const status: GroupStatus = ch.type === 'leave' ? 'left' : 'active';
    saveLog(ge, groupId, log, status, now);
    ge.h.store.addOwnGroupChange(groupId, groupEntryHash(ge.h.ctx, entry), serialiseChange(ch), now);
    afterMembershipChange(ge, groupId, before, log.state);
    learnMembers(ge, log.state);
    const q = announce(ge, groupId, log, before, [entry]);
    if (ch.type === 'leave') forgetKeys(ge, groupId);
    return q;
  });
  ge.h.emit({ type: 'group-update', groupId, revision: log.state.revision, changes: [describeChange(me.accountId, ch)] });
  await sendQueued(ge, queued);
  return infoOf(ge, ge.h.store.getGroup(groupId)!, log.state);
}

/**
 * Queues new log entries for everyone concerned (groups.md §6.2), one pairwise message per account: the members
 * before the change (removed ones included, so they learn it) and after it, and this account's other devices.
 * Accounts that were members already get only `entries` (they hold the chain; one that lacks a parent asks for
 * it); accounts new to the group get the whole winning chain. When the member list changed and this account is
 * still in it, this device's new sender key travels in the same message (a SenderKeyDistribution carrying the
 * entries, applied first) to the members and this account's other devices, so a rotation is one message per
 * member, not two; accounts no longer members get a GroupUpdate with the entries alone. `before` undefined: a
 * new group (everyone is new).
 */
export function announce(ge: GroupEngine, groupId: Uint8Array, log: GroupLog, before: GroupState | undefined, entries: Uint8Array[]): Queued[] {
  const me = ge.h.account().accountId;
  const after = log.state;
  const inBefore = (id: Uint8Array) => before?.members.some((m) => bytesEqual(m.accountId, id)) ?? false;
  const inAfter = (id: Uint8Array) => after.members.some((m) => bytesEqual(m.accountId, id));
  const accounts = unique([...(before?.members ?? []).map((m) => m.accountId), ...after.members.map((m) => m.accountId), me]);
  const listChanged = !before || !sameSet(before.members.map((m) => m.accountId), after.members.map((m) => m.accountId));
  const key = listChanged && inAfter(me) ? newSenderKey(ge, groupId, after) : undefined;
  // At most four different Contents (key or not, entries or chain), each encoded once.
  const encoded = new Map<string, Uint8Array>();
  const content = (withKey: boolean, whole: boolean): Uint8Array => {
    const k = `${withKey}:${whole}`;
    let bytes = encoded.get(k);
    if (!bytes) {
      const sent = whole ? log.chain() : entries;
      bytes = encode(ge, withKey
        ? { body: { case: 'senderKey', value: { groupId, distribution: key!.distribution, entries: sent } } }
        : { body: { case: 'groupUpdate', value: { groupId, entries: sent } } });
      encoded.set(k, bytes);
    }
    return bytes;
  };
  return accounts.map((id) => enqueueEncoded(ge, id, content(key !== undefined && inAfter(id), !inBefore(id))));
}

/**
 * Membership log entries from a member (groups.md §6.2). Each is verified by the
 * log (signature by an admin of its parent state, hash chain); a forged one is
 * dropped and reported, one whose parent is missing waits and the chain is asked
 * for. An update with no entries is such a request, answered with the chain.
 */
export function receiveUpdate(ge: GroupEngine, u: Pick<GroupUpdate, 'groupId' | 'entries'>, from: Sender, out: GroupInboxEffects): void {
  const { groupId } = u;
  if (groupId.length !== GROUP_ID_LENGTH) {
    out.events.push({ type: 'group-rejected', groupId: undefined, reason: 'a malformed group update was dropped' });
    return;
  }
  if (u.entries.length === 0) {
    answerChainRequest(ge, groupId, from, out);
    return;
  }
  const me = ge.h.account().accountId;
  const row = ge.h.store.getGroup(groupId);
  let log = freshLog(ge, groupId);
  const before = log?.state;
  const wasWinning = log ? log.chain() : [];
  const waited = ge.h.store.takePendingGroupEntries(groupId);
  let incoming = [...waited, ...u.entries];
  const rejected: string[] = [];
  let opened: Uint8Array | undefined;
  if (!log) {
    // New to this device: the log must start at a genesis that names this group.
    const genesis = incoming.findIndex((e) => isGenesisOf(e, groupId));
    if (genesis < 0) {
      // Entries of a group not held wait only if they come from a contact (groups.md §6.10): a stranger's are dropped.
      if (isContact(ge, from)) {
        keepPendingEntries(ge, groupId, incoming);
        askForChain(ge, groupId, from, out);
      } else {
        if (waited.length) keepPendingEntries(ge, groupId, waited);
        out.events.push({ type: 'group-rejected', groupId, reason: 'membership entries for a group not held here, from someone who is not a contact, were dropped' });
      }
      return;
    }
    try {
      log = GroupLog.open(ge.h.ctx, [incoming[genesis]!]);
    } catch (e) {
      out.events.push({ type: 'group-rejected', groupId, reason: `a group's first entry was refused (${(e as Error).message})` });
      return;
    }
    opened = incoming[genesis];
    incoming = incoming.filter((_, i) => i !== genesis);
  }
  // Another first entry for a group held here (groups.md §6.2): someone tried to take over this group id. Loud.
  const heldGenesis = hex(groupEntryHash(ge.h.ctx, log.chain()[0]!));
  const otherGenesis = incoming.filter((e) => isGenesisOf(e, groupId) && hex(groupEntryHash(ge.h.ctx, e)) !== heldGenesis);
  if (otherGenesis.length) {
    out.events.push({ type: 'group-rejected', groupId, reason: 'a different first entry for a group held here was refused (someone tried to take over its id)' });
    incoming = incoming.filter((e) => !otherGenesis.includes(e));
  }
  const applied: Uint8Array[] = opened ? [opened] : [];
  // Entries are tried until none makes progress: an entry may arrive before its parent.
  for (let progress = true; progress && incoming.length;) {
    progress = false;
    const waiting: Uint8Array[] = [];
    for (const e of incoming) {
      try {
        if (log.add(e) === 'applied') applied.push(e);
        progress = true;
      } catch (err) {
        if (err instanceof OutOfOrderGroupEntryError) waiting.push(e);
        else if (err instanceof ProtocolError) rejected.push(`${err.code}: ${err.message}`);
        else throw err;
      }
    }
    incoming = waiting;
  }
  for (const reason of new Set(rejected)) out.events.push({ type: 'group-rejected', groupId, reason: `a membership change was refused (${reason})` });
  if (incoming.length) {
    keepPendingEntries(ge, groupId, incoming);
    askForChain(ge, groupId, from, out);
  }
  if (applied.length === 0 && row) return;
  const after = log.state;
  const isMember = after.members.some((m) => bytesEqual(m.accountId, me));
  const wasMember = before?.members.some((m) => bytesEqual(m.accountId, me)) ?? false;
  if (!row) {
    // A group new to this device is kept only if this account is in it and the sender is one of its admins (§6.2).
    if (!isMember) return;
    if (after.members.find((m) => bytesEqual(m.accountId, from.accountId))?.role !== 'admin') {
      out.events.push({ type: 'group-rejected', groupId, reason: 'a group was offered by someone who is not one of its admins; it was ignored' });
      return;
    }
  }
  const now = ge.h.now();
  const status: GroupStatus = isMember ? 'active' : row?.status === 'left' || leftBySelf(log, me) ? 'left' : 'removed';
  saveLog(ge, groupId, log, status, now);
  learnMembers(ge, after);
  if (before) afterMembershipChange(ge, groupId, before, after);
  // Removed (or left from another device): keep the history, stop sending, forget the keys.
  if (!isMember) forgetKeys(ge, groupId);
  out.events.push(...changeEvents(ge, groupId, log, applied, wasWinning));
  if (!isMember) return;
  // Keys that came before this log: their messages were kept and are read now.
  if (!row) for (const k of ge.h.store.listSenderKeys(groupId)) readPending(ge, k.accountId, k.deviceId, k.distributionId, out);
  // Just added: this device's sender key goes out at once (§6.3), so the members can read its first message.
  if (!wasMember) {
    ge.h.store.retireOwnSenderKey(groupId);
    const { queued } = currentSenderKey(ge, groupId, after);
    out.followUps.push(() => { void sendQueued(ge, queued); });
  }
  // Own changes that lost a fork are signed again on the winning head.
  resignLost(ge, groupId, log, out);
}

/**
 * Asks the sender of an update whose entries do not link up for the whole chain (an empty GroupUpdate): per group
 * at most once a minute, and at most CHAIN_REQUESTS_PER_INTERVAL a minute in all (§6.10).
 */
export function askForChain(ge: GroupEngine, groupId: Uint8Array, from: Sender, out: GroupInboxEffects): void {
  const k = hex(groupId);
  const now = ge.h.now();
  if (now - (ge.chainAsked.get(k) ?? 0) < CHAIN_REQUEST_INTERVAL_MS) return;
  ge.chainRequestTimes = ge.chainRequestTimes.filter((t) => now - t < CHAIN_REQUEST_INTERVAL_MS);
  if (ge.chainRequestTimes.length >= CHAIN_REQUESTS_PER_INTERVAL) return;
  ge.chainRequestTimes.push(now);
  ge.chainAsked.delete(k);
  ge.chainAsked.set(k, now);
  if (ge.chainAsked.size > CHAIN_ASKED_KEPT) ge.chainAsked.delete(ge.chainAsked.keys().next().value!);
  enqueue(ge, from.accountId, { body: { case: 'groupUpdate', value: { groupId, entries: [] } } });
  out.followUps.push(() => ge.h.flushSoon(0));
}

/**
 * Sends the winning chain to a member at the head that asked for it, over a session with the identity the log
 * records for it; to an account no longer a member, only the chain up to and including the entry that removed it
 * (or recorded its leaving), if it asks with the identity it had then (groups.md §6.2).
 */
export function answerChainRequest(ge: GroupEngine, groupId: Uint8Array, from: Sender, out: GroupInboxEffects): void {
  const log = openLog(ge, groupId);
  if (!log) return;
  const chain = chainFor(ge.h.ctx, log, from);
  if (!chain) {
    out.events.push({ type: 'group-rejected', groupId, reason: 'the membership log was asked for by an account that is not a member (or over a session with another identity than the group records); not answered' });
    return;
  }
  const k = `chain:${hex(from.accountId)}:${hex(groupId)}`;
  const now = ge.h.now();
  if (now - (ge.answered.get(k) ?? 0) < ANSWER_INTERVAL_MS) return;
  ge.answered.set(k, now);
  enqueue(ge, from.accountId, { body: { case: 'groupUpdate', value: { groupId, entries: chain } } });
  out.followUps.push(() => ge.h.flushSoon(0));
}

export function resignLost(ge: GroupEngine, groupId: Uint8Array, log: GroupLog, out: GroupInboxEffects): void {
  const me = ge.h.account().accountId;
  const now = ge.h.now();
  const signed: Uint8Array[] = [];
  const before = log.state;
  for (const own of ge.h.store.listOwnGroupChanges(groupId)) {
    if (log.includes(own.entryHash)) {
      if (now - own.createdAt > OWN_CHANGE_TTL_MS) ge.h.store.removeOwnGroupChange(groupId, own.entryHash);
      continue;
    }
    ge.h.store.removeOwnGroupChange(groupId, own.entryHash);
    const again = stillToDo(parseChange(own.change), log.state, me);
    if (!again) continue;
    const mine = log.state.members.find((m) => bytesEqual(m.accountId, me));
    if (!mine || (again.type !== 'leave' && mine.role !== 'admin')) continue;
    const entry = signGroupChange(ge.h.ctx, log.state, { accountId: me, identity: ge.h.identity() }, again, now);
    log.add(entry);
    ge.h.store.addOwnGroupChange(groupId, groupEntryHash(ge.h.ctx, entry), serialiseChange(again), now);
    out.events.push({ type: 'group-update', groupId, revision: log.state.revision, changes: [describeChange(me, again)] });
    signed.push(entry);
  }
  if (!signed.length) return;
  const after = log.state;
  const isMember = after.members.some((m) => bytesEqual(m.accountId, me));
  saveLog(ge, groupId, log, isMember ? 'active' : 'left', now);
  afterMembershipChange(ge, groupId, before, after);
  learnMembers(ge, after);
  const queued = announce(ge, groupId, log, before, signed);
  out.followUps.push(() => { void sendQueued(ge, queued); });
}
