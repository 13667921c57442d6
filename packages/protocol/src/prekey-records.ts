/**
 * Storage encodings of a device's private key material (storage.proto):
 * identity key pair and prekey records, so a client store keeps bytes only.
 */
import {
  IdentityKeyPairStructureSchema, OneTimePreKeyRecordStructureSchema, PqPreKeyRecordStructureSchema, SignedPreKeyRecordStructureSchema,
} from './gen/sigilo/protocol/v1/storage_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual } from './bytes.js';
import { DecodeError } from './errors.js';
import { identityKeyPairFromPrivate, MLKEM768_PUBLIC_KEY_LENGTH, MLKEM768_SECRET_KEY_LENGTH, type IdentityKeyPair, type OneTimePreKeyRecord, type PqPreKeyRecord, type SignedPreKeyRecord } from './keys.js';
import { decodeProto, encodeProto } from './proto.js';

export function encodeIdentityKeyPair(identity: IdentityKeyPair): Uint8Array {
  return encodeProto(IdentityKeyPairStructureSchema, {
    signingPrivate: identity.signing.privateKey,
    agreementPrivate: identity.agreement.privateKey,
    publicKey: identity.publicKey,
  });
}

/** Restores an identity and checks that its stored public key matches the private keys. */
export function decodeIdentityKeyPair(crypto: CryptoProvider, bytes: Uint8Array): IdentityKeyPair {
  const m = decodeProto(IdentityKeyPairStructureSchema, bytes, 'identity key pair');
  if (m.signingPrivate.length !== 32 || m.agreementPrivate.length !== 32) throw new DecodeError('identity key pair: private keys must be 32 bytes');
  const identity = identityKeyPairFromPrivate(crypto, m.signingPrivate, m.agreementPrivate);
  if (!bytesEqual(identity.publicKey, m.publicKey)) throw new DecodeError('identity key pair: public key does not match the private keys');
  return identity;
}

export function encodeSignedPreKeyRecord(r: SignedPreKeyRecord): Uint8Array {
  return encodeProto(SignedPreKeyRecordStructureSchema, {
    id: r.id, publicKey: r.keyPair.publicKey, privateKey: r.keyPair.privateKey, signature: r.signature, createdAt: BigInt(r.createdAt),
  });
}

export function decodeSignedPreKeyRecord(bytes: Uint8Array): SignedPreKeyRecord {
  const m = decodeProto(SignedPreKeyRecordStructureSchema, bytes, 'signed prekey record');
  if (m.publicKey.length !== 32 || m.privateKey.length !== 32 || m.signature.length !== 64) throw new DecodeError('signed prekey record: bad key lengths');
  return { id: m.id, keyPair: { publicKey: m.publicKey, privateKey: m.privateKey }, signature: m.signature, createdAt: Number(m.createdAt) };
}

export function encodeOneTimePreKeyRecord(r: OneTimePreKeyRecord): Uint8Array {
  return encodeProto(OneTimePreKeyRecordStructureSchema, { id: r.id, publicKey: r.keyPair.publicKey, privateKey: r.keyPair.privateKey });
}

export function decodeOneTimePreKeyRecord(bytes: Uint8Array): OneTimePreKeyRecord {
  const m = decodeProto(OneTimePreKeyRecordStructureSchema, bytes, 'one-time prekey record');
  if (m.publicKey.length !== 32 || m.privateKey.length !== 32) throw new DecodeError('one-time prekey record: bad key lengths');
  return { id: m.id, keyPair: { publicKey: m.publicKey, privateKey: m.privateKey } };
}

export function encodePqPreKeyRecord(r: PqPreKeyRecord): Uint8Array {
  return encodeProto(PqPreKeyRecordStructureSchema, {
    id: r.id, publicKey: r.keyPair.publicKey, secretKey: r.keyPair.secretKey, signature: r.signature, lastResort: r.lastResort, createdAt: BigInt(r.createdAt),
  });
}

export function decodePqPreKeyRecord(bytes: Uint8Array): PqPreKeyRecord {
  const m = decodeProto(PqPreKeyRecordStructureSchema, bytes, 'PQ prekey record');
  if (m.publicKey.length !== MLKEM768_PUBLIC_KEY_LENGTH || m.secretKey.length !== MLKEM768_SECRET_KEY_LENGTH || m.signature.length !== 64) {
    throw new DecodeError('PQ prekey record: bad key lengths');
  }
  return { id: m.id, keyPair: { publicKey: m.publicKey, secretKey: m.secretKey }, signature: m.signature, lastResort: m.lastResort, createdAt: Number(m.createdAt) };
}
