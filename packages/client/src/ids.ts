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

/** Contact card format 1 (client.md §11.3): version byte 0x01. */
const CARD_VERSION = 1;
/** Characters of the card's payload (65 bytes) and of its checksum. */
const CARD_BODY_CHARS = 104;
const CARD_CHECK_CHARS = 6;
const CARD_DOMAIN = 'sigilo-card';
/** The generator of the BCH code over GF(32) that bech32 (BIP 173) uses. */
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

/** The domain ("sigilo-card", as bech32 expands its prefix) followed by the card's characters as 5-bit values. */
function checkInput(body: string): number[] {
  const domain = [...CARD_DOMAIN].map((c) => c.charCodeAt(0));
  return [...domain.map((c) => c >>> 5), 0, ...domain.map((c) => c & 31), ...[...body].map((c) => B32.indexOf(c))];
}

/** Six base32 characters such that polymod(domain ‖ body ‖ checksum) = 1. */
function cardChecksum(body: string): string {
  const mod = polymod([...checkInput(body), 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = '';
  for (let i = 0; i < CARD_CHECK_CHARS; i++) out += B32[(mod >>> (5 * (CARD_CHECK_CHARS - 1 - i))) & 31];
  return out;
}

export interface ContactCard {
  readonly accountId: Uint8Array;
  /** Unidentified-access key (16 bytes), for sealed sender from the first message. */
  readonly accessKey: Uint8Array | undefined;
  /** Profile key (32 bytes), to read the person's encrypted name and avatar. */
  readonly profileKey: Uint8Array | undefined;
}

/**
 * A contact card: what one person gives another to be reachable with sealed
 * sender from the first message and to show their name:
 * base32(0x01 ‖ account id (16) ‖ access key (16) ‖ profile key (32)) (104
 * characters) followed by a 6-character checksum over all of them (the BCH
 * code of bech32 with the domain "sigilo-card"): 110 characters.
 */
export function formatContactCard(accountId: Uint8Array, accessKey: Uint8Array, profileKey: Uint8Array): string {
  const b = new Uint8Array(65);
  b[0] = CARD_VERSION;
  b.set(accountId, 1);
  b.set(accessKey, 17);
  b.set(profileKey, 33);
  const body = base32(b);
  return body + cardChecksum(body);
}

/**
 * Parses a contact card (spaces and "-" ignored, any case). Also accepted, without a
 * checksum to check: a bare account id (26 characters) and the cards of earlier
 * versions, account id ‖ access key (52 characters).
 */
export function parseContactCard(text: string): ContactCard {
  const clean = text.toLowerCase().replace(/[\s-]/g, '');
  if (clean.length === CARD_BODY_CHARS + CARD_CHECK_CHARS) {
    const bad = [...clean].find((c) => B32.indexOf(c) < 0);
    if (bad !== undefined) throw new ClientError('INVALID_INPUT', `"${bad}" is not a base32 character: this contact card has a typo; copy it again`);
    if (polymod(checkInput(clean)) !== 1) throw new ClientError('INVALID_INPUT', 'this contact card has a typo (its checksum does not match); copy it again from `sigilo whoami`');
    const b = fromBase32(clean.slice(0, CARD_BODY_CHARS));
    if (b[0] !== CARD_VERSION) throw new ClientError('INVALID_INPUT', 'this contact card comes from a newer Sigilo; update this client');
    return { accountId: b.slice(1, 17), accessKey: b.slice(17, 33), profileKey: b.slice(33, 65) };
  }
  const b = fromBase32(clean);
  if (b.length === 16 && clean.length === 26) return { accountId: b, accessKey: undefined, profileKey: undefined };
  if (b.length === 32 && clean.length === 52) return { accountId: b.slice(0, 16), accessKey: b.slice(16), profileKey: undefined };
  throw new ClientError('INVALID_INPUT', 'a contact card is 110 base32 characters (`sigilo whoami` prints it); an account id is 26; or add someone by @username');
}
