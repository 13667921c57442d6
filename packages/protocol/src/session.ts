/**
 * Sessions with one peer device: the public entry points of the 1:1 engine
 * (protocol.md §4–§5). Every function is pure and synchronous: pass the stored
 * record in, store the record that comes out. On any error the old record is
 * still valid and nothing was consumed.
 */
import { bytesEqual, wipe } from './bytes.js';
import { DecodeError, NoSessionError, ProtocolError } from './errors.js';
import type { PreKeyBundle } from './bundle.js';
import { generateX25519KeyPairAndAgree, type IdentityKeyPair, type ProtocolContext } from './keys.js';
import { pqxdhInitiate, pqxdhRespond, type ResponderKeys } from './pqxdh.js';
import { kdfRootKey } from './ratchet/kdf.js';
import { ratchetDecrypt, ratchetEncrypt } from './ratchet/double-ratchet.js';
import { decodePreKeyMessage, decodeRatchetMessage, encodePreKeyMessage, type PreKeyMessage } from './ratchet/message.js';
import { MAX_PREVIOUS_STATES, type SessionRecord, type SessionState } from './ratchet/session-record.js';

export type { ResponderKeys } from './pqxdh.js';

/**
 * Starts a session from a peer device's prekey bundle (the initiator, "Alice").
 * Verifies the bundle's signatures first. The returned record sends prekey
 * messages until the peer's first reply arrives. An existing session with the
 * same peer device moves to the record's previous states.
 */
export function initiateSession(ctx: ProtocolContext, ours: IdentityKeyPair, bundle: PreKeyBundle, existing?: SessionRecord): SessionRecord {
  const agreement = pqxdhInitiate(ctx, ours, bundle);
  // Double Ratchet §3.3 RatchetInitAlice: DHs = GENERATE_DH(); DHr = SPK_B; RK, CKs = KDF_RK(SK, DH(DHs, DHr)).
  const { keyPair: sendingRatchet, shared: [dh] } = generateX25519KeyPairAndAgree(ctx, [bundle.signedPreKey.publicKey]);
  const { rootKey, chainKey } = kdfRootKey(ctx.crypto, agreement.sharedKey, dh!);
  wipe(dh, agreement.sharedKey, agreement.baseKey.privateKey);
  const state: SessionState = {
    localIdentity: ours.publicKey,
    remoteIdentity: bundle.identityKey,
    associatedData: agreement.associatedData,
    rootKey,
    sendingRatchet,
    sendingChainKey: chainKey,
    sendingCounter: 0,
    previousCounter: 0,
    receivingChains: [],
    skippedKeys: [],
    pendingPreKey: {
      signedPreKeyId: bundle.signedPreKey.id,
      oneTimePreKeyId: bundle.oneTimePreKey?.id,
      pqPreKeyId: bundle.pqPreKey.id,
      pqCiphertext: agreement.pqCiphertext,
    },
    baseKey: agreement.baseKey.publicKey,
  };
  return withCurrent(existing, state);
}

/**
 * Makes `state` current. Previous states of another remote identity are
 * dropped: once a peer's identity changed, nothing may bring the old one back
 * (a thief holding the old session could otherwise revive it, protocol.md §7).
 */
function withCurrent(existing: SessionRecord | undefined, state: SessionState): SessionRecord {
  const previous = existing ? [...(existing.current ? [existing.current] : []), ...existing.previous] : [];
  return { current: state, previous: previous.filter((s) => bytesEqual(s.remoteIdentity, state.remoteIdentity)).slice(0, MAX_PREVIOUS_STATES) };
}

function assertMessageBytes(message: unknown): asserts message is Uint8Array {
  if (!(message instanceof Uint8Array)) throw new DecodeError('message must be bytes');
}

/** The peer identity (64 bytes) of the record's current session, if any. */
export function sessionRemoteIdentity(record: SessionRecord | undefined): Uint8Array | undefined {
  return record?.current?.remoteIdentity;
}

/**
 * Encrypts one message to the peer device. The message is a prekey message
 * while the initiator has not heard back, a ratchet message otherwise.
 */
export function encryptMessage(ctx: ProtocolContext, record: SessionRecord, plaintext: Uint8Array): { record: SessionRecord; message: Uint8Array } {
  const current = record.current;
  if (!current) throw new NoSessionError('no session with this device; fetch its prekey bundle and start one');
  const { state, message } = ratchetEncrypt(ctx.crypto, current, plaintext);
  const out = current.pendingPreKey
    ? encodePreKeyMessage({
      identityKey: current.localIdentity,
      baseKey: current.baseKey,
      signedPreKeyId: current.pendingPreKey.signedPreKeyId,
      oneTimePreKeyId: current.pendingPreKey.oneTimePreKeyId,
      pqPreKeyId: current.pendingPreKey.pqPreKeyId,
      pqCiphertext: current.pendingPreKey.pqCiphertext,
      message,
    })
    : message;
  return { record: { current: state, previous: record.previous }, message: out };
}

