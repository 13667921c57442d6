/** @sigilo/protocol: the pure, synchronous 1:1 engine. Providers: '@sigilo/protocol/node' and '@sigilo/protocol/portable'. */
export type { CryptoProvider, X25519KeyPair, Ed25519KeyPair, MlKemKeyPair, MlKemEncapsulation } from './crypto/provider.js';
export type { Random } from './crypto/random.js';
export * from './errors.js';
export * from './bytes.js';
export * from './keys.js';
export * from './bundle.js';
export * from './pqxdh.js';
export * from './session.js';
export * from './sealed-sender.js';
export * from './safety-number.js';
export * from './prekey-records.js';
export { MAX_SKIP_PER_CHAIN, MAX_SKIPPED_KEYS } from './ratchet/double-ratchet.js';
export {
  encodeSessionRecord, decodeSessionRecord, EMPTY_SESSION_RECORD, MAX_PREVIOUS_STATES, MAX_RECEIVING_CHAINS, SESSION_RECORD_VERSION,
  type SessionRecord, type SessionState, type ReceivingChain, type SkippedKey, type PendingPreKey,
} from './ratchet/session-record.js';
export { PROTOCOL_VERSION, type MessageType, type PreKeyMessage, type RatchetMessage, decodeRatchetMessage } from './ratchet/message.js';
export * from './device-auth.js';
export * from './attachment/index.js';
export * from './group/index.js';
export * from './account-id.js';
export * from './smp.js';
export * from './receipts.js';
export * from './usernames.js';
export * from './profile.js';
export * from './transparency.js';
export type { ServerPolicy } from './server-policy.js';
