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
