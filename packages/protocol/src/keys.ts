/**
 * Identity keys and prekeys (protocol.md §2–§3).
 *
 * An identity is two key pairs: an Ed25519 key that signs (prekeys, device
 * challenges) and an X25519 key that agrees (PQXDH). Its public form is the
 * 64 bytes `Ed25519 public || X25519 public`; safety numbers cover both halves.
 *
 * Every identity signature goes through `identity.signing.sign` (an
 * IdentitySigner): a software key signs with its seed, a key on a PKCS#11
 * token signs on the token and has no seed here (spec/trust.md §7.1).
 */
import type { CryptoProvider, Ed25519KeyPair, MlKemKeyPair, X25519KeyPair } from './crypto/provider.js';
import type { Random } from './crypto/random.js';
import { concatBytes, utf8, writeU32 } from './bytes.js';
import { InvalidArgumentError, InvalidKeyError, InvalidSignatureError } from './errors.js';

export const IDENTITY_KEY_LENGTH = 64;
export const X25519_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
export const MLKEM768_SECRET_KEY_LENGTH = 2400;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;

export interface ProtocolContext {
  readonly crypto: CryptoProvider;
  readonly random: Random;
}

/** Signs with an identity's Ed25519 key, wherever that key lives. */
export interface IdentitySigner {
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /**
   * A pure Ed25519 signature (RFC 8032) of `message`. Synchronous (PKCS#11 is,
   * in Node); throws IdentityKeyUnavailableError when the key cannot be used now
   * (token absent, wrong PIN).
   */
  sign(message: Uint8Array): Uint8Array;
}

/** Where an identity signing key on a PKCS#11 token lives: all a store keeps of it (never the PIN). */
export interface TokenKeyReference {
  /** Path of the token's PKCS#11 library. */
  readonly module: string;
  readonly tokenLabel: string;
  /** CKA_ID of the key pair on the token. */
  readonly keyId: Uint8Array;
}

export interface IdentitySigningKey extends IdentitySigner {
  /** The Ed25519 seed of a software key (linking and backups copy it); absent when the key is on a token. */
  readonly privateKey?: Uint8Array;
  /** Set when the key lives on a token: the private key is not here and never leaves the token. */
  readonly token?: TokenKeyReference;
}

export interface IdentityKeyPair {
  readonly signing: IdentitySigningKey;
  readonly agreement: X25519KeyPair;
  /** 64 bytes: signing public || agreement public. */
  readonly publicKey: Uint8Array;
}

/** An identity whose signing key is a software key (generated here, restored from a store, a link or a backup). */
export interface SoftwareIdentityKeyPair extends IdentityKeyPair {
  readonly signing: Ed25519KeyPair & IdentitySigner & { readonly token?: undefined };
}

/** A software Ed25519 key as an IdentitySigner (the crypto provider is kept apart, so two equal keys compare equal). */
class SoftwareSigningKey implements Ed25519KeyPair, IdentitySigner {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly #crypto: CryptoProvider;
  constructor(crypto: CryptoProvider, seed: Uint8Array) {
    this.#crypto = crypto;
    this.privateKey = seed;
    this.publicKey = crypto.ed25519PublicKey(seed);
  }
  sign(message: Uint8Array): Uint8Array {
    return this.#crypto.ed25519Sign(this.privateKey, message);
  }
}

export function softwareSigningKey(crypto: CryptoProvider, seed: Uint8Array): SoftwareIdentityKeyPair['signing'] {
  return new SoftwareSigningKey(crypto, seed);
}

/** An identity whose signing key lives on a token (`signer`) and whose agreement key is a software key. */
export function tokenIdentityKeyPair(crypto: CryptoProvider, token: TokenKeyReference, signer: IdentitySigner, agreementPrivate: Uint8Array): IdentityKeyPair {
  if (signer.publicKey.length !== 32 || agreementPrivate.length !== 32) throw new InvalidArgumentError('identity keys must be 32 bytes each');
  const agreement = { privateKey: agreementPrivate, publicKey: crypto.x25519PublicKey(agreementPrivate) };
  const signing: IdentitySigningKey = { publicKey: signer.publicKey, token, sign: (message) => signer.sign(message) };
  return { signing, agreement, publicKey: concatBytes(signer.publicKey, agreement.publicKey) };
}

