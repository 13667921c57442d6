/** Sender keys (groups.md §5): this device's key per group and epoch, received keys, and requests for missing ones. */
import { bytesEqual, createSenderKey, type GroupState, processSenderKeyDistribution, ProtocolError } from '@sigilo/protocol';
import { ClientError } from './errors.js';
import { ANSWER_INTERVAL_MS, type ContentInit, ENDED_EPOCH_KEPT_MS, GROUP_ID_LENGTH, type GroupEngine, type GroupInboxEffects, has, hex, MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, openLog, OWN_KEYS_KEPT, type Queued, sameSet, type Sender, SENDER_KEY_MAX_AGE_MS, SENDER_KEYS_KEPT_PER_DEVICE, UNHELD_TTL_MS, unique } from './group-log.js';
import { decryptWith } from './group-messages.js';
import { enqueue } from './group-queue.js';
import type { OwnSenderKeyRow } from './store/port.js';

/**
 * The current sender key of this device for the group, made anew when the member
 * set differs from the key's epoch. A new key's distribution is queued pairwise
 * to every member and to this account's other devices (returned, to be sent now).
 */
export function currentSenderKey(ge: GroupEngine, groupId: Uint8Array, state: GroupState): { key: OwnSenderKeyRow; queued: Queued[] } {
  const me = ge.h.account().accountId;
  const members = state.members.map((m) => m.accountId);
  const own = ge.h.store.getOwnSenderKey(groupId);
  const now = ge.h.now();
  if (own?.record && sameSet(own.members, members) && now - own.createdAt < SENDER_KEY_MAX_AGE_MS) return { key: own, queued: [] };
  const key = newSenderKey(ge, groupId, state);
  const content: ContentInit = { body: { case: 'senderKey', value: { groupId, distribution: key.distribution } } };
  const queued = unique([...members, me]).map((id) => enqueue(ge, id, content));
  return { key, queued };
}

/** Makes and stores this device's new current sender key for the group, for the members of `state` (its epoch). */
export function newSenderKey(ge: GroupEngine, groupId: Uint8Array, state: GroupState): OwnSenderKeyRow {
  const now = ge.h.now();
  ge.h.store.forgetEndedOwnSenderKeys(groupId, now - ENDED_EPOCH_KEPT_MS);
  const made = createSenderKey(ge.h.ctx);
  const key: OwnSenderKeyRow = {
    groupId, distributionId: made.distributionId, record: made.record, distribution: made.distribution,
    members: state.members.map((m) => m.accountId), createdAt: now, current: true,
  };
  ge.h.store.putOwnSenderKey(key, OWN_KEYS_KEPT);
  return key;
}

export function receiveSenderKey(ge: GroupEngine, groupId: Uint8Array, distribution: Uint8Array, sender: Sender, out: GroupInboxEffects): void {
  if (groupId.length !== GROUP_ID_LENGTH) {
    out.events.push({ type: 'undecryptable', reason: 'a sender key named no group' });
    return;
  }
  const log = openLog(ge, groupId);
  const me = ge.h.account().accountId;
  // For a group held here (groups.md §6.6): only from a member at the head, over a session with the identity key
  // the log records for it. For a group not held yet (its log may still be on the way from another member) the
  // key is kept and the same checks are made on every use (#decryptWith): the certificate's account, device and
  // identity key against the key's owner and the log.
  if (log && !bytesEqual(sender.accountId, me)) {
    const member = log.state.members.find((m) => bytesEqual(m.accountId, sender.accountId));
    if (!member || !bytesEqual(member.identityKey, sender.identityKey)) {
      out.events.push({ type: 'group-rejected', groupId, reason: member ? 'a sender key over a session with another identity than the group records was refused' : 'a sender key from someone who is not a member was refused' });
      return;
    }
  }
  const first = processSenderKeyDistribution(ge.h.ctx, distribution);
  const existing = ge.h.store.getSenderKey(sender.accountId, sender.deviceId, first.distributionId);
  // A key already held stays (the protocol keeps it): starting it again at an earlier iteration would
  // reopen used message keys; the same id with another signing key is refused.
  const processed = existing ? processSenderKeyDistribution(ge.h.ctx, distribution, existing.record) : first;
  if (!existing) {
    ge.h.store.putSenderKey({
      groupId, accountId: sender.accountId, deviceId: sender.deviceId, distributionId: processed.distributionId, record: processed.record,
      receivedAt: ge.h.now(),
    });
    // Bounded per member device and group (groups.md §6.6): the newest few, and none superseded for a month.
    ge.h.store.pruneSenderKeys(groupId, sender.accountId, sender.deviceId, SENDER_KEYS_KEPT_PER_DEVICE, ge.h.now() - ENDED_EPOCH_KEPT_MS);
    if (!log) {
      // Keys for groups not held here (their log may be on its way) are bounded per device across all such groups,
      // and across every sender (groups.md §6.10), so many devices or accounts cannot add up.
      ge.h.store.pruneUnheldSenderKeys(sender.accountId, sender.deviceId, SENDER_KEYS_KEPT_PER_DEVICE);
      ge.h.store.pruneAllUnheldSenderKeys(MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, ge.h.now() - UNHELD_TTL_MS);
    }
  } else if (!bytesEqual(existing.groupId, groupId)) {
    out.events.push({ type: 'group-rejected', groupId, reason: 'a sender key already used for another group was refused' });
    return;
  }
  if (log) readPending(ge, sender.accountId, sender.deviceId, processed.distributionId, out);
}

