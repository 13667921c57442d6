/**
 * The byte strings devices sign to prove possession of their keys
 * (spec/server.md §Authentication). Exported so clients build the same bytes.
 */
import { concatBytes, utf8 } from '@sigilo/protocol';

export const CHALLENGE_NONCE_LENGTH = 32;
export const ACCOUNT_ID_LENGTH = 16;
export const DEVICE_KEY_LENGTH = 32;

const REGISTER = utf8('Sigilo-Register-v1');
const LINK = utf8('Sigilo-LinkDevice-v1');
const AUTH = utf8('Sigilo-Auth-v1');

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

/** Signed by the identity key: "Sigilo-Register-v1" || nonce || device key. */
export const registerIdentityPayload = (nonce: Uint8Array, deviceKey: Uint8Array) => concatBytes(REGISTER, nonce, deviceKey);
/** Signed by the device key: "Sigilo-Register-v1" || nonce || identity key. */
export const registerDevicePayload = (nonce: Uint8Array, identityKey: Uint8Array) => concatBytes(REGISTER, nonce, identityKey);
/** Signed by the identity key: "Sigilo-LinkDevice-v1" || nonce || account id || device key. */
export const linkIdentityPayload = (nonce: Uint8Array, accountId: Uint8Array, deviceKey: Uint8Array) => concatBytes(LINK, nonce, accountId, deviceKey);
/** Signed by the device key: "Sigilo-LinkDevice-v1" || nonce || account id. */
export const linkDevicePayload = (nonce: Uint8Array, accountId: Uint8Array) => concatBytes(LINK, nonce, accountId);
/** Signed by the device key: "Sigilo-Auth-v1" || nonce || account id || u32be(device id). */
export const authPayload = (nonce: Uint8Array, accountId: Uint8Array, deviceId: number) => concatBytes(AUTH, nonce, accountId, u32(deviceId));