export interface SignedPreKeyRecord {
  readonly id: number;
  readonly keyPair: X25519KeyPair;
  readonly signature: Uint8Array;
  readonly createdAt: number;
}

export interface OneTimePreKeyRecord {
  readonly id: number;
  readonly keyPair: X25519KeyPair;
}

export interface PqPreKeyRecord {
  readonly id: number;
  readonly keyPair: MlKemKeyPair;
  readonly signature: Uint8Array;
  readonly lastResort: boolean;
  readonly createdAt: number;
}

const SIGNED_PREKEY_LABEL = utf8('Sigilo-SignedPreKey-v1');
const PQ_PREKEY_LABEL = utf8('Sigilo-PqPreKey-v1');

export function generateX25519KeyPair(ctx: ProtocolContext): X25519KeyPair {
  const privateKey = ctx.random(32);
  return { privateKey, publicKey: ctx.crypto.x25519PublicKey(privateKey) };
}

/**
 * A fresh X25519 key pair and its agreements with `peers` (one key import in
 * the node provider): for ephemeral and ratchet keys, used at once.
 */
export function generateX25519KeyPairAndAgree(ctx: ProtocolContext, peers: readonly Uint8Array[]): { keyPair: X25519KeyPair; shared: Uint8Array[] } {
  const privateKey = ctx.random(32);
  const { publicKey, shared } = ctx.crypto.x25519Batch(privateKey, peers);
  return { keyPair: { privateKey, publicKey }, shared };
}

export function generateIdentityKeyPair(ctx: ProtocolContext): SoftwareIdentityKeyPair {
  const signing = softwareSigningKey(ctx.crypto, ctx.random(32));
  const agreement = generateX25519KeyPair(ctx);
  return { signing, agreement, publicKey: concatBytes(signing.publicKey, agreement.publicKey) };
}

/** Rebuilds an identity from its two private keys (used when restoring or linking a device). */
export function identityKeyPairFromPrivate(crypto: CryptoProvider, signingSeed: Uint8Array, agreementPrivate: Uint8Array): SoftwareIdentityKeyPair {
  if (signingSeed.length !== 32 || agreementPrivate.length !== 32) throw new InvalidArgumentError('identity private keys must be 32 bytes each');
  const signing = softwareSigningKey(crypto, signingSeed);
  const agreement = { privateKey: agreementPrivate, publicKey: crypto.x25519PublicKey(agreementPrivate) };
  return { signing, agreement, publicKey: concatBytes(signing.publicKey, agreement.publicKey) };
}

/**
 * Whether `u` is the canonical encoding of an X25519 public key: 32 bytes,
 * little-endian u < p = 2^255 - 19 (so the top bit is clear). X25519 itself
 * ignores the top bit and reduces mod p (RFC 7748 §5), so without this check
 * one key would have several encodings and a flipped bit in a received key
 * could pass unnoticed (protocol.md §1).
 */
export function isCanonicalX25519PublicKey(u: Uint8Array): boolean {
  if (u.length !== X25519_KEY_LENGTH || u[31]! > 0x7f) return false;
  if (u[31] !== 0x7f || u[0]! < 0xed) return true;
  for (let i = 1; i < 31; i++) if (u[i] !== 0xff) return true;
  return false; // 2^255 - 19 <= u < 2^255
}

/**
 * The canonical encodings of the points of small order (0, 1, p - 1 and the two
 * points of order 8): a published key equal to one of them would make every
 * agreement with it all zeros or predictable, so it is refused on input.
 */
const SMALL_ORDER_U = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
];

export function assertX25519PublicKey(u: Uint8Array, what: string): void {
  if (!isCanonicalX25519PublicKey(u)) throw new InvalidKeyError(`${what} must be a canonical 32-byte X25519 public key`);
  let hex = '';
  for (const b of u) hex += b.toString(16).padStart(2, '0');
  if (SMALL_ORDER_U.includes(hex)) throw new InvalidKeyError(`${what} is a point of small order`);
}

