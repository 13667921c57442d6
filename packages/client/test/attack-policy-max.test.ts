/**
 * Attack (server.md §8.1, client.md §14): the server's policy names a maximum disappearing timer shorter than the
 * shortest a person can choose (here 1 s, which retention.maxDisappearingTimer admits). Before the fix the client
 * applied it as given: every message vanished one second after it was sent or read, and the policy said "1 second".
 * The client now applies and shows at least 30 s. Real server over TLS, real SQLCipher stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyFacts, readServerPolicy } from '../src/server-policy.js';
import { policyMaxMs } from '../src/disappearing-timer.js';
import { World, introduce, nextEvent } from './support.js';

describe('attack: a maximum timer below 30 seconds', () => {
  let world: World;
  const person = (name: string) => world.person(name);

  beforeAll(async () => { world = await World.start({ 'retention.maxDisappearingTimer': '1s' }); }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('messages are not made to vanish after one second; the policy says 30 seconds', async () => {
    const ana = await person('ana');
    const bruno = await person('bruno');
    introduce(ana, 'ana', bruno, 'bruno');
    // The policy is read in the background after connecting: wait until ana's store holds its maximum.
    const end = Date.now() + 15_000;
    while (policyMaxMs(ana.store) === 0) {
      if (Date.now() > end) throw new Error('the server policy was not read after connecting');
      await new Promise((r) => setTimeout(r, 20));
    }
    const text = `kept-${Math.random().toString(36).slice(2)}`;
    const arrived = nextEvent(bruno, 'message', (e) => e.message.text === text, 20_000);
    const sent = await ana.sendText(bruno.accountId!, text);
    await arrived;
    expect(sent.expireTimerMs).toBe(30_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(ana.store.getMessage(bruno.accountId!, sent.messageId)?.text).toBe(text);

    const policy = readServerPolicy(await ana.serverInfo())!;
    expect(policy.maxDisappearingTimerMs).toBe(30_000);
    expect(policyFacts(policy).find((f) => f.key === 'max-timer')!.text).toContain('30 seconds');
    // A number JSON reads as Infinity, or not a whole number of ms, is no maximum at all.
    for (const bad of [JSON.parse('1e400') as number, 0.5, -5, Number.NaN]) {
      expect(readServerPolicy({ policy: { undeliveredMessagesMs: 1, attachmentsMs: 1, maxDisappearingTimerMs: bad } })!.maxDisappearingTimerMs).toBe(0);
    }
  }, 60_000);
});
