/** Usernames (normal form, hash) and encrypted profiles (protocol.md §12). */
import { describe, expect, it } from 'vitest';
import {
  DecryptionError, InvalidArgumentError, UnsupportedVersionError, decryptProfile, encryptProfile, normaliseUsername, usernameHash,
} from '../src/index.js';
import { nodeCrypto, systemRandom } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';

const ctx = { crypto: nodeCrypto, random: systemRandom };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('usernames', () => {
  it('normalises what people type and refuses what is not a username', () => {
    expect(normaliseUsername('  @Ana.Lopez ')).toBe('ana.lopez');
    expect(normaliseUsername('bruno_alves')).toBe('bruno_alves');
    expect(normaliseUsername('x9z')).toBe('x9z');
    expect(normaliseUsername('a'.repeat(32))).toBe('a'.repeat(32));
    for (const bad of ['ab', 'a'.repeat(33), '.ana', '_ana', 'ana.', 'an..a', 'ana lopez', 'anä', 'ana-lopez', 'ANA\u0130', '@@ana', '']) {
      expect(normaliseUsername(bad), bad).toBeUndefined();
    }
  });

  it('hashes SHA-256("sigilo-username:" || normalised), the same for every spelling and provider', () => {
    const expected = hex(nodeCrypto.sha256(utf8('sigilo-username:ana.lopez')));
    expect(hex(usernameHash(nodeCrypto, 'ana.lopez'))).toBe(expected);
    expect(hex(usernameHash(nodeCrypto, '@ANA.Lopez'))).toBe(expected);
    expect(hex(usernameHash(portableCrypto, 'ana.lopez'))).toBe(expected);
    expect(() => usernameHash(nodeCrypto, 'a b')).toThrow(InvalidArgumentError);
  });
});

describe('encrypted profiles', () => {
  const key = ctx.random(32), accountId = ctx.random(16);

  it('round-trips, hides the name length in 256-byte blocks and uses a fresh nonce each time', () => {
    const short = encryptProfile(ctx, key, accountId, utf8('Ana'));
    const longer = encryptProfile(ctx, key, accountId, utf8('Ana Beatriz López de la Fuente y Martínez'));
    expect(short.length).toBe(longer.length);
    expect(short.length).toBe(1 + 12 + 256 + 16);
    expect(new TextDecoder().decode(decryptProfile(ctx, key, accountId, short))).toBe('Ana');
    expect(hex(encryptProfile(ctx, key, accountId, utf8('Ana')))).not.toBe(hex(short));
    const big = new Uint8Array(300).fill(1);
    expect(decryptProfile(ctx, key, accountId, encryptProfile(ctx, key, accountId, big))).toEqual(big);
  });

  it('refuses another key, another account\'s blob, tampering and an unknown version', () => {
    const blob = encryptProfile(ctx, key, accountId, utf8('Ana'));
    expect(() => decryptProfile(ctx, ctx.random(32), accountId, blob)).toThrow(DecryptionError);
    expect(() => decryptProfile(ctx, key, ctx.random(16), blob)).toThrow(DecryptionError);
    const flipped = blob.slice(); flipped[40]! ^= 1;
    expect(() => decryptProfile(ctx, key, accountId, flipped)).toThrow(DecryptionError);
    const v2 = blob.slice(); v2[0] = 2;
    expect(() => decryptProfile(ctx, key, accountId, v2)).toThrow(UnsupportedVersionError);
    expect(() => decryptProfile(ctx, key, accountId, blob.subarray(0, 20))).toThrow(/too short/);
    expect(() => encryptProfile(ctx, new Uint8Array(16), accountId, utf8('x'))).toThrow(InvalidArgumentError);
  });
});
