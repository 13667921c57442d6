/**
 * Signed read receipts (spec/receipts.md): the reader's identity key signs
 * that it read one message in one conversation at one time. Anyone holding the
 * message and its receipts can check them offline (the export file, §5).
 *
 *   digest  = SHA-256("Sigilo-MessageDigest-v1" ‖ message id ‖ u64 timestamp ‖ sender account ‖ sender identity
 *                     ‖ u32 len ‖ text ‖ u32 n ‖ attachment digests)
 *   payload = "Sigilo-ReadReceipt-v1" ‖ kind ‖ conversation id ‖ digest ‖ reader account ‖ reader identity ‖ u64 read at
 *   signature = Ed25519(reader identity signing key, payload)
 */
import { SignedReadReceiptSchema } from './gen/sigilo/client/v1/smp_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual, concatBytes, fromHex, toHex, u64be, utf8, writeU32 } from './bytes.js';
import { DecodeError, InvalidArgumentError, InvalidSignatureError, ReceiptMismatchError, UnsupportedVersionError } from './errors.js';
import { IDENTITY_KEY_LENGTH, type IdentityKeyPair } from './keys.js';
import { decodeProto, encodeProto } from './proto.js';

export const READ_RECEIPT_VERSION = 1;
export const RECEIPT_EXPORT_TYPE = 'sigilo-message-receipts';
const DIGEST_LABEL = utf8('Sigilo-MessageDigest-v1');
const RECEIPT_LABEL = utf8('Sigilo-ReadReceipt-v1');
const DIRECT_LABEL = utf8('Sigilo-DirectConversation-v1');

/** A conversation: a 1:1 one (id from directConversationId) or a group (its 32-byte group id). */
export interface ConversationRef {
  readonly kind: 'direct' | 'group';
  /** 32 bytes. */
  readonly id: Uint8Array;
}

/** The message as the sender sent it (the DataMessage fields the digest covers). */
export interface ReceiptedMessage {
  /** 16 bytes: DataMessage.message_id. */
  readonly messageId: Uint8Array;
  /** DataMessage.timestamp, Unix ms. */
  readonly timestamp: number;
  /** 16 bytes: the author's account id. */
  readonly senderAccountId: Uint8Array;
  /** 64 bytes: the identity key of the author's device that sent it. */
  readonly senderIdentityKey: Uint8Array;
  /** DataMessage.text exactly as decoded (no normalisation). */
  readonly text: string;
  /** AttachmentPointer.digest of each attachment, in message order (32 bytes each). */
  readonly attachmentDigests: readonly Uint8Array[];
}

export interface SignedReadReceipt {
  readonly conversation: ConversationRef;
  /** 32 bytes: messageDigest of the message read. */
  readonly messageDigest: Uint8Array;
  /** 16 bytes. */
  readonly readerAccountId: Uint8Array;
  /** 64 bytes: the reader device's identity public key. */
  readonly readerIdentityKey: Uint8Array;
  /** Unix ms, the reader's clock when the message was displayed. */
  readonly readAt: number;
  /** 64 bytes Ed25519 by the signing half of readerIdentityKey. */
  readonly signature: Uint8Array;
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new InvalidArgumentError(what);
}
const isBytes = (b: unknown, n: number): b is Uint8Array => b instanceof Uint8Array && b.length === n;
const isTime = (t: unknown): t is number => typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The id of the 1:1 conversation of two accounts: SHA-256("Sigilo-DirectConversation-v1" ‖ lower ‖ higher account id). */
export function directConversationId(crypto: CryptoProvider, accountA: Uint8Array, accountB: Uint8Array): Uint8Array {
  need(isBytes(accountA, 16) && isBytes(accountB, 16), 'account ids must be 16 bytes');
  const [lo, hi] = compareBytes(accountA, accountB) <= 0 ? [accountA, accountB] : [accountB, accountA];
  return crypto.sha256(concatBytes(DIRECT_LABEL, lo, hi));
}

function assertConversation(c: ConversationRef): void {
  need((c.kind === 'direct' || c.kind === 'group') && isBytes(c.id, 32), 'conversation must be direct or group with a 32-byte id');
}

