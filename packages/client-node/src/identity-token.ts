/**
 * An identity signing key on a PKCS#11 token (spec/trust.md §7.1), for the
 * Node client: the store keeps only where the key lives (module, token label,
 * key id), and every identity signature is made on the token
 * (@sigilo/protocol/pkcs11). The token is reached at the first signature, not
 * when the store opens: reading messages needs no token, signing does.
 */
import { bytesEqual, IdentityKeyUnavailableError, type IdentitySigner, type IdentityTokenOpener, type TokenKeyReference } from '@sigilo/protocol';
import { openPkcs11Ed25519Key, Pkcs11Error, type Pkcs11Ed25519Key } from '@sigilo/protocol/pkcs11';
import { systemRandom } from '@sigilo/protocol/node';
import { realpathSync } from 'node:fs';

export interface Pkcs11IdentityOptions {
  /** The token's PIN, asked for when the token is first used; undefined when none can be had (the signature then fails). */
  readonly pin: () => string | undefined;
  /** The PKCS#11 library to use instead of the stored path (the same token on a computer that keeps it elsewhere). */
  readonly module?: string | undefined;
  /**
   * Whether the library path stored with the identity may be loaded (it is not asked when `module` is given). A new
   * device being linked gets that path from the link message, which anyone holding the link code can send: loading
   * it would run whatever file it names (`systemLibraryPath` is the check for that case).
   */
  readonly allowModule?: ((path: string) => boolean) | undefined;
}

/** Where operating systems and package managers install PKCS#11 libraries (only an administrator writes there). */
const SYSTEM_LIBRARY_DIRS = ['/usr/lib/', '/usr/lib32/', '/usr/lib64/', '/lib/', '/lib64/', '/usr/local/lib/', '/opt/', '/nix/store/', '/Library/', '/System/Library/', '/usr/local/Cellar/'];

/** Whether `path` resolves (links followed) to a file in a system library directory, not somewhere a user or a download can write. */
export function systemLibraryPath(path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  if (/^[a-z]:\\(windows|program files( \(x86\))?)\\/i.test(real)) return true;
  return SYSTEM_LIBRARY_DIRS.some((d) => real.startsWith(d));
}

/** The label a new identity key gets on the token unless another is asked for. */
export const IDENTITY_KEY_LABEL = 'sigilo-identity';

function unavailable(e: unknown, tokenLabel: string): unknown {
  if (!(e instanceof Pkcs11Error)) return e;
  switch (e.reason) {
    case 'absent':
      return new IdentityKeyUnavailableError('absent', `the token "${tokenLabel}" that holds this account's identity key is not present (${e.message}): insert it and try again; the key never leaves it`);
    case 'pin':
      return new IdentityKeyUnavailableError('pin', `the token "${tokenLabel}" refused the PIN (${e.message}); give the right one (sigilo: SIGILO_PKCS11_PIN or the prompt). Tokens lock after a few wrong PINs`);
    case 'module':
      return new IdentityKeyUnavailableError('module', `${e.message} (sigilo: SIGILO_PKCS11_MODULE names the library on this computer)`);
    case 'key':
      return new IdentityKeyUnavailableError('key', `the token "${tokenLabel}" does not hold this account's identity key: ${e.message}`);
    default:
      return new IdentityKeyUnavailableError('failed', e.message);
  }
}

/** Signs on the token, opening it (and logging in) at the first signature and again after it was removed. */
class TokenIdentitySigner implements IdentitySigner {
  readonly publicKey: Uint8Array;
  readonly #ref: TokenKeyReference;
  readonly #options: Pkcs11IdentityOptions;
  #key: Pkcs11Ed25519Key | undefined;
  /** A PIN the token refused: not tried again (each try counts towards locking the token). */
  #refusedPin: string | undefined;

  constructor(ref: TokenKeyReference, publicKey: Uint8Array, options: Pkcs11IdentityOptions) {
    this.#ref = ref;
    this.publicKey = publicKey;
    this.#options = options;
  }

