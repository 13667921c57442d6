/**
 * Three people with two devices each, against the real server over TLS: the
 * second device is linked with a one-time code and receives the history;
 * messages reach every device of the recipient and the sender's other device;
 * an offline device catches up after reconnecting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient, MessageRow } from '../src/index.js';

async function link(world: World, existing: SigiloClient, name: string): Promise<{ device: SigiloClient; historyMessages: number }> {
  const device = await world.newClient(`${name}-2`);
  const pending = await device.startLink();
  expect(pending.code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{1,4})+$/);
  expect(pending.qrPayload.length).toBe(49);
  await existing.approveLink(pending.code);
  const done = await pending.completed;
  expect(bytesEqual(done.accountId, existing.accountId!)).toBe(true);
  expect(done.deviceId).not.toBe(existing.deviceId);
  await device.connect({ reconnect: false });
  return { device, historyMessages: done.historyMessages };
}

const texts = (rows: MessageRow[]) => rows.filter((m) => !m.deleted).map((m) => m.text);

function waitForText(client: SigiloClient, text: string, ms = 15_000): Promise<unknown> {
  const have = () => client.store.listMessages(undefined, 10_000).some((m) => m.text === text);
  if (have()) return Promise.resolve();
  return nextEvent(client, 'message', (e) => e.message.text === text, ms);
}

describe('three people, two devices each', () => {
  let world: World;
  const p: Record<string, SigiloClient[]> = {};
  beforeAll(async () => {
    world = await World.start();
    for (const name of ['ana', 'bruno', 'carla']) p[name] = [await world.person(name)];
    introduce(p.ana![0]!, 'ana', p.bruno![0]!, 'bruno');
    introduce(p.ana![0]!, 'ana', p.carla![0]!, 'carla');
    introduce(p.bruno![0]!, 'bruno', p.carla![0]!, 'carla');
    // History exists before the second devices are linked.
    await p.ana![0]!.sendText(p.bruno![0]!.accountId!, 'before linking');
    await waitForText(p.bruno![0]!, 'before linking');
  }, 60_000);
  afterAll(async () => {
    for (const devices of Object.values(p)) for (const d of devices) await d.close().catch(() => {});
    await world?.stop();
  });

  it('links a second device per person with a one-time code; the new device gets the history', async () => {
    for (const name of ['ana', 'bruno', 'carla']) {
      const { device, historyMessages } = await link(world, p[name]![0]!, name);
      p[name]!.push(device);
      if (name !== 'carla') {
        expect(historyMessages).toBeGreaterThanOrEqual(1);
        expect(texts(device.store.listMessages(undefined, 100))).toContain('before linking');
      }
      // The linked device knows the contacts (and their access keys) of the first.
      expect(device.store.listContacts().map((c) => c.alias).sort()).toEqual(p[name]![0]!.store.listContacts().map((c) => c.alias).sort());
    }
  }, 60_000);

  it('a message reaches both devices of the recipient and the sender\'s other device', async () => {
    const [ana1, ana2] = p.ana!, [bruno1, bruno2] = p.bruno!;
    const arrivals = [waitForText(bruno1!, 'to all of bruno'), waitForText(bruno2!, 'to all of bruno'), waitForText(ana2!, 'to all of bruno')];
    await ana1!.sendText(bruno1!.accountId!, 'to all of bruno');
    await Promise.all(arrivals);
    const synced = ana2!.store.listMessages(bruno1!.accountId!, 10).find((m) => m.text === 'to all of bruno')!;
    expect(synced.outgoing).toBe(true);
    // And the reply from Bruno's second device reaches both of Ana's devices and Bruno's first.
    const back = [waitForText(ana1!, 'reply from bruno 2'), waitForText(ana2!, 'reply from bruno 2'), waitForText(bruno1!, 'reply from bruno 2')];
    await bruno2!.sendText(ana1!.accountId!, 'reply from bruno 2');
    await Promise.all(back);
  }, 60_000);

  it('every pair of people can talk, in both directions', async () => {
    const names = ['ana', 'bruno', 'carla'];
    for (const from of names) for (const to of names) {
      if (from === to) continue;
      const body = `${from} -> ${to}`;
      const waits = p[to]!.map((d) => waitForText(d, body));
      await p[from]![1]!.sendText(p[to]![0]!.accountId!, body);
      await Promise.all(waits);
    }
  }, 90_000);

  it('an offline device catches up after reconnecting', async () => {
    const carla2 = p.carla![1]!;
    await carla2.close();
    for (let i = 0; i < 20; i++) await p.bruno![0]!.sendText(p.carla![0]!.accountId!, `while away ${i}`);
    await waitForText(p.carla![0]!, 'while away 19');
    const caught = nextEvent(carla2, 'caught-up', () => true, 20_000);
    await carla2.connect({ reconnect: false });
    await caught;
    const got = texts(carla2.store.listMessages(p.bruno![0]!.accountId!, 100));
    for (let i = 0; i < 20; i++) expect(got).toContain(`while away ${i}`);
  }, 60_000);
});
