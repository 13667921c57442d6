/**
 * Envelope ids: the message id the server sees on a send (spec/client.md §3, "Envelope ids").
 *
 * A Content goes to its recipient under its own message id, and the copies of the
 * same Content for other destinations (this account's other devices, a group
 * member reached pairwise beside a multi-recipient sealed send) go under an id
 * derived from it and the destination with a key only this account's devices hold.
 * The server therefore cannot pair the sealed copy to the recipient with the
 * identified copy to the sender's own devices by their ids (spec/server.md §5),
 * while a retry of the same outbox row derives the same id, so the server's
 * deduplication still drops a copy sent twice.
 */
import type { CryptoProvider, IdentityKeyPair } from '@sigilo/protocol';

const KEY_INFO = new TextEncoder().encode('sigilo envelope id key v1');
const keys = new WeakMap<IdentityKeyPair, Uint8Array>();

function keyOf(crypto: CryptoProvider, identity: IdentityKeyPair): Uint8Array {
  let key = keys.get(identity);
  if (!key) {
    key = crypto.hkdfSha256(identity.agreement.privateKey, new Uint8Array(32), KEY_INFO, 32);
    keys.set(identity, key);
  }
  return key;
}

/** The 16-byte id under which the copy of message `messageId` for account `destination` goes to the server. */
export function envelopeId(crypto: CryptoProvider, identity: IdentityKeyPair, messageId: Uint8Array, destination: Uint8Array): Uint8Array {
  const input = new Uint8Array(messageId.length + destination.length);
  input.set(messageId, 0);
  input.set(destination, messageId.length);
  return crypto.hmacSha256(keyOf(crypto, identity), input).subarray(0, 16);
}
