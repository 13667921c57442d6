/**
 * The identity CA's key on a PKCS#11 token (smartcard, HSM; SoftHSM2 in tests),
 * through `pkcs11js` (spec/trust.md §3.2). The key is made on the token
 * (CKM_EC_EDWARDS_KEY_PAIR_GEN) as sensitive and not extractable, and every
 * signature is made there (CKM_EDDSA): the private key never leaves it.
 * The mechanism numbers are passed by hand (PKCS#11 v3.0 §6.3): the bindings
 * predate them.
 */
import { createRequire } from 'node:module';
import { CaError } from './errors.js';
import { ed25519Spki, type CaSigner } from './signer.js';

export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;
/** CKA_EC_PARAMS for Ed25519: the curve's OID 1.3.101.112 (RFC 8410), DER. */
const ED25519_PARAMS_OID = Buffer.from('06032b6570', 'hex');
/** The same as a PrintableString "edwards25519", which tokens older than PKCS#11 3.0 expect. */
const ED25519_PARAMS_NAME = Buffer.from('130c656477617264733235353139', 'hex');

export interface Pkcs11Options {
  /** Path of the token's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly pin: string;
}

type P11 = typeof import('pkcs11js');
type Module = InstanceType<P11['PKCS11']>;

function load(): P11 {
  try {
    return createRequire(import.meta.url)('pkcs11js') as P11;
  } catch {
    throw new CaError('PKCS11', 'the pkcs11js module is not installed (npm install builds it; it needs gcc and make)');
  }
}

const fail = (what: string, e: unknown): CaError => {
  const m = e instanceof Error ? e.message : String(e);
  // pkcs11js puts the CKR_ name in the message: enough to act on, and never the PIN.
  const ckr = /CKR_[A-Z_]+/.exec(m)?.[0] ?? 'an error';
  return new CaError('PKCS11', `${what}: the token answered ${ckr}`);
};

class Pkcs11Signer implements CaSigner {
  readonly spki: Uint8Array;
  readonly #p11: Module;
  readonly #session: Buffer;
  readonly #key: Buffer;
  #closed = false;

  constructor(p11: Module, session: Buffer, key: Buffer, publicKey: Uint8Array) {
    this.#p11 = p11;
    this.#session = session;
    this.#key = key;
    this.spki = ed25519Spki(publicKey);
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new CaError('PKCS11', 'the token session is closed'));
    try {
      this.#p11.C_SignInit(this.#session, { mechanism: CKM_EDDSA }, this.#key);
      return Promise.resolve(new Uint8Array(this.#p11.C_Sign(this.#session, Buffer.from(data), Buffer.alloc(64))));
    } catch (e) {
      return Promise.reject(fail('signing on the token failed', e));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try { this.#p11.C_Logout(this.#session); } catch { /* already logged out */ }
    try { this.#p11.C_CloseSession(this.#session); } catch { /* gone */ }
    try { this.#p11.C_Finalize(); } catch { /* not initialised */ }
  }
}

