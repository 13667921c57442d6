/**
 * Device names (spec/client.md, "Devices and their names"): chosen by people ("Ana's laptop"), kept
 * on the server so every device of the account can list them, but encrypted
 * so the server learns nothing from them. The key is derived from the
 * account's identity private key, which every device of the account holds
 * and the server never sees; the account id and device id are bound in as
 * associated data, so the server cannot move a name to another device or
 * account without the decryption failing.
 *
 *   key  = HKDF-SHA256(ikm = identity X25519 private key, salt = "", info = "Sigilo device name v1", 32)
 *   blob = nonce (12 random bytes) || AES-256-GCM(key, nonce, UTF-8 name, aad = account id (16) || device id (u32 BE))
 */
import type { IdentityKeyPair, ProtocolContext } from '@sigilo/protocol';
import { ClientError } from './errors.js';

/** Longest device name, in UTF-8 bytes (the encrypted form fits the server's 128-byte limit). */
export const MAX_DEVICE_NAME_BYTES = 64;

const INFO = new TextEncoder().encode('Sigilo device name v1');
/** Control characters and those that reorder or hide text ("Ana's phone" drawn over another name). */
// eslint-disable-next-line no-control-regex
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

function nameKey(ctx: ProtocolContext, identity: IdentityKeyPair): Uint8Array {
  return ctx.crypto.hkdfSha256(identity.agreement.privateKey, new Uint8Array(0), INFO, 32);
}

function aad(accountId: Uint8Array, deviceId: number): Uint8Array {
  const out = new Uint8Array(accountId.length + 4);
  out.set(accountId);
  new DataView(out.buffer).setUint32(accountId.length, deviceId);
  return out;
}

/** A name as people type it: one line, trimmed, at most 64 UTF-8 bytes. */
export function normaliseDeviceName(name: string): string {
  const clean = name.normalize('NFC').replace(/\s+/g, ' ').trim();
  // eslint-disable-next-line no-control-regex
  if (!clean || UNSHOWABLE.test(clean)) throw new ClientError('INVALID_INPUT', 'a device name is one line of text, e.g. "Ana\'s laptop"');
  if (new TextEncoder().encode(clean).length > MAX_DEVICE_NAME_BYTES) throw new ClientError('INVALID_INPUT', `a device name has at most ${MAX_DEVICE_NAME_BYTES} bytes; choose a shorter one`);
  return clean;
}

export function encryptDeviceName(ctx: ProtocolContext, identity: IdentityKeyPair, accountId: Uint8Array, deviceId: number, name: string): Uint8Array {
  const nonce = ctx.random(12);
  const sealed = ctx.crypto.aes256GcmEncrypt(nameKey(ctx, identity), nonce, new TextEncoder().encode(normaliseDeviceName(name)), aad(accountId, deviceId));
  const out = new Uint8Array(12 + sealed.length);
  out.set(nonce);
  out.set(sealed, 12);
  return out;
}

/** The name, or undefined when none is set, it does not decrypt (set by something else, or tampered with) or is not one normalised line. */
export function decryptDeviceName(ctx: ProtocolContext, identity: IdentityKeyPair, accountId: Uint8Array, deviceId: number, blob: Uint8Array): string | undefined {
  if (blob.length < 12 + 16) return undefined;
  try {
    const plain = ctx.crypto.aes256GcmDecrypt(nameKey(ctx, identity), blob.subarray(0, 12), blob.subarray(12), aad(accountId, deviceId));
    const name = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    // Set by a client that does not normalise (another device of the account, compromised or older): not shown.
    return normaliseDeviceName(name) === name ? name : undefined;
  } catch {
    return undefined;
  }
}

/** What a removed device tells its person, from the server's DeviceRemoval (who: a device number, or 0 for the administrator). */
/** What a device of an account the administrator removed is told (server ACCOUNT_REMOVED). */
export function accountRemovedMessage(day: number): string {
  const date = day > 0 ? new Date(day * 86_400_000).toISOString().slice(0, 10) : 'an unknown day';
  return `the administrator removed your account, with all its devices, on ${date}: this device can no longer send or receive. `
    + 'Ask your administrator for an invite and register a new account in a new --dir (sigilo register)';
}

export function deviceRemovedMessage(byDeviceId: number, day: number): string {
  const who = byDeviceId === 0 ? 'the administrator' : `device ${byDeviceId} of your account`;
  const date = day > 0 ? new Date(day * 86_400_000).toISOString().slice(0, 10) : 'an unknown day';
  return `this device was removed from your account by ${who} on ${date}; link it again (sigilo link) or register a new account (sigilo register)`;
}
