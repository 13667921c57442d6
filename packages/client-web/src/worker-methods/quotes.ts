/**
 * Replies in the browser: the quote of each reply is kept in one encrypted record per conversation
 * (the store's meta table, `web.quotes.<conversation>`), written when a reply is sent or arrives and
 * attached to the rows `listMessages` returns. A message deleted for everyone, or a history deleted,
 * takes its quotes (and the quoted text of replies to it) with it.
 */
import { toHex, type MessageQuote, type MessageRow, type SigiloClient } from '@sigilo/client';

type Kept = Record<string, [author: string, quoted: string, text: string]>;
const key = (conversation: Uint8Array) => `web.quotes.${toHex(conversation)}`;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const fromHexBytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

function read(client: SigiloClient, conversation: Uint8Array): Kept {
  const raw = client.store.getMeta(key(conversation));
  if (!raw) return {};
  try { return JSON.parse(fromUtf8.decode(raw)) as Kept; } catch { return {}; }
}

function write(client: SigiloClient, conversation: Uint8Array, kept: Kept): void {
  client.store.transaction(() => client.store.setMeta(key(conversation), Object.keys(kept).length ? utf8.encode(JSON.stringify(kept)) : undefined));
}

export function keepQuote(client: SigiloClient, conversation: Uint8Array, messageId: Uint8Array, q: MessageQuote): void {
  const kept = read(client, conversation);
  kept[toHex(messageId)] = [toHex(q.author), toHex(q.messageId), q.text];
  write(client, conversation, kept);
}

/** The rows with their quotes. */
export function withQuotes(client: SigiloClient, conversation: Uint8Array, rows: MessageRow[]): MessageRow[] {
  const kept = read(client, conversation);
  if (Object.keys(kept).length === 0) return rows;
  return rows.map((r) => {
    const k = kept[toHex(r.messageId)];
    return k ? { ...r, quote: { author: fromHexBytes(k[0]), messageId: fromHexBytes(k[1]), text: k[2] } } : r;
  });
}

/**
 * Follows the engine's events: keeps the quotes of replies that arrive (not of a confidential message, which is in
 * memory only and must leave nothing in the store, client.md §15), forgets those of deleted and expired messages.
 */
export function followQuotes(client: SigiloClient): () => void {
  return client.on((e) => {
    if (e.type === 'message' && e.message.quote) {
      if (client.store.getMessage(e.message.conversation, e.message.messageId)) keepQuote(client, e.message.conversation, e.message.messageId, e.message.quote);
    } else if (e.type === 'deleted' || e.type === 'expired') forget(client, e.conversation, e.messageId);
    else if (e.type === 'history-deleted') write(client, e.conversation, {});
  });
}

/** A deleted message loses its own quote, and replies to it lose the quoted text. */
export function forget(client: SigiloClient, conversation: Uint8Array, messageId: Uint8Array): void {
  const kept = read(client, conversation);
  const id = toHex(messageId);
  let changed = delete kept[id];
  for (const k of Object.values(kept)) if (k[1] === id && k[2] !== '') { k[2] = ''; changed = true; }
  if (changed) write(client, conversation, kept);
}
