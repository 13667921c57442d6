/**
 * The CryptoProvider port: every primitive the protocol uses, synchronous and
 * stateless. Two implementations pass the same vectors: `node` (node:crypto) and
 * `portable` (@noble/*, for browsers). ML-KEM-768 comes from @noble/post-quantum
 * in both, because Node 20 has no ML-KEM.
 *
 * Providers never generate randomness: callers pass a `Random` (see random.ts).
 * Every failure is a typed `ProtocolError` (see ../errors.ts), never a raw
 * library exception.
 */

/** 32-byte X25519 private scalar (unclamped bytes as RFC 7748 takes them) and its public key. */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Ed25519 key pair: `privateKey` is the 32-byte RFC 8032 seed. */
export interface Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** ML-KEM-768 (FIPS 203) key pair: 1184-byte encapsulation key, 2400-byte decapsulation key. */
export interface MlKemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface MlKemEncapsulation {
  /** 1088-byte ciphertext. */
  readonly ciphertext: Uint8Array;
  /** 32-byte shared secret. */
  readonly sharedSecret: Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;

  // X25519 (RFC 7748)
  /** Public key for a 32-byte private key. */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /**
   * X25519(privateKey, publicKey). Throws `InvalidKeyError` when the result is
   * all zeros (a low-order public key), as RFC 7748 §6.1 allows.
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /**
   * The public key of `privateKey` and X25519(privateKey, P) for each P in
   * `publicKeys`, in order. Same results and errors as the single calls; one
   * key import instead of several (a fresh ratchet or ephemeral key is used
   * for its public key and one or more agreements at once).
   */
  x25519Batch(privateKey: Uint8Array, publicKeys: readonly Uint8Array[]): { publicKey: Uint8Array; shared: Uint8Array[] };

  /**
   * Optional: declares a private key long-lived (a device's identity key) so
   * the provider may keep a prepared form of it for as long as this very array
   * is reachable. Only for keys that live as long as the process holds them
   * anyway: never for ephemeral or ratchet keys, and a retained array must not
   * be wiped while in use.
   */
  retainPrivateKey?(privateKey: Uint8Array, curve: 'x25519' | 'ed25519'): void;

  // Ed25519 (RFC 8032, pure)
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Never throws: malformed keys or signatures verify as false. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  // Hashes and MACs
  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HMAC-SHA512 (RFC 2104, FIPS 180-4): the HKDF-Expand hash of Cobblestone-256 (attachments). */
  hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869). Throws `InvalidArgumentError` when length > 255*32. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  // AEADs: output is ciphertext || 16-byte tag
  /** AES-256-GCM with a 12-byte nonce. */
  aes256GcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * AES-256-GCM as `aes256GcmEncrypt`, with the 16-byte tag returned apart
   * (`ciphertext ‖ tag` is the same output): bulk data such as attachment
   * chunks skips allocating and copying a joined buffer.
   */
  aes256GcmEncryptDetached(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array };
  /** Throws `DecryptionError` on a bad tag or a too-short input. */
  aes256GcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array;
  chacha20Poly1305Encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  chacha20Poly1305Decrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array;

  // ML-KEM-768 (FIPS 203)
  /** Deterministic key generation from a 64-byte seed (d || z). */
  mlKem768KeyPair(seed: Uint8Array): MlKemKeyPair;
  /** Deterministic encapsulation with 32 bytes of randomness `m`. */
  mlKem768Encapsulate(publicKey: Uint8Array, m: Uint8Array): MlKemEncapsulation;
  /** Implicit rejection: a wrong ciphertext yields a pseudorandom secret, not an error. */
  mlKem768Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}
