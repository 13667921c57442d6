/**
 * Groups in the client: the membership log, sender keys, the multi-recipient
 * sealed send and private messages inside a group. The rules are in
 * spec/groups.md; how this client stores and applies them is client.md §8.
 *
 * Like the 1:1 path, I/O stays at the edges: everything received is applied
 * inside the inbox transaction (the client calls receiveMulti/applyPairwise
 * from there), and everything sent goes through the outbox, so a message
 * written offline goes out later and a retry reuses its message id.
 *
 * - Membership: changes are signed by an admin and hash-chained (GroupLog).
 *   Every change is sent pairwise to every member (old and new), one message
 *   each: the new entries to those who hold the log, the whole chain to new
 *   members (who verify it from its genesis), and after an add or a remove this
 *   device's new sender key in the same message. A forged change is dropped and
 *   reported; an entry whose parent is unknown waits (bounded) and the chain is
 *   asked for. A change of this account that lost a fork is signed again on the
 *   winning head.
 * - Sender keys: each device has one current key per group, made for one set
 *   of member accounts (its epoch) and distributed pairwise. When the member
 *   set changes, the next send makes a new key, so removed members cannot read
 *   new messages and new members cannot read old ones.
 * - A group message is encrypted once with the sender key, sealed once for
 *   every member account (this account included, for its other devices) and
 *   uploaded once (MultiSealedSend) over the unauthenticated connection.
 *   Members whose access key is unknown, or refused, get the same Content
 *   pairwise, as the 1:1 path does without an access key.
 * - A message whose sender key is missing is kept (still encrypted) and a
 *   SenderKeyRequest goes to its sender; the key's owner answers only devices
 *   of accounts that were members in that key's epoch.
 */
import type { GroupChange } from '@sigilo/protocol';
import type { Content } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { GroupEngine, type GroupHost, type GroupInboxEffects, type GroupInfo, type Sender } from './group-log.js';
import type { MessageRow, OutboxRow } from './store/port.js';
import { forProvisioning, groupInfo, installProvisioned, listGroups, muteGroup, resolveGroup } from './group-log.js';
import { receiveMulti } from './group-messages.js';
import { applyPairwise } from './group-pairwise.js';
import { deleteInGroup, deliverGroupRow, type GroupDataExtra, markGroupRead, sendGroupText, sendPrivateInGroup, sendTyping } from './group-send.js';
import { changeGroup, createGroupNow } from './membership.js';

export {
  GROUP_ID_LENGTH, MAX_PENDING_GROUP_MESSAGES, MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, SENDER_KEYS_KEPT_PER_DEVICE, checkGroupName,
  type GroupHost, type GroupInboxEffects, type GroupInfo, type GroupMemberInfo,
} from './group-log.js';
export type { GroupChangeEvent } from './events.js';

/** The group engine as the client uses it: one object over the group modules, sharing one GroupEngine. */
export class Groups {
  readonly #ge: GroupEngine;

  constructor(host: GroupHost) {
    this.#ge = new GroupEngine(host);
  }

  close(): void {
    for (const t of this.#ge.typingTimers.values()) clearTimeout(t);
    this.#ge.typingTimers.clear();
  }

  /** A group's state: name, revision, members with roles, this account's role. */
  info(groupId: Uint8Array): GroupInfo {
    return groupInfo(this.#ge, groupId);
  }

  list(): GroupInfo[] {
    return listGroups(this.#ge);
  }

  /** A group by its name, or by its id in hex (or a unique prefix of at least 8 hex digits). */
  resolve(nameOrId: string): GroupInfo {
    return resolveGroup(this.#ge, nameOrId);
  }

  /** Creates a group with this account as its admin, and sends the log to every member. */
  create(name: string, memberIds: Uint8Array[]): Promise<GroupInfo> {
    return createGroupNow(this.#ge, name, memberIds);
  }

  /** Signs one change as this account, applies it and sends the log to every member before and after it. */
  change(groupId: Uint8Array, change: GroupChange): Promise<GroupInfo> {
    return changeGroup(this.#ge, groupId, change);
  }

  /** A text to the group: stored as pending and queued (recipient = the group id), then sent at once when online. */
  sendText(groupId: Uint8Array, text: string, extra: GroupDataExtra = {}, alsoInTransaction?: (row: MessageRow) => void, notBefore?: number): Promise<MessageRow> {
    return sendGroupText(this.#ge, groupId, text, extra, alsoInTransaction, notBefore);
  }

  /**
   * A private message to one member, inside the group: encrypted pairwise to that
   * account (and copied to this account's other devices), shown in the group's
   * conversation to the two of them only.
   */
  sendPrivate(groupId: Uint8Array, to: Uint8Array, text: string): Promise<MessageRow> {
    return sendPrivateInGroup(this.#ge, groupId, to, text);
  }

  /** Typing in a group: sent with the sender key to the members online now, never queued. */
  typing(groupId: Uint8Array, started: boolean): Promise<void> {
    return sendTyping(this.#ge, groupId, started);
  }

  /** Marks group messages read; a read receipt (with the group id) goes pairwise to each author, and a sync to this account's devices. */
  markRead(groupId: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
    return markGroupRead(this.#ge, groupId, messageIds);
  }

  /**
   * Deletes one of this account's messages in the group for everyone (groups.md §6.4): the DeleteMessage names the
   * group and goes the way the message went (with the sender key to every member, pairwise where the group send is
   * pairwise; pairwise to the other account of a private message), with a copy to this account's other devices.
   */
  deleteForEveryone(groupId: Uint8Array, messageId: Uint8Array): Promise<void> {
    return deleteInGroup(this.#ge, groupId, messageId);
  }

  /** Sends an outbox entry whose recipient is a group id (called by the client's flush, in order). */
  deliver(item: OutboxRow): Promise<void> {
    return deliverGroupRow(this.#ge, item);
  }

  /**
   * A Deliver with a recipient header: a multi-recipient sealed group message.
   * Throws ProtocolError/ClientError for what can never be read (the client
   * acknowledges and reports it).
   */
  receiveMulti(d: Deliver, out: GroupInboxEffects): void {
    return receiveMulti(this.#ge, d, out);
  }

  /**
   * Group content that came pairwise (a ratchet message from `sender`). Returns
   * false for content that is not about a group (the client applies it).
   */
  applyPairwise(content: Content, sender: Sender, out: GroupInboxEffects, unaccepted: boolean): boolean {
    return applyPairwise(this.#ge, content, sender, out, unaccepted);
  }

  /** The groups for a ProvisionMessage: every log entry held, the status and the mute state. Sender keys are not copied. */
  forProvisioning(): { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[] {
    return forProvisioning(this.#ge);
  }

  /**
   * On a newly linked device, inside its install transaction: each group's log is
   * verified from its genesis (a log that does not verify is skipped and reported).
   * The device has no sender keys yet: it asks for each one when a message needs it,
   * and makes its own on its first send.
   */
  installProvisioned(groups: readonly { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[], now: number): string[] {
    return installProvisioned(this.#ge, groups, now);
  }

  /** Mutes a group's notifications until `until` (Unix ms; 0 unmutes). Local to this device. */
  mute(groupId: Uint8Array, until: number): void {
    return muteGroup(this.#ge, groupId, until);
  }
}
