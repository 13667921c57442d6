/**
 * Attack (client.md §14.1): a peer dates its disappearing-timer change far in the future. Before the fix, a change
 * dated 9999999999999999 ms (the stamp's 16 digits full) locked the conversation's timer: every later change was
 * stamped one millisecond after it, 17 digits, which sorts as older, so the other side could never change the timer
 * again. A change dated more than MAX_CHANGE_AHEAD_MS ahead of the receiving device's clock is now ignored. Real
 * server over TLS, real SQLCipher stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigiloClient } from '../src/index.js';
import { MAX_CHANGE_AHEAD_MS } from '../src/disappearing-timer.js';
import { World, introduce, nextEvent } from './support.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('attack: a timer change dated in the future', () => {
  let world: World;
  let mallory: SigiloClient, bruno: SigiloClient;
  // The date mallory puts on the message it makes (sendData), while its connection keeps the real clock (a sender
  // certificate checked at a date past its expiry would stop every send).
  let malloryClock: number | undefined;
  const malloryNow = () => {
    if (malloryClock === undefined) return Date.now();
    const stack = new Error().stack ?? '';
    return stack.includes('sendData') && !stack.includes('senderCertificate') ? malloryClock : Date.now();
  };

  beforeAll(async () => {
    world = await World.start();
    mallory = await world.person('mallory', malloryNow);
    bruno = await world.person('bruno');
    introduce(mallory, 'mallory', bruno, 'bruno');
  }, 120_000);
  afterAll(async () => { await world?.stop(); });

  async function malloryChanges(ms: number, at: number): Promise<void> {
    malloryClock = at;
    try {
      await mallory.setDisappearingTimer(bruno.accountId!, ms);
    } finally {
      malloryClock = undefined;
    }
  }

  it('a change dated a day ahead (a fast clock) still applies; one dated past the allowance does not', async () => {
    const ahead = nextEvent(bruno, 'disappearing-timer', (e) => e.timerMs === DAY, 20_000);
    await malloryChanges(DAY, Date.now() + DAY);
    await ahead;
    expect(bruno.disappearingTimer(mallory.accountId!)).toBe(DAY);
    await malloryChanges(0, Date.now() + MAX_CHANGE_AHEAD_MS + HOUR);
    const marker = nextEvent(bruno, 'message', (e) => e.message.text === 'marker-2', 20_000);
    await mallory.sendText(bruno.accountId!, 'marker-2');
    await marker;
    expect(bruno.disappearingTimer(mallory.accountId!)).toBe(DAY);
    expect(bruno.store.listMessages(mallory.accountId!, 100).some((m) => m.notice === 'timer' && m.timestamp > Date.now() + MAX_CHANGE_AHEAD_MS)).toBe(false);
  }, 60_000);
  it('a change dated past the stamp\'s digits does not lock the timer: the other side can still change it', async () => {
    await malloryChanges(0, 9_999_999_999_999_998); // "off", dated in the year 318857: one ms later needs a 17th digit
    // A marker after it: once it arrives, the dated change has been handled.
    const marker = nextEvent(bruno, 'message', (e) => e.message.text === 'marker-1', 20_000);
    await mallory.sendText(bruno.accountId!, 'marker-1');
    await marker;
    await bruno.setDisappearingTimer(mallory.accountId!, HOUR);
    expect(bruno.disappearingTimer(mallory.accountId!)).toBe(HOUR);
    // Bruno's messages now carry his timer (mallory's own device keeps its dated change: the attacker's loss).
    const sent = await bruno.sendText(mallory.accountId!, 'after');
    expect(sent.expireTimerMs).toBe(HOUR);
    // Bruno's own notice is dated after the change in force (a day ahead), not after the year 318857.
    const notice = bruno.store.listMessages(mallory.accountId!, 100).filter((m) => m.notice === 'timer').at(-1)!;
    expect(notice.timestamp).toBeLessThan(Date.now() + MAX_CHANGE_AHEAD_MS);
  }, 60_000);

});