/** SHA-256 over the message as the sender sent it (receipts.md §2). */
export function messageDigest(crypto: CryptoProvider, m: ReceiptedMessage): Uint8Array {
  need(isBytes(m.messageId, 16), 'message id must be 16 bytes');
  need(isTime(m.timestamp), 'timestamp must be Unix milliseconds');
  need(isBytes(m.senderAccountId, 16), 'sender account id must be 16 bytes');
  need(isBytes(m.senderIdentityKey, IDENTITY_KEY_LENGTH), 'sender identity key must be 64 bytes');
  need(typeof m.text === 'string', 'text must be a string');
  need(m.attachmentDigests.every((d) => isBytes(d, 32)), 'attachment digests must be 32 bytes');
  const text = utf8(m.text);
  const lengths = new Uint8Array(8);
  writeU32(lengths, 0, text.length);
  writeU32(lengths, 4, m.attachmentDigests.length);
  return crypto.sha256(concatBytes(
    DIGEST_LABEL, m.messageId, u64be(m.timestamp), m.senderAccountId, m.senderIdentityKey,
    lengths.subarray(0, 4), text, lengths.subarray(4, 8), ...m.attachmentDigests,
  ));
}

/** The bytes a reader signs (receipts.md §3); a hardware token signs these. */
export function readReceiptPayload(r: Omit<SignedReadReceipt, 'signature'>): Uint8Array {
  assertConversation(r.conversation);
  need(isBytes(r.messageDigest, 32), 'message digest must be 32 bytes');
  need(isBytes(r.readerAccountId, 16), 'reader account id must be 16 bytes');
  need(isBytes(r.readerIdentityKey, IDENTITY_KEY_LENGTH), 'reader identity key must be 64 bytes');
  need(isTime(r.readAt), 'read time must be Unix milliseconds');
  return concatBytes(
    RECEIPT_LABEL, Uint8Array.of(r.conversation.kind === 'direct' ? 1 : 2), r.conversation.id, r.messageDigest,
    r.readerAccountId, r.readerIdentityKey, u64be(r.readAt),
  );
}

/**
 * Signs a read receipt with the reader's identity. The caller must hold the
 * decrypted message: the digest is computed here from its content.
 */
export function createSignedReadReceipt(
  crypto: CryptoProvider,
  reader: { readonly accountId: Uint8Array; readonly identity: IdentityKeyPair },
  conversation: ConversationRef, message: ReceiptedMessage, readAt: number,
): SignedReadReceipt {
  const fields = {
    conversation, messageDigest: messageDigest(crypto, message), readerAccountId: reader.accountId,
    readerIdentityKey: reader.identity.publicKey, readAt,
  };
  return { ...fields, signature: reader.identity.signing.sign(readReceiptPayload(fields)) };
}

/** Wire form (SignedReadReceipt in smp.proto), to send inside the session. */
export function encodeSignedReadReceipt(r: SignedReadReceipt): Uint8Array {
  readReceiptPayload(r);
  need(isBytes(r.signature, 64), 'signature must be 64 bytes');
  return encodeProto(SignedReadReceiptSchema, {
    version: READ_RECEIPT_VERSION, conversationKind: r.conversation.kind === 'direct' ? 1 : 2, conversationId: r.conversation.id,
    messageDigest: r.messageDigest, readerAccountId: r.readerAccountId, readerIdentityKey: r.readerIdentityKey,
    readAt: BigInt(r.readAt), signature: r.signature,
  });
}

