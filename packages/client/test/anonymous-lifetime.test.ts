/**
 * The server closes unauthenticated (sealed-send) connections at limits.anonymousLifetime:
 * the client opens a new one and every sealed message still arrives, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

describe('sealed sends across the anonymous connection lifetime', () => {
  let world: World;
  let ana: SigiloClient;
  let bruno: SigiloClient;
  beforeAll(async () => {
    world = await World.start({ 'limits.anonymousLifetime': '2s' });
    ana = await world.person('ana');
    bruno = await world.person('bruno');
    introduce(ana, 'ana', bruno, 'bruno');
  }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('keeps delivering while the server recycles the sealed-send connection', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `sealed ${i}`);
    for (const text of texts) {
      const arrived = nextEvent(bruno, 'message', (e) => e.message.text === text, 30_000);
      await ana.sendText(bruno.accountId!, text);
      await arrived;
      await new Promise((r) => setTimeout(r, 700));
    }
    const got = bruno.store.listMessages(undefined, 100).map((m) => m.text).filter((t) => t.startsWith('sealed '));
    expect(got.sort()).toEqual(texts.sort());
    // The sends were sealed (the server stored no sender); at 700 ms apart they spanned several 2 s connections.
    const metrics = await world.server.server.metrics.render();
    const sealed = Number(/sigilo_sends_total\{kind="sealed",outcome="stored"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(sealed).toBeGreaterThanOrEqual(texts.length); // (delivery receipts are sealed sends too)
    expect((await world.server.server.admin.audit()).messagesWithSender).toBe(0);
  }, 90_000);
});
