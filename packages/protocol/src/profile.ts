/**
 * Encrypted profiles (spec/protocol.md §12.1): a person's display name and avatar,
 * encrypted under their 32-byte profile key, stored on the server as an opaque
 * blob that only holders of the key (contacts, group members) can read.
 *
 *   k    = HKDF-SHA256(profile_key, salt = 32 zero bytes, info = "Sigilo-Profile-v1", 32)
 *   blob = 0x01 || nonce (12 random bytes) || AES-256-GCM(k, nonce, padded, aad = "Sigilo-Profile-v1" || account_id)
 *
 * `padded` is the plaintext followed by 0x80 and zeros up to a multiple of
 * 256 bytes, so the blob's size does not give away the length of the name.
 */
import type { ProtocolContext } from './keys.js';
import { DecodeError, DecryptionError, InvalidArgumentError, UnsupportedVersionError } from './errors.js';

export const PROFILE_KEY_LENGTH = 32;
export const PROFILE_VERSION = 1;
const PROFILE_LABEL = new TextEncoder().encode('Sigilo-Profile-v1');
const PADDING_BLOCK = 256;
const NONCE = 12;

function profileKeys(ctx: Pick<ProtocolContext, 'crypto'>, profileKey: Uint8Array, accountId: Uint8Array): { key: Uint8Array; aad: Uint8Array } {
  if (profileKey.length !== PROFILE_KEY_LENGTH) throw new InvalidArgumentError(`a profile key is ${PROFILE_KEY_LENGTH} bytes`);
  const key = ctx.crypto.hkdfSha256(profileKey, new Uint8Array(32), PROFILE_LABEL, 32);
  const aad = new Uint8Array(PROFILE_LABEL.length + accountId.length);
  aad.set(PROFILE_LABEL);
  aad.set(accountId, PROFILE_LABEL.length);
  return { key, aad };
}

/** Encrypts an encoded ProfileContent of `accountId` under its profile key. */
export function encryptProfile(ctx: ProtocolContext, profileKey: Uint8Array, accountId: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { key, aad } = profileKeys(ctx, profileKey, accountId);
  const padded = new Uint8Array(Math.ceil((plaintext.length + 1) / PADDING_BLOCK) * PADDING_BLOCK);
  padded.set(plaintext);
  padded[plaintext.length] = 0x80;
  const nonce = ctx.random(NONCE);
  const sealed = ctx.crypto.aes256GcmEncrypt(key, nonce, padded, aad);
  const out = new Uint8Array(1 + NONCE + sealed.length);
  out[0] = PROFILE_VERSION;
  out.set(nonce, 1);
  out.set(sealed, 1 + NONCE);
  return out;
}

/** Decrypts a profile blob of `accountId`; DecryptionError for a wrong key, another account's blob or tampering. */
export function decryptProfile(ctx: Pick<ProtocolContext, 'crypto'>, profileKey: Uint8Array, accountId: Uint8Array, blob: Uint8Array): Uint8Array {
  if (blob.length < 1 + NONCE + 16 + PADDING_BLOCK) throw new DecodeError('the profile is too short');
  if (blob[0] !== PROFILE_VERSION) throw new UnsupportedVersionError(`profile version ${blob[0]} is not supported`);
  const { key, aad } = profileKeys(ctx, profileKey, accountId);
  let padded: Uint8Array;
  try {
    padded = ctx.crypto.aes256GcmDecrypt(key, blob.subarray(1, 1 + NONCE), blob.subarray(1 + NONCE), aad);
  } catch {
    throw new DecryptionError('the profile does not decrypt with this profile key');
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) throw new DecodeError('the profile padding is malformed');
  return padded.slice(0, end);
}
