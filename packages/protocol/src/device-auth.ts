/**
 * The byte strings a device signs to prove possession of its keys to the
 * server (spec/server.md, Authentication). Shared by server and clients so
 * both build exactly the same bytes.
 */
import { concatBytes, utf8, writeU32 } from './bytes.js';

const REGISTER = utf8('Sigilo-Register-v1');
const LINK = utf8('Sigilo-LinkDevice-v1');
const AUTH = utf8('Sigilo-Auth-v1');

/** Signed by the identity key: "Sigilo-Register-v1" || nonce || device key. */
export const registerIdentityPayload = (nonce: Uint8Array, deviceKey: Uint8Array) => concatBytes(REGISTER, nonce, deviceKey);
/** Signed by the device key: "Sigilo-Register-v1" || nonce || identity key. */
export const registerDevicePayload = (nonce: Uint8Array, identityKey: Uint8Array) => concatBytes(REGISTER, nonce, identityKey);
/** Signed by the identity key: "Sigilo-LinkDevice-v1" || nonce || account id || device key. */
export const linkIdentityPayload = (nonce: Uint8Array, accountId: Uint8Array, deviceKey: Uint8Array) => concatBytes(LINK, nonce, accountId, deviceKey);
/** Signed by the device key: "Sigilo-LinkDevice-v1" || nonce || account id. */
export const linkDevicePayload = (nonce: Uint8Array, accountId: Uint8Array) => concatBytes(LINK, nonce, accountId);
/** Signed by the device key: "Sigilo-Auth-v1" || nonce || account id || u32be(device id). */
export function authPayload(nonce: Uint8Array, accountId: Uint8Array, deviceId: number): Uint8Array {
  const id = new Uint8Array(4);
  writeU32(id, 0, deviceId);
  return concatBytes(AUTH, nonce, accountId, id);
}

const CERTIFICATION_REQUEST = utf8('Sigilo-CertificationRequest-v1');
/**
 * Signed by the identity key when a device asks the organisation to certify it (spec/trust.md §4.1):
 * "Sigilo-CertificationRequest-v1" || account id (16) || u32be(device id) || identity key (64) ||
 * u32be(created_at / 2^32) || u32be(created_at mod 2^32) (Unix ms) || UTF-8 name.
 */
export function certificationRequestPayload(accountId: Uint8Array, deviceId: number, identityKey: Uint8Array, createdAt: number, name: string): Uint8Array {
  const fixed = new Uint8Array(12);
  writeU32(fixed, 0, deviceId);
  writeU32(fixed, 4, Math.floor(createdAt / 2 ** 32));
  writeU32(fixed, 8, createdAt % 2 ** 32);
  return concatBytes(CERTIFICATION_REQUEST, accountId, fixed.subarray(0, 4), identityKey, fixed.subarray(4), utf8(name));
}
