/**
 * Invite codes: 125 random bits in Crockford base32, shown as five groups of
 * five (e.g. 7KQ2M-…). Only SHA-256 of the normalised code is stored, so a
 * copy of the database does not yield usable invites.
 */
import { createHash } from 'node:crypto';
import type { Random } from '@sigilo/protocol';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function generateInviteCode(random: Random): string {
  const bytes = random(16);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 25; i++) {
    out += ALPHABET[Number(bits & 31n)];
    bits >>= 5n;
  }
  return out.match(/.{5}/g)!.join('-');
}

/** Upper-cases, drops separators and maps the look-alikes Crockford allows (O→0, I/L→1). */
export function normaliseInviteCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function inviteCodeHash(code: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`sigilo-invite:${normaliseInviteCode(code)}`).digest());
}
