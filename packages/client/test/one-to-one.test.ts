import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

describe('1:1 chat through the real server', () => {
  let world: World;
  let alice: SigiloClient, bob: SigiloClient;
  beforeAll(async () => {
    world = await World.start();
    alice = await world.person('alice');
    bob = await world.person('bob');
    introduce(alice, 'alice', bob, 'bob');
  });
  afterAll(async () => { await world?.stop(); });

  it('delivers a text, with sent and delivered ticks, and a reply', async () => {
    const got = nextEvent(bob, 'message');
    const delivered = nextEvent(alice, 'status', (e) => e.status === 'delivered');
    const sent = await alice.sendText(bob.accountId!, 'hola bob');
    // Bob is online: his delivery receipt (on Alice's connection) can arrive before sendText, after the sealed
    // send's answer (on the anonymous connection), has asked for Alice's own devices and marked it 'sent'.
    expect(['sent', 'delivered']).toContain(sent.status);
    const m = await got;
    expect(m.message.text).toBe('hola bob');
    await delivered;
    const reply = nextEvent(alice, 'message');
    await bob.sendText(alice.accountId!, 'olá alice');
    expect((await reply).message.text).toBe('olá alice');
  });
});