  sign(message: Uint8Array): Uint8Array {
    for (let attempt = 0; ; attempt++) {
      const reopened = this.#key === undefined;
      try {
        this.#key ??= this.#open();
        return this.#key.sign(message);
      } catch (e) {
        // A session lost (a removed and reinserted token, a logout): open it once more. A refused PIN is never retried.
        const retry = e instanceof Pkcs11Error && e.reason !== 'pin' && !reopened && attempt === 0;
        this.#key?.close();
        this.#key = undefined;
        if (!retry) throw unavailable(e, this.#ref.tokenLabel);
      }
    }
  }

  #open(): Pkcs11Ed25519Key {
    const module = this.#options.module ?? this.#ref.module;
    if (this.#options.module === undefined && this.#options.allowModule && !this.#options.allowModule(module)) {
      throw new IdentityKeyUnavailableError('module', `the token library named with this identity, ${JSON.stringify(module)}, is not in a system library directory, so it is not loaded (a link message can name any file on this computer); if it is your token's library, name it with SIGILO_PKCS11_MODULE`);
    }
    const pin = this.#options.pin();
    if (pin === undefined || pin === '') throw new IdentityKeyUnavailableError('pin', `this account's identity key is on the token "${this.#ref.tokenLabel}": its PIN is needed: set SIGILO_PKCS11_PIN, or run the command in a terminal to be asked for it`);
    if (pin === this.#refusedPin) throw new IdentityKeyUnavailableError('pin', `the token "${this.#ref.tokenLabel}" already refused this PIN; give the right one (it is not tried again: tokens lock after a few wrong PINs)`);
    let key: Pkcs11Ed25519Key;
    try {
      key = openPkcs11Ed25519Key({ module, tokenLabel: this.#ref.tokenLabel, pin }, { id: this.#ref.keyId });
    } catch (e) {
      if (e instanceof Pkcs11Error && e.reason === 'pin') this.#refusedPin = pin;
      throw e;
    }
    if (!bytesEqual(key.publicKey, this.publicKey)) {
      key.close();
      throw new IdentityKeyUnavailableError('key', `the key on the token "${this.#ref.tokenLabel}" is not this account's identity key (another token with the same label?)`);
    }
    return key;
  }
}

/** The ClientOptions.identityToken of a Node client: identity keys on PKCS#11 tokens. */
export function pkcs11IdentityToken(options: Pkcs11IdentityOptions): IdentityTokenOpener {
  return (ref, publicKey) => new TokenIdentitySigner(ref, publicKey, options);
}

/**
 * For `register`: the Ed25519 key labelled `keyLabel` on the token, made there (sensitive, not extractable, with
 * 16 bytes from `random` as its CKA_ID) when the token has none with that label. Returns what
 * SigiloClient.register takes, and whether the key was made now.
 */
export function openIdentityKeyOnToken(
  target: { module: string; tokenLabel: string; pin: string; keyLabel?: string },
  options: Pkcs11IdentityOptions,
  random: (n: number) => Uint8Array = systemRandom,
): { token: TokenKeyReference; signer: IdentitySigner; created: boolean } {
  const token = { module: target.module, tokenLabel: target.tokenLabel, pin: target.pin };
  const label = target.keyLabel ?? IDENTITY_KEY_LABEL;
  let key: Pkcs11Ed25519Key;
  let created = false;
  try {
    try {
      key = openPkcs11Ed25519Key(token, { label });
    } catch (e) {
      if (!(e instanceof Pkcs11Error && e.reason === 'key')) throw e;
      key = openPkcs11Ed25519Key(token, { label }, { label, id: random(16) });
      created = true;
    }
  } catch (e) {
    throw unavailable(e, target.tokenLabel);
  }
  const ref: TokenKeyReference = { module: target.module, tokenLabel: target.tokenLabel, keyId: key.id };
  if (key.id.length === 0 || !key.confined) {
    key.close();
    throw new IdentityKeyUnavailableError('key', key.id.length === 0
      ? `the key labelled "${label}" on the token has no CKA_ID; choose another label to make a new key`
      : `the key labelled "${label}" on the token could leave it (CKA_SENSITIVE false or CKA_EXTRACTABLE true); Sigilo keeps identity keys only on tokens that never give them out: choose another label to make a new key`);
  }
  const publicKey = key.publicKey;
  key.close();
  return { token: ref, signer: pkcs11IdentityToken(options)(ref, publicKey), created };
}