export function decodeSignedReadReceipt(bytes: Uint8Array): SignedReadReceipt {
  const m = decodeProto(SignedReadReceiptSchema, bytes, 'signed read receipt');
  if (m.version !== READ_RECEIPT_VERSION) throw new UnsupportedVersionError(`read receipt version ${m.version} is not supported`);
  if (m.conversationKind !== 1 && m.conversationKind !== 2) throw new DecodeError('read receipt: unknown conversation kind');
  if (m.conversationId.length !== 32 || m.messageDigest.length !== 32 || m.readerAccountId.length !== 16
    || m.readerIdentityKey.length !== IDENTITY_KEY_LENGTH || m.signature.length !== 64 || m.readAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DecodeError('read receipt: a field has the wrong size');
  }
  return {
    conversation: { kind: m.conversationKind === 1 ? 'direct' : 'group', id: m.conversationId },
    messageDigest: m.messageDigest, readerAccountId: m.readerAccountId, readerIdentityKey: m.readerIdentityKey,
    readAt: Number(m.readAt), signature: m.signature,
  };
}

/** Checks the signature alone: by the signing half of the receipt's own reader identity key. */
function checkSignature(crypto: CryptoProvider, r: SignedReadReceipt): void {
  if (!isBytes(r.signature, 64) || !crypto.ed25519Verify(r.readerIdentityKey.subarray(0, 32), readReceiptPayload(r), r.signature)) {
    throw new InvalidSignatureError('read receipt signature does not verify (forged or altered)');
  }
}

/**
 * Verifies a receipt as the sender receives it: signed by its reader
 * identity, for `expected.conversation` and `expected.messageDigest` (else
 * replayed from another message), by `expected.readerIdentityKey` and
 * account (else re-targeted). Throws InvalidSignatureError or ReceiptMismatchError.
 */
export function verifySignedReadReceipt(
  crypto: CryptoProvider, receipt: SignedReadReceipt,
  expected: { readonly conversation: ConversationRef; readonly messageDigest: Uint8Array; readonly readerAccountId: Uint8Array; readonly readerIdentityKey: Uint8Array },
): SignedReadReceipt {
  checkSignature(crypto, receipt);
  if (receipt.conversation.kind !== expected.conversation.kind || !bytesEqual(receipt.conversation.id, expected.conversation.id)) {
    throw new ReceiptMismatchError('read receipt is for another conversation');
  }
  if (!bytesEqual(receipt.messageDigest, expected.messageDigest)) throw new ReceiptMismatchError('read receipt is for another message');
  if (!bytesEqual(receipt.readerIdentityKey, expected.readerIdentityKey) || !bytesEqual(receipt.readerAccountId, expected.readerAccountId)) {
    throw new ReceiptMismatchError('read receipt is signed by another reader than the one it was received from');
  }
  return receipt;
}

// --- export file (receipts.md §5) ---------------------------------------------

export interface ReceiptExport {
  readonly conversation: ConversationRef;
  readonly message: ReceiptedMessage;
  readonly digest: Uint8Array;
  readonly receipts: readonly SignedReadReceipt[];
}

/** The JSON file of one message and its receipts (UTF-8, hex for bytes). Checks every receipt first. */
export function exportMessageReceipts(
  crypto: CryptoProvider, conversation: ConversationRef, message: ReceiptedMessage, receipts: readonly SignedReadReceipt[],
): string {
  const digest = messageDigest(crypto, message);
  for (const r of receipts) {
    verifySignedReadReceipt(crypto, r, { conversation, messageDigest: digest, readerAccountId: r.readerAccountId, readerIdentityKey: r.readerIdentityKey });
  }
  return JSON.stringify({
    type: RECEIPT_EXPORT_TYPE,
    version: READ_RECEIPT_VERSION,
    conversation: { kind: conversation.kind, id: toHex(conversation.id) },
    message: {
      id: toHex(message.messageId), timestamp: message.timestamp, senderAccountId: toHex(message.senderAccountId),
      senderIdentityKey: toHex(message.senderIdentityKey), text: message.text, attachmentDigests: message.attachmentDigests.map(toHex),
    },
    digest: toHex(digest),
    receipts: receipts.map((r) => ({
      readerAccountId: toHex(r.readerAccountId), readerIdentityKey: toHex(r.readerIdentityKey), readAt: r.readAt, signature: toHex(r.signature),
    })),
  }, null, 2) + '\n';
}

