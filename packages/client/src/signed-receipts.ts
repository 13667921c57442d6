/**
 * Signed read receipts (spec/receipts.md, client.md §4.5), opt-in per 1:1
 * conversation: when on, marking a received message read also sends a receipt
 * signed by this device's identity over our decrypted copy. The sender checks
 * it against its own copy and keeps it, to export it later as a file anyone
 * can check offline.
 */
import {
  bytesEqual, createSignedReadReceipt, decodeSignedReadReceipt, directConversationId, encodeSignedReadReceipt, exportMessageReceipts,
  messageDigest, ProtocolError, type ConversationRef, type ReceiptedMessage, type SignedReadReceipt, verifySignedReadReceipt,
} from '@sigilo/protocol';
import type { SignedReadReceiptMessage } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { fromBase64, toBase64, toHex } from './bytes.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';

/** What the inbox collects while applying a batch (inbox.ts InboxEffects). */
type Effects = { readonly events: ClientEvent[]; readonly followUps: (() => void)[] };
import { flushSoon, queueContent, queueSync } from './outbox.js';
import type { MessageRow } from './store/port.js';

/** Receipts kept per message (one per reader device; more is someone flooding). */
const MAX_KEPT = 16;
const flagKey = (conversation: Uint8Array) => `receipts.signed.${toHex(conversation)}`;
const keptKey = (conversation: Uint8Array, messageId: Uint8Array) => `receipts.kept.${toHex(conversation)}.${toHex(messageId)}`;

/**
 * Turns signed read receipts on or off for the 1:1 conversation with `conversation`, on this device
 * and (through an own-device sync message, client.md §5) on this person's other devices.
 */
export function setSignedReceipts(engine: Engine, conversation: Uint8Array, on: boolean): void {
  if (conversation.length !== 16) throw new ClientError('INVALID_INPUT', 'signed read receipts are for 1:1 conversations');
  engine.store.transaction(() => {
    applySignedReceiptsSync(engine, conversation, on);
    if (engine.account) queueSync(engine, { body: { case: 'sync', value: { body: { case: 'signedReceipts', value: { conversationAccountId: conversation, on } } } } });
  });
  if (engine.account) flushSoon(engine, 0);
}

/** The setting as another device of this account sent it (inbox.ts). */
export function applySignedReceiptsSync(engine: Engine, conversation: Uint8Array, on: boolean): void {
  if (conversation.length !== 16) return;
  engine.store.setMeta(flagKey(conversation), on ? new Uint8Array([1]) : undefined);
}

export function signedReceiptsOn(engine: Engine, conversation: Uint8Array): boolean {
  return engine.store.getMeta(flagKey(conversation))?.[0] === 1;
}

function conversationRef(engine: Engine, peer: Uint8Array): ConversationRef {
  return { kind: 'direct', id: directConversationId(engine.ctx.crypto, engine.requireAccount().accountId, peer) };
}

/** The message as the digest covers it; the author's identity key as this device knows it. */
function receipted(engine: Engine, row: MessageRow): ReceiptedMessage | undefined {
  const me = engine.requireAccount();
  const authorKey = bytesEqual(row.author, me.accountId) ? engine.identity.publicKey : engine.store.getContact(row.author)?.identityKey;
  if (!authorKey) return undefined;
  return {
    messageId: row.messageId, timestamp: row.timestamp, senderAccountId: row.author, senderIdentityKey: authorKey,
    text: row.text, attachmentDigests: (row.attachments ?? []).map((a) => a.digest),
  };
}

/** Inside markRead's transaction: queues a signed receipt for each received message read, when the conversation has them on. */
export function queueSignedReceipts(engine: Engine, conversation: Uint8Array, ids: readonly Uint8Array[]): void {
  if (conversation.length !== 16 || !signedReceiptsOn(engine, conversation)) return;
  const me = engine.requireAccount();
  const ref = conversationRef(engine, conversation);
  const now = engine.now();
  for (const id of ids) {
    const row = engine.store.getMessage(conversation, id);
    if (!row || row.outgoing || row.deleted) continue;
    const message = receipted(engine, row);
    if (!message) continue;
    const receipt = createSignedReadReceipt(engine.ctx.crypto, { accountId: me.accountId, identity: engine.identity }, ref, message, now);
    queueContent(engine, conversation, { body: { case: 'signedReceipt', value: { receipt: encodeSignedReadReceipt(receipt), messageId: id } } }, undefined);
  }
}

