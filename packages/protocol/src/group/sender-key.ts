/**
 * Sender keys (groups.md §3), after Signal's sender keys: each sending device
 * has, per group and epoch, a symmetric chain and an Ed25519 signing key. The
 * owner hands the chain key and the signing public key to every member device
 * over pairwise sessions (the distribution); a group message is then encrypted
 * once with the next message key of the chain and signed.
 *
 *   mk = HMAC(ck, 0x01), ck' = HMAC(ck, 0x02)                    (as KDF_CK, protocol.md §5.2)
 *   (key, nonce) = HKDF(mk, 0^32, "Sigilo_SenderKey_MessageKeys_v1", 44)
 *   message = 0x13 || distribution id (16) || u32be(iteration) || AEAD(key, nonce, plaintext, ad = header) || signature (64)
 *   signature = Ed25519(signing key, "Sigilo-SenderKeyMessage-v1" || everything before the signature)
 *
 * Records are opaque versioned bytes (storage.proto SenderKeyRecordStructure).
 * Every function is pure: the record passed in is never changed, and on any
 * error the caller's record is still the valid one.
 */
import { SenderKeyRecordStructureSchema } from '../gen/sigilo/protocol/v1/storage_pb.js';
import { SenderKeyDistributionMessageSchema } from '../gen/sigilo/protocol/v1/group_pb.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { bytesEqual, readU32, utf8, wipe, writeU32 } from '../bytes.js';
import {
  DecodeError, DecryptionError, DuplicateMessageError, InvalidArgumentError, InvalidKeyError, InvalidSignatureError,
  TooManySkippedError, UnsupportedVersionError,
} from '../errors.js';
import type { ProtocolContext } from '../keys.js';
import { decodeProto, encodeProto } from '../proto.js';
import { kdfChainKey } from '../ratchet/kdf.js';

export const SENDER_KEY_VERSION = 1;
/** First byte of a sender-key message: version 1, type 3 (1 and 2 are the 1:1 ratchet and prekey messages). */
export const SENDER_KEY_MESSAGE_BYTE = 0x13;
export const DISTRIBUTION_ID_LENGTH = 16;
/** A message at most this many iterations ahead of the record is accepted (the keys in between are kept). */
export const MAX_SENDER_KEY_FUTURE = 2000;
/** A receiver record keeps at most this many skipped message keys; the oldest are evicted. */
export const MAX_SENDER_KEY_SKIPPED = 2000;
/** The last iteration a sender key may use; then the owner creates a new sender key. */
export const MAX_SENDER_KEY_ITERATION = 0xfffffffe;

const HEADER_LENGTH = 1 + DISTRIBUTION_ID_LENGTH + 4;
const SIGNATURE_LENGTH = 64;
const TAG_LENGTH = 16;
const MIN_MESSAGE_LENGTH = HEADER_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH;
const MESSAGE_KEYS_INFO = utf8('Sigilo_SenderKey_MessageKeys_v1');
const SIGNATURE_LABEL = utf8('Sigilo-SenderKeyMessage-v1');
const ZERO_SALT = new Uint8Array(32);

interface SkippedSenderKey {
  readonly iteration: number;
  readonly messageKey: Uint8Array;
}

/** A decoded record (internal: callers hold bytes). */
interface SenderKeyState {
  readonly distributionId: Uint8Array;
  readonly signingPublic: Uint8Array;
  /** Empty on a receiver's record. */
  readonly signingPrivate: Uint8Array;
  readonly chainKey: Uint8Array;
  readonly iteration: number;
  /** Oldest first. */
  readonly skipped: readonly SkippedSenderKey[];
}

function encodeRecord(s: SenderKeyState): Uint8Array {
  return encodeProto(SenderKeyRecordStructureSchema, {
    version: SENDER_KEY_VERSION,
    distributionId: s.distributionId,
    signingPublic: s.signingPublic,
    signingPrivate: s.signingPrivate,
    chainKey: s.chainKey,
    iteration: s.iteration,
    skipped: s.skipped.map((k) => ({ iteration: k.iteration, messageKey: k.messageKey })),
  });
}

