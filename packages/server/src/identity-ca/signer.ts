/**
 * Who signs for the organisation's identity CA (spec/trust.md §3): an Ed25519
 * key in a file (PKCS#8 PEM, mode 0600) or on a PKCS#11 token (pkcs11-signer.ts).
 * Certificates and CRLs only see this interface, so the key's location changes
 * nothing else.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CaError } from './errors.js';

export interface CaSigner {
  /** The DER SubjectPublicKeyInfo of the CA's Ed25519 key. */
  readonly spki: Uint8Array;
  /** A pure Ed25519 signature (RFC 8032) of `data`. */
  sign(data: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Where the CA key lives, as ca.json records it (never the PIN). */
export type CaKeyLocation =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'pkcs11'; readonly module: string; readonly tokenLabel: string; readonly keyLabel: string };

/** The DER SPKI prefix of an Ed25519 public key (RFC 8410 §4): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

export function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new CaError('CA_KEY', 'an Ed25519 public key is 32 bytes');
  const out = new Uint8Array(ED25519_SPKI_PREFIX.length + 32);
  out.set(ED25519_SPKI_PREFIX);
  out.set(publicKey, ED25519_SPKI_PREFIX.length);
  return out;
}

class FileSigner implements CaSigner {
  readonly spki: Uint8Array;
  readonly #key: KeyObject;
  constructor(key: KeyObject) {
    if (key.asymmetricKeyType !== 'ed25519') throw new CaError('CA_KEY', 'the CA key file does not hold an Ed25519 key');
    this.#key = key;
    this.spki = new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }));
  }
  sign(data: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(nodeSign(null, data, this.#key)));
  }
  close(): void {}
}

/** Makes a new Ed25519 key, writes it to `path` (0600) and returns its signer. */
export function createFileSigner(path: string): CaSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return new FileSigner(privateKey);
}

export function openFileSigner(path: string): CaSigner {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CaError('CA_KEY', `cannot read the CA key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); run sigilo admin as the user that owns it`);
  }
  try {
    return new FileSigner(createPrivateKey(pem));
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError('CA_KEY', `${path} is not a PEM private key; restore it from your backup`);
  }
}
