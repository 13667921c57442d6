/**
 * Multi-recipient sealed sender (groups.md §5): a group message is encrypted
 * once and uploaded once. One shared payload carries the sealed content under
 * a fresh message secret M; each recipient account gets a 32-byte header that
 * only its identity key turns back into M.
 *
 *   E = fresh X25519 key pair, M = 32 random bytes            (drawn in that order)
 *   (K, C)    = HKDF(M, 0^32, "Sigilo_MultiRecipient_Content_v1", 64)   K: AEAD key, C: key commitment
 *   shared    = 0x01 || E.public || C || AEAD(K, 0^12, SealedContent, ad = 0x01 || E.public || C)
 *   header_r  = M XOR SHA-256(u32be(1) || X25519(E, IKdh_r) || "Sigilo_MultiRecipient_Header_v1" || E.public || IK_r)
 *
 * The header KDF is the one-step KDF of NIST SP 800-56C rev. 2 (option 1,
 * H = SHA-256, one block): one hash per recipient instead of HKDF's two HMACs,
 * which matters at 1,000 recipients per message.
 *
 * A wrong or misused header yields another M, whose commitment does not match
 * (DecryptionError). The commitment also makes the payload decrypt to one
 * content only, whichever header opened it: every recipient reads the same
 * message. The sender is authenticated by the content (a sender-key message
 * signed with a key distributed pairwise), which the client MUST tie to the
 * certificate's account and device (groups.md §5.4).
 */
import { SealedContentSchema, SenderCertificateSchema } from '../gen/sigilo/protocol/v1/wire_pb.js';
import { bytesEqual, utf8, wipe } from '../bytes.js';
import { DecodeError, DecryptionError, InvalidArgumentError, InvalidCertificateError, InvalidKeyError, UnsupportedVersionError } from '../errors.js';
import { isCanonicalX25519PublicKey, IDENTITY_KEY_LENGTH, type IdentityKeyPair, type ProtocolContext } from '../keys.js';
import { decodeProto, encodeProto } from '../proto.js';
import { verifySenderCertificateCached, type SealedSenderCache, type TrustedServerKey, type UnsealedMessage } from '../sealed-sender.js';

/** Sealed content type of a sender-key message: the only type multi-recipient sealing carries. */
export const SEALED_CONTENT_SENDER_KEY = 3;
export const MULTI_RECIPIENT_VERSION = 1;
export const MULTI_RECIPIENT_HEADER_LENGTH = 32;
/** Bytes the shared payload adds to the SealedContent: version, E.public, commitment, AEAD tag. */
export const MULTI_RECIPIENT_OVERHEAD = 1 + 32 + 32 + 16;

const PREFIX_LENGTH = 1 + 32 + 32;
const CONTENT_INFO = utf8('Sigilo_MultiRecipient_Content_v1');
const HEADER_LABEL = utf8('Sigilo_MultiRecipient_Header_v1');
const ZERO_SALT = new Uint8Array(32);
const ZERO_NONCE = new Uint8Array(12);

/** The per-recipient KDF input: u32be(1) || Z (32) || label || E.public || IK_r; Z and IK_r are filled in per recipient. */
function headerKdfInput(ephemeralPublic: Uint8Array): Uint8Array {
  const input = new Uint8Array(4 + 32 + HEADER_LABEL.length + 32 + IDENTITY_KEY_LENGTH);
  input[3] = 1;
  input.set(HEADER_LABEL, 36);
  input.set(ephemeralPublic, 36 + HEADER_LABEL.length);
  return input;
}
const KDF_Z = 4;
const KDF_IK = 36 + HEADER_LABEL.length + 32;

function contentKeys(ctx: ProtocolContext, secret: Uint8Array): { key: Uint8Array; commitment: Uint8Array } {
  const out = ctx.crypto.hkdfSha256(secret, ZERO_SALT, CONTENT_INFO, 64);
  return { key: out.subarray(0, 32), commitment: out.subarray(32, 64) };
}

/**
 * Seals `content` once for every recipient account: returns the shared
 * payload and one 32-byte header per identity key, in the same order. The
 * same header serves every device of that account.
 */