function decodeRecord(bytes: Uint8Array): SenderKeyState {
  const r = decodeProto(SenderKeyRecordStructureSchema, bytes, 'sender key record');
  if (r.version !== SENDER_KEY_VERSION) throw new UnsupportedVersionError(`sender key record version ${r.version} is not supported`);
  if (r.distributionId.length !== DISTRIBUTION_ID_LENGTH || r.signingPublic.length !== 32 || r.chainKey.length !== 32
    || (r.signingPrivate.length !== 0 && r.signingPrivate.length !== 32)) {
    throw new DecodeError('sender key record: a field has the wrong length');
  }
  if (r.skipped.length > MAX_SENDER_KEY_SKIPPED) throw new DecodeError('sender key record: too many skipped keys');
  for (const k of r.skipped) {
    if (k.messageKey.length !== 32 || k.iteration >= r.iteration) throw new DecodeError('sender key record: malformed skipped key');
  }
  return {
    distributionId: r.distributionId,
    signingPublic: r.signingPublic,
    signingPrivate: r.signingPrivate,
    chainKey: r.chainKey,
    iteration: r.iteration,
    skipped: r.skipped.map((k) => ({ iteration: k.iteration, messageKey: k.messageKey })),
  };
}

function encodeDistribution(s: SenderKeyState): Uint8Array {
  return encodeProto(SenderKeyDistributionMessageSchema, {
    version: SENDER_KEY_VERSION,
    distributionId: s.distributionId,
    iteration: s.iteration,
    chainKey: s.chainKey,
    signingKey: s.signingPublic,
  });
}

function decodeDistribution(distribution: Uint8Array) {
  const d = decodeProto(SenderKeyDistributionMessageSchema, distribution, 'sender key distribution');
  if (d.version !== SENDER_KEY_VERSION) throw new UnsupportedVersionError(`sender key distribution version ${d.version} is not supported`);
  if (d.distributionId.length !== DISTRIBUTION_ID_LENGTH || d.chainKey.length !== 32) throw new DecodeError('sender key distribution: a field has the wrong length');
  if (d.signingKey.length !== 32) throw new InvalidKeyError('sender key distribution: the signing key must be 32 bytes');
  if (d.iteration > MAX_SENDER_KEY_ITERATION) throw new DecodeError('sender key distribution: iteration out of range');
  return d;
}

/** A message key expands to an AES-256-GCM key and nonce, labelled apart from the 1:1 ratchet's. */
export function expandSenderMessageKey(crypto: CryptoProvider, messageKey: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const out = crypto.hkdfSha256(messageKey, ZERO_SALT, MESSAGE_KEYS_INFO, 44);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 44) };
}

/**
 * Creates a sender key for one group and epoch. Draws, in order: the 16-byte
 * distribution id, the 32-byte chain key, the 32-byte Ed25519 signing seed.
 */
export function createSenderKey(ctx: ProtocolContext): { distributionId: Uint8Array; record: Uint8Array; distribution: Uint8Array } {
  const distributionId = ctx.random(DISTRIBUTION_ID_LENGTH);
  const chainKey = ctx.random(32);
  const signingPrivate = ctx.random(32);
  const state: SenderKeyState = {
    distributionId, chainKey, signingPrivate, signingPublic: ctx.crypto.ed25519PublicKey(signingPrivate), iteration: 0, skipped: [],
  };
  return { distributionId: distributionId.slice(), record: encodeRecord(state), distribution: encodeDistribution(state) };
}

/** The distribution message of the owner's record at its current iteration. */
export function senderKeyDistribution(record: Uint8Array): Uint8Array {
  const state = decodeRecord(record);
  if (state.signingPrivate.length === 0) throw new InvalidArgumentError('only the owner\'s sender key record can be distributed');
  return encodeDistribution(state);
}

/** Whether a record is the owner's (it can encrypt) rather than a receiver's. */
export function isOwnSenderKey(record: Uint8Array): boolean {
  return decodeRecord(record).signingPrivate.length !== 0;
}

