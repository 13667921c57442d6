/**
 * What devices sign to prove possession of their keys (spec/server.md §2).
 * The byte strings themselves live in @sigilo/protocol (device-auth.ts), so
 * server and clients build exactly the same bytes.
 */
export {
  registerIdentityPayload, registerDevicePayload, linkIdentityPayload, linkDevicePayload, authPayload,
} from '@sigilo/protocol';

export const CHALLENGE_NONCE_LENGTH = 32;
export const ACCOUNT_ID_LENGTH = 16;
export const DEVICE_KEY_LENGTH = 32;
