/**
 * The Double Ratchet on one session state (protocol.md §5; Signal's Double
 * Ratchet specification §3). Pure: the input state is never modified; a
 * successful call returns a new state, a failed one throws a typed error and
 * the caller still holds the unchanged old state.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import type { ProtocolContext } from '../keys.js';
import { bytesEqual, concatBytes, wipe } from '../bytes.js';
import { DecryptionError, DuplicateMessageError, InvalidArgumentError, TooManySkippedError } from '../errors.js';
import { generateX25519KeyPairAndAgree } from '../keys.js';
import { expandMessageKey, kdfChainKey, kdfRootKey } from './kdf.js';
import { RATCHET_HEADER_LENGTH, encodeRatchetHeader, type RatchetMessage } from './message.js';
import { MAX_RECEIVING_CHAINS, type ReceivingChain, type SessionState, type SkippedKey } from './session-record.js';

/** Most message keys one incoming message may make us skip on one chain. */
export const MAX_SKIP_PER_CHAIN = 1000;
/** Most skipped message keys kept per session; beyond it the oldest are evicted. */
export const MAX_SKIPPED_KEYS = 2000;
const MAX_COUNTER = 0xffffffff;
const GCM_TAG_LENGTH = 16;

function aeadEncrypt(crypto: CryptoProvider, messageKey: Uint8Array, ad: Uint8Array, header: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { key, nonce } = expandMessageKey(crypto, messageKey);
  const ct = crypto.aes256GcmEncrypt(key, nonce, plaintext, concatBytes(ad, header));
  wipe(key, nonce);
  return ct;
}

function aeadDecrypt(crypto: CryptoProvider, messageKey: Uint8Array, ad: Uint8Array, message: RatchetMessage): Uint8Array {
  const { key, nonce } = expandMessageKey(crypto, messageKey);
  try {
    return crypto.aes256GcmDecrypt(key, nonce, message.ciphertext, concatBytes(ad, message.header));
  } finally {
    wipe(key, nonce);
  }
}

/** RatchetEncrypt: advances the sending chain and returns the encoded ratchet message. */
export function ratchetEncrypt(crypto: CryptoProvider, state: SessionState, plaintext: Uint8Array): { state: SessionState; message: Uint8Array } {
  if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be bytes');
  if (state.sendingCounter >= MAX_COUNTER) throw new InvalidArgumentError('sending chain exhausted; start a new session');
  const { chainKey, messageKey } = kdfChainKey(crypto, state.sendingChainKey);
  const out = encodeRatchetHeader(state.sendingRatchet.publicKey, state.sendingCounter, state.previousCounter, plaintext.length + GCM_TAG_LENGTH);
  const header = out.subarray(0, RATCHET_HEADER_LENGTH);
  out.set(aeadEncrypt(crypto, messageKey, state.associatedData, header, plaintext), RATCHET_HEADER_LENGTH);
  wipe(messageKey);
  return { state: { ...state, sendingChainKey: chainKey, sendingCounter: state.sendingCounter + 1 }, message: out };
}

/**
 * Derives the message keys from `chain.counter` up to (excluding) `until` and
 * appends them to `skipped`. Throws TooManySkippedError past the per-chain bound.
 */
function skipMessageKeys(crypto: CryptoProvider, chain: ReceivingChain, until: number, skipped: SkippedKey[]): ReceivingChain {
  if (until - chain.counter > MAX_SKIP_PER_CHAIN) {
    throw new TooManySkippedError(`message is ${until - chain.counter} messages ahead of its chain (limit ${MAX_SKIP_PER_CHAIN})`);
  }
  let chainKey = chain.chainKey;
  for (let n = chain.counter; n < until; n++) {
    const next = kdfChainKey(crypto, chainKey);
    skipped.push({ ratchetKey: chain.ratchetKey, counter: n, messageKey: next.messageKey });
    chainKey = next.chainKey;
  }
  return { ratchetKey: chain.ratchetKey, chainKey, counter: Math.max(chain.counter, until) };
}

