/**
 * Ed25519 keys on a PKCS#11 token (smartcard, HSM; SoftHSM2 in tests) through
 * `pkcs11js`, for Node only (`@sigilo/protocol/pkcs11`). The identity CA
 * (server, spec/trust.md §3.2) and a person's identity signing key (client-node,
 * trust.md §7.1) both use it. A key is made on the token
 * (CKM_EC_EDWARDS_KEY_PAIR_GEN) as sensitive and not extractable, and every
 * signature is made there (CKM_EDDSA): the private key never leaves it. The
 * mechanism numbers are passed by hand (PKCS#11 v3.0 §6.3): the bindings
 * predate them. Synchronous, as pkcs11js is.
 */
import { createRequire } from 'node:module';

export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;
/** CKA_EC_PARAMS for Ed25519: the curve's OID 1.3.101.112 (RFC 8410), DER. */
const ED25519_PARAMS_OID = Buffer.from('06032b6570', 'hex');
/** The same as a PrintableString "edwards25519", which tokens older than PKCS#11 3.0 expect. */
const ED25519_PARAMS_NAME = Buffer.from('130c656477617264733235353139', 'hex');

/**
 * What went wrong: `module` (the library or pkcs11js does not load), `absent` (no token with that label,
 * or it was removed), `pin` (PIN refused or token locked), `key` (the key is not there, or is not one
 * Ed25519 key), `exists` (generating a key whose label is taken), `failed` (the token refused otherwise).
 */
export type Pkcs11Failure = 'module' | 'absent' | 'pin' | 'key' | 'exists' | 'failed';

/** A token failure; the message says what to do and never holds the PIN. */
export class Pkcs11Error extends Error {
  readonly reason: Pkcs11Failure;
  constructor(reason: Pkcs11Failure, message: string) {
    super(message);
    this.reason = reason;
    this.name = 'Pkcs11Error';
  }
}

export interface Pkcs11Token {
  /** Path of the token's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  /** The token's label (CK_TOKEN_INFO.label). */
  readonly tokenLabel: string;
  readonly pin: string;
}

/** Which key: by CKA_LABEL or CKA_ID (one of them). */
export type Pkcs11KeySelector = { readonly label: string } | { readonly id: Uint8Array };

/** An Ed25519 key on an open, logged-in token session. */
export interface Pkcs11Ed25519Key {
  readonly publicKey: Uint8Array;
  /** The key pair's CKA_ID. */
  readonly id: Uint8Array;
  /** Whether the token keeps the private key in (CKA_SENSITIVE true, CKA_EXTRACTABLE false). */
  readonly confined: boolean;
  /** A pure Ed25519 signature (RFC 8032), made on the token. */
  sign(data: Uint8Array): Uint8Array;
  /** Logs out and closes the session (and the library once no key of it is open). */
  close(): void;
}

type P11 = typeof import('pkcs11js');
type Module = InstanceType<P11['PKCS11']>;

function load(): P11 {
  try {
    return createRequire(import.meta.url)('pkcs11js') as P11;
  } catch {
    throw new Pkcs11Error('module', 'the pkcs11js module is not installed (npm install builds it; it needs gcc and make)');
  }
}

/** The CKR_ name pkcs11js puts in its messages: enough to act on, and never the PIN. */
export function pkcs11ReturnCode(e: unknown): string {
  return /CKR_[A-Z_]+/.exec(e instanceof Error ? e.message : String(e))?.[0] ?? 'an error';
}

const REMOVED = new Set(['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_DEVICE_ERROR', 'CKR_CRYPTOKI_NOT_INITIALIZED']);

const fail = (what: string, e: unknown): Pkcs11Error => {
  const ckr = pkcs11ReturnCode(e);
  return new Pkcs11Error(REMOVED.has(ckr) ? 'absent' : 'failed', `${what}: the token answered ${ckr}`);
};

/**
 * One loaded library per path in this process: PKCS#11 allows one C_Initialize per process, and
 * C_Finalize would end every session of it, so the library is finalised when its last key closes.
 */
const loaded = new Map<string, { p11: Module; users: number }>();

