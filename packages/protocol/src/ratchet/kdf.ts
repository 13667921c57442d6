/**
 * The Double Ratchet's three KDFs (protocol.md §5.2; Signal Double Ratchet §5.2
 * "Recommended cryptographic algorithms").
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { utf8 } from '../bytes.js';

const ROOT_INFO = utf8('Sigilo_Ratchet_v1');
const MESSAGE_KEYS_INFO = utf8('Sigilo_MessageKeys_v1');
const ZERO_SALT = new Uint8Array(32);
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);

/** KDF_RK(rk, dh_out) = HKDF-SHA256(ikm = dh_out, salt = rk, info = "Sigilo_Ratchet_v1", 64) → (rk', ck). */
export function kdfRootKey(crypto: CryptoProvider, rootKey: Uint8Array, dhOutput: Uint8Array): { rootKey: Uint8Array; chainKey: Uint8Array } {
  const out = crypto.hkdfSha256(dhOutput, rootKey, ROOT_INFO, 64);
  return { rootKey: out.subarray(0, 32), chainKey: out.subarray(32, 64) };
}

/** KDF_CK(ck): mk = HMAC-SHA256(ck, 0x01), ck' = HMAC-SHA256(ck, 0x02). */
export function kdfChainKey(crypto: CryptoProvider, chainKey: Uint8Array): { chainKey: Uint8Array; messageKey: Uint8Array } {
  return {
    messageKey: crypto.hmacSha256(chainKey, MESSAGE_KEY_SEED),
    chainKey: crypto.hmacSha256(chainKey, CHAIN_KEY_SEED),
  };
}

/** A message key expands to an AES-256-GCM key and nonce: HKDF-SHA256(mk, 0^32, "Sigilo_MessageKeys_v1", 44). */
export function expandMessageKey(crypto: CryptoProvider, messageKey: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const out = crypto.hkdfSha256(messageKey, ZERO_SALT, MESSAGE_KEYS_INFO, 44);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 44) };
}
