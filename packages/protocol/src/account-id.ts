/**
 * The one text form of an account id (spec/server.md §9): 26 lower-case
 * base32 characters (RFC 4648 alphabet, no padding) of the 16-byte id, as
 * people see it in `sigilo whoami`, and as the administrator sees it in
 * `sigilo admin accounts`, JSON output and error messages.
 */
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

export const ACCOUNT_ID_TEXT_LENGTH = 26;

/** Base32 of the bytes (no padding). */
export function accountIdText(id: Uint8Array): string {
  let out = '', bits = 0, value = 0;
  for (const b of id) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Reads an account id typed by a person: the 26-character base32 form (any
 * case, spaces and dashes ignored), or, for ids copied from older versions'
 * admin output, 32 hexadecimal digits: the lengths differ, so the two cannot
 * be confused. Undefined for anything else.
 */
export function parseAccountIdText(text: string): Uint8Array | undefined {
  const clean = text.toLowerCase().replace(/[\s-]/g, '');
  if (clean.length === 32 && /^[0-9a-f]+$/.test(clean)) {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  if (clean.length !== ACCOUNT_ID_TEXT_LENGTH) return undefined;
  const out: number[] = [];
  let bits = 0, value = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // 26 characters carry 130 bits: the last 2 must be zero for the text to be canonical.
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return new Uint8Array(out);
}
