/**
 * ML-KEM-768 (FIPS 203) for both providers: Node 20 has no ML-KEM, so `node`
 * and `portable` share @noble/post-quantum behind the same checks.
 *
 * Errors: a wrong-length seed, `m`, secret key or ciphertext is an
 * InvalidArgumentError; a wrong-length encapsulation key or one failing the
 * §7.2 modulus check is an InvalidKeyError, as is a decapsulation key failing
 * the §7.3 hash check. A well-formed but wrong ciphertext is not an error:
 * decapsulation rejects implicitly with a pseudorandom secret (§6.3).
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { InvalidArgumentError, InvalidKeyError } from '../errors.js';
import type { MlKemEncapsulation, MlKemKeyPair } from './provider.js';
import { _checkLength, _checkPublicKey, _rethrow } from './_checks.js';

export const MLKEM768_SEED_LENGTH = 64;
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
export const MLKEM768_SECRET_KEY_LENGTH = 2400;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
export const MLKEM768_MESSAGE_LENGTH = 32;

/** FIPS 203 Algorithm 16 ML-KEM.KeyGen_internal(d, z) with seed = d || z. */
export function _mlKem768KeyPair(seed: Uint8Array): MlKemKeyPair {
  _checkLength(seed, MLKEM768_SEED_LENGTH, 'ML-KEM-768 seed');
  try {
    const { publicKey, secretKey } = ml_kem768.keygen(seed);
    return { publicKey, secretKey };
  } catch (e) {
    return _rethrow(e, () => new InvalidArgumentError('ML-KEM-768 key generation failed'));
  }
}

/** FIPS 203 Algorithm 17 ML-KEM.Encaps_internal(ek, m), after the §7.2 input checks. */
export function _mlKem768Encapsulate(publicKey: Uint8Array, m: Uint8Array): MlKemEncapsulation {
  _checkPublicKey(publicKey, MLKEM768_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key');
  _checkLength(m, MLKEM768_MESSAGE_LENGTH, 'ML-KEM-768 encapsulation randomness');
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, m);
    return { ciphertext: cipherText, sharedSecret };
  } catch (e) {
    // The only failure left after the length checks is the modulus check.
    return _rethrow(e, () => new InvalidKeyError('ML-KEM-768 public key is not a valid encoding (FIPS 203 §7.2 modulus check)'));
  }
}

/** FIPS 203 Algorithm 18 ML-KEM.Decaps_internal(dk, c), after the §7.3 input checks. */
export function _mlKem768Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  _checkLength(ciphertext, MLKEM768_CIPHERTEXT_LENGTH, 'ML-KEM-768 ciphertext');
  _checkLength(secretKey, MLKEM768_SECRET_KEY_LENGTH, 'ML-KEM-768 secret key');
  try {
    return ml_kem768.decapsulate(ciphertext, secretKey);
  } catch (e) {
    return _rethrow(e, () => new InvalidKeyError('ML-KEM-768 secret key is corrupt (FIPS 203 §7.3 hash check)'));
  }
}
