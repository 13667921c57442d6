/**
 * PQXDH key agreement (protocol.md §4; Signal's PQXDH specification §3),
 * instantiated with X25519, SHA-256 and ML-KEM-768.
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B)
 *   (CT, SS) = ML-KEM-768.Encaps(PQPK_B)
 *   SK = HKDF-SHA256(ikm = F || DH1 || DH2 || DH3 [|| DH4] || SS, salt = 0^32,
 *                    info = "Sigilo_PQXDH_CURVE25519_SHA-256_ML-KEM-768", 32),  F = 0xFF × 32
 *   AD = IK_A || IK_B || EK_A  (the 64-byte identity public keys and the initiator's base key)
 *
 * EK_A is in AD because X25519 cannot tell EK_A from EK_A plus a small-order
 * point (same DH outputs, same SK): without it a replayed prekey message with
 * a shifted base key would look like a new session (protocol.md §4.3).
 */
import { concatBytes, utf8, wipe } from './bytes.js';
import { InvalidPrekeyError } from './errors.js';
import type { X25519KeyPair, MlKemKeyPair } from './crypto/provider.js';
import { verifyPreKeyBundle, type PreKeyBundle } from './bundle.js';
import { generateX25519KeyPairAndAgree, identityAgreementKey, type IdentityKeyPair, type ProtocolContext } from './keys.js';

const PQXDH_INFO = utf8('Sigilo_PQXDH_CURVE25519_SHA-256_ML-KEM-768');
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

export interface InitiatorAgreement {
  readonly sharedKey: Uint8Array;
  readonly associatedData: Uint8Array;
  readonly baseKey: X25519KeyPair;
  readonly pqCiphertext: Uint8Array;
}

function deriveSharedKey(ctx: ProtocolContext, dhs: Uint8Array[], ss: Uint8Array): Uint8Array {
  const ikm = concatBytes(F, ...dhs, ss);
  const sk = ctx.crypto.hkdfSha256(ikm, ZERO_SALT, PQXDH_INFO, 32);
  wipe(ikm, ...dhs, ss);
  return sk;
}

/** Alice's side: verifies the bundle, then derives SK and what she must send (EK_A, CT). */
export function pqxdhInitiate(ctx: ProtocolContext, ours: IdentityKeyPair, bundle: PreKeyBundle): InitiatorAgreement {
  verifyPreKeyBundle(ctx.crypto, bundle);
  const { crypto } = ctx;
  // DH2, DH3 and DH4 share the ephemeral key EK_A: one batch.
  const peers = [identityAgreementKey(bundle.identityKey), bundle.signedPreKey.publicKey];
  if (bundle.oneTimePreKey) peers.push(bundle.oneTimePreKey.publicKey);
  const { keyPair: baseKey, shared } = generateX25519KeyPairAndAgree(ctx, peers);
  const dhs = [crypto.x25519(ours.agreement.privateKey, bundle.signedPreKey.publicKey), ...shared];
  const { ciphertext, sharedSecret } = crypto.mlKem768Encapsulate(bundle.pqPreKey.publicKey, ctx.random(32));
  return {
    sharedKey: deriveSharedKey(ctx, dhs, sharedSecret),
    associatedData: concatBytes(ours.publicKey, bundle.identityKey, baseKey.publicKey),
    baseKey,
    pqCiphertext: ciphertext,
  };
}

/** The responder's private prekeys named by a prekey message; absent ones were not found (used or unknown). */
export interface ResponderKeys {
  readonly signedPreKey?: { readonly id: number; readonly keyPair: X25519KeyPair } | undefined;
  readonly oneTimePreKey?: { readonly id: number; readonly keyPair: X25519KeyPair } | undefined;
  readonly pqPreKey?: { readonly id: number; readonly keyPair: MlKemKeyPair } | undefined;
}

export interface ResponderInput {
  readonly identityKey: Uint8Array;
  readonly baseKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
  readonly pqPreKeyId: number;
  readonly pqCiphertext: Uint8Array;
}

/** Bob's side: the same SK from the initiator's prekey message and his private prekeys. */
export function pqxdhRespond(ctx: ProtocolContext, ours: IdentityKeyPair, keys: ResponderKeys, msg: ResponderInput): { sharedKey: Uint8Array; associatedData: Uint8Array } {
  const { signedPreKey, oneTimePreKey, pqPreKey } = keys;
  if (signedPreKey?.id !== msg.signedPreKeyId) throw new InvalidPrekeyError('the signed prekey this message uses is unknown or expired');
  if (pqPreKey?.id !== msg.pqPreKeyId) throw new InvalidPrekeyError('the PQ prekey this message uses is unknown or already used');
  if (msg.oneTimePreKeyId !== undefined && oneTimePreKey?.id !== msg.oneTimePreKeyId) {
    throw new InvalidPrekeyError('the one-time prekey this message uses is unknown or already used');
  }
  const { crypto } = ctx;
  const [dh1, dh3] = crypto.x25519Batch(signedPreKey.keyPair.privateKey, [identityAgreementKey(msg.identityKey), msg.baseKey]).shared;
  const dhs = [dh1!, crypto.x25519(ours.agreement.privateKey, msg.baseKey), dh3!];
  if (msg.oneTimePreKeyId !== undefined && oneTimePreKey) dhs.push(crypto.x25519(oneTimePreKey.keyPair.privateKey, msg.baseKey));
  const ss = crypto.mlKem768Decapsulate(msg.pqCiphertext, pqPreKey.keyPair.secretKey);
  return { sharedKey: deriveSharedKey(ctx, dhs, ss), associatedData: concatBytes(msg.identityKey, ours.publicKey, msg.baseKey) };
}