function findObjects(p11: Module, session: Buffer, template: { type: number; value?: unknown }[]): Buffer[] {
  p11.C_FindObjectsInit(session, template as never);
  try {
    const found: Buffer[] = [];
    for (;;) {
      const h = p11.C_FindObjects(session);
      if (!h) break;
      found.push(h as unknown as Buffer);
      if (found.length > 16) break;
    }
    return found;
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** The 32 public key bytes from CKA_EC_POINT: a DER OCTET STRING (PKCS#11 3.0), or the raw bytes some tokens give. */
function publicKeyOf(p11: Module, lib: P11, session: Buffer, publicKey: Buffer): Uint8Array {
  const [attr] = p11.C_GetAttributeValue(session, publicKey, [{ type: lib.CKA_EC_POINT }]);
  const v = attr?.value as Buffer | undefined;
  if (v?.length === 34 && v[0] === 0x04 && v[1] === 0x20) return new Uint8Array(v.subarray(2));
  if (v?.length === 32) return new Uint8Array(v);
  throw new CaError('PKCS11', 'the token\'s key is not an Ed25519 key (CKA_EC_POINT is not 32 bytes)');
}

/**
 * Opens a session on the token labelled `tokenLabel`, logs in, and returns a signer for the key
 * labelled `keyLabel`; with `generate`, makes that key first (refusing if one exists).
 */
export function openPkcs11Signer(o: Pkcs11Options, generate = false): CaSigner {
  const lib = load();
  const p11 = new lib.PKCS11();
  try {
    p11.load(o.module);
  } catch {
    throw new CaError('PKCS11', `cannot load the PKCS#11 library ${o.module}; give the path of your token's module (--pkcs11-module)`);
  }
  let session: Buffer | undefined;
  try {
    try { p11.C_Initialize(); } catch (e) { throw fail('the token library did not initialise', e); }
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === o.tokenLabel);
    if (!slot) throw new CaError('PKCS11', `no token labelled "${o.tokenLabel}" is present; insert it or check --token`);
    session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    try { p11.C_Login(session, lib.CKU_USER, o.pin); } catch (e) { throw fail('logging in to the token failed (check the PIN)', e); }
    const label = Buffer.from(o.keyLabel, 'utf8');
    const privates = findObjects(p11, session, [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }, { type: lib.CKA_LABEL, value: label }]);
    const publics = findObjects(p11, session, [{ type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY }, { type: lib.CKA_LABEL, value: label }]);
    let priv: Buffer, pub: Buffer;
    if (generate) {
      if (privates.length > 0) throw new CaError('CA_EXISTS', `the token already holds a key labelled "${o.keyLabel}"; choose another --key-label`);
      ({ privateKey: priv, publicKey: pub } = generateOnToken(p11, lib, session, label));
    } else {
      if (privates.length !== 1 || publics.length !== 1) throw new CaError('PKCS11', `the token holds ${privates.length} private keys labelled "${o.keyLabel}" (one expected, with its public key)`);
      [priv, pub] = [privates[0]!, publics[0]!];
    }
    return new Pkcs11Signer(p11, session, priv, publicKeyOf(p11, lib, session, pub));
  } catch (e) {
    if (session) try { p11.C_CloseSession(session); } catch { /* gone */ }
    try { p11.C_Finalize(); } catch { /* not initialised */ }
    if (e instanceof CaError) throw e;
    throw fail('the token refused', e);
  }
}

function generateOnToken(p11: Module, lib: P11, session: Buffer, label: Buffer): { privateKey: Buffer; publicKey: Buffer } {
  const id = Buffer.from(label.subarray(0, 32));
  const attempt = (params: Buffer) => p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
    [
      { type: lib.CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, { type: lib.CKA_TOKEN, value: true }, { type: lib.CKA_VERIFY, value: true },
      { type: lib.CKA_EC_PARAMS, value: params }, { type: lib.CKA_LABEL, value: label }, { type: lib.CKA_ID, value: id },
    ],
    [
      { type: lib.CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, { type: lib.CKA_TOKEN, value: true }, { type: lib.CKA_PRIVATE, value: true },
      { type: lib.CKA_SIGN, value: true }, { type: lib.CKA_SENSITIVE, value: true }, { type: lib.CKA_EXTRACTABLE, value: false },
      { type: lib.CKA_LABEL, value: label }, { type: lib.CKA_ID, value: id },
    ]);
  let keys;
  try {
    keys = attempt(ED25519_PARAMS_OID);
  } catch {
    try { keys = attempt(ED25519_PARAMS_NAME); } catch (e) { throw fail('the token cannot make an Ed25519 key (CKM_EC_EDWARDS_KEY_PAIR_GEN)', e); }
  }
  return { privateKey: keys.privateKey, publicKey: keys.publicKey };
}
