/**
 * Prekey uploads must not monopolise the event loop (spec/server.md §3): a
 * device at its limit is refused before any signature is checked, and the
 * signatures one device may have verified are bounded per second. Signature
 * checks are counted through the CryptoProvider the server runs with, so the
 * assertions are counts, not timings.
 */
import { generatePqPreKey, type CryptoProvider } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { ctx, type Device } from './support/test-client.js';

const MAX = 100;
const CHECK_RATE = 50;

let verifications = 0;
const countingCrypto: CryptoProvider = {
  ...nodeCrypto,
  ed25519Verify(publicKey, message, signature) {
    verifications++;
    return nodeCrypto.ed25519Verify(publicKey, message, signature);
  },
};

function pqKeys(device: Device, start: number, n: number, options: { badLast?: boolean } = {}) {
  const keys = Array.from({ length: n }, (_, i) => {
    const k = generatePqPreKey(ctx, device.identity, start + i, false, Date.now());
    return { id: k.id, publicKey: k.keyPair.publicKey, signature: k.signature, lastResort: false };
  });
  if (options.badLast) {
    const last = keys.at(-1)!;
    const signature = last.signature.slice();
    signature[0]! ^= 1;
    keys[keys.length - 1] = { ...last, signature };
  }
  return keys;
}

const errorOf = (f: ServerFrame) => (f.body.case === 'error' ? f.body.value : undefined);

describe('prekey upload limits', () => {
  let t: TestServer;
  let clock = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    t = await startTestServer(
      { 'limits.maxOneTimePreKeys': MAX, 'limits.preKeyChecksPerSecond': CHECK_RATE },
      { crypto: countingCrypto, now: () => clock },
    );
  });
  afterAll(async () => { await t.stop(); });

  it('refuses uploads from a device at its limit without checking a single signature', async () => {
    const { client, device } = await t.account();
    const full = await client.expectOk({ case: 'uploadPreKeys', value: { pqPreKeys: pqKeys(device, 1, MAX) } }, 'preKeyCount');
    expect(full.pqPreKeys).toBe(MAX);
    clock += 60_000; // the budget is full again

    // Many full-size uploads in flight at once, as the attack kept them.
    const flood = { case: 'uploadPreKeys' as const, value: { pqPreKeys: pqKeys(device, 1000, MAX) } };
    const before = verifications;
    const answers = await Promise.all(Array.from({ length: 40 }, () => client.request(flood, 60_000)));
    expect(verifications - before).toBe(0);
    // Frames cost connection tokens by size (spec/server.md §7), and this clock stands still: those past the
    // connection's burst are refused unparsed (RATE_LIMITED), the others by the prekey limit.
    expect(answers.some((a) => errorOf(a)?.code === ErrorCode.INVALID_ARGUMENT)).toBe(true);
    for (const a of answers) {
      if (errorOf(a)?.code === ErrorCode.RATE_LIMITED) continue;
      expect(errorOf(a)?.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(errorOf(a)?.message).toMatch(/at most 100 one-time prekeys/);
    }
    clock += 60_000; // the connection's bucket refills
    // The EC limit is checked before the PQ signatures of the same upload as well.
    await client.expectOk({ case: 'uploadPreKeys', value: { oneTimePreKeys: ecKeys(1, MAX) } }, 'preKeyCount');
    const mixed = { case: 'uploadPreKeys' as const, value: { oneTimePreKeys: ecKeys(500, 1), pqPreKeys: pqKeys(device, 2000, 1) } };
    const before2 = verifications;
    expect(errorOf(await client.request(mixed))?.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(verifications - before2).toBe(0);
    expect(await client.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount')).toMatchObject({ oneTimePreKeys: MAX, pqPreKeys: MAX });
  }, 120_000);

  it('counts uploads still in flight: concurrent uploads cannot together pass the limit', async () => {
    const { client, device } = await t.account();
    clock += 60_000;
    const half = Math.floor(MAX / 2) + 1;
    const uploads = [0, 1, 2].map((i) => client.request({ case: 'uploadPreKeys', value: { pqPreKeys: pqKeys(device, 1 + i * 1000, half) } }, 60_000));
    const answers = await Promise.all(uploads);
    expect(answers.filter((a) => a.body.case === 'preKeyCount')).toHaveLength(1);
    expect(answers.filter((a) => errorOf(a)?.code === ErrorCode.INVALID_ARGUMENT)).toHaveLength(2);
    expect(await client.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount')).toMatchObject({ pqPreKeys: half });
  }, 120_000);

  it('bounds the signatures one device may have checked per second, then lets it continue', async () => {
    const { client, device } = await t.account();
    const { client: other, device: otherDevice } = await t.account();
    clock += 60_000;
    // Uploads whose last signature is bad store nothing, so the count never stops them: only the budget does.
    const bad = { case: 'uploadPreKeys' as const, value: { pqPreKeys: pqKeys(device, 1, 20, { badLast: true }) } };
    const before = verifications;
    const answers = await Promise.all(Array.from({ length: 30 }, () => client.request(bad, 60_000)));
    const checked = verifications - before;
    const codes = answers.map((a) => errorOf(a)?.code);
    // The burst is one full upload (MAX + 2 signatures) and the clock stands still: 5 uploads of 20 fit, no more.
    expect(codes.filter((c) => c === ErrorCode.INVALID_SIGNATURE)).toHaveLength(5);
    expect(codes.filter((c) => c === ErrorCode.RATE_LIMITED)).toHaveLength(25);
    expect(checked).toBeLessThanOrEqual(MAX + 2);
    const limited = answers.map(errorOf).find((e) => e?.code === ErrorCode.RATE_LIMITED)!;
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(Math.ceil((20 / CHECK_RATE) * 1000));

    // Another device's budget is its own.
    await other.expectOk({ case: 'uploadPreKeys', value: { pqPreKeys: pqKeys(otherDevice, 1, 20) } }, 'preKeyCount');

    // After the advertised wait, a good upload goes through.
    clock += limited.retryAfterMs;
    const ok = await client.expectOk({ case: 'uploadPreKeys', value: { pqPreKeys: pqKeys(device, 100, 20) } }, 'preKeyCount');
    expect(ok.pqPreKeys).toBe(20);
  }, 120_000);

  it('a full upload always fits the budget of a rested device', async () => {
    const { client, device } = await t.account();
    clock += 60_000;
    const r = await client.uploadPreKeys(device, { oneTime: MAX, pq: MAX });
    expect(r).toMatchObject({ oneTimePreKeys: MAX, pqPreKeys: MAX, hasSignedPreKey: true, hasLastResortPqPreKey: true });
  }, 120_000);
});

function ecKeys(start: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: start + i, publicKey: nodeCrypto.x25519PublicKey(ctx.random(32)) }));
}