/** The distribution id of a sender-key record. */
export function senderKeyRecordDistributionId(record: Uint8Array): Uint8Array {
  return decodeRecord(record).distributionId;
}

/**
 * A receiver's record from a distribution (which MUST have come over an
 * authenticated pairwise session from the sender key's owner).
 *
 * With `existing` (the record already held for this distribution id), the
 * existing record is kept and returned: it already covers every message it can
 * still accept, and replacing it with an earlier iteration would reopen
 * message keys that were used (replays). A distribution naming the same id
 * with another signing key is refused (InvalidKeyError).
 */
export function processSenderKeyDistribution(
  ctx: ProtocolContext, distribution: Uint8Array, existing?: Uint8Array,
): { distributionId: Uint8Array; iteration: number; record: Uint8Array } {
  void ctx;
  const d = decodeDistribution(distribution);
  if (existing !== undefined) {
    const held = decodeRecord(existing);
    if (!bytesEqual(held.distributionId, d.distributionId)) throw new InvalidArgumentError('the existing record belongs to another distribution id');
    if (!bytesEqual(held.signingPublic, d.signingKey)) {
      throw new InvalidKeyError('this distribution id already names another signing key: keep the existing record and ask the sender to create a new sender key');
    }
    return { distributionId: held.distributionId, iteration: held.iteration, record: existing.slice() };
  }
  const state: SenderKeyState = {
    distributionId: d.distributionId, signingPublic: d.signingKey, signingPrivate: new Uint8Array(0),
    chainKey: d.chainKey, iteration: d.iteration, skipped: [],
  };
  return { distributionId: d.distributionId.slice(), iteration: d.iteration, record: encodeRecord(state) };
}

function header(distributionId: Uint8Array, iteration: number): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  h[0] = SENDER_KEY_MESSAGE_BYTE;
  h.set(distributionId, 1);
  writeU32(h, 1 + DISTRIBUTION_ID_LENGTH, iteration);
  return h;
}

function signedBytes(unsigned: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_LABEL.length + unsigned.length);
  out.set(SIGNATURE_LABEL, 0);
  out.set(unsigned, SIGNATURE_LABEL.length);
  return out;
}

/** Encrypts with the owner's record: the next message key, then the chain moves on (that key is gone). */
export function senderKeyEncrypt(ctx: ProtocolContext, record: Uint8Array, plaintext: Uint8Array): { record: Uint8Array; message: Uint8Array } {
  const { crypto } = ctx;
  if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('plaintext must be a Uint8Array');
  const state = decodeRecord(record);
  if (state.signingPrivate.length === 0) throw new InvalidArgumentError('a receiver\'s sender key record cannot encrypt: use the own record');
  if (state.iteration > MAX_SENDER_KEY_ITERATION) throw new InvalidArgumentError('this sender key is exhausted: create a new sender key');
  const { messageKey, chainKey } = kdfChainKey(crypto, state.chainKey);
  const { key, nonce } = expandSenderMessageKey(crypto, messageKey);
  const head = header(state.distributionId, state.iteration);
  const ciphertext = crypto.aes256GcmEncrypt(key, nonce, plaintext, head);
  const message = new Uint8Array(HEADER_LENGTH + ciphertext.length + SIGNATURE_LENGTH);
  message.set(head, 0);
  message.set(ciphertext, HEADER_LENGTH);
  const signature = crypto.ed25519Sign(state.signingPrivate, signedBytes(message.subarray(0, HEADER_LENGTH + ciphertext.length)));
  message.set(signature, HEADER_LENGTH + ciphertext.length);
  wipe(messageKey, key, nonce);
  return { record: encodeRecord({ ...state, chainKey, iteration: state.iteration + 1 }), message };
}