function kept(engine: Engine, conversation: Uint8Array, messageId: Uint8Array): SignedReadReceipt[] {
  const raw = engine.store.getMeta(keptKey(conversation, messageId));
  if (!raw) return [];
  return (JSON.parse(new TextDecoder().decode(raw)) as string[]).map((b) => decodeSignedReadReceipt(fromBase64(b)));
}

/**
 * Inside the inbox transaction: checks a signed receipt against our own copy of
 * the message (digest, conversation, reader) and keeps it. Forged, replayed
 * onto another message or re-targeted receipts are refused ('undecryptable').
 */
export function receiveSignedReceipt(
  engine: Engine, m: SignedReadReceiptMessage, sender: { accountId: Uint8Array; identityKey: Uint8Array }, out: Effects, unaccepted: boolean,
): void {
  const me = engine.requireAccount();
  if (bytesEqual(sender.accountId, me.accountId)) return;
  const refuse = (why: string): void => { out.events.push({ type: 'undecryptable', reason: `signed read receipt refused: ${why}` }); };
  if (unaccepted) return refuse('its reader\'s identity key is not accepted yet');
  const conversation = sender.accountId;
  const row = m.messageId.length === 16 ? engine.store.getMessage(conversation, m.messageId) : undefined;
  if (!row || !row.outgoing) return refuse('no message of ours with that id in this conversation');
  const message = receipted(engine, row);
  if (!message) return refuse('our copy of the message cannot be checked');
  let receipt: SignedReadReceipt;
  try {
    receipt = verifySignedReadReceipt(engine.ctx.crypto, decodeSignedReadReceipt(m.receipt), {
      conversation: conversationRef(engine, conversation), messageDigest: messageDigest(engine.ctx.crypto, message),
      readerAccountId: sender.accountId, readerIdentityKey: sender.identityKey,
    });
  } catch (e) {
    if (e instanceof ProtocolError) return refuse(e.message);
    throw e;
  }
  const list = kept(engine, conversation, m.messageId);
  if (list.some((r) => bytesEqual(r.readerIdentityKey, receipt.readerIdentityKey))) return; // already kept: a repeat changes nothing
  if (list.length >= MAX_KEPT) return refuse('too many receipts for one message');
  list.push(receipt);
  engine.store.setMeta(keptKey(conversation, m.messageId), new TextEncoder().encode(JSON.stringify(list.map((r) => toBase64(encodeSignedReadReceipt(r))))));
  out.events.push({ type: 'signed-receipt', conversation, messageId: m.messageId, reader: sender.accountId });
}

/** The signed receipts kept for one of our messages. */
export function signedReceipts(engine: Engine, conversation: Uint8Array, messageId: Uint8Array): SignedReadReceipt[] {
  return kept(engine, conversation, messageId);
}

/** The export file (receipts.md §5) of one of our messages and its signed receipts. */
export function exportReceipts(engine: Engine, conversation: Uint8Array, messageId: Uint8Array): string {
  const row = engine.store.getMessage(conversation, messageId);
  if (!row || !row.outgoing) throw new ClientError('NOT_FOUND', 'no message of ours with that id in this conversation');
  const message = receipted(engine, row);
  if (!message) throw new ClientError('NOT_FOUND', 'no identity known for this conversation');
  const list = kept(engine, conversation, messageId);
  if (list.length === 0) throw new ClientError('NOT_FOUND', 'no signed read receipt kept for this message (the reader may have signed receipts off)');
  return exportMessageReceipts(engine.ctx.crypto, conversationRef(engine, conversation), message, list);
}