/** Decrypts with the state at `index` (0 = current, i+1 = previous[i]) and makes it current. */
function decryptWithState(ctx: ProtocolContext, record: SessionRecord, index: number, messageBytes: Uint8Array): { record: SessionRecord; plaintext: Uint8Array } {
  const states = [...(record.current ? [record.current] : []), ...record.previous];
  const { state, plaintext } = ratchetDecrypt(ctx, states[index]!, decodeRatchetMessage(messageBytes));
  states.splice(index, 1);
  return { record: { current: state, previous: states.slice(0, MAX_PREVIOUS_STATES) }, plaintext };
}

/**
 * Decrypts a ratchet (non-prekey) message. Tries the current session, then
 * previous ones (a peer may still be sending on a session we replaced).
 * Throws the current session's error when none decrypts.
 */
export function decryptMessage(ctx: ProtocolContext, record: SessionRecord | undefined, message: Uint8Array): { record: SessionRecord; plaintext: Uint8Array; remoteIdentity: Uint8Array } {
  assertMessageBytes(message);
  decodeRatchetMessage(message); // reject malformed input before touching any state
  const count = record ? (record.current ? 1 : 0) + record.previous.length : 0;
  if (!record || count === 0) throw new NoSessionError();
  let first: unknown;
  for (let i = 0; i < count; i++) {
    try {
      const out = decryptWithState(ctx, record, i, message);
      return { ...out, remoteIdentity: out.record.current!.remoteIdentity };
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      first ??= e;
    }
  }
  throw first;
}

export { decodePreKeyMessage as parsePreKeyMessage } from './ratchet/message.js';
export { messageType } from './ratchet/message.js';

export interface PreKeyDecryptResult {
  readonly record: SessionRecord;
  readonly plaintext: Uint8Array;
  /** The sender's identity public key (64 bytes): the caller decides whether it trusts it. */
  readonly remoteIdentity: Uint8Array;
  /**
   * Prekeys this message consumed; the caller deletes the one-time ones (and a
   * PQ prekey unless it is the last-resort key). Undefined when the message
   * belonged to a session that already existed (a duplicate or a later prekey message).
   */
  readonly consumed: { readonly oneTimePreKeyId: number | undefined; readonly pqPreKeyId: number } | undefined;
}

/**
 * Decrypts a prekey message (the responder, "Bob"). If the record already
 * holds the session this message started, decrypts with it (so a replayed
 * prekey message is a duplicate, not a new session); otherwise runs PQXDH with
 * `keys` and makes the new session current.
 */
export function decryptPreKeyMessage(
  ctx: ProtocolContext, record: SessionRecord | undefined, ours: IdentityKeyPair, keys: ResponderKeys, message: Uint8Array | PreKeyMessage,
): PreKeyDecryptResult {
  if (message === null || typeof message !== 'object') throw new DecodeError('message must be bytes or a parsed prekey message');
  const msg = message instanceof Uint8Array ? decodePreKeyMessage(message) : message;
  if (record) {
    const states = [...(record.current ? [record.current] : []), ...record.previous];
    const index = states.findIndex((s) => bytesEqual(s.baseKey, msg.baseKey) && bytesEqual(s.remoteIdentity, msg.identityKey));
    if (index >= 0) {
      const out = decryptWithState(ctx, record, index, msg.message);
      return { ...out, remoteIdentity: msg.identityKey, consumed: undefined };
    }
  }
  const { sharedKey, associatedData } = pqxdhRespond(ctx, ours, keys, msg);
  // Double Ratchet §3.3 RatchetInitBob: DHs = SPK_B, RK = SK; the first message's DH ratchet creates both chains.
  const initial: SessionState = {
    localIdentity: ours.publicKey,
    remoteIdentity: msg.identityKey,
    associatedData,
    rootKey: sharedKey,
    sendingRatchet: keys.signedPreKey!.keyPair,
    sendingChainKey: new Uint8Array(0),
    sendingCounter: 0,
    previousCounter: 0,
    receivingChains: [],
    skippedKeys: [],
    pendingPreKey: undefined,
    baseKey: msg.baseKey,
  };
  let decrypted: ReturnType<typeof ratchetDecrypt>;
  try {
    decrypted = ratchetDecrypt(ctx, initial, decodeRatchetMessage(msg.message));
  } finally {
    wipe(sharedKey); // SK: the first DH ratchet step replaced it
  }
  const { state, plaintext } = decrypted;
  return {
    record: withCurrent(record, state),
    plaintext,
    remoteIdentity: msg.identityKey,
    consumed: { oneTimePreKeyId: msg.oneTimePreKeyId, pqPreKeyId: msg.pqPreKeyId },
  };
}

