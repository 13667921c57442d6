/** Device names are encrypted for the account's devices only, bound to the account and device (client.md, "Devices and their names"). */
import { generateIdentityKeyPair } from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { describe, expect, it } from 'vitest';
import { MAX_DEVICE_NAME_BYTES, decryptDeviceName, encryptDeviceName, normaliseDeviceName } from '../src/device-names.js';

const ctx = { crypto: nodeCrypto, random: systemRandom };

describe('device names', () => {
  const identity = generateIdentityKeyPair(ctx);
  const account = new Uint8Array(16).fill(7);

  it('round-trip for the account, and the blob does not contain the name', () => {
    const blob = encryptDeviceName(ctx, identity, account, 2, "  Ana's   phone ");
    expect(blob.length).toBeLessThanOrEqual(128);
    expect(Buffer.from(blob).toString('latin1')).not.toContain('Ana');
    expect(decryptDeviceName(ctx, identity, account, 2, blob)).toBe("Ana's phone");
  });

  it('cannot be read with another identity, nor moved to another device or account', () => {
    const blob = encryptDeviceName(ctx, identity, account, 2, 'laptop');
    expect(decryptDeviceName(ctx, generateIdentityKeyPair(ctx), account, 2, blob)).toBeUndefined();
    expect(decryptDeviceName(ctx, identity, account, 3, blob)).toBeUndefined();
    expect(decryptDeviceName(ctx, identity, new Uint8Array(16), 2, blob)).toBeUndefined();
    expect(decryptDeviceName(ctx, identity, account, 2, blob.subarray(0, 20))).toBeUndefined();
  });

  it('a name another client sealed without normalising (controls, direction overrides, several lines) is not shown', () => {
    // The format of client.md ("Devices and their names"), as a client that skips normaliseDeviceName writes it.
    const seal = (name: string) => {
      const key = ctx.crypto.hkdfSha256(identity.agreement.privateKey, new Uint8Array(0), new TextEncoder().encode('Sigilo device name v1'), 32);
      const aad = new Uint8Array(20);
      aad.set(account);
      new DataView(aad.buffer).setUint32(16, 2);
      const nonce = ctx.random(12);
      return new Uint8Array([...nonce, ...ctx.crypto.aes256GcmEncrypt(key, nonce, new TextEncoder().encode(name), aad)]);
    };
    expect(decryptDeviceName(ctx, identity, account, 2, seal('Ana’s phone'))).toBe('Ana’s phone');
    for (const bad of ['Chrome on Linux\u202E', 'x\u001b[2J', 'one\ntwo', '  padded ']) expect(decryptDeviceName(ctx, identity, account, 2, seal(bad))).toBeUndefined();
  });

  it('refuses empty, multi-line and over-long names with a clear error', () => {
    expect(() => normaliseDeviceName('   ')).toThrow(/one line of text/);
    expect(() => normaliseDeviceName('a\u0007b')).toThrow(/one line of text/);
    for (const bad of ['Ana\u202Eenohp', 'a\u0085b', '\u2067Ana\u2069', 'a\u200Fb']) expect(() => normaliseDeviceName(bad)).toThrow(/one line of text/);
    expect(() => normaliseDeviceName('é'.repeat(MAX_DEVICE_NAME_BYTES / 2 + 1))).toThrow(/at most 64 bytes/);
    expect(encryptDeviceName(ctx, identity, account, 1, 'é'.repeat(MAX_DEVICE_NAME_BYTES / 2)).length).toBeLessThanOrEqual(128);
  });
});
