/**
 * The copy of a sent message for the sender's other devices (the sync copy) is
 * not lost when sending it fails: it is queued and sent again (found by the
 * crash-and-restart soak: a kill between the recipient's acknowledgement and the
 * sync copy left the sender's second device without the message for good).
 * Here the failure is the server's per-account send limit (1 per second, burst 1),
 * which the sync copies count against while the sealed copies to the recipients
 * count against each recipient.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('sync copy retry', () => {
  let world: World;
  let ana: SigiloClient, ana2: SigiloClient, bruno: SigiloClient, carla: SigiloClient;
  beforeAll(async () => {
    world = await World.start({ 'limits.accountSendsPerSecond': 1, 'limits.accountBurst': 1 });
    ana = await world.person('ana');
    bruno = await world.person('bruno');
    carla = await world.person('carla');
    introduce(ana, 'ana', bruno, 'bruno');
    introduce(ana, 'ana', carla, 'carla');
    ana2 = await world.newClient('ana-2');
    const pending = await ana2.startLink();
    await ana.approveLink(pending.code);
    await pending.completed;
    await ana2.connect({ reconnect: false });
    world.people.get('ana')!.devices.push(ana2);
  }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('a sync copy refused by the server reaches the other device later', async () => {
    await sleep(1500); // a full bucket
    const texts = ['one to bruno', 'two to carla', 'three to bruno', 'four to carla'];
    for (const [i, t] of texts.entries()) await ana.sendText((i % 2 === 0 ? bruno : carla).accountId!, t);
    const has = (t: string) => ana2.store.listMessages(undefined, 100).some((m) => m.text === t);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && !texts.every(has)) {
      await nextEvent(ana2, 'message', () => true, 2_000).catch(() => {});
    }
    expect(texts.filter((t) => !has(t)), 'sync copies never delivered to the second device').toEqual([]);
    for (const t of texts) expect(ana2.store.listMessages(undefined, 100).filter((m) => m.text === t)).toHaveLength(1);
  }, 90_000);
});
