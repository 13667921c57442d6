/**
 * Abuse bounds (issue 17 point 4; spec/server.md §7 "Abuse bounds"): one test per abuse, each
 * showing that a configured bound holds, that the abuser sees what the table says, that the
 * refusal is counted in sigilo_abuse_refusals_total{bound}, and that others are unaffected.
 * Slow TLS handshakes, slow upgrades, dribbled headers and idle sockets per source address are
 * tested in dos.test.ts (point 2 and 3), which also checks their counters.
 * Real server over real TLS; sources are told apart by loopback addresses (127.0.0.x).
 */
import { decodePreKeyBundle, initiateSession, verifyPreKeyBundle } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_POLICY } from '../src/connection.js';
import { generateInviteCode } from '../src/services/invites.js';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient, ctx, messageId, newDevice } from './support/test-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function metricsText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

/** The value of sigilo_abuse_refusals_total{bound="<bound>"} (0 when absent). */
async function refusals(t: TestServer, bound: string): Promise<number> {
  const m = new RegExp(`^sigilo_abuse_refusals_total\\{bound="${bound}"\\} (\\d+)$`, 'm').exec(await metricsText(t.server.metricsUrl!));
  return m ? Number(m[1]) : 0;
}

const errorOf = (f: ServerFrame) => (f.body.case === 'error' ? f.body.value : undefined);

/** A masked client-to-server WebSocket frame header for a payload of `length` (< 126) bytes, and its mask. */
function frameHeader(length: number, opcode: number, fin: boolean): { header: Buffer; mask: Buffer } {
  const mask = randomBytes(4);
  return { header: Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length]), mask]), mask };
}

