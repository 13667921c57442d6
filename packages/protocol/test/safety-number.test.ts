/**
 * Safety numbers (protocol.md §8): one 60-digit number both sides compute
 * identically, that changes when any key or id changes, a QR payload each side
 * verifies against the other's (and not a third party's), identical with both
 * providers and equal to an independent computation of the formula.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  InvalidArgumentError, InvalidKeyError, SAFETY_NUMBER_ITERATIONS,
  concatBytes, formatSafetyNumber, safetyNumber, verifySafetyNumberQr,
  type SafetyNumberParty,
} from '../src/index.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import { context, makeParty, providers } from './support/fixtures.js';
import { bytesHex, expectThrows, flipBit } from './support/sessions.js';

const pool = context(nodeCrypto, 'safety-number');
const party = (seed: number): SafetyNumberParty => ({
  identityKey: makeParty(pool, 0).identity.publicKey,
  stableId: Uint8Array.from({ length: 16 }, (_, i) => seed * 16 + i),
});
const alice = party(1);
const bob = party(2);
const carol = party(3);

/** §8 recomputed with node:crypto's SHA-512 directly. */
function independent(local: SafetyNumberParty, remote: SafetyNumberParty): { digits: string; qr: string } {
  const fp = (p: SafetyNumberParty) => {
    let h = createHash('sha512').update(Uint8Array.of(0, 0)).update(p.identityKey).update(p.stableId).digest();
    for (let i = 1; i < SAFETY_NUMBER_ITERATIONS; i++) h = createHash('sha512').update(h).update(p.identityKey).digest();
    return new Uint8Array(h);
  };
  const digits = (f: Uint8Array) => {
    let s = '';
    for (let i = 0; i < 30; i += 5) {
      const v = Number(BigInt('0x' + bytesHex(f.subarray(i, i + 5))) % 100000n);
      s += String(v).padStart(5, '0');
    }
    return s;
  };
  const fl = fp(local);
  const fr = fp(remote);
  const [x, y] = [digits(fl), digits(fr)].sort();
  return { digits: x! + y!, qr: bytesHex(concatBytes(Uint8Array.of(1), fl.subarray(0, 32), fr.subarray(0, 32))) };
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('safety numbers ($name)', ({ crypto }) => {
  const ab = safetyNumber(crypto, alice, bob);
  const ba = safetyNumber(crypto, bob, alice);

  it('60 digits, the same on both sides, and the specification\'s formula', () => {
    expect(ab.digits).toMatch(/^\d{60}$/);
    expect(ba.digits).toBe(ab.digits);
    const expected = independent(alice, bob);
    expect(ab.digits).toBe(expected.digits);
    expect(bytesHex(ab.qrPayload)).toBe(expected.qr);
    expect(formatSafetyNumber(ab.digits)).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(formatSafetyNumber(ab.digits).replace(/ /g, '')).toBe(ab.digits);
  });

  it('different when any key or id changes', () => {
    const variants: [string, SafetyNumberParty, SafetyNumberParty][] = [
      ['Alice\'s signing half, one bit', { ...alice, identityKey: flipBit(alice.identityKey, 0, 0) }, bob],
      ['Alice\'s agreement half, one bit', { ...alice, identityKey: flipBit(alice.identityKey, 40, 3) }, bob],
      ['Bob\'s signing half, one bit', alice, { ...bob, identityKey: flipBit(bob.identityKey, 31, 7) }],
      ['Bob\'s agreement half, one bit', alice, { ...bob, identityKey: flipBit(bob.identityKey, 63, 0) }],
      ['Alice\'s stable id', { ...alice, stableId: flipBit(alice.stableId, 15, 0) }, bob],
      ['Bob\'s stable id', alice, { ...bob, stableId: bob.stableId.subarray(0, 15) }],
      ['Bob replaced by Carol', alice, carol],
      ['Bob\'s key with Carol\'s id', alice, { ...bob, stableId: carol.stableId }],
    ];
    const seen = new Set([ab.digits]);
    for (const [what, l, r] of variants) {
      const sn = safetyNumber(crypto, l, r);
      expect(sn.digits, what).not.toBe(ab.digits);
      expect(bytesHex(sn.qrPayload), what).not.toBe(bytesHex(ab.qrPayload));
      seen.add(sn.digits);
    }
    expect(seen.size).toBe(variants.length + 1);
    // Each half of the number belongs to one party: changing Bob's key leaves Alice's 30 digits.
    const changed = safetyNumber(crypto, alice, { ...bob, identityKey: flipBit(bob.identityKey, 1, 1) }).digits;
    const halves = (d: string) => [d.slice(0, 30), d.slice(30)];
    expect(halves(changed).filter((h) => halves(ab.digits).includes(h))).toHaveLength(1);
  });

  it('the QR payload verifies both ways, and not for a third party', () => {
    expect(ab.qrPayload).toHaveLength(65);
    expect(verifySafetyNumberQr(ab.qrPayload, ba.qrPayload)).toBe(true);
    expect(verifySafetyNumberQr(ba.qrPayload, ab.qrPayload)).toBe(true);
    const ac = safetyNumber(crypto, alice, carol);
    const ca = safetyNumber(crypto, carol, alice);
    const cb = safetyNumber(crypto, carol, bob);
    expect(verifySafetyNumberQr(ab.qrPayload, ca.qrPayload)).toBe(false); // Carol shows her code to Alice, who expects Bob
    expect(verifySafetyNumberQr(ab.qrPayload, cb.qrPayload)).toBe(false); // Carol's code for Bob
    expect(verifySafetyNumberQr(ba.qrPayload, ac.qrPayload)).toBe(false);
    expect(verifySafetyNumberQr(ab.qrPayload, ab.qrPayload)).toBe(false); // one's own code, scanned back
    // A man in the middle: Bob sees Mallory's key where Alice's should be.
    const mallory = { ...alice, identityKey: flipBit(alice.identityKey, 50, 1) };
    expect(verifySafetyNumberQr(ab.qrPayload, safetyNumber(crypto, bob, mallory).qrPayload)).toBe(false);
    // Malformed scans are refused, not thrown on.
    expect(verifySafetyNumberQr(ab.qrPayload, Uint8Array.of(2, ...ba.qrPayload.subarray(1)))).toBe(false);
    expect(verifySafetyNumberQr(ab.qrPayload, ba.qrPayload.subarray(0, 64))).toBe(false);
    expect(verifySafetyNumberQr(ab.qrPayload, new Uint8Array(0))).toBe(false);
    for (let i = 1; i < 65; i += 7) expect(verifySafetyNumberQr(ab.qrPayload, flipBit(ba.qrPayload, i, i % 8))).toBe(false);
    expectThrows(() => verifySafetyNumberQr(ab.qrPayload.subarray(0, 64), ba.qrPayload), InvalidArgumentError);
  });

  it('an identity key of the wrong length is refused', () => {
    expectThrows(() => safetyNumber(crypto, { ...alice, identityKey: alice.identityKey.subarray(0, 32) }, bob), InvalidKeyError);
    expectThrows(() => safetyNumber(crypto, alice, { ...bob, identityKey: new Uint8Array(65) }), InvalidKeyError);
  });
});

describe('safety numbers across providers', () => {
  it('node and portable produce identical digits and QR payloads', () => {
    for (const [l, r] of [[alice, bob], [bob, alice], [alice, carol]] as const) {
      const n = safetyNumber(nodeCrypto, l, r);
      const p = safetyNumber(portableCrypto, l, r);
      expect(p.digits).toBe(n.digits);
      expect(bytesHex(p.qrPayload)).toBe(bytesHex(n.qrPayload));
    }
  });
});
