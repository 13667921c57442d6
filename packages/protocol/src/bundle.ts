/**
 * Prekey bundles (protocol.md §3.3): what an initiator fetches from the key
 * directory for one device of a peer, and the checks it runs before use.
 */
import { PreKeyBundleSchema } from './gen/sigilo/protocol/v1/wire_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { DecodeError, InvalidKeyError } from './errors.js';
import { decodeProto, encodeProto } from './proto.js';
import {
  MLKEM768_PUBLIC_KEY_LENGTH, assertIdentityKey, assertX25519PublicKey,
  verifyPqPreKey, verifySignedPreKey,
  type IdentityKeyPair, type OneTimePreKeyRecord, type PqPreKeyRecord, type SignedPreKeyRecord,
} from './keys.js';

export interface PreKeyBundle {
  readonly identityKey: Uint8Array;
  readonly deviceId: number;
  readonly signedPreKey: { readonly id: number; readonly publicKey: Uint8Array; readonly signature: Uint8Array };
  readonly oneTimePreKey?: { readonly id: number; readonly publicKey: Uint8Array } | undefined;
  readonly pqPreKey: { readonly id: number; readonly publicKey: Uint8Array; readonly signature: Uint8Array; readonly lastResort: boolean };
}

/** Assembles the public bundle a device would publish, from its private records. */
export function makePreKeyBundle(
  identity: IdentityKeyPair, deviceId: number, signed: SignedPreKeyRecord, pq: PqPreKeyRecord, oneTime?: OneTimePreKeyRecord,
): PreKeyBundle {
  return {
    identityKey: identity.publicKey,
    deviceId,
    signedPreKey: { id: signed.id, publicKey: signed.keyPair.publicKey, signature: signed.signature },
    oneTimePreKey: oneTime ? { id: oneTime.id, publicKey: oneTime.keyPair.publicKey } : undefined,
    pqPreKey: { id: pq.id, publicKey: pq.keyPair.publicKey, signature: pq.signature, lastResort: pq.lastResort },
  };
}

export function encodePreKeyBundle(bundle: PreKeyBundle): Uint8Array {
  return encodeProto(PreKeyBundleSchema, {
    identityKey: bundle.identityKey,
    deviceId: bundle.deviceId,
    signedPreKey: bundle.signedPreKey,
    oneTimePreKey: bundle.oneTimePreKey,
    pqPreKey: bundle.pqPreKey,
  });
}

/** Parses a bundle and checks every length; signatures are checked by verifyPreKeyBundle. */
export function decodePreKeyBundle(bytes: Uint8Array): PreKeyBundle {
  const m = decodeProto(PreKeyBundleSchema, bytes, 'prekey bundle');
  if (!m.signedPreKey || !m.pqPreKey) throw new DecodeError('prekey bundle: missing signed or PQ prekey');
  const bundle: PreKeyBundle = {
    identityKey: m.identityKey,
    deviceId: m.deviceId,
    signedPreKey: { id: m.signedPreKey.id, publicKey: m.signedPreKey.publicKey, signature: m.signedPreKey.signature },
    oneTimePreKey: m.oneTimePreKey ? { id: m.oneTimePreKey.id, publicKey: m.oneTimePreKey.publicKey } : undefined,
    pqPreKey: { id: m.pqPreKey.id, publicKey: m.pqPreKey.publicKey, signature: m.pqPreKey.signature, lastResort: m.pqPreKey.lastResort },
  };
  checkBundleShape(bundle);
  return bundle;
}

function checkBundleShape(bundle: PreKeyBundle): void {
  assertIdentityKey(bundle.identityKey);
  assertX25519PublicKey(bundle.signedPreKey.publicKey, 'bundle signed prekey');
  if (bundle.oneTimePreKey) assertX25519PublicKey(bundle.oneTimePreKey.publicKey, 'bundle one-time prekey');
  if (bundle.pqPreKey.publicKey.length !== MLKEM768_PUBLIC_KEY_LENGTH) throw new InvalidKeyError('bundle PQ prekey must be 1184 bytes');
}

/**
 * Checks both prekey signatures against the bundle's identity key (PQXDH §3.3:
 * "Alice verifies the signatures"). Throws InvalidSignatureError or InvalidKeyError.
 */
export function verifyPreKeyBundle(crypto: CryptoProvider, bundle: PreKeyBundle): void {
  checkBundleShape(bundle);
  const { signedPreKey: spk, pqPreKey: pq } = bundle;
  verifySignedPreKey(crypto, bundle.identityKey, spk.id, spk.publicKey, spk.signature);
  verifyPqPreKey(crypto, bundle.identityKey, pq.id, pq.lastResort, pq.publicKey, pq.signature);
}
