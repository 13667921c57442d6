/**
 * Attack: the organisation revoked Dave's identity certificate because his key may be stolen (spec/trust.md §6.3:
 * "like a changed safety number"). Whoever holds the key may still write, and Carol still sees the text, but until
 * Carol accepts the revocation after checking in person it must not act on the conversation as an accepted
 * identity does: no deletion of messages for everyone, no disappearing timer turned off. Against the real server
 * over TLS, with the CA made by the server package's IdentityCaDirectory.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { IdentityCaDirectory } from '../../server/src/index.js';
import { World, introduce, nextEvent } from './support.js';

const DAY = 86_400_000;
let world: World;
beforeAll(async () => { world = await World.start(); }, 60_000);
afterAll(async () => { await world?.stop(); });

it('a sender whose certificate is revoked shows texts but cannot delete messages or turn the timer off', async () => {
  const carol = await world.person('carol');
  const dave = await world.person('dave');
  introduce(carol, 'carol', dave, 'dave');
  const first = nextEvent(carol, 'message', (e) => e.message.text === 'keep this', 20_000);
  const kept = await dave.sendText(carol.accountId!, 'keep this');
  await first;
  const set = nextEvent(dave, 'disappearing-timer', undefined, 20_000);
  await carol.setDisappearingTimer(dave.accountId!, DAY);
  await set;

  const ca = new IdentityCaDirectory(world.server.dataDir);
  await ca.init('Acme Logistics', { kind: 'file' }, new Date());
  let signer = ca.openSigner(undefined);
  await ca.certify(signer, { accountId: dave.accountId!, identityKey: dave.identity.publicKey, name: 'Dave Dias', days: 365 }, new Date());
  signer.close();
  await carol.refreshOrgTrust();
  expect(carol.certificateStatus(dave.accountId!).state).toBe('certified');
  signer = ca.openSigner(undefined);
  await ca.revoke(signer, { accountId: dave.accountId! }, new Date());
  signer.close();
  const seen = nextEvent(carol, 'org-trust', (e) => e.revoked.some((a) => bytesEqual(a, dave.accountId!)), 10_000);
  world.server.server.admin.publishOrgTrust();
  await seen;
  expect(carol.certificateStatus(dave.accountId!)).toMatchObject({ state: 'revoked', accepted: false });

  // The holder of Dave's key acts on the conversation.
  await dave.deleteForEveryone(carol.accountId!, kept.messageId);
  await dave.setDisappearingTimer(carol.accountId!, 0);
  const shown = nextEvent(carol, 'message', (e) => e.message.text === 'still shown', 20_000);
  await dave.sendText(carol.accountId!, 'still shown');
  await shown; // in order: the deletion and the timer change were processed before this text
  expect(carol.store.getMessage(dave.accountId!, kept.messageId)!.deleted).toBe(false);
  expect(carol.disappearingTimer(dave.accountId!)).toBe(DAY);
}, 90_000);
