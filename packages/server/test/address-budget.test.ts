/**
 * One budget of refused anonymous work per source address (spec/server.md §7,
 * limits.refusedRequestsPerHour): failed registrations, sealed sends refused for
 * their access key and username lookups that find nobody draw on the same bucket,
 * so a guesser cannot spend each bound in turn; accepted requests cost nothing;
 * other addresses are not affected; the address is never logged. Real server
 * over TLS, connections from distinct loopback addresses.
 */
import { usernameHash } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient, messageId, newDevice } from './support/test-client.js';

const codeOf = (f: ServerFrame) => (f.body.case === 'error' ? ErrorCode[f.body.value.code] : f.body.case);

function metricsText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

describe('the shared per-address budget of refused anonymous work', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'metrics.enabled': true, 'metrics.port': 0, 'limits.refusedRequestsPerHour': 4, 'limits.failedRegistrationsPerHour': 100 });
  });
  afterAll(async () => { await t?.stop(); });

  it('registration, sealed-send and username guesses share one bucket; accepted requests cost nothing; another address goes on', async () => {
    const bob = await t.account();
    const accessKey = new Uint8Array(randomBytes(16));
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey, unrestricted: false } }, 'ok');
    const sealed = (c: TestClient, key: Uint8Array) => c.request({
      case: 'sealedSend', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), accessKey: key, messages: [{ deviceId: 1, content: new Uint8Array([1]) }] },
    });
    const guesser = await TestClient.connect(t.server, { localAddress: '127.0.0.41' });
    // Accepted sealed sends take nothing, however many.
    for (let i = 0; i < 12; i++) expect(codeOf(await sealed(guesser, accessKey))).toBe('sendResult');

    // Four refusals of three kinds from one address: two wrong access keys, one wrong invite, one unknown username.
    expect(codeOf(await sealed(guesser, new Uint8Array(16)))).toBe('UNAUTHORIZED');
    expect(codeOf(await sealed(guesser, new Uint8Array(16).fill(1)))).toBe('UNAUTHORIZED');
    const registering = await TestClient.connect(t.server, { localAddress: '127.0.0.41' });
    expect(codeOf(await registering.register(newDevice(), 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE'))).toBe('INVITE_INVALID');
    const member = await t.account();
    await member.client.close();
    const memberHere = await TestClient.connect(t.server, { localAddress: '127.0.0.41' });
    expect((await memberHere.authenticate(member.device)).body.case).toBe('authenticated');
    const lookup = (c: TestClient) => c.request({ case: 'lookupUsername', value: { usernameHash: usernameHash(nodeCrypto, 'nobody.here') } });
    expect(codeOf(await lookup(memberHere))).toBe('NOT_FOUND');

    // The budget is spent: every kind is refused before it is looked at, a right access key too.
    expect(codeOf(await sealed(guesser, accessKey))).toBe('RATE_LIMITED');
    expect(codeOf(await registering.register(newDevice(), 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEF'))).toBe('RATE_LIMITED');
    expect(codeOf(await lookup(memberHere))).toBe('RATE_LIMITED');
    const limited = await sealed(guesser, accessKey);
    expect(limited.body.case === 'error' && limited.body.value.retryAfterMs).toBeGreaterThan(60_000);

    // Another address is not affected.
    const elsewhere = await TestClient.connect(t.server, { localAddress: '127.0.0.42' });
    expect(codeOf(await sealed(elsewhere, accessKey))).toBe('sendResult');
    expect(codeOf(await sealed(elsewhere, new Uint8Array(16)))).toBe('UNAUTHORIZED');

    const metrics = await metricsText(t.server.metricsUrl!);
    expect(metrics).toMatch(/^sigilo_abuse_refusals_total\{bound="refused_address"\} 4$/m);
    expect(t.logs.join('\n')).not.toMatch(/127\.0\.0\.4[12]/);
    for (const c of [guesser, registering, memberHere, elsewhere]) await c.close();
  });
});
