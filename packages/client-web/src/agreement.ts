/**
 * X25519 through WebCrypto (native in Chromium, Firefox and Safari): the
 * asynchronous agreement the client core uses to unseal a batch of
 * deliveries at once (@sigilo/client agreement-prefetch.ts), far faster
 * than the portable provider's X25519 in JavaScript. Where the browser has no
 * X25519 in WebCrypto, every entry is undefined and the core does it itself.
 */
import type { AsyncAgreement } from '@sigilo/client';

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410): WebCrypto imports private keys only so. */
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const X25519 = { name: 'X25519' } as const;

/** Imported private keys, by the array that holds them (a device's identity key lives as long as its engine). */
const imported = new WeakMap<Uint8Array, Promise<CryptoKey>>();
let unsupported = false;

function importPrivate(privateKey: Uint8Array): Promise<CryptoKey> {
  let k = imported.get(privateKey);
  if (!k) {
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
    pkcs8.set(PKCS8_PREFIX);
    pkcs8.set(privateKey, PKCS8_PREFIX.length);
    k = crypto.subtle.importKey('pkcs8', pkcs8, X25519, false, ['deriveBits']).finally(() => pkcs8.fill(0));
    imported.set(privateKey, k);
  }
  return k;
}

export const webCryptoAgreement: AsyncAgreement = async (privateKey, publicKeys) => {
  if (unsupported || !globalThis.crypto?.subtle) return publicKeys.map(() => undefined);
  let priv: CryptoKey;
  try {
    priv = await importPrivate(privateKey);
  } catch {
    unsupported = true; // no X25519 in this browser's WebCrypto
    imported.delete(privateKey);
    return publicKeys.map(() => undefined);
  }
  return Promise.all(publicKeys.map(async (p) => {
    try {
      const pub = await crypto.subtle.importKey('raw', p as Uint8Array<ArrayBuffer>, X25519, false, []);
      return new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256));
    } catch {
      return undefined; // a low-order key: the core's own X25519 reports it
    }
  }));
};
