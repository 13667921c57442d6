/**
 * The client side of push and of the server's policy (packages/client/src/push.ts,
 * server-policy.ts): a device registers and removes its push subscription over
 * its real connection; a server with push off refuses with PUSH_DISABLED; the
 * policy read from /v1/server-info is described in words and its maximum
 * disappearing timer applied.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applicationServerKey, describeServerPolicy, durationWords, effectiveDisappearingTimer, readServerPolicy, serverPushInfo,
  type SigiloClient,
} from '../src/index.js';
import { World } from './support.js';

function subscription() {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return { endpoint: `https://push.invalid/${randomBytes(16).toString('base64url')}`, p256dh: new Uint8Array(e.getPublicKey()), auth: new Uint8Array(randomBytes(16)) };
}

describe('push subscription and server policy, client side', () => {
  let on: World;
  let off: World;
  let ana: SigiloClient;
  let bea: SigiloClient;
  beforeAll(async () => {
    on = await World.start({ 'retention.maxDisappearingTimer': '1d', 'push.allowedHosts': 'push.invalid' });
    off = await World.start({ 'push.mode': 'off', 'retention.lastSeen': 'off' });
    ana = await on.person('ana');
    bea = await off.person('bea');
  }, 60_000);
  afterAll(async () => {
    await on?.stop();
    await off?.stop();
  });

  it('registers, replaces and removes the device\'s subscription', async () => {
    const s1 = subscription();
    await ana.setPushSubscription(s1);
    const stored = await on.server.server.storage.getPushSubscription(ana.accountId!, ana.deviceId!);
    expect(stored?.endpoint).toBe(s1.endpoint);
    const s2 = subscription();
    await ana.setPushSubscription(s2);
    expect((await on.server.server.storage.getPushSubscription(ana.accountId!, ana.deviceId!))?.endpoint).toBe(s2.endpoint);
    await ana.setPushSubscription(undefined);
    expect(await on.server.server.storage.getPushSubscription(ana.accountId!, ana.deviceId!)).toBeUndefined();
    await expect(ana.setPushSubscription({ ...subscription(), auth: new Uint8Array(3) })).rejects.toMatchObject({ serverCode: 'INVALID_ARGUMENT' });
  });

  it('is refused with PUSH_DISABLED where push is off, and server-info says so', async () => {
    await expect(bea.setPushSubscription(subscription())).rejects.toMatchObject({ code: 'SERVER_ERROR', serverCode: 'PUSH_DISABLED' });
    const info = await bea.serverInfo();
    expect(serverPushInfo(info)).toEqual({ mode: 'off' });
    expect(applicationServerKey(serverPushInfo(info))).toBeUndefined();
    const policy = readServerPolicy(info)!;
    expect(describeServerPolicy(policy)).toEqual([
      'This server deletes undelivered messages after 30 days; delivered messages are deleted from it at once.',
      'It deletes attachments 30 days after they are uploaded.',
      'It keeps no record of when devices connect.',
      'Your organisation sets no maximum for disappearing messages.',
      'This server sends no push notifications: keep the app open to receive messages.',
    ]);
  });

  it('reads the VAPID key and the maximum disappearing timer', async () => {
    const info = await ana.serverInfo();
    const push = serverPushInfo(info);
    expect(push.mode).toBe('webpush');
    expect(applicationServerKey(push)?.length).toBe(65);
    expect(applicationServerKey(push)?.[0]).toBe(4);
    const policy = readServerPolicy(info)!;
    expect(policy.maxDisappearingTimerMs).toBe(86_400_000);
    expect(describeServerPolicy(policy)).toContain('Your organisation makes every conversation disappear after at most 1 day.');
    expect(describeServerPolicy(policy)).toContain('It keeps the day each device was last seen, and no other connection time.');
    // The organisation's maximum applies to every conversation: none set gets it, longer ones are cut to it.
    expect(effectiveDisappearingTimer(0, policy)).toBe(86_400_000);
    expect(effectiveDisappearingTimer(3_600_000, policy)).toBe(3_600_000);
    expect(effectiveDisappearingTimer(7 * 86_400_000, policy)).toBe(86_400_000);
    expect(effectiveDisappearingTimer(7 * 86_400_000, undefined)).toBe(7 * 86_400_000);
    expect(durationWords(90_000)).toBe('90 seconds');
    expect(durationWords(2 * 3_600_000)).toBe('2 hours');
  });
});

describe('one shape of the server policy', () => {
  it('is defined once, in @sigilo/protocol, and the server\'s policy reads back unchanged', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '../..');
    const definitions: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (name === 'node_modules' || name === 'dist' || name === 'gen') continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(name) && /\binterface ServerPolicy\b|\btype ServerPolicy\s*=/.test(readFileSync(p, 'utf8'))) definitions.push(p.slice(root.length + 1));
      }
    };
    for (const pkg of readdirSync(root)) if (statSync(join(root, pkg, 'src'), { throwIfNoEntry: false })?.isDirectory()) walk(join(root, pkg, 'src'));
    expect(definitions).toEqual(['protocol/src/server-policy.ts']);
    const { serverPolicy } = await import('../../server/src/policy.js');
    const { resolveConfig } = await import('../../server/src/config.js');
    const written = serverPolicy(resolveConfig({ env: {}, overrides: { 'dataDir': '/nonexistent', 'retention.maxDisappearingTimer': '1d', 'push.mode': 'off' } }));
    expect(readServerPolicy({ policy: JSON.parse(JSON.stringify(written)) })).toEqual(written);
  });
});
