/** Test fixtures: deterministic randomness and ready-made parties. */
import { sha256 } from '@noble/hashes/sha2.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { Random } from '../../src/crypto/random.js';
import { nodeCrypto } from '../../src/crypto/node.js';
import { portableCrypto } from '../../src/crypto/portable.js';
import {
  generateIdentityKeyPair, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey,
  type IdentityKeyPair, type OneTimePreKeyRecord, type PqPreKeyRecord, type ProtocolContext, type SignedPreKeyRecord,
} from '../../src/keys.js';
import { makePreKeyBundle, type PreKeyBundle } from '../../src/bundle.js';

export const providers: readonly CryptoProvider[] = [nodeCrypto, portableCrypto];

/** A deterministic byte stream: SHA-256(seed || counter) blocks. */
export function seededRandom(seed: string | number): Random {
  const seedBytes = new TextEncoder().encode(String(seed));
  let counter = 0;
  let pool = new Uint8Array(0);
  return (length: number) => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (pool.length === 0) {
        const c = new Uint8Array(seedBytes.length + 4);
        c.set(seedBytes);
        new DataView(c.buffer).setUint32(seedBytes.length, counter++);
        pool = sha256(c);
      }
      const take = Math.min(pool.length, length - filled);
      out.set(pool.subarray(0, take), filled);
      pool = pool.subarray(take);
      filled += take;
    }
    return out;
  };
}

export function context(crypto: CryptoProvider = nodeCrypto, seed: string | number = 'sigilo-test'): ProtocolContext {
  return { crypto, random: seededRandom(seed) };
}

export interface Party {
  readonly identity: IdentityKeyPair;
  readonly signedPreKey: SignedPreKeyRecord;
  readonly oneTimePreKeys: OneTimePreKeyRecord[];
  readonly pqPreKey: PqPreKeyRecord;
  readonly lastResortPqPreKey: PqPreKeyRecord;
}

export const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export function makeParty(ctx: ProtocolContext, oneTimeCount = 3): Party {
  const identity = generateIdentityKeyPair(ctx);
  return {
    identity,
    signedPreKey: generateSignedPreKey(ctx, identity, 1, NOW),
    oneTimePreKeys: generateOneTimePreKeys(ctx, 100, oneTimeCount),
    pqPreKey: generatePqPreKey(ctx, identity, 200, false, NOW),
    lastResortPqPreKey: generatePqPreKey(ctx, identity, 300, true, NOW),
  };
}

export function bundleOf(p: Party, opts: { oneTime?: boolean; lastResort?: boolean } = {}): PreKeyBundle {
  return makePreKeyBundle(
    p.identity, 1, p.signedPreKey,
    opts.lastResort ? p.lastResortPqPreKey : p.pqPreKey,
    opts.oneTime === false ? undefined : p.oneTimePreKeys[0],
  );
}

/** The responder keys a device would look up for a parsed prekey message. */
export function responderKeys(p: Party, ids: { oneTimePreKeyId: number | undefined; pqPreKeyId: number }) {
  return {
    signedPreKey: p.signedPreKey,
    oneTimePreKey: p.oneTimePreKeys.find((k) => k.id === ids.oneTimePreKeyId),
    pqPreKey: [p.pqPreKey, p.lastResortPqPreKey].find((k) => k.id === ids.pqPreKeyId),
  };
}