describe('abuse bounds', () => {
  let t: TestServer;
  const accountsHex: string[] = [];
  const inviteCodes: string[] = [];
  beforeAll(async () => {
    t = await startTestServer({
      'metrics.enabled': true, 'metrics.port': 0,
      'limits.failedRegistrationsPerHour': 3,
      'limits.bundleFetchesPerHour': 60, // a burst of 10 bundles
      'limits.accountSendsPerSecond': 1, 'limits.accountBurst': 10,
      'limits.frameTimeout': '2s',
    });
  });
  afterAll(async () => { await t?.stop(); });

  const account = async (preKeys = false) => {
    const a = await t.account({ preKeys });
    accountsHex.push(Buffer.from(a.device.accountId!).toString('hex'));
    return a;
  };

  it('registration and invite guessing: failures are bounded per source address, a real invite still works elsewhere', async () => {
    // Invite codes carry 125 random bits (25 Crockford base32 characters): guessing is hopeless even unbounded.
    expect(generateInviteCode((n) => new Uint8Array(randomBytes(n)))).toMatch(/^([0-9A-HJKMNP-TV-Z]{5}-){4}[0-9A-HJKMNP-TV-Z]{5}$/);
    const guesser = await TestClient.connect(t.server, { localAddress: '127.0.0.21' });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const f = await guesser.register(newDevice(), generateInviteCode((n) => new Uint8Array(randomBytes(n))));
      codes.push(errorOf(f)!.code);
    }
    // Old code: six INVITE_INVALID answers, as many as the guesser cares to try.
    expect(codes.slice(0, 3)).toEqual([ErrorCode.INVITE_INVALID, ErrorCode.INVITE_INVALID, ErrorCode.INVITE_INVALID]);
    expect(codes.slice(3)).toEqual([ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED]);
    // Refused before the code is looked at: a valid invite from the same address is refused too, and not used up ...
    const { code } = await t.server.admin.createInvite();
    inviteCodes.push(code);
    const refused = errorOf(await guesser.register(newDevice(), code))!;
    expect(refused.code).toBe(ErrorCode.RATE_LIMITED);
    expect(refused.retryAfterMs).toBeGreaterThan(60_000); // one failure's worth refills in 20 min
    // ... so it still registers from another address.
    const elsewhere = await TestClient.connect(t.server, { localAddress: '127.0.0.22' });
    expect((await elsewhere.register(newDevice(), code)).body.case).toBe('registered');
    // Successful registrations take nothing: more than the bound register from one address.
    for (let i = 0; i < 4; i++) await account();
    expect(await refusals(t, 'registration_address')).toBe(4);
    await guesser.close();
    await elsewhere.close();
  });

  it('guesses made in parallel on many connections are bounded too', async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => TestClient.connect(t.server, { localAddress: '127.0.0.23' })));
    const answers = await Promise.all(conns.map((c) => c.register(newDevice(), generateInviteCode((n) => new Uint8Array(randomBytes(n))))));
    const codes = answers.map((f) => errorOf(f)!.code);
    // A check-then-count bound would let all 8 through (none had failed yet when each was checked).
    expect(codes.filter((c) => c === ErrorCode.INVITE_INVALID)).toHaveLength(3);
    expect(codes.filter((c) => c === ErrorCode.RATE_LIMITED)).toHaveLength(5);
    await Promise.all(conns.map((c) => c.close()));
  });

  it('prekey draining: one account takes at most its bundle bound of a victim\'s one-time keys; the last-resort keys keep sessions possible', async () => {
    const { client: victim, device } = await account();
    await victim.uploadPreKeys(device, { oneTime: 30, pq: 30 });
    const { client: drainer } = await account();
    let taken = 0;
    let limited = 0;
    for (let i = 0; i < 30; i++) {
      const f = await drainer.request({ case: 'fetchBundles', value: { accountId: device.accountId! } });
      if (f.body.case === 'bundles') taken += f.body.value.bundles.filter((b) => decodePreKeyBundle(b).oneTimePreKey).length;
      else if (errorOf(f)?.code === ErrorCode.RATE_LIMITED) limited++;
    }
    // Old code without the bound: all 30 taken. The burst is 10; a bundle refills every minute.
    expect(taken).toBeLessThanOrEqual(11);
    expect(limited).toBeGreaterThanOrEqual(19);
    expect((await victim.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount')).oneTimePreKeys).toBeGreaterThanOrEqual(19);
    expect(await refusals(t, 'bundle_fetches')).toBeGreaterThanOrEqual(19);

    // A device whose one-time keys are all gone still gets sessions: signed prekey and last-resort PQ key.
    const { client: empty, device: emptyDevice } = await account();
    await empty.uploadPreKeys(emptyDevice, { oneTime: 0, pq: 0 });
    const { client: friend, device: friendDevice } = await account();
    const r = await friend.expectOk({ case: 'fetchBundles', value: { accountId: emptyDevice.accountId! } }, 'bundles');
    const bundle = decodePreKeyBundle(r.bundles[0]!);
    verifyPreKeyBundle(nodeCrypto, bundle);
    expect(bundle.oneTimePreKey).toBeUndefined();
    expect(bundle.pqPreKey.lastResort).toBe(true);
    expect(initiateSession(ctx, friendDevice.identity, bundle)).toBeDefined();
  });

  it('a flood to one account: all senders together are bounded by the recipient\'s inbound bucket; other recipients are unaffected', async () => {
    const { client: victimClient, device: victim } = await account();
    await victimClient.expectOk({ case: 'setAccessKey', value: { accessKey: new Uint8Array(0), unrestricted: true } }, 'ok');
    const senders = await Promise.all(Array.from({ length: 5 }, () => account()));
    const t0 = Date.now();
    const attempts = senders.flatMap(({ client }) => Array.from({ length: 10 }, () => client.sendTo(victim.accountId!, [1], () => new Uint8Array([1]))));
    // Sealed sends count against the same bucket.
    const anon = await t.connect();
    for (let i = 0; i < 10; i++) {
      attempts.push(anon.request({ case: 'sealedSend', value: { recipientAccountId: victim.accountId!, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array([2]) }] } }));
    }
    const results = await Promise.all(attempts);
    const seconds = Math.ceil((Date.now() - t0) / 1000);
    const accepted = results.filter((f) => f.body.case === 'sendResult').length;
    const limited = results.filter((f) => errorOf(f)?.code === ErrorCode.RATE_LIMITED).length;
    // Old code: the 50 identified sends all pass (each sender stays within its own burst of 10).
    expect(accepted).toBeLessThanOrEqual(10 + seconds + 1);
    expect(accepted + limited).toBe(60);
    // The victim's queue holds only what was accepted.
    const queued = await t.server.storage.fetchQueue(victim.accountId!, 1, 0, 1000);
    expect(queued.length).toBe(accepted);
    expect(await refusals(t, 'recipient_messages')).toBeGreaterThanOrEqual(limited);
    // Another recipient still gets messages, from a sender that was not flooding.
    const { device: other } = await account();
    const { client: bystander } = await account();
    expect((await bystander.sendTo(other.accountId!, [1], () => new Uint8Array([3]))).body.case).toBe('sendResult');
  }, 60_000);

  it('a frame that trickles in: an authenticated connection is closed (1008) after limits.frameTimeout', async () => {
    const { client } = await account();
    const before = await refusals(t, 'frame_timeout');
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    // One binary frame of 100 bytes announced, its payload sent a byte every 200 ms (it would take 20 s).
    const { header, mask } = frameHeader(100, 0x2, true);
    socket.write(header);
    let i = 0;
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(Buffer.from([0 ^ mask[i++ % 4]!])); }, 200);
    try {
      const closed = await Promise.race([client.closed, sleep(12_000).then(() => undefined)]);
      // Old code: still open (an authenticated connection had no deadline for a frame in progress).
      expect(closed?.code).toBe(CLOSE_POLICY);
      expect(i).toBeLessThan(60);
    } finally {
      clearInterval(timer);
    }
    expect(await refusals(t, 'frame_timeout')).toBe(before + 1);
  }, 30_000);

  it('a message trickled in fragments, with pings between them, is closed too; a whole message resets the deadline', async () => {
    const { client } = await account();
    const before = await refusals(t, 'frame_timeout');
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    const frame = (payload: number[], opcode: number, fin: boolean) => {
      const { header, mask } = frameHeader(payload.length, opcode, fin);
      return Buffer.concat([header, Buffer.from(payload.map((b, k) => b ^ mask[k % 4]!))]);
    };
    // A binary message begun, then one-byte continuation fragments, each followed by a ping (answered: the peer looks alive).
    socket.write(frame([0x08], 0x2, false));
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return;
      socket.write(Buffer.concat([frame([0x01], 0x0, false), frame([], 0x9, true)]));
      sent++;
    }, 300);
    try {
      const closed = await Promise.race([client.closed, sleep(12_000).then(() => undefined)]);
      expect(closed?.code).toBe(CLOSE_POLICY);
      expect(sent).toBeLessThan(40);
    } finally {
      clearInterval(timer);
    }
    expect(await refusals(t, 'frame_timeout')).toBe(before + 1);

    // A well-behaved connection sending whole messages for longer than frameTimeout stays open.
    const { client: steady } = await account();
    for (let k = 0; k < 6; k++) {
      expect((await steady.request({ case: 'ping', value: {} })).body.case).toBe('pong');
      await sleep(600);
    }
    expect(steady.ws.readyState).toBe(steady.ws.OPEN);
  }, 30_000);

  it('metrics count every refusal by bound, without account ids, addresses or invite codes', async () => {
    const text = await metricsText(t.server.metricsUrl!);
    for (const bound of ['registration_address', 'bundle_fetches', 'recipient_messages', 'frame_timeout']) {
      expect(text).toMatch(new RegExp(`^sigilo_abuse_refusals_total\\{bound="${bound}"\\} [1-9]`, 'm'));
    }
    const lower = text.toLowerCase();
    expect(accountsHex.length).toBeGreaterThan(5);
    for (const hex of accountsHex) expect(lower).not.toContain(hex);
    for (const code of inviteCodes) expect(text).not.toContain(code);
    expect(text).not.toMatch(/127\.0\.0\.\d+/);
    expect(text).not.toMatch(/::ffff|\/64/);
    // Every label value of the abuse counter is one of the fixed bound names.
    const bounds = [...text.matchAll(/^sigilo_abuse_refusals_total\{bound="([^"]*)"\}/gm)].map((m) => m[1]);
    for (const b of bounds) expect(b).toMatch(/^[a-z_]+$/);
  });
});

describe('abuse bounds: guessing from many addresses', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'metrics.enabled': true, 'metrics.port': 0, 'limits.failedRegistrationsPerHour': 100, 'limits.failedRegistrationsPerHourGlobal': 4 });
  });
  afterAll(async () => { await t?.stop(); });

  it('failed registrations from all addresses together are bounded by limits.failedRegistrationsPerHourGlobal', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const c = await TestClient.connect(t.server, { localAddress: `127.0.0.${31 + i}` });
      codes.push(errorOf(await c.register(newDevice(), 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE'))!.code);
      await c.close();
    }
    // Old code: seven INVITE_INVALID answers, one per address.
    expect(codes).toEqual([...Array<number>(4).fill(ErrorCode.INVITE_INVALID), ...Array<number>(3).fill(ErrorCode.RATE_LIMITED)]);
    expect(await refusals(t, 'registration_global')).toBe(3);
  });
});
