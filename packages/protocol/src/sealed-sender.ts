/**
 * Sealed sender (protocol.md §6). The relay sees only the recipient; the
 * sender's identity and a server-issued sender certificate travel inside two
 * encryption layers, after the design of Signal's sealed sender v1:
 *
 *   e = fresh X25519 key pair
 *   (chain, k1) = HKDF(DH(e, IK_R), salt = "Sigilo_SealedSender_v1" || IK_R || e.pub, "Sigilo_SealedSender_Ephemeral", 64)
 *   encrypted_static  = AES-256-GCM(k1, 0^12, IK_S, aad = e.pub)
 *   k2 = HKDF(DH(IK_S, IK_R), salt = chain || encrypted_static, "Sigilo_SealedSender_Static", 32)
 *   encrypted_content = AES-256-GCM(k2, 0^12, SealedContent, aad = encrypted_static)
 *
 * IK_S and IK_R are 64-byte identity public keys; the DHs use their X25519 halves.
 * The second layer proves the sender holds IK_S (only IK_S's owner or the
 * recipient can compute k2), so a relay cannot re-wrap someone else's content.
 */
import { SealedContentSchema, SealedSenderEnvelopeSchema, SenderCertificate_BodySchema, SenderCertificateSchema } from './gen/sigilo/protocol/v1/wire_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual, concatBytes, utf8, wipe } from './bytes.js';
import { DecodeError, ExpiredCertificateError, InvalidArgumentError, InvalidCertificateError, SenderMismatchError, UnsupportedVersionError } from './errors.js';
import { IDENTITY_KEY_LENGTH, isCanonicalX25519PublicKey, generateX25519KeyPairAndAgree, identityAgreementKey, type IdentityKeyPair, type ProtocolContext } from './keys.js';
import { decodeProto, encodeProto } from './proto.js';

export const SEALED_SENDER_VERSION = 1;
/** The sealed content is a ratchet message (1) or a prekey message (2); nothing else rides on sealed sender alone. */
export const SEALED_CONTENT_RATCHET = 1;
export const SEALED_CONTENT_PREKEY = 2;
const isContentType = (t: number) => t === SEALED_CONTENT_RATCHET || t === SEALED_CONTENT_PREKEY;
const SALT_LABEL = utf8('Sigilo_SealedSender_v1');
const EPHEMERAL_INFO = utf8('Sigilo_SealedSender_Ephemeral');
const STATIC_INFO = utf8('Sigilo_SealedSender_Static');
const CERTIFICATE_LABEL = utf8('Sigilo-SenderCertificate-v1');
const ZERO_NONCE = new Uint8Array(12);

export interface SenderIdentity {
  /** 16-byte account id. */
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  /** 64-byte identity public key. */
  readonly identityKey: Uint8Array;
}

export interface SenderCertificateBody extends SenderIdentity {
  /** Unix milliseconds after which the certificate is refused. */
  readonly expires: number;
  readonly signerKeyId: number;
}