function acquire(lib: P11, module: string): Module {
  const have = loaded.get(module);
  if (have) { have.users++; return have.p11; }
  const p11 = new lib.PKCS11();
  try {
    p11.load(module);
  } catch {
    throw new Pkcs11Error('module', `cannot load the PKCS#11 library ${module}; give the path of your token's module (--pkcs11-module)`);
  }
  try {
    p11.C_Initialize();
  } catch (e) {
    if (pkcs11ReturnCode(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw fail('the token library did not initialise', e);
  }
  loaded.set(module, { p11, users: 1 });
  return p11;
}

function release(module: string): void {
  const have = loaded.get(module);
  if (!have || --have.users > 0) return;
  loaded.delete(module);
  try { have.p11.C_Finalize(); } catch { /* not initialised */ }
}

class TokenKey implements Pkcs11Ed25519Key {
  readonly publicKey: Uint8Array;
  readonly id: Uint8Array;
  readonly confined: boolean;
  readonly #p11: Module;
  readonly #module: string;
  readonly #session: Buffer;
  readonly #key: Buffer;
  #closed = false;

  constructor(p11: Module, module: string, session: Buffer, key: Buffer, o: { id: Uint8Array; publicKey: Uint8Array; confined: boolean }) {
    this.#p11 = p11;
    this.#module = module;
    this.#session = session;
    this.#key = key;
    this.id = o.id;
    this.publicKey = o.publicKey;
    this.confined = o.confined;
  }

  sign(data: Uint8Array): Uint8Array {
    if (this.#closed) throw new Pkcs11Error('absent', 'the token session is closed');
    try {
      this.#p11.C_SignInit(this.#session, { mechanism: CKM_EDDSA }, this.#key);
      return new Uint8Array(this.#p11.C_Sign(this.#session, Buffer.from(data), Buffer.alloc(64)));
    } catch (e) {
      throw fail('signing on the token failed', e);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A login is per token and process: logging out would log out the other open keys of this library too.
    if ((loaded.get(this.#module)?.users ?? 0) <= 1) try { this.#p11.C_Logout(this.#session); } catch { /* already logged out */ }
    try { this.#p11.C_CloseSession(this.#session); } catch { /* gone */ }
    release(this.#module);
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
  throw new Pkcs11Error('key', 'the token\'s key is not an Ed25519 key (CKA_EC_POINT is not 32 bytes)');
}

const describe = (s: Pkcs11KeySelector) => ('label' in s ? `labelled "${s.label}"` : `with id ${Buffer.from(s.id).toString('hex')}`);

/**
 * Opens a session on the token labelled `tokenLabel`, logs in, and returns the Ed25519 key `select`
 * names; with `generate`, makes that key pair first (label and id as given), refusing if the label is taken.
 */
export function openPkcs11Ed25519Key(t: Pkcs11Token, select: Pkcs11KeySelector, generate?: { readonly label: string; readonly id: Uint8Array }): Pkcs11Ed25519Key {
  const lib = load();
  const p11 = acquire(lib, t.module);
  let session: Buffer | undefined;
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === t.tokenLabel);
    if (!slot) throw new Pkcs11Error('absent', `no token labelled "${t.tokenLabel}" is present; insert it or check --token`);
    session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    try {
      p11.C_Login(session, lib.CKU_USER, t.pin);
    } catch (e) {
      const ckr = pkcs11ReturnCode(e);
      if (ckr !== 'CKR_USER_ALREADY_LOGGED_IN') throw new Pkcs11Error('pin', `logging in to the token failed (check the PIN): the token answered ${ckr}`);
    }
    const which = generate ? { label: generate.label } : select;
    const match = 'label' in which ? { type: lib.CKA_LABEL, value: Buffer.from(which.label, 'utf8') } : { type: lib.CKA_ID, value: Buffer.from(which.id) };
    const privates = findObjects(p11, session, [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }, match]);
    const publics = findObjects(p11, session, [{ type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY }, match]);
    let priv: Buffer, pub: Buffer;
    if (generate) {
      if (privates.length > 0) throw new Pkcs11Error('exists', `the token already holds a key labelled "${generate.label}"`);
      ({ privateKey: priv, publicKey: pub } = generateOnToken(p11, lib, session, Buffer.from(generate.label, 'utf8'), Buffer.from(generate.id)));
    } else {
      if (privates.length !== 1 || publics.length !== 1) throw new Pkcs11Error('key', `the token holds ${privates.length} private keys ${describe(select)} (one expected, with its public key)`);
      [priv, pub] = [privates[0]!, publics[0]!];
    }
    const [idAttr, sensitive, extractable] = p11.C_GetAttributeValue(session, priv, [{ type: lib.CKA_ID }, { type: lib.CKA_SENSITIVE }, { type: lib.CKA_EXTRACTABLE }]);
    const flag = (a: { value?: unknown } | undefined) => (a?.value as Buffer | undefined)?.[0] === 1;
    const key = new TokenKey(p11, t.module, session, priv, {
      id: new Uint8Array((idAttr?.value as Buffer | undefined) ?? []),
      publicKey: publicKeyOf(p11, lib, session, pub),
      confined: flag(sensitive) && !flag(extractable),
    });
    session = undefined;
    return key;
  } catch (e) {
    if (session) try { p11.C_CloseSession(session); } catch { /* gone */ }
    release(t.module);
    if (e instanceof Pkcs11Error) throw e;
    throw fail('the token refused', e);
  }
}

function generateOnToken(p11: Module, lib: P11, session: Buffer, label: Buffer, id: Buffer): { privateKey: Buffer; publicKey: Buffer } {
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
