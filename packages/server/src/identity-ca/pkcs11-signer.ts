/**
 * The identity CA's key on a PKCS#11 token (smartcard, HSM; SoftHSM2 in tests),
 * spec/trust.md §3.2. The token work (making the key sensitive and not
 * extractable, signing with CKM_EDDSA) is @sigilo/protocol/pkcs11, shared with
 * the clients' identity keys on tokens (trust.md §7.1); this file adapts it to
 * the CA's signer and errors.
 */
import { openPkcs11Ed25519Key, Pkcs11Error, type Pkcs11Ed25519Key } from '@sigilo/protocol/pkcs11';
import { CaError } from './errors.js';
import { ed25519Spki, type CaSigner } from './signer.js';

export { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA } from '@sigilo/protocol/pkcs11';

export interface Pkcs11Options {
  /** Path of the token's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly pin: string;
}

const asCaError = (e: unknown): unknown => (e instanceof Pkcs11Error
  ? (e.reason === 'exists' ? new CaError('CA_EXISTS', `${e.message}; choose another --key-label`) : new CaError('PKCS11', e.message))
  : e);

class Pkcs11Signer implements CaSigner {
  readonly spki: Uint8Array;
  readonly #key: Pkcs11Ed25519Key;

  constructor(key: Pkcs11Ed25519Key) {
    this.#key = key;
    this.spki = ed25519Spki(key.publicKey);
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.#key.sign(data));
    } catch (e) {
      return Promise.reject(asCaError(e));
    }
  }

  close(): void {
    this.#key.close();
  }
}

/**
 * Opens a session on the token labelled `tokenLabel`, logs in, and returns a signer for the key
 * labelled `keyLabel`; with `generate`, makes that key first (refusing if one exists).
 */
export function openPkcs11Signer(o: Pkcs11Options, generate = false): CaSigner {
  const token = { module: o.module, tokenLabel: o.tokenLabel, pin: o.pin };
  try {
    // The CA's key pair has its label as CKA_ID too (at most 32 bytes of it), as before the move.
    const id = Buffer.from(o.keyLabel, 'utf8').subarray(0, 32);
    return new Pkcs11Signer(openPkcs11Ed25519Key(token, { label: o.keyLabel }, generate ? { label: o.keyLabel, id } : undefined));
  } catch (e) {
    throw asCaError(e);
  }
}
