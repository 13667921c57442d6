/** Read receipts and typing indicators (client.md §3, §10.4); status ranks and typing expiry are in status.ts. */
import { create, toBinary } from '@bufbuild/protobuf';
import { ContentSchema, ReceiptMessage_Type, TypingMessage_Action } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { bytesEqual } from '@sigilo/protocol';
import { memoryMessages, setMemoryStatus } from './confidential.js';
import { assertSendable } from './contacts.js';
import * as disappearing from './disappearing.js';
import type { Engine } from './engine.js';
import { GROUP_ID_LENGTH } from './groups.js';
import { flush, queueContent } from './outbox.js';
import { deliverContent } from './pairwise-send.js';
import { queueSignedReceipts } from './signed-receipts.js';

/** Marks received messages read and tells their author (read receipt) and this account's other devices. */
export async function markRead(engine: Engine, conversation: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
  if (conversation.length === GROUP_ID_LENGTH) return engine.groups.markRead(conversation, messageIds);
  const now = engine.now();
  // Confidential messages (memory only) are read the same way; their countdown starts now too.
  const unreadInMemory = memoryMessages(engine, conversation).filter((m) => !m.outgoing && m.status !== 'read' && !m.notice)
    .filter((m) => !messageIds || messageIds.some((id) => bytesEqual(id, m.messageId)));
  for (const m of unreadInMemory) setMemoryStatus(engine, conversation, m.messageId, 'read', m.expireTimerMs ? now + m.expireTimerMs : undefined);
  const stored = (messageIds ?? engine.store.listMessages(conversation, 10_000).filter((m) => !m.outgoing && m.status !== 'read' && !m.deleted).map((m) => m.messageId))
    .filter((id) => !unreadInMemory.some((m) => bytesEqual(m.messageId, id)));
  const ids = [...stored, ...unreadInMemory.map((m) => m.messageId)];
  if (ids.length === 0) return 0;
  engine.store.transaction(() => {
    for (const id of stored) engine.store.setMessageStatus(conversation, id, 'read');
    disappearing.startCountdown(engine.store, conversation, stored, now); // client.md §14: the reader's countdown starts now
    queueContent(engine, conversation, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.READ, messageIds: ids, timestamp: BigInt(now) } } },
      { body: { case: 'sync', value: { body: { case: 'read', value: { conversationAccountId: conversation, messageIds: ids, readAt: BigInt(now) } } } } });
    queueSignedReceipts(engine, conversation, stored);
  });
  disappearing.scheduleExpiry(engine);
  await flush(engine);
  return ids.length;
}

/** Typing indicators are ephemeral: sent only when online, never queued. */
export async function typing(engine: Engine, conversation: Uint8Array, started: boolean): Promise<void> {
  if (!engine.connection?.isOpen) return;
  if (conversation.length === GROUP_ID_LENGTH) return engine.groups.typing(conversation, started);
  assertSendable(engine, conversation);
  const c = create(ContentSchema, {
    body: { case: 'typing', value: { action: started ? TypingMessage_Action.STARTED : TypingMessage_Action.STOPPED, timestamp: BigInt(engine.now()) } },
  });
  if (engine.accessKey) c.senderAccessKey = engine.accessKey;
  c.senderProfileKey = engine.profiles.ownKey();
  await deliverContent(engine, conversation, toBinary(ContentSchema, c), engine.ctx.random(16), { onlineOnly: true }).catch(() => {});
}
