/** Account ids and contact cards as users see and type them. */
import { ClientError } from './errors.js';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32(bytes: Uint8Array): string {
  let out = '', bits = 0, value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32(text: string): Uint8Array {
  const clean = text.toLowerCase().replace(/[\s-]/g, '');
  const out: number[] = [];
  let bits = 0, value = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new ClientError('INVALID_INPUT', `"${ch}" is not a base32 character`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** An account id as shown to users: 26 base32 characters. */
export const formatAccountId = (id: Uint8Array) => base32(id);

export function parseAccountId(text: string): Uint8Array {
  const id = fromBase32(text);
  if (id.length !== 16) throw new ClientError('INVALID_INPUT', 'an account id is 26 base32 characters (see `sigilo whoami`)');
  return id;
}

/**
 * A contact card: what one person gives another to be reachable with sealed
 * sender from the first message: base32(account id (16) || access key (16)).
 */
export function formatContactCard(accountId: Uint8Array, accessKey: Uint8Array): string {
  const b = new Uint8Array(32);
  b.set(accountId);
  b.set(accessKey, 16);
  return base32(b);
}

export function parseContactCard(text: string): { accountId: Uint8Array; accessKey: Uint8Array | undefined } {
  const b = fromBase32(text);
  if (b.length === 16) return { accountId: b, accessKey: undefined };
  if (b.length !== 32) throw new ClientError('INVALID_INPUT', 'a contact card is 52 base32 characters (`sigilo whoami` prints it); an account id is 26');
  return { accountId: b.slice(0, 16), accessKey: b.slice(16) };
}