type Json = Record<string, unknown>;
function obj(v: unknown, what: string, keys: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DecodeError(`receipt file: ${what} must be an object`);
  const extra = Object.keys(v).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new DecodeError(`receipt file: ${what} has unknown fields (${extra.join(', ')})`);
  return v as Json;
}
function hex(v: unknown, n: number, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== 2 * n || !/^[0-9a-f]*$/.test(v)) throw new DecodeError(`receipt file: ${what} must be ${n} bytes of lowercase hex`);
  return fromHex(v);
}
function time(v: unknown, what: string): number {
  if (!isTime(v)) throw new DecodeError(`receipt file: ${what} must be Unix milliseconds`);
  return v;
}

/**
 * Checks an export file offline: recomputes the digest from the message and
 * checks every receipt's signature over (conversation, digest, reader, time).
 * Throws DecodeError for a malformed file, ReceiptMismatchError when the
 * message does not match its digest, InvalidSignatureError (message names the
 * receipt's index) for a bad receipt. What it proves: each listed identity key
 * signed that it read this message; who holds that key is for the safety
 * number, certificate or key log to say.
 */
export function verifyReceiptExport(crypto: CryptoProvider, file: string): ReceiptExport {
  let parsed: unknown;
  try { parsed = JSON.parse(file); } catch { throw new DecodeError('receipt file is not JSON'); }
  const top = obj(parsed, 'the file', ['type', 'version', 'conversation', 'message', 'digest', 'receipts']);
  if (top.type !== RECEIPT_EXPORT_TYPE) throw new DecodeError(`receipt file: type must be "${RECEIPT_EXPORT_TYPE}"`);
  if (top.version !== READ_RECEIPT_VERSION) throw new UnsupportedVersionError(`receipt file version ${String(top.version)} is not supported`);
  const c = obj(top.conversation, 'conversation', ['kind', 'id']);
  if (c.kind !== 'direct' && c.kind !== 'group') throw new DecodeError('receipt file: conversation kind must be "direct" or "group"');
  const conversation: ConversationRef = { kind: c.kind, id: hex(c.id, 32, 'conversation id') };
  const m = obj(top.message, 'message', ['id', 'timestamp', 'senderAccountId', 'senderIdentityKey', 'text', 'attachmentDigests']);
  if (typeof m.text !== 'string') throw new DecodeError('receipt file: message text must be a string');
  if (!Array.isArray(m.attachmentDigests)) throw new DecodeError('receipt file: attachmentDigests must be a list');
  const message: ReceiptedMessage = {
    messageId: hex(m.id, 16, 'message id'), timestamp: time(m.timestamp, 'message timestamp'),
    senderAccountId: hex(m.senderAccountId, 16, 'sender account id'), senderIdentityKey: hex(m.senderIdentityKey, IDENTITY_KEY_LENGTH, 'sender identity key'),
    text: m.text, attachmentDigests: m.attachmentDigests.map((d, i) => hex(d, 32, `attachment digest ${i}`)),
  };
  const digest = messageDigest(crypto, message);
  if (!bytesEqual(digest, hex(top.digest, 32, 'digest'))) throw new ReceiptMismatchError('receipt file: the message does not match its digest (altered)');
  if (!Array.isArray(top.receipts)) throw new DecodeError('receipt file: receipts must be a list');
  const receipts = top.receipts.map((raw, i) => {
    const r = obj(raw, `receipt ${i}`, ['readerAccountId', 'readerIdentityKey', 'readAt', 'signature']);
    const receipt: SignedReadReceipt = {
      conversation, messageDigest: digest,
      readerAccountId: hex(r.readerAccountId, 16, `receipt ${i} reader account id`),
      readerIdentityKey: hex(r.readerIdentityKey, IDENTITY_KEY_LENGTH, `receipt ${i} reader identity key`),
      readAt: time(r.readAt, `receipt ${i} read time`),
      signature: hex(r.signature, 64, `receipt ${i} signature`),
    };
    try {
      checkSignature(crypto, receipt);
    } catch {
      throw new InvalidSignatureError(`receipt ${i} does not verify: forged, altered, or for another message or conversation`);
    }
    return receipt;
  });
  return { conversation, message, digest, receipts };
}