/** A server certificate key a client trusts (learned when it pinned the server). */
export interface TrustedServerKey {
  readonly keyId: number;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** Issues a sender certificate (server side): Ed25519 over "Sigilo-SenderCertificate-v1" || body. */
export function issueSenderCertificate(
  crypto: CryptoProvider,
  signer: { readonly keyId: number; readonly privateKey: Uint8Array },
  body: { readonly accountId: Uint8Array; readonly deviceId: number; readonly identityKey: Uint8Array; readonly expires: number },
): Uint8Array {
  if (body.accountId.length !== 16) throw new InvalidArgumentError('account id must be 16 bytes');
  if (body.identityKey.length !== IDENTITY_KEY_LENGTH) throw new InvalidArgumentError('identity key must be 64 bytes');
  if (!Number.isSafeInteger(body.expires) || body.expires < 0) throw new InvalidArgumentError('expiry must be Unix milliseconds');
  const certificate = encodeProto(SenderCertificate_BodySchema, {
    accountId: body.accountId,
    deviceId: body.deviceId,
    identityKey: body.identityKey,
    expires: BigInt(body.expires),
    signerKeyId: signer.keyId,
  });
  const signature = crypto.ed25519Sign(signer.privateKey, concatBytes(CERTIFICATE_LABEL, certificate));
  return encodeProto(SenderCertificateSchema, { certificate, signature });
}

/**
 * Verifies a sender certificate: signed by a trusted server key, not expired
 * at `now`. Throws InvalidCertificateError, ExpiredCertificateError or DecodeError.
 */
export function verifySenderCertificate(crypto: CryptoProvider, trusted: readonly TrustedServerKey[], certificate: Uint8Array, now: number): SenderCertificateBody {
  const outer = decodeProto(SenderCertificateSchema, certificate, 'sender certificate');
  const body = decodeProto(SenderCertificate_BodySchema, outer.certificate, 'sender certificate body');
  const key = trusted.find((k) => k.keyId === body.signerKeyId);
  if (!key) throw new InvalidCertificateError('sender certificate is signed by an unknown server key; refresh the server keys');
  if (!crypto.ed25519Verify(key.publicKey, concatBytes(CERTIFICATE_LABEL, outer.certificate), outer.signature)) {
    throw new InvalidCertificateError('sender certificate signature does not verify');
  }
  if (body.accountId.length !== 16 || body.identityKey.length !== IDENTITY_KEY_LENGTH) throw new InvalidCertificateError('sender certificate fields are malformed');
  const expires = Number(body.expires);
  if (expires <= now) throw new ExpiredCertificateError();
  return { accountId: body.accountId, deviceId: body.deviceId, identityKey: body.identityKey, expires, signerKeyId: body.signerKeyId };
}

/** (chain key ‖ k1): the first 32 bytes are the chain key, the last 32 the key of encrypted_static. */
function ephemeralKeysStep(dh: Uint8Array, recipientIdentity: Uint8Array, ephemeralPublic: Uint8Array) {
  return { op: 'hkdf', ikm: dh, salt: concatBytes(SALT_LABEL, recipientIdentity, ephemeralPublic), info: EPHEMERAL_INFO, length: 64 } as const;
}

function ephemeralKeys(crypto: CryptoProvider, dh: Uint8Array, recipientIdentity: Uint8Array, ephemeralPublic: Uint8Array) {
  const s = ephemeralKeysStep(dh, recipientIdentity, ephemeralPublic);
  const out = crypto.hkdfSha256(s.ikm, s.salt, s.info, s.length);
  return { chainKey: out.subarray(0, 32), key: out.subarray(32, 64) };
}

function staticKeyStep(dh: Uint8Array, chainKey: Uint8Array, encryptedStatic: Uint8Array) {
  return { op: 'hkdf', ikm: dh, salt: concatBytes(chainKey, encryptedStatic), info: STATIC_INFO, length: 32 } as const;
}

function staticKey(crypto: CryptoProvider, dh: Uint8Array, chainKey: Uint8Array, encryptedStatic: Uint8Array): Uint8Array {
  const s = staticKeyStep(dh, chainKey, encryptedStatic);
  return crypto.hkdfSha256(s.ikm, s.salt, s.info, s.length);
}

/**
 * Wraps `content` for the recipient identity; only the recipient learns who sent it.
 *
 * With a cache, the static agreement X25519(IK_S, IK_R) is kept per recipient
 * (see SealedSenderCache): the same for every envelope to that identity, so a
 * sender writing to many members (a group's key rotation) pays one agreement
 * per envelope (the ephemeral one) instead of two. The envelope is the same
 * bytes with or without the cache.
 */
export function sealSender(
  ctx: ProtocolContext, ours: IdentityKeyPair, recipientIdentityKey: Uint8Array, senderCertificate: Uint8Array, contentType: number, content: Uint8Array,
  cache?: SealedSenderCache,
): Uint8Array {
  const { crypto } = ctx;
  if (!isContentType(contentType)) throw new InvalidArgumentError('sealed content must be a ratchet (1) or prekey (2) message');
  const recipientAgreement = identityAgreementKey(recipientIdentityKey);
  const { keyPair: e, shared: [dh1] } = generateX25519KeyPairAndAgree(ctx, [recipientAgreement]);
  const { chainKey, key } = ephemeralKeys(crypto, dh1!, recipientIdentityKey, e.publicKey);
  const encryptedStatic = crypto.aes256GcmEncrypt(key, ZERO_NONCE, ours.publicKey, e.publicKey);
  const { secret: dh2, cached } = staticSecret(crypto, ours, recipientAgreement, cache);
  const k2 = staticKey(crypto, dh2, chainKey, encryptedStatic);
  const inner = encodeProto(SealedContentSchema, {
    senderCertificate: decodeProto(SenderCertificateSchema, senderCertificate, 'sender certificate'),
    contentType,
    content,
  });
  const encryptedContent = crypto.aes256GcmEncrypt(k2, ZERO_NONCE, inner, encryptedStatic);
  wipe(dh1, chainKey, key, k2, e.privateKey);
  if (!cached) wipe(dh2);
  return encodeProto(SealedSenderEnvelopeSchema, { version: SEALED_SENDER_VERSION, ephemeralKey: e.publicKey, encryptedStatic, encryptedContent });
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!;
  return s;
}

/**
 * X25519(our identity, their identity agreement key): the static agreement of
 * both directions (the sender's X25519(IK_S, IK_R) is the receiver's
 * X25519(IK_R, IK_S)), so one cache entry per pair of identities serves both.
 * Keyed by both agreement public keys, so a cache can never hand one identity
 * another's secret. Bounded: the oldest entry goes when it is full. `cached`:
 * the secret belongs to the cache and must not be wiped by the caller.
 */
function staticSecret(
  crypto: CryptoProvider, ours: IdentityKeyPair, theirAgreement: Uint8Array, cache: SealedSenderCache | undefined,
): { secret: Uint8Array; cached: boolean } {
  if (!cache) return { secret: crypto.x25519(ours.agreement.privateKey, theirAgreement), cached: false };
  const id = hexOf(ours.agreement.publicKey) + hexOf(theirAgreement);
  const kept = cache.staticSecrets.get(id);
  if (kept) return { secret: kept, cached: true };
  const secret = crypto.x25519(ours.agreement.privateKey, theirAgreement);
  remember(cache.staticSecrets, id, secret, (old) => old.fill(0));
  return { secret, cached: true };
}

/** Adds to a bounded cache, dropping (and handing to `dropped`) the oldest entry when it is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, dropped?: (old: V) => void): void {
  if (map.size >= MAX_CACHED) {
    const [oldKey, old] = map.entries().next().value!;
    map.delete(oldKey);
    dropped?.(old);
  }
  map.set(key, value);
}

export interface UnsealedMessage {
  readonly sender: SenderCertificateBody;
  readonly contentType: number;
  readonly content: Uint8Array;
}

/**
 * What a client may keep between envelopes to save work (bounded, 4096 entries
 * each, the oldest dropped first):
 * - staticSecrets: the static agreement between our identity and a peer's
 *   (X25519(IK_R, IK_S) when receiving from it, X25519(IK_S, IK_R) when sending
 *   to it: the same value), keyed by both X25519 public keys. The same for
 *   every envelope between two identities, and no more secret than our identity
 *   key, which the client holds anyway;
 * - certificates: verified certificate bodies by the hex of the certificate's
 *   signed bytes and signature; expiry is still checked against `now` each time,
 *   the trusted keys are not: clear it whenever the trusted server keys change.
 */
export interface SealedSenderCache {
  readonly staticSecrets: Map<string, Uint8Array>;
  readonly certificates: Map<string, SenderCertificateBody>;
}
const MAX_CACHED = 4096;

/**
 * Opens an envelope addressed to `ours`: decrypts both layers, verifies the
 * certificate (trusted signer, not expired at `now`) and that its identity is
 * the key that sealed the envelope. A wrong recipient fails with DecryptionError.
 *
 * `now` is the time the server accepted the envelope (Deliver.server_timestamp),
 * not the time of reading: a device offline for longer than a certificate's
 * lifetime must still open what was queued for it (protocol.md §6.3).
 */
export function unsealSender(
  ctx: ProtocolContext, ours: IdentityKeyPair, envelope: Uint8Array, trusted: readonly TrustedServerKey[], now: number, cache?: SealedSenderCache,
): UnsealedMessage {
  const { crypto } = ctx;
  const run = unsealing(ctx, ours, envelope, trusted, now, cache);
  let step = run.next();
  while (!step.done) {
    const s = step.value;
    let out: Uint8Array;
    try {
      out = s.op === 'hkdf' ? crypto.hkdfSha256(s.ikm, s.salt, s.info, s.length) : crypto.aes256GcmDecrypt(s.key, ZERO_NONCE, s.ciphertext, s.aad);
    } catch (e) {
      step = run.throw(e);
      continue;
    }
    step = run.next(out);
  }
  return step.value;
}

/** The platform's asynchronous HKDF-SHA256 and AES-256-GCM decryption (WebCrypto in a browser). */
export interface AsyncSymmetricCrypto {
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** AES-256-GCM with a 12-byte nonce; rejects when the tag does not verify. */
  aes256GcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/**
 * unsealSender with its HKDF and AES-GCM steps done by `symmetric` (the X25519
 * ones still by ctx.crypto): the same checks in the same order, the same result.
 * Many envelopes can be opened at once this way (a batch of deliveries) while
 * the platform computes in parallel. Errors may differ in type from
 * unsealSender's (the platform's own): a caller that needs the typed error
 * opens the envelope again with unsealSender.
 */
export async function unsealSenderAsync(
  ctx: ProtocolContext, symmetric: AsyncSymmetricCrypto, ours: IdentityKeyPair, envelope: Uint8Array, trusted: readonly TrustedServerKey[], now: number,
  cache?: SealedSenderCache,
): Promise<UnsealedMessage> {
  const run = unsealing(ctx, ours, envelope, trusted, now, cache);
  let step = run.next();
  while (!step.done) {
    const s = step.value;
    let out: Uint8Array;
    try {
      out = await (s.op === 'hkdf' ? symmetric.hkdfSha256(s.ikm, s.salt, s.info, s.length) : symmetric.aes256GcmDecrypt(s.key, ZERO_NONCE, s.ciphertext, s.aad));
    } catch (e) {
      step = run.throw(e);
      continue;
    }
    step = run.next(out);
  }
  return step.value;
}

/** A symmetric step of unsealing, done by whoever drives `unsealing` (the CryptoProvider, or the platform asynchronously). */
type UnsealStep =
  | { readonly op: 'hkdf'; readonly ikm: Uint8Array; readonly salt: Uint8Array; readonly info: Uint8Array; readonly length: number }
  | { readonly op: 'gcm-decrypt'; readonly key: Uint8Array; readonly ciphertext: Uint8Array; readonly aad: Uint8Array };

/**
 * Opening an envelope (protocol.md §6), one definition for both drivers: it
 * yields each HKDF and AES-GCM step and is resumed with its output (or thrown
 * into with its error).
 */
function* unsealing(
  ctx: ProtocolContext, ours: IdentityKeyPair, envelope: Uint8Array, trusted: readonly TrustedServerKey[], now: number, cache: SealedSenderCache | undefined,
): Generator<UnsealStep, UnsealedMessage, Uint8Array> {
  const { crypto } = ctx;
  const env = decodeProto(SealedSenderEnvelopeSchema, envelope, 'sealed sender envelope');
  if (env.version !== SEALED_SENDER_VERSION) throw new UnsupportedVersionError(`sealed sender version ${env.version} is not supported`);
  if (!isCanonicalX25519PublicKey(env.ephemeralKey)) throw new DecodeError('sealed sender: ephemeral key must be a canonical 32-byte X25519 key');
  const dh1 = crypto.x25519(ours.agreement.privateKey, env.ephemeralKey);
  let keys: Uint8Array | undefined;
  let k2: Uint8Array | undefined;
  let dh2: { secret: Uint8Array; cached: boolean } | undefined;
  let senderIdentity: Uint8Array;
  let inner: Uint8Array;
  try {
    keys = yield ephemeralKeysStep(dh1, ours.publicKey, env.ephemeralKey);
    const chainKey = keys.subarray(0, 32), key = keys.subarray(32, 64);
    senderIdentity = yield { op: 'gcm-decrypt', key, ciphertext: env.encryptedStatic, aad: env.ephemeralKey };
    if (senderIdentity.length !== IDENTITY_KEY_LENGTH || !isCanonicalX25519PublicKey(senderIdentity.subarray(32))) {
      throw new DecodeError('sealed sender: sender identity must be 64 bytes with a canonical X25519 half');
    }
    dh2 = staticSecret(crypto, ours, identityAgreementKey(senderIdentity), cache);
    k2 = yield staticKeyStep(dh2.secret, chainKey, env.encryptedStatic);
    inner = yield { op: 'gcm-decrypt', key: k2, ciphertext: env.encryptedContent, aad: env.encryptedStatic };
  } finally {
    wipe(dh1, ...(keys ? [keys] : []), ...(k2 ? [k2] : []));
    if (dh2 && !dh2.cached) wipe(dh2.secret);
  }
  const content = decodeProto(SealedContentSchema, inner, 'sealed content');
  if (!content.senderCertificate) throw new InvalidCertificateError('sealed content carries no sender certificate');
  if (!isContentType(content.contentType)) throw new DecodeError(`sealed content type ${content.contentType} is not a ratchet or prekey message`);
  const sender = verifySenderCertificateCached(crypto, trusted, content.senderCertificate, now, cache);
  if (!bytesEqual(sender.identityKey, senderIdentity)) throw new SenderMismatchError();
  return { sender, contentType: content.contentType, content: content.content };
}

/**
 * verifySenderCertificate with the cache of verified certificates (keyed by
 * the certificate's signed bytes and signature); expiry is checked against
 * `now` every time. Shared by unsealSender and the multi-recipient unseal
 * (groups.md §5).
 */
export function verifySenderCertificateCached(
  crypto: CryptoProvider, trusted: readonly TrustedServerKey[], certificate: { readonly certificate: Uint8Array; readonly signature: Uint8Array },
  now: number, cache?: SealedSenderCache,
): SenderCertificateBody {
  const certKey = cache ? hexOf(certificate.certificate) + hexOf(certificate.signature) : '';
  let sender = cache?.certificates.get(certKey);
  if (sender) {
    if (sender.expires <= now) throw new ExpiredCertificateError();
  } else {
    sender = verifySenderCertificate(crypto, trusted, encodeProto(SenderCertificateSchema, { certificate: certificate.certificate, signature: certificate.signature }), now);
    if (cache) remember(cache.certificates, certKey, sender);
  }
  return sender;
}

/**
 * The certificate's identity must be the identity of the session the inner
 * message decrypts with (protocol.md §6.3): call with the session's (or the
 * prekey message's) remote identity.
 */
export function assertSenderMatchesSession(sender: SenderIdentity, sessionRemoteIdentity: Uint8Array | undefined): void {
  if (!sessionRemoteIdentity || !bytesEqual(sender.identityKey, sessionRemoteIdentity)) {
    throw new SenderMismatchError('sender certificate identity does not match the session');
  }
}
