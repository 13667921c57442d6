import { describe, expect, it } from 'vitest';
import { initiateSession, encryptMessage, decryptMessage, decryptPreKeyMessage, parsePreKeyMessage, messageType, encodeSessionRecord, decodeSessionRecord } from '../src/index.js';
import { bundleOf, context, makeParty, providers, responderKeys } from './support/fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe.each(providers)('smoke $name', (crypto) => {
  it('round trip', () => {
    const ctx = context(crypto);
    const alice = makeParty(ctx), bob = makeParty(ctx);
    let a = initiateSession(ctx, alice.identity, bundleOf(bob));
    let r = encryptMessage(ctx, a, enc('hello')); a = r.record;
    expect(messageType(r.message)).toBe('prekey');
    const pm = parsePreKeyMessage(r.message);
    const d = decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, pm), pm);
    expect(dec(d.plaintext)).toBe('hello');
    let b = decodeSessionRecord(encodeSessionRecord(d.record));
    const r2 = encryptMessage(ctx, b, enc('hi back')); b = r2.record;
    expect(messageType(r2.message)).toBe('ratchet');
    const d2 = decryptMessage(ctx, a, r2.message); a = d2.record;
    expect(dec(d2.plaintext)).toBe('hi back');
    const r3 = encryptMessage(ctx, a, enc('third'));
    expect(messageType(r3.message)).toBe('ratchet');
    expect(dec(decryptMessage(ctx, b, r3.message).plaintext)).toBe('third');
  });
});