interface ParsedSenderKeyMessage {
  readonly distributionId: Uint8Array;
  readonly iteration: number;
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

function parseMessage(message: Uint8Array): ParsedSenderKeyMessage {
  if (!(message instanceof Uint8Array)) throw new DecodeError('sender key message: expected bytes');
  if (message.length > 0 && message[0]! >> 4 !== SENDER_KEY_VERSION) throw new UnsupportedVersionError(`sender key message version ${message[0]! >> 4} is not supported`);
  if (message.length < MIN_MESSAGE_LENGTH || message[0] !== SENDER_KEY_MESSAGE_BYTE) throw new DecodeError('sender key message: malformed');
  const iteration = readU32(message, 1 + DISTRIBUTION_ID_LENGTH);
  if (iteration > MAX_SENDER_KEY_ITERATION) throw new DecodeError('sender key message: iteration out of range');
  const end = message.length - SIGNATURE_LENGTH;
  return {
    distributionId: message.slice(1, 1 + DISTRIBUTION_ID_LENGTH),
    iteration,
    header: message.subarray(0, HEADER_LENGTH),
    ciphertext: message.subarray(HEADER_LENGTH, end),
    signed: message.subarray(0, end),
    signature: message.subarray(end),
  };
}

/** The distribution id a sender-key message names, to find its record. Parses only; verifies nothing. */
export function senderKeyMessageDistributionId(message: Uint8Array): Uint8Array {
  return parseMessage(message).distributionId;
}

/** The iteration a sender-key message claims (parse only). */
export function senderKeyMessageIteration(message: Uint8Array): number {
  return parseMessage(message).iteration;
}

/**
 * Decrypts with a receiver's record. The signature is verified first, so a
 * forged message can neither move the chain nor use up a key. A message key
 * is deleted once used: a replay is DuplicateMessageError, as is a message
 * older than the record (its key was used, evicted, or never held).
 */
export function senderKeyDecrypt(ctx: ProtocolContext, record: Uint8Array, message: Uint8Array): { record: Uint8Array; plaintext: Uint8Array } {
  const { crypto } = ctx;
  const m = parseMessage(message);
  const state = decodeRecord(record);
  if (state.signingPrivate.length !== 0) throw new InvalidArgumentError('the owner\'s sender key record does not decrypt: it only encrypts');
  if (!bytesEqual(m.distributionId, state.distributionId)) throw new InvalidArgumentError('the message belongs to another sender key: look the record up by its distribution id');
  if (!crypto.ed25519Verify(state.signingPublic, signedBytes(m.signed), m.signature)) {
    throw new InvalidSignatureError('sender key message signature does not verify');
  }

  let messageKey: Uint8Array;
  let next: SenderKeyState;
  if (m.iteration < state.iteration) {
    const at = state.skipped.findIndex((k) => k.iteration === m.iteration);
    if (at < 0) throw new DuplicateMessageError('sender key message already received, or older than this record: its key is gone');
    messageKey = state.skipped[at]!.messageKey;
    next = { ...state, skipped: state.skipped.filter((_, i) => i !== at) };
  } else {
    if (m.iteration - state.iteration > MAX_SENDER_KEY_FUTURE) {
      throw new TooManySkippedError(`sender key message is more than ${MAX_SENDER_KEY_FUTURE} iterations ahead: ask the sender for its sender key again`);
    }
    const skipped = [...state.skipped];
    let chainKey = state.chainKey;
    for (let i = state.iteration; i < m.iteration; i++) {
      const step = kdfChainKey(crypto, chainKey);
      skipped.push({ iteration: i, messageKey: step.messageKey });
      chainKey = step.chainKey;
    }
    const step = kdfChainKey(crypto, chainKey);
    messageKey = step.messageKey;
    next = { ...state, chainKey: step.chainKey, iteration: m.iteration + 1, skipped: skipped.slice(Math.max(0, skipped.length - MAX_SENDER_KEY_SKIPPED)) };
  }
  const { key, nonce } = expandSenderMessageKey(crypto, messageKey);
  try {
    const plaintext = crypto.aes256GcmDecrypt(key, nonce, m.ciphertext, m.header);
    return { record: encodeRecord(next), plaintext };
  } catch (e) {
    if (e instanceof DecryptionError) throw new DecryptionError('sender key message failed authentication: it was signed but not encrypted with this chain');
    throw e;
  } finally {
    wipe(key, nonce);
  }
}
