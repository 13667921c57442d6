/**
 * Attack: a sender whose identity key this device has not accepted (a key change not yet checked: possibly an
 * impostor the server put in front of the account) may show a text, nothing more (inbox.ts apply). A disappearing
 * timer change or a confidential-mode switch is a DataMessage too: from such a sender it must not turn the
 * conversation's timer off (the person's next messages would then stay forever on the real contact's devices) nor
 * switch confidential mode off (which wipes the conversation's confidential messages from memory). Real server over
 * TLS, real SQLCipher stores.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

const DAY = 86_400_000;
let world: World;
beforeAll(async () => { world = await World.start(); }, 60_000);
afterAll(async () => { await world?.stop(); });

/** Carol's accepted key for Dave becomes another one; Dave's real key is only pending (as after an unverified change). */
function unaccept(carol: SigiloClient, dave: SigiloClient): void {
  const c = carol.store.getContact(dave.accountId!)!;
  carol.store.putContact({ ...c, identityKey: new Uint8Array(64).fill(3), pendingIdentityKey: c.identityKey });
}

it('an unaccepted sender cannot turn the disappearing timer off', async () => {
  const carol = await world.person('carol');
  const dave = await world.person('dave');
  introduce(carol, 'carol', dave, 'dave');
  const hi = nextEvent(carol, 'message', (e) => e.message.text === 'hi');
  await dave.sendText(carol.accountId!, 'hi');
  await hi;
  const set = nextEvent(dave, 'disappearing-timer', undefined, 20_000);
  await carol.setDisappearingTimer(dave.accountId!, DAY);
  await set;
  unaccept(carol, dave);
  await dave.setDisappearingTimer(carol.accountId!, 0);
  const after = nextEvent(carol, 'message', (e) => e.message.text === 'after the change', 20_000);
  await dave.sendText(carol.accountId!, 'after the change');
  await after; // delivered in order: the change was processed before this text
  expect(carol.disappearingTimer(dave.accountId!)).toBe(DAY);
}, 60_000);

it('an unaccepted sender cannot switch confidential mode off and wipe its messages', async () => {
  const erin = await world.person('erin');
  const finn = await world.person('finn');
  introduce(erin, 'erin', finn, 'finn');
  const on = nextEvent(finn, 'confidential', (e) => e.on, 20_000);
  await erin.setConfidential(finn.accountId!, true);
  await on;
  const secret = `CONF-${Math.random().toString(36).slice(2)}`;
  const got = nextEvent(finn, 'message', (e) => e.message.text === secret, 20_000);
  await erin.sendText(finn.accountId!, secret);
  await got;
  unaccept(erin, finn);
  await finn.setConfidential(erin.accountId!, false);
  const after = nextEvent(erin, 'message', (e) => e.message.text === 'after the switch', 20_000);
  await finn.sendText(erin.accountId!, 'after the switch');
  await after;
  expect(erin.confidential(finn.accountId!)).toBe(true);
  expect(erin.listMessages(finn.accountId!).map((m) => m.text)).toContain(secret);
}, 60_000);
