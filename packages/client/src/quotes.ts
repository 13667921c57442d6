/** Replies (client.md §3): the quote a DataMessage carries, checked the same way when sent and when received. */
import type { MessageQuote } from './store/port.js';

/** Longest quoted text a reply carries (the rest is cut: the quote is a reminder, not a copy). */
export const QUOTE_TEXT_MAX = 500;

/** A quote as sent and as accepted: 16-byte ids, text cut to QUOTE_TEXT_MAX characters; undefined when absent or malformed. */
export function acceptQuote(q: { messageId: Uint8Array; author: Uint8Array; text: string } | undefined): MessageQuote | undefined {
  if (!q || q.messageId.length !== 16 || q.author.length !== 16) return undefined;
  return { messageId: q.messageId, author: q.author, text: [...q.text].slice(0, QUOTE_TEXT_MAX).join('') };
}
