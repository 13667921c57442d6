/**
 * Ciphertext message encodings (protocol.md §5.5 and §4.4).
 *
 * Every ciphertext message starts with one byte: high nibble = protocol
 * version (1), low nibble = type (1 ratchet message, 2 prekey message).
 *
 * Ratchet message, fixed layout:
 *
 *     0      1                               33          37          41
 *     +------+-------------------------------+-----------+-----------+-----------------------+
 *     | 0x11 | ratchet public key (32 bytes) | N (u32be) | PN (u32be)| AES-256-GCM ct || tag |
 *     +------+-------------------------------+-----------+-----------+-----------------------+
 *     \_______________________ header (41 bytes) ______________________/
 *
 * The header is authenticated as associated data: AD = IK_A || IK_B || header.
 *
 * Prekey message: 0x12 followed by the protobuf PreKeyMessage (wire.proto),
 * whose `message` field holds a complete ratchet message.
 */
import { PreKeyMessageSchema } from '../gen/sigilo/protocol/v1/wire_pb.js';
import { readU32, writeU32 } from '../bytes.js';
import { DecodeError, UnsupportedVersionError } from '../errors.js';
import { IDENTITY_KEY_LENGTH, MLKEM768_CIPHERTEXT_LENGTH, isCanonicalX25519PublicKey } from '../keys.js';
import { decodeProto, encodeProto } from '../proto.js';

export const PROTOCOL_VERSION = 1;
export const RATCHET_MESSAGE_TYPE = 1;
export const PREKEY_MESSAGE_TYPE = 2;
export const RATCHET_HEADER_LENGTH = 41;
const TAG_LENGTH = 16;
const RATCHET_BYTE = (PROTOCOL_VERSION << 4) | RATCHET_MESSAGE_TYPE;
const PREKEY_BYTE = (PROTOCOL_VERSION << 4) | PREKEY_MESSAGE_TYPE;

export interface RatchetHeader {
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly previousCounter: number;
}

export interface RatchetMessage extends RatchetHeader {
  /** The 41 header bytes as sent, authenticated as associated data. */
  readonly header: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface PreKeyMessage {
  readonly identityKey: Uint8Array;
  readonly baseKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
  readonly pqPreKeyId: number;
  readonly pqCiphertext: Uint8Array;
  /** The embedded ratchet message, encoded. */
  readonly message: Uint8Array;
}

export type MessageType = 'ratchet' | 'prekey';

function checkVersion(first: number | undefined): number {
  if (first === undefined) throw new DecodeError('empty message');
  const version = first >> 4;
  if (version !== PROTOCOL_VERSION) throw new UnsupportedVersionError(`message version ${version} is not supported (this client speaks ${PROTOCOL_VERSION}); update the sender or this client`);
  return first & 0x0f;
}

/** The kind of a ciphertext message, from its first byte. */
export function messageType(message: Uint8Array): MessageType {
  const type = checkVersion(message[0]);
  if (type === RATCHET_MESSAGE_TYPE) return 'ratchet';
  if (type === PREKEY_MESSAGE_TYPE) return 'prekey';
  throw new DecodeError(`unknown message type ${type}`);
}

export function encodeRatchetHeader(ratchetKey: Uint8Array, counter: number, previousCounter: number, ciphertextLength: number): Uint8Array {
  const out = new Uint8Array(RATCHET_HEADER_LENGTH + ciphertextLength);
  out[0] = RATCHET_BYTE;
  out.set(ratchetKey, 1);
  writeU32(out, 33, counter);
  writeU32(out, 37, previousCounter);
  return out;
}

export function decodeRatchetMessage(bytes: Uint8Array): RatchetMessage {
  if (checkVersion(bytes[0]) !== RATCHET_MESSAGE_TYPE) throw new DecodeError('not a ratchet message');
  if (bytes.length < RATCHET_HEADER_LENGTH + TAG_LENGTH) throw new DecodeError('ratchet message is truncated');
  if (!isCanonicalX25519PublicKey(bytes.subarray(1, 33))) throw new DecodeError('ratchet message: ratchet key is not a canonical X25519 key');
  return {
    header: bytes.subarray(0, RATCHET_HEADER_LENGTH),
    ratchetKey: bytes.subarray(1, 33),
    counter: readU32(bytes, 33),
    previousCounter: readU32(bytes, 37),
    ciphertext: bytes.subarray(RATCHET_HEADER_LENGTH),
  };
}

export function encodePreKeyMessage(m: PreKeyMessage): Uint8Array {
  const body = encodeProto(PreKeyMessageSchema, {
    version: PROTOCOL_VERSION,
    identityKey: m.identityKey,
    baseKey: m.baseKey,
    signedPreKeyId: m.signedPreKeyId,
    oneTimePreKeyId: m.oneTimePreKeyId,
    pqPreKeyId: m.pqPreKeyId,
    pqCiphertext: m.pqCiphertext,
    message: m.message,
  });
  const out = new Uint8Array(1 + body.length);
  out[0] = PREKEY_BYTE;
  out.set(body, 1);
  return out;
}

export function decodePreKeyMessage(bytes: Uint8Array): PreKeyMessage {
  if (checkVersion(bytes[0]) !== PREKEY_MESSAGE_TYPE) throw new DecodeError('not a prekey message');
  const m = decodeProto(PreKeyMessageSchema, bytes.subarray(1), 'prekey message');
  if (m.version !== PROTOCOL_VERSION) throw new UnsupportedVersionError(`prekey message version ${m.version} is not supported`);
  if (m.identityKey.length !== IDENTITY_KEY_LENGTH || !isCanonicalX25519PublicKey(m.identityKey.subarray(32))) {
    throw new DecodeError('prekey message: identity key must be 64 bytes with a canonical X25519 half');
  }
  // X25519 ignores a public key's top bit (RFC 7748 §5), and the base key is not in the AD: a
  // non-canonical base key is the same key under other bytes, and would let a replayed prekey
  // message escape the duplicate check of §4.3 and start a second session.
  if (!isCanonicalX25519PublicKey(m.baseKey)) throw new DecodeError('prekey message: base key must be a canonical 32-byte X25519 key');
  if (m.pqCiphertext.length !== MLKEM768_CIPHERTEXT_LENGTH) throw new DecodeError('prekey message: PQ ciphertext must be 1088 bytes');
  decodeRatchetMessage(m.message); // validates the embedded message's shape
  return {
    identityKey: m.identityKey,
    baseKey: m.baseKey,
    signedPreKeyId: m.signedPreKeyId,
    oneTimePreKeyId: m.oneTimePreKeyId,
    pqPreKeyId: m.pqPreKeyId,
    pqCiphertext: m.pqCiphertext,
    message: m.message,
  };
}
