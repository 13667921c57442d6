/**
 * Two attacks found in review, each pinned by a test that fails if the fix goes:
 * - a replayed first message whose base key is shifted by a point of small
 *   order (same DH outputs, other bytes) must not start a second session;
 * - after a peer's identity changed, a holder of the old identity's session
 *   must not be able to bring it back into use with an ordinary message.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  DecryptionError, DuplicateMessageError, bytesEqual, decryptMessage, decryptPreKeyMessage, encryptMessage, initiateSession,
  isCanonicalX25519PublicKey, parsePreKeyMessage, sessionRemoteIdentity, toHex, NoSessionError,
} from '../src/index.js';
import { encodePreKeyMessage } from '../src/ratchet/message.js';
import { makePreKeyBundle } from '../src/bundle.js';
import { context, makeParty, providers } from './support/fixtures.js';

const P = 2n ** 255n - 19n;
const mod = (a: bigint) => ((a % P) + P) % P;
const pow = (b: bigint, e: bigint) => { let r = 1n; b = mod(b); while (e > 0n) { if (e & 1n) r = (r * b) % P; b = (b * b) % P; e >>= 1n; } return r; };
const inv = (a: bigint) => pow(a, P - 2n);
const le = (b: Uint8Array) => { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!); return x; };
const toLe = (x: bigint) => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(x & 0xffn); x >>= 8n; } return o; };

/** The other canonical encodings of u + T for the points T of order dividing 8 (Edwards arithmetic, then back to Montgomery u). */
function torsionShifts(u: Uint8Array): Uint8Array[] {
  const y = mod((le(u) - 1n) * inv(le(u) + 1n));
  const point = ed25519.Point.fromBytes(toLe(y));
  const t8 = ed25519.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
  const out: Uint8Array[] = [];
  let t = t8;
  for (let i = 1; i < 8; i++, t = t.add(t8)) {
    const q = point.add(t).toAffine();
    const shifted = toLe(mod((1n + q.y) * inv(1n - q.y)));
    if (isCanonicalX25519PublicKey(shifted) && toHex(shifted) !== toHex(u)) out.push(shifted);
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

describe.each(providers)('replays and identity changes ($name)', (crypto) => {
  it('a first message replayed with a torsion-shifted base key is refused and starts no session', () => {
    const ctx = context(crypto, 'torsion');
    const alice = makeParty(ctx), bob = makeParty(ctx);
    // No one-time EC prekey and the last-resort PQ key: nothing is consumed, the worst case.
    const bundle = makePreKeyBundle(bob.identity, 1, bob.signedPreKey, bob.lastResortPqPreKey);
    const keys = { signedPreKey: bob.signedPreKey, pqPreKey: bob.lastResortPqPreKey };
    const sent = encryptMessage(ctx, initiateSession(ctx, alice.identity, bundle), text('approve transfer #42'));
    const first = decryptPreKeyMessage(ctx, undefined, bob.identity, keys, sent.message);
    expect(new TextDecoder().decode(first.plaintext)).toBe('approve transfer #42');
    expect(() => decryptPreKeyMessage(ctx, first.record, bob.identity, keys, sent.message)).toThrow(DuplicateMessageError);

    const msg = parsePreKeyMessage(sent.message);
    const shifts = torsionShifts(msg.baseKey);
    expect(shifts.length).toBeGreaterThan(0);
    for (const shifted of shifts) {
      // The attack's premise: the DH outputs are the same for the shifted key.
      expect(toHex(crypto.x25519(bob.identity.agreement.privateKey, shifted))).toBe(toHex(crypto.x25519(bob.identity.agreement.privateKey, msg.baseKey)));
      const forged = encodePreKeyMessage({ ...msg, baseKey: shifted });
      expect(() => decryptPreKeyMessage(ctx, first.record, bob.identity, keys, forged)).toThrow(DecryptionError);
      expect(() => decryptPreKeyMessage(ctx, undefined, bob.identity, keys, forged)).toThrow(DecryptionError);
    }
  });

  it('after an identity change, the old identity\'s session cannot be revived by a ratchet message', () => {
    const ctx = context(crypto, 'revive');
    const bob = makeParty(ctx);
    const oldAlice = makeParty(ctx), newAlice = makeParty(ctx);
    const bundle = makePreKeyBundle(bob.identity, 1, bob.signedPreKey, bob.lastResortPqPreKey);
    const keys = { signedPreKey: bob.signedPreKey, pqPreKey: bob.lastResortPqPreKey };
    // Bob talks with Alice's old identity (later stolen with her device).
    let thief = initiateSession(ctx, oldAlice.identity, bundle);
    let x = encryptMessage(ctx, thief, text('hi from the old identity')); thief = x.record;
    let b = decryptPreKeyMessage(ctx, undefined, bob.identity, keys, x.message).record;
    x = encryptMessage(ctx, b, text('hello')); b = x.record;
    thief = decryptMessage(ctx, thief, x.message).record;
    // Alice reinstalls with a new identity; Bob's record for her device now holds only the new one.
    const fresh = encryptMessage(ctx, initiateSession(ctx, newAlice.identity, bundle), text('I reinstalled'));
    b = decryptPreKeyMessage(ctx, b, bob.identity, keys, fresh.message).record;
    expect(bytesEqual(sessionRemoteIdentity(b)!, newAlice.identity.publicKey)).toBe(true);
    expect(b.previous.every((s) => bytesEqual(s.remoteIdentity, newAlice.identity.publicKey))).toBe(true);
    // The thief's ordinary message fails; Bob's current session stays the new identity's.
    x = encryptMessage(ctx, thief, text('send me the files'));
    expect(() => decryptMessage(ctx, b, x.message)).toThrow(DecryptionError);
    expect(() => decryptMessage(ctx, undefined, x.message)).toThrow(NoSessionError);
    // decryptMessage reports whose session decrypted, so a caller can check trust.
    const ok = encryptMessage(ctx, b, text('to the new Alice'));
    expect(ok.message.length).toBeGreaterThan(0);
  });
});
