/**
 * Expiry hints of disappearing messages (spec/server.md §8.3) against a real TLS server: an undelivered copy (an
 * identified send, a multi-recipient sealed send with its shared payload) is swept at its hint, rounded up to the
 * hour, instead of at retention.undelivered; a hint never lengthens what is kept; a hint beyond the organisation's
 * maximum is TIMER_TOO_LONG; one in the past is INVALID_ARGUMENT.
 */
import { ErrorCode, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { messageId } from './support/test-client.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const rnd = (n: number) => new Uint8Array(randomBytes(n));
const codeOf = (f: ServerFrame) => (f.body.case === 'error' ? f.body.value.code : undefined);

describe('expiry hints', () => {
  let t: TestServer | undefined;
  afterEach(async () => { await t?.stop(); t = undefined; });

  it('undelivered copies go at the hint (identified and multi-recipient sealed sends); a later hint keeps the TTL', async () => {
    const hour0 = Math.floor(Date.now() / HOUR) * HOUR - HOUR; // a whole hour before the last: the server starts (and dates its certificate) in the past
    let clock = hour0 + 20 * 60_000;
    t = await startTestServer({ 'retention.undelivered': '2d', 'retention.maxDisappearingTimer': '7d' }, { now: () => clock });
    const alice = await t.account();
    const bob = await t.account();
    const accessKey = rnd(16);
    await bob.client.expectOk({ case: 'setAccessKey', value: { accessKey } }, 'ok');
    await bob.client.close();
    const send = (hint: number, fill: number) => alice.client.request({
      case: 'send', value: { recipientAccountId: bob.device.accountId!, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array([fill]) }], expiresHint: BigInt(hint) },
    });
    expect((await send(clock + 30 * 60_000, 1)).body.case).toBe('sendResult'); // expires at hour0 + 1 h
    expect((await send(clock + 5 * DAY, 2)).body.case).toBe('sendResult');     // later than the TTL: the TTL wins
    expect((await send(0, 3)).body.case).toBe('sendResult');                   // no hint
    const multi = await alice.client.request({
      case: 'multiSealedSend',
      value: {
        messageId: messageId(), sharedPayload: rnd(300), expiresHint: BigInt(clock + 90 * 60_000), // hour0 + 2 h
        recipients: [{ accountId: bob.device.accountId!, deviceIds: [1], header: rnd(64), accessKey }],
      },
    });
    expect(multi.body.case).toBe('sendResult');
    expect(await t.server.storage.queueDepth()).toBe(4);

    clock = hour0 + HOUR - 60_000;
    expect((await t.server.sweep()).messages).toBe(0);
    clock = hour0 + HOUR;
    expect((await t.server.sweep()).messages).toBe(1);
    clock = hour0 + 2 * HOUR;
    expect((await t.server.sweep()).messages).toBe(1);
    expect(await t.server.storage.queueDepth()).toBe(2);
    clock += 2 * DAY;
    expect((await t.server.sweep()).messages).toBe(2);

    // Refused: beyond the maximum (7 d plus an hour of rounding), and in the past.
    expect(codeOf(await send(clock + 8 * DAY, 4))).toBe(ErrorCode.TIMER_TOO_LONG);
    expect(codeOf(await send(clock - HOUR, 5))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(await send(clock + 7 * DAY, 6))).toBeUndefined();
  });
});
