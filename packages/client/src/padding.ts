/**
 * Content padding (client.md §2): content || 0x80 || 0x00… up to the next
 * multiple of 160 bytes, so text, receipts and typing indicators have the same
 * sizes on the wire.
 */
import { ClientError } from './errors.js';

export const PADDING_BLOCK = 160;

export function pad(content: Uint8Array): Uint8Array {
  const size = Math.ceil((content.length + 1) / PADDING_BLOCK) * PADDING_BLOCK;
  const out = new Uint8Array(size);
  out.set(content);
  out[content.length] = 0x80;
  return out;
}

export function unpad(padded: Uint8Array): Uint8Array {
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  if (i < 0 || padded[i] !== 0x80) throw new ClientError('INVALID_INPUT', 'message padding is malformed');
  return padded.subarray(0, i);
}