/** RatchetDecrypt (Double Ratchet §3.5), with skipped-key bounds and duplicate detection. */
export function ratchetDecrypt(ctx: ProtocolContext, state: SessionState, message: RatchetMessage): { state: SessionState; plaintext: Uint8Array } {
  const { crypto } = ctx;
  if (message.counter >= MAX_COUNTER) throw new TooManySkippedError('message number out of range');
  // 1. A key we skipped earlier (late or reordered message).
  const skippedIndex = state.skippedKeys.findIndex((k) => k.counter === message.counter && bytesEqual(k.ratchetKey, message.ratchetKey));
  if (skippedIndex >= 0) {
    const plaintext = aeadDecrypt(crypto, state.skippedKeys[skippedIndex]!.messageKey, state.associatedData, message);
    const skippedKeys = state.skippedKeys.slice();
    skippedKeys.splice(skippedIndex, 1);
    return { state: { ...state, skippedKeys }, plaintext };
  }

  const chainIndex = state.receivingChains.findIndex((c) => bytesEqual(c.ratchetKey, message.ratchetKey));
  if (chainIndex > 0 || (chainIndex === 0 && message.counter < state.receivingChains[0]!.counter)) {
    // A known chain, and its key for this counter is gone: already received (or evicted).
    throw new DuplicateMessageError();
  }

  const skipped = state.skippedKeys.slice();
  let chains = state.receivingChains.slice();
  let { rootKey, sendingRatchet, sendingChainKey, sendingCounter, previousCounter } = state;

  if (chainIndex < 0) {
    // 2. A new ratchet public key from the peer: finish the current receiving chain, then DH-ratchet.
    const current = chains[0];
    if (current) chains[0] = { ...skipMessageKeys(crypto, current, message.previousCounter, skipped), chainKey: new Uint8Array(0) };
    const dhRecv = crypto.x25519(sendingRatchet.privateKey, message.ratchetKey);
    const recv = kdfRootKey(crypto, rootKey, dhRecv);
    const { keyPair: newRatchet, shared: [dhSend] } = generateX25519KeyPairAndAgree(ctx, [message.ratchetKey]);
    const send = kdfRootKey(crypto, recv.rootKey, dhSend!);
    wipe(dhRecv, dhSend);
    chains.unshift({ ratchetKey: message.ratchetKey.slice(), chainKey: recv.chainKey, counter: 0 });
    if (chains.length > MAX_RECEIVING_CHAINS) chains = chains.slice(0, MAX_RECEIVING_CHAINS);
    previousCounter = sendingCounter;
    sendingCounter = 0;
    sendingRatchet = newRatchet;
    sendingChainKey = send.chainKey;
    rootKey = send.rootKey;
  }

  // 3. Skip ahead on the current receiving chain to this message's number, then decrypt.
  const chain = skipMessageKeys(crypto, chains[0]!, message.counter, skipped);
  const { chainKey, messageKey } = kdfChainKey(crypto, chain.chainKey);
  let plaintext: Uint8Array;
  try {
    plaintext = aeadDecrypt(crypto, messageKey, state.associatedData, message);
  } catch (e) {
    if (e instanceof DecryptionError) throw new DecryptionError();
    throw e;
  } finally {
    wipe(messageKey);
  }
  chains[0] = { ratchetKey: chain.ratchetKey, chainKey, counter: message.counter + 1 };
  const skippedKeys = skipped.length > MAX_SKIPPED_KEYS ? skipped.slice(skipped.length - MAX_SKIPPED_KEYS) : skipped;
  return {
    state: {
      ...state,
      rootKey, sendingRatchet, sendingChainKey, sendingCounter, previousCounter,
      receivingChains: chains,
      skippedKeys,
      // Any reply proves the responder holds the session: stop sending prekey messages.
      pendingPreKey: undefined,
    },
    plaintext,
  };
}
