/** x25519Batch must equal the single calls it replaces, results and errors alike. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidKeyError, InvalidArgumentError, toHex } from '../src/index.js';
import { providers } from './support/fixtures.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe.each(providers)('x25519Batch ($name)', (crypto) => {
  it('equals x25519PublicKey and x25519 for each peer, in order', () => {
    fc.assert(fc.property(key, fc.array(key, { maxLength: 4 }), (priv, peerPrivs) => {
      const peers = peerPrivs.map((p) => crypto.x25519PublicKey(p));
      const batch = crypto.x25519Batch(priv, peers);
      expect(toHex(batch.publicKey)).toBe(toHex(crypto.x25519PublicKey(priv)));
      expect(batch.shared.map(toHex)).toEqual(peers.map((p) => toHex(crypto.x25519(priv, p))));
    }), { numRuns: crypto.name === 'node' ? 100 : 15 });
  });

  it('rejects a low-order peer and wrong lengths like the single calls', () => {
    const priv = new Uint8Array(32).fill(3);
    const good = crypto.x25519PublicKey(new Uint8Array(32).fill(4));
    const zero = new Uint8Array(32);
    expect(() => crypto.x25519Batch(priv, [good, zero])).toThrow(InvalidKeyError);
    expect(() => crypto.x25519Batch(priv, [good.subarray(0, 31)])).toThrow(InvalidKeyError);
    expect(() => crypto.x25519Batch(priv.subarray(0, 31), [good])).toThrow(InvalidArgumentError);
  });
});

describe.each(providers)('retainPrivateKey ($name)', (crypto) => {
  it('a retained key gives the same agreements and signatures as an unretained copy', () => {
    const x = new Uint8Array(32).fill(5), e = new Uint8Array(32).fill(6);
    const peer = crypto.x25519PublicKey(new Uint8Array(32).fill(7));
    const before = { dh: toHex(crypto.x25519(x, peer)), sig: toHex(crypto.ed25519Sign(e, new Uint8Array([1, 2, 3]))) };
    crypto.retainPrivateKey?.(x, 'x25519');
    crypto.retainPrivateKey?.(e, 'ed25519');
    expect(toHex(crypto.x25519(x, peer))).toBe(before.dh);
    expect(toHex(crypto.x25519Batch(x, [peer]).shared[0]!)).toBe(before.dh);
    expect(toHex(crypto.ed25519Sign(e, new Uint8Array([1, 2, 3])))).toBe(before.sig);
    // Another array with other bytes is not confused with the retained one.
    expect(toHex(crypto.x25519(new Uint8Array(32).fill(8), peer))).not.toBe(before.dh);
  });
});