export function assertIdentityKey(identityKey: Uint8Array): void {
  if (identityKey.length !== IDENTITY_KEY_LENGTH) throw new InvalidKeyError('identity key must be 64 bytes');
  assertX25519PublicKey(identityKey.subarray(32, 64), 'identity agreement key');
}

/** The Ed25519 half of a 64-byte identity public key. */
export function identitySigningKey(identityKey: Uint8Array): Uint8Array {
  assertIdentityKey(identityKey);
  return identityKey.subarray(0, 32);
}

/** The X25519 half of a 64-byte identity public key. */
export function identityAgreementKey(identityKey: Uint8Array): Uint8Array {
  assertIdentityKey(identityKey);
  return identityKey.subarray(32, 64);
}

/** Bytes signed for a signed prekey: "Sigilo-SignedPreKey-v1" || u32be(id) || public key. */
export function encodeSignedPreKeyPayload(id: number, publicKey: Uint8Array): Uint8Array {
  const idBytes = new Uint8Array(4);
  writeU32(idBytes, 0, id);
  return concatBytes(SIGNED_PREKEY_LABEL, idBytes, publicKey);
}

/** Bytes signed for a PQ prekey: "Sigilo-PqPreKey-v1" || u32be(id) || lastResort (1 byte) || public key. */
export function encodePqPreKeyPayload(id: number, lastResort: boolean, publicKey: Uint8Array): Uint8Array {
  const head = new Uint8Array(5);
  writeU32(head, 0, id);
  head[4] = lastResort ? 1 : 0;
  return concatBytes(PQ_PREKEY_LABEL, head, publicKey);
}

function assertId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new InvalidArgumentError('prekey id must be a 32-bit unsigned integer');
}

export function generateSignedPreKey(ctx: ProtocolContext, identity: IdentityKeyPair, id: number, now: number): SignedPreKeyRecord {
  assertId(id);
  const keyPair = generateX25519KeyPair(ctx);
  const signature = identity.signing.sign(encodeSignedPreKeyPayload(id, keyPair.publicKey));
  return { id, keyPair, signature, createdAt: now };
}

/** `count` one-time prekeys with ids startId, startId+1, … (wrapping at 2^32). */
export function generateOneTimePreKeys(ctx: ProtocolContext, startId: number, count: number): OneTimePreKeyRecord[] {
  assertId(startId);
  const out: OneTimePreKeyRecord[] = [];
  for (let i = 0; i < count; i++) out.push({ id: (startId + i) >>> 0, keyPair: generateX25519KeyPair(ctx) });
  return out;
}

export function generatePqPreKey(ctx: ProtocolContext, identity: IdentityKeyPair, id: number, lastResort: boolean, now: number): PqPreKeyRecord {
  assertId(id);
  const keyPair = ctx.crypto.mlKem768KeyPair(ctx.random(64));
  const signature = identity.signing.sign(encodePqPreKeyPayload(id, lastResort, keyPair.publicKey));
  return { id, keyPair, signature, lastResort, createdAt: now };
}

export function verifySignedPreKey(crypto: CryptoProvider, identityKey: Uint8Array, id: number, publicKey: Uint8Array, signature: Uint8Array): void {
  assertX25519PublicKey(publicKey, 'signed prekey');
  if (!crypto.ed25519Verify(identitySigningKey(identityKey), encodeSignedPreKeyPayload(id, publicKey), signature)) {
    throw new InvalidSignatureError('signed prekey signature does not verify');
  }
}

export function verifyPqPreKey(crypto: CryptoProvider, identityKey: Uint8Array, id: number, lastResort: boolean, publicKey: Uint8Array, signature: Uint8Array): void {
  if (publicKey.length !== MLKEM768_PUBLIC_KEY_LENGTH) throw new InvalidKeyError('PQ prekey must be 1184 bytes');
  if (!crypto.ed25519Verify(identitySigningKey(identityKey), encodePqPreKeyPayload(id, lastResort, publicKey), signature)) {
    throw new InvalidSignatureError('PQ prekey signature does not verify');
  }
}
