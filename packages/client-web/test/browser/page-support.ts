/** What the Chromium test pages share (entry.ts, worker-tests.ts): fast store parameters, unique names, test bytes. */
import { IndexedDbStore, type KdfParams } from '@sigilo/client-web';

/** Fast parameters for tests (the floor the header accepts); the default is measured by `kdfTime`. */
export const TEST_KDF: KdfParams = { name: 'scrypt', logN: 10, r: 8, p: 1 };
let counter = 0;
export const uniqueName = (what: string) => `${what}-${Date.now().toString(36)}-${counter++}`;

export const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export async function openStore(name: string, passphrase: string, extra: Partial<Parameters<typeof IndexedDbStore.open>[0]> = {}): Promise<IndexedDbStore> {
  return IndexedDbStore.open({ name, passphrase, kdf: TEST_KDF, ...extra });
}

export async function sha256Hex(b: BufferSource): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', b)));
}

/** Deterministic pseudo-random bytes (xorshift), made a piece at a time. */
export function patternBlob(size: number): Blob {
  const parts: Uint8Array[] = [];
  let x = 0x12345678;
  for (let done = 0; done < size;) {
    const n = Math.min(1 << 20, size - done);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
    parts.push(b);
    done += n;
  }
  return new Blob(parts as Uint8Array<ArrayBuffer>[]);
}