export function sealMultiRecipient(
  ctx: ProtocolContext,
  args: { senderCertificate: Uint8Array; contentType: number; content: Uint8Array; recipientIdentityKeys: readonly Uint8Array[] },
): { shared: Uint8Array; headers: Uint8Array[] } {
  const { crypto } = ctx;
  const { senderCertificate, contentType, content, recipientIdentityKeys } = args;
  if (contentType !== SEALED_CONTENT_SENDER_KEY) throw new InvalidArgumentError('multi-recipient sealed content must be a sender-key message (3)');
  if (!(content instanceof Uint8Array)) throw new InvalidArgumentError('content must be a Uint8Array');
  if (!Array.isArray(recipientIdentityKeys) || recipientIdentityKeys.length === 0) throw new InvalidArgumentError('at least one recipient identity key is needed');
  // Canonical encodings only; a point of small order gives an all-zero agreement, which x25519Batch refuses (InvalidKeyError).
  const agreementKeys = recipientIdentityKeys.map((ik) => {
    if (!(ik instanceof Uint8Array) || ik.length !== IDENTITY_KEY_LENGTH) throw new InvalidKeyError('recipient identity keys must be 64 bytes');
    const agreement = ik.subarray(32);
    if (!isCanonicalX25519PublicKey(agreement)) throw new InvalidKeyError('recipient identity agreement key must be a canonical X25519 key');
    return agreement;
  });
  const certificate = decodeProto(SenderCertificateSchema, senderCertificate, 'sender certificate');

  const ephemeralPrivate = ctx.random(32);
  const secret = ctx.random(32);
  const { publicKey: ephemeralPublic, shared: dhs } = crypto.x25519Batch(ephemeralPrivate, agreementKeys);

  // Per recipient: one SHA-256 over a reused input buffer.
  const input = headerKdfInput(ephemeralPublic);
  const headers = new Array<Uint8Array>(dhs.length);
  for (let i = 0; i < dhs.length; i++) {
    input.set(dhs[i]!, KDF_Z);
    input.set(recipientIdentityKeys[i]!, KDF_IK);
    const pad = crypto.sha256(input);
    for (let j = 0; j < 32; j++) pad[j]! ^= secret[j]!;
    headers[i] = pad;
    dhs[i]!.fill(0);
  }
  input.fill(0, KDF_Z, KDF_Z + 32);

  const { key, commitment } = contentKeys(ctx, secret);
  const inner = encodeProto(SealedContentSchema, { senderCertificate: certificate, contentType, content });
  const prefix = new Uint8Array(PREFIX_LENGTH);
  prefix[0] = MULTI_RECIPIENT_VERSION;
  prefix.set(ephemeralPublic, 1);
  prefix.set(commitment, 33);
  const sealed = crypto.aes256GcmEncrypt(key, ZERO_NONCE, inner, prefix);
  const shared = new Uint8Array(PREFIX_LENGTH + sealed.length);
  shared.set(prefix, 0);
  shared.set(sealed, PREFIX_LENGTH);
  wipe(ephemeralPrivate, secret, key, inner);
  return { shared, headers };
}

/**
 * Opens a multi-recipient payload with this account's header: recovers M,
 * checks its commitment, decrypts, and verifies the sender certificate
 * (trusted signer, not expired at `now`, the server's acceptance time as for
 * unsealSender). A header of another recipient, or any changed byte, is
 * DecryptionError. The caller MUST then check that the sender key the content
 * decrypts with belongs to the certificate's account and device.
 */
export function unsealMultiRecipient(
  ctx: ProtocolContext, ours: IdentityKeyPair, header: Uint8Array, shared: Uint8Array, trusted: readonly TrustedServerKey[], now: number,
  cache?: SealedSenderCache,
): UnsealedMessage {
  const { crypto } = ctx;
  if (!(header instanceof Uint8Array) || header.length !== MULTI_RECIPIENT_HEADER_LENGTH) throw new DecodeError('multi-recipient header must be 32 bytes');
  if (!(shared instanceof Uint8Array) || shared.length === 0) throw new DecodeError('multi-recipient payload: expected bytes');
  if (shared[0] !== MULTI_RECIPIENT_VERSION) throw new UnsupportedVersionError(`multi-recipient payload version ${shared[0]} is not supported`);
  if (shared.length < MULTI_RECIPIENT_OVERHEAD) throw new DecodeError('multi-recipient payload is too short');
  const ephemeralPublic = shared.subarray(1, 33);
  if (!isCanonicalX25519PublicKey(ephemeralPublic)) throw new DecodeError('multi-recipient payload: ephemeral key must be a canonical X25519 key');
  const commitment = shared.subarray(33, PREFIX_LENGTH);

  const dh = crypto.x25519(ours.agreement.privateKey, ephemeralPublic);
  const input = headerKdfInput(ephemeralPublic);
  input.set(dh, KDF_Z);
  input.set(ours.publicKey, KDF_IK);
  const secret = crypto.sha256(input);
  for (let j = 0; j < 32; j++) secret[j]! ^= header[j]!;
  const keys = contentKeys(ctx, secret);
  let inner: Uint8Array;
  try {
    if (!bytesEqual(keys.commitment, commitment)) throw new DecryptionError('multi-recipient payload: the header does not open it (wrong recipient or altered bytes)');
    inner = crypto.aes256GcmDecrypt(keys.key, ZERO_NONCE, shared.subarray(PREFIX_LENGTH), shared.subarray(0, PREFIX_LENGTH));
  } finally {
    wipe(dh, secret, keys.key, input);
  }
  const content = decodeProto(SealedContentSchema, inner, 'sealed content');
  if (!content.senderCertificate) throw new InvalidCertificateError('sealed content carries no sender certificate');
  if (content.contentType !== SEALED_CONTENT_SENDER_KEY) throw new DecodeError(`multi-recipient content type ${content.contentType} is not a sender-key message`);
  const sender = verifySenderCertificateCached(crypto, trusted, content.senderCertificate, now, cache);
  return { sender, contentType: content.contentType, content: content.content };
}
