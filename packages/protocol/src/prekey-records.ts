/**
 * Storage encodings of a device's private key material (storage.proto):
 * identity key pair and prekey records, so a client store keeps bytes only.
 */
import {
  IdentityKeyPairStructureSchema, OneTimePreKeyRecordStructureSchema, PqPreKeyRecordStructureSchema, SignedPreKeyRecordStructureSchema,
} from './gen/sigilo/protocol/v1/storage_pb.js';
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual } from './bytes.js';
import { DecodeError, IdentityKeyUnavailableError } from './errors.js';
import {
  identityKeyPairFromPrivate, MLKEM768_PUBLIC_KEY_LENGTH, MLKEM768_SECRET_KEY_LENGTH, tokenIdentityKeyPair,
  type IdentityKeyPair, type IdentitySigner, type OneTimePreKeyRecord, type PqPreKeyRecord, type SignedPreKeyRecord, type TokenKeyReference,
} from './keys.js';
import { decodeProto, encodeProto } from './proto.js';

/**
 * The stored form of an identity. A software key stores its seed; a key on a token stores only
 * where it lives (signing_token), so a store, a link or a backup never holds it.
 */
export function encodeIdentityKeyPair(identity: IdentityKeyPair): Uint8Array {
  const { token, privateKey } = identity.signing;
  if (!token && privateKey?.length !== 32) throw new DecodeError('identity key pair: a software signing key must be 32 bytes');
  return encodeProto(IdentityKeyPairStructureSchema, {
    signingPrivate: token ? new Uint8Array(0) : privateKey,
    agreementPrivate: identity.agreement.privateKey,
    publicKey: identity.publicKey,
    ...(token ? { signingToken: { module: token.module, tokenLabel: token.tokenLabel, keyId: token.keyId } } : {}),
  });
}

/**
 * Opens the token that holds an identity's signing key (client-node: PKCS#11). It must not touch the token
 * yet (a store opens without it); the returned signer reaches the token at its first signature.
 */
export type IdentityTokenOpener = (token: TokenKeyReference, publicKey: Uint8Array) => IdentitySigner;

/** Whether stored identity bytes name a key on a token (so the caller can refuse early, e.g. a browser). */
export function identityTokenReference(bytes: Uint8Array): TokenKeyReference | undefined {
  const t = decodeProto(IdentityKeyPairStructureSchema, bytes, 'identity key pair').signingToken;
  return t ? { module: t.module, tokenLabel: t.tokenLabel, keyId: t.keyId } : undefined;
}

/**
 * Restores an identity and checks that its stored public key matches the private keys. An identity
 * whose signing key is on a token needs `openToken`; without one it is refused with
 * IdentityKeyUnavailableError('unsupported').
 */
export function decodeIdentityKeyPair(crypto: CryptoProvider, bytes: Uint8Array, openToken?: IdentityTokenOpener): IdentityKeyPair {
  const m = decodeProto(IdentityKeyPairStructureSchema, bytes, 'identity key pair');
  if (m.signingToken) {
    if (m.signingPrivate.length !== 0) throw new DecodeError('identity key pair: a key on a token has no private key here');
    if (m.agreementPrivate.length !== 32 || m.publicKey.length !== 64 || !m.signingToken.module || !m.signingToken.tokenLabel || m.signingToken.keyId.length === 0) {
      throw new DecodeError('identity key pair: incomplete token reference');
    }
    const token = { module: m.signingToken.module, tokenLabel: m.signingToken.tokenLabel, keyId: m.signingToken.keyId };
    if (!openToken) {
      throw new IdentityKeyUnavailableError('unsupported', 'this account\'s identity key lives on a PKCS#11 token, which this client cannot use: use the command-line client (sigilo) on a computer with the token');
    }
    const publicKey = m.publicKey.slice(0, 32);
    const identity = tokenIdentityKeyPair(crypto, token, openToken(token, publicKey), m.agreementPrivate);
    if (!bytesEqual(identity.publicKey, m.publicKey)) throw new DecodeError('identity key pair: public key does not match the private keys');
    return identity;
  }
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
