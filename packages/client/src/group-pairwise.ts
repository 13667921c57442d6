/** Pairwise Contents about a group (groups.md §6): updates, sender keys and requests, private messages, receipts and typing. */
import { bytesEqual } from '@sigilo/protocol';
import { type Content, ReceiptMessage_Type, TypingMessage_Action } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { GROUP_ID_LENGTH, type GroupEngine, type GroupInboxEffects, muteGroup, openLog, type Sender } from './group-log.js';
import { learnAccessKey, receiveDelete, receiveReceipt, receiveTyping, storeGroupData, storePrivate } from './group-messages.js';
import { receiveUpdate } from './membership.js';
import { answerRequest, receiveSenderKey } from './sender-keys.js';

/**
 * Group content that came pairwise (a ratchet message from `sender`). Returns
 * false for content that is not about a group (the client applies it).
 */
export function applyPairwise(ge: GroupEngine, content: Content, sender: Sender, out: GroupInboxEffects, unaccepted: boolean): boolean {
  const me = ge.h.account().accountId;
  const fromSelf = bytesEqual(sender.accountId, me);
  const b = content.body;
  switch (b.case) {
    case 'senderKey':
      if (unaccepted) return true;
      // The change that made the key comes with it (groups.md §6.2): its entries first, then the key.
      if (b.value.entries.length) receiveUpdate(ge, { groupId: b.value.groupId, entries: b.value.entries }, sender, out);
      receiveSenderKey(ge, b.value.groupId, b.value.distribution, sender, out);
      return true;
    case 'senderKeyRequest':
      if (!unaccepted) answerRequest(ge, b.value.groupId, b.value.distributionId, sender, out);
      return true;
    case 'groupUpdate':
      if (!unaccepted) receiveUpdate(ge, b.value, sender, out);
      return true;
    case 'data': {
      if (b.value.groupId.length === 0) return false;
      if (fromSelf) return true; // this account's own messages come as sync copies or with the sender key
      const log = openLog(ge, b.value.groupId);
      const state = log?.state;
      const member = state?.members.find((m) => bytesEqual(m.accountId, sender.accountId));
      if (!state || !member || !state.members.some((m) => bytesEqual(m.accountId, me))) {
        out.events.push({ type: 'group-rejected', groupId: b.value.groupId, reason: 'a message for a group you and the sender do not share was dropped' });
        return true;
      }
      // Over a session with the identity the log records for the member, and one accepted here (groups.md §6.4).
      if (!bytesEqual(member.identityKey, sender.identityKey) || unaccepted) {
        out.events.push({
          type: 'group-rejected', groupId: b.value.groupId,
          reason: unaccepted
            ? 'a group message from a member whose new safety number is not accepted yet was dropped: compare it and accept it'
            : 'a group message over a session with another identity than the group records for the sender was dropped',
        });
        return true;
      }
      if (!unaccepted) learnAccessKey(ge, sender.accountId, content);
      if (b.value.private) storePrivate(ge, b.value, b.value.groupId, sender.accountId, sender.accountId, false, out);
      else storeGroupData(ge, b.value, b.value.groupId, sender.accountId, state, out);
      return true;
    }
    case 'delete':
      if (b.value.groupId.length === 0) return false;
      if (!unaccepted) receiveDelete(ge, b.value.groupId, b.value.messageId, sender.accountId, false, out);
      return true;
    case 'receipt':
      if (b.value.groupId.length === 0) return false;
      if (!unaccepted && !fromSelf) receiveReceipt(ge, b.value.groupId, b.value.messageIds, b.value.type === ReceiptMessage_Type.READ ? 'read' : 'delivered', sender.accountId, out);
      return true;
    case 'typing':
      if (b.value.groupId.length === 0) return false;
      if (!unaccepted && !fromSelf && openLog(ge, b.value.groupId)?.state.members.some((m) => bytesEqual(m.accountId, sender.accountId))) {
        receiveTyping(ge, b.value.groupId, sender.accountId, b.value.action === TypingMessage_Action.STARTED, Number(b.value.timestamp), out);
      }
      return true;
    case 'sync': {
      const s = b.value.body;
      if (s.case === 'mute' && s.value.conversationAccountId.length === GROUP_ID_LENGTH) {
        if (fromSelf && ge.h.store.getGroup(s.value.conversationAccountId)) muteGroup(ge, s.value.conversationAccountId, Number(s.value.until));
        return true;
      }
      if (s.case !== 'sent' || !s.value.message || s.value.message.groupId.length === 0) return false;
      if (!fromSelf) return true;
      const m = s.value.message;
      if (m.private) storePrivate(ge, m, m.groupId, me, s.value.destinationAccountId, true, out);
      return true;
    }
    default:
      return false;
  }
}
