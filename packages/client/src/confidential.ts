/**
 * Confidential mode (client.md §15): the messages of a conversation in this mode (DataMessage.confidential), and
 * every 1:1 message of a device made with ClientOptions.confidential, live in this client's memory only. They are
 * never written to the store, the outbox included: a confidential message is sent at once or not at all
 * (CONFIDENTIAL_OFFLINE), and is wiped from memory when the mode is left (by either side), or when the application
 * calls wipeConfidential (chat closed, app hidden).
 */
import { bytesEqual } from '@sigilo/protocol';
import { toHex } from './bytes.js';
import type { Engine } from './engine.js';
import { envelopeId } from './envelope-ids.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import * as disappearing from './disappearing.js';
import { contentBytes } from './outbox.js';
import { deliverContent } from './pairwise-send.js';
import type { MessageRow, MessageStatus } from './store/port.js';

/** Confidential messages kept per conversation at most (the oldest leave memory first). */
export const MAX_CONFIDENTIAL_PER_CONVERSATION = 1000;

const flagKey = (conversation: Uint8Array) => `confidential.${toHex(conversation)}`;

/** Whether messages to and from this conversation stay in memory only. */
export function confidentialOn(engine: Engine, conversation: Uint8Array): boolean {
  return engine.confidentialDevice || engine.store.getMeta(flagKey(conversation))?.[0] === 1;
}

/** The conversation's mode setting on this device (a setting, not content: kept in the store). */
export function storeConfidential(engine: Engine, conversation: Uint8Array, on: boolean): void {
  engine.store.setMeta(flagKey(conversation), on ? new Uint8Array([1]) : undefined);
}

/** Keeps a message in memory; false when one with its id is there already. */
export function keepInMemory(engine: Engine, row: MessageRow): boolean {
  const key = toHex(row.conversation);
  const list = engine.memory.get(key) ?? [];
  if (list.some((m) => bytesEqual(m.messageId, row.messageId))) return false;
  list.push(row);
  if (list.length > MAX_CONFIDENTIAL_PER_CONVERSATION) list.splice(0, list.length - MAX_CONFIDENTIAL_PER_CONVERSATION);
  engine.memory.set(key, list);
  return true;
}

/** The confidential messages of a conversation (or of all, undefined), oldest first. */
export function memoryMessages(engine: Engine, conversation: Uint8Array | undefined): MessageRow[] {
  if (conversation) return [...(engine.memory.get(toHex(conversation)) ?? [])];
  return [...engine.memory.values()].flat().sort((a, b) => a.receivedAt - b.receivedAt);
}

export function setMemoryStatus(engine: Engine, conversation: Uint8Array, messageId: Uint8Array, status: MessageStatus, expiresAt?: number): boolean {
  const list = engine.memory.get(toHex(conversation));
  const i = list?.findIndex((m) => bytesEqual(m.messageId, messageId)) ?? -1;
  if (!list || i < 0) return false;
  list[i] = { ...list[i]!, status, ...(expiresAt ? { expiresAt } : {}) };
  return true;
}

/** Forgets a conversation's confidential messages (their strings become garbage; nothing was ever written). */
export function wipeConfidential(engine: Engine, conversation: Uint8Array, events?: ClientEvent[]): void {
  const key = toHex(conversation);
  if (!engine.memory.has(key)) return;
  engine.memory.delete(key);
  const e: ClientEvent = { type: 'confidential-wiped', conversation };
  if (events) events.push(e); else engine.emit(e);
}

/** Sends a confidential text now: kept in memory, encrypted and sent with its copy for this account's other devices. */
export async function sendConfidential(engine: Engine, to: Uint8Array, text: string): Promise<MessageRow> {
  const me = engine.requireAccount();
  if (!engine.connection?.isOpen) {
    throw new ClientError('CONFIDENTIAL_OFFLINE', 'confidential messages are never queued on this device: wait for the connection and send again');
  }
  const messageId = engine.ctx.random(16);
  const now = engine.now();
  const timer = disappearing.outgoing(engine.store, to, now);
  const data = { messageId, timestamp: BigInt(now), text, confidential: true, ...timer.data };
  const row: MessageRow = { messageId, conversation: to, author: me.accountId, outgoing: true, timestamp: now, text, status: 'pending', deleted: false, receivedAt: now, ...timer.row };
  keepInMemory(engine, row);
  engine.emit({ type: 'message', message: row });
  try {
    await deliverContent(engine, to, contentBytes(engine, { body: { case: 'data', value: data } }), messageId);
  } catch (e) {
    setMemoryStatus(engine, to, messageId, 'failed');
    engine.emit({ type: 'status', conversation: to, messageId, status: 'failed' });
    throw e;
  }
  setMemoryStatus(engine, to, messageId, 'sent');
  engine.emit({ type: 'status', conversation: to, messageId, status: 'sent' });
  // This account's other devices: now or never (a copy that cannot go is not kept for later).
  const sync = contentBytes(engine, { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: to, message: data } } } } });
  await deliverContent(engine, me.accountId, sync, envelopeId(engine.ctx.crypto, engine.identity, messageId, me.accountId)).catch(() => {});
  return { ...row, status: 'sent' };
}