/** Messages that waited for this sender key (or for its group's log) are read now, in the order they arrived. */
export function readPending(ge: GroupEngine, accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, out: GroupInboxEffects): void {
  for (const p of ge.h.store.pendingGroupMessages(accountId, deviceId, distributionId)) {
    ge.h.store.removePendingGroupMessage(p.seq);
    const key = ge.h.store.getSenderKey(accountId, deviceId, distributionId);
    if (!key) return;
    try {
      decryptWith(ge, key, { accountId: p.accountId, deviceId: p.deviceId, identityKey: p.identityKey }, p.message, out);
    } catch (e) {
      if (e instanceof ProtocolError || e instanceof ClientError) out.events.push({ type: 'undecryptable', reason: `${e.code}: ${e.message}` });
      else throw e;
    }
  }
}

/** Answers a SenderKeyRequest with the key's iteration-0 distribution, only to accounts of that key's epoch. */
export function answerRequest(ge: GroupEngine, groupId: Uint8Array, distributionId: Uint8Array, sender: Sender, out: GroupInboxEffects): void {
  const own = ge.h.store.ownSenderKeyByDistribution(distributionId);
  if (!own) return; // another device of this account made it, or it is long gone
  if (groupId.length && !bytesEqual(groupId, own.groupId)) return;
  const me = ge.h.account().accountId;
  if (!bytesEqual(sender.accountId, me) && !has(own.members, sender.accountId)) {
    out.events.push({ type: 'group-rejected', groupId: own.groupId, reason: 'a sender key was asked for by an account that was not a member when it was made; not answered' });
    return;
  }
  // The request must come over a session with the identity key the group records for that account (§6.7).
  const recorded = openLog(ge, own.groupId)?.state.members.find((m) => bytesEqual(m.accountId, sender.accountId))?.identityKey
    ?? ge.h.store.getContact(sender.accountId)?.identityKey;
  if (!bytesEqual(sender.accountId, me) && (!recorded || !bytesEqual(recorded, sender.identityKey))) {
    out.events.push({ type: 'group-rejected', groupId: own.groupId, reason: 'a sender key was asked for over a session with another identity than the group records; not answered' });
    return;
  }
  const k = `${hex(sender.accountId)}:${hex(distributionId)}`;
  const now = ge.h.now();
  if (now - (ge.answered.get(k) ?? 0) < ANSWER_INTERVAL_MS) return;
  ge.answered.set(k, now);
  if (ge.answered.size > 4096) ge.answered.clear();
  enqueue(ge, sender.accountId, { body: { case: 'senderKey', value: { groupId: own.groupId, distribution: own.distribution } } });
  out.followUps.push(() => ge.h.flushSoon(0));
}
