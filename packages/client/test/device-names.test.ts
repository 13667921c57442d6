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

  it('refuses empty, multi-line and over-long names with a clear error', () => {
    expect(() => normaliseDeviceName('   ')).toThrow(/one line of text/);
    expect(() => normaliseDeviceName('a\u0007b')).toThrow(/one line of text/);
    expect(() => normaliseDeviceName('é'.repeat(MAX_DEVICE_NAME_BYTES / 2 + 1))).toThrow(/at most 64 bytes/);
    expect(encryptDeviceName(ctx, identity, account, 1, 'é'.repeat(MAX_DEVICE_NAME_BYTES / 2)).length).toBeLessThanOrEqual(128);
  });
});
