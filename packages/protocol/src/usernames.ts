/**
 * Usernames (spec/client.md §11.2, server.md §3.1): the normalised form people
 * claim and type, and the hash that is all the server receives for a lookup.
 * Shared by the client, the server and the administration commands.
 */
import type { CryptoProvider } from './crypto/provider.js';
import { InvalidArgumentError } from './errors.js';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const USERNAME_HASH_LENGTH = 32;
const USERNAME_LABEL = new TextEncoder().encode('sigilo-username:');

/**
 * The normalised username, or undefined when `text` is not one: an optional
 * leading "@" and surrounding spaces dropped, ASCII lower-cased; then 3–32
 * characters of [a-z0-9._], starting with a letter or digit, not ending with
 * ".", and without "..".
 */
export function normaliseUsername(text: string): string | undefined {
  const t = text.trim().replace(/^@/, '').replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (t.length < USERNAME_MIN || t.length > USERNAME_MAX) return undefined;
  if (!/^[a-z0-9][a-z0-9._]*$/.test(t) || t.endsWith('.') || t.includes('..')) return undefined;
  return t;
}

/** The normalised username, or an InvalidArgumentError saying what a username may be. */
export function requireUsername(text: string): string {
  const u = normaliseUsername(text);
  if (u === undefined) {
    throw new InvalidArgumentError(`a username is ${USERNAME_MIN}–${USERNAME_MAX} letters a–z, digits, "." or "_", starting with a letter or digit, not ending with "." and without ".."`);
  }
  return u;
}

/** SHA-256("sigilo-username:" || normalised username): what travels and is stored for a username. */
export function usernameHash(crypto: CryptoProvider, username: string): Uint8Array {
  const u = requireUsername(username);
  const body = new TextEncoder().encode(u);
  const data = new Uint8Array(USERNAME_LABEL.length + body.length);
  data.set(USERNAME_LABEL);
  data.set(body, USERNAME_LABEL.length);
  return crypto.sha256(data);
}
