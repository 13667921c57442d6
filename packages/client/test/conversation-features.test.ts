/**
 * Receipts, typing, deletes, mute and identity changes, end to end through the
 * real server; and the pinned certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { World, introduce, nextEvent } from './support.js';
import { ClientError, SigiloClient } from '../src/index.js';
import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';

describe('conversation features', () => {
  let world: World;
  let alice: SigiloClient, bob: SigiloClient;
  beforeAll(async () => {
    world = await World.start();
    alice = await world.person('alice');
    bob = await world.person('bob');
    introduce(alice, 'alice', bob, 'bob');
  }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('delivery and read receipts move the sender\'s ticks: sent, delivered, read', async () => {
    const statuses: string[] = [];
    const off = alice.on((e) => { if (e.type === 'status') statuses.push(e.status); });
    const delivered = nextEvent(alice, 'status', (e) => e.status === 'delivered');
    const got = nextEvent(bob, 'message');
    const sent = await alice.sendText(bob.accountId!, 'please read');
    await got;
    await delivered;
    const read = nextEvent(alice, 'status', (e) => e.status === 'read' && bytesEqual(e.messageId, sent.messageId));
    expect(await bob.markRead(alice.accountId!)).toBe(1);
    await read;
    off();
    expect(statuses).toEqual(['sent', 'delivered', 'read']);
    expect(alice.store.getMessage(bob.accountId!, sent.messageId)!.status).toBe('read');
  });

  it('typing indicators start, stop, and expire', async () => {
    const started = nextEvent(bob, 'typing', (e) => e.started);
    await alice.typing(bob.accountId!, true);
    const s = await started;
    expect(bytesEqual(s.conversation, alice.accountId!)).toBe(true);
    expect(s.expiresAt).toBeGreaterThan(Date.now());
    const stopped = nextEvent(bob, 'typing', (e) => !e.started);
    await alice.typing(bob.accountId!, false);
    await stopped;
  });

  it('delete for everyone removes the text on the other side; only the author may', async () => {
    const got = nextEvent(bob, 'message', (e) => e.message.text === 'oops');
    const m = await alice.sendText(bob.accountId!, 'oops');
    await got;
    const deleted = nextEvent(bob, 'deleted');
    await alice.deleteForEveryone(bob.accountId!, m.messageId);
    await deleted;
    const there = bob.store.getMessage(alice.accountId!, m.messageId)!;
    expect(there.deleted).toBe(true);
    expect(there.text).toBe('');
    await expect(bob.deleteForEveryone(alice.accountId!, m.messageId)).rejects.toThrow(ClientError);
  });

  it('delete for me and delete history act locally; mute is stored', async () => {
    const got = nextEvent(bob, 'message', (e) => e.message.text === 'keep or drop');
    const m = await alice.sendText(bob.accountId!, 'keep or drop');
    await got;
    await bob.deleteForMe(alice.accountId!, m.messageId);
    expect(bob.store.getMessage(alice.accountId!, m.messageId)).toBeUndefined();
    expect(alice.store.getMessage(bob.accountId!, m.messageId)).toBeDefined();
    expect(await alice.deleteHistory(bob.accountId!)).toBeGreaterThan(0);
    expect(alice.store.listMessages(bob.accountId!, 100)).toHaveLength(0);
    const until = Date.now() + 3_600_000;
    await alice.mute(bob.accountId!, until);
    expect(alice.store.getContact(bob.accountId!)!.mutedUntil).toBe(until);
  });

  it('a contact\'s changed identity blocks sending until the user accepts it', async () => {
    // Bob "reinstalls": a new identity for the same name, on a new account.
    const bob2 = await world.person('bob-reinstalled');
    // Alice is told (out of band) that bob's card is now bob2's; simulate the same account id
    // keeping a new identity by pointing alice's contact at bob2 with bob's old identity stored.
    const contact = alice.store.getContact(bob.accountId!)!;
    alice.store.putContact({ ...contact, accountId: bob2.accountId!, alias: 'bob-new', accessKey: bob2.accessKey });
    bob2.addContact('alice', alice.accountId!, alice.accessKey);
    const changed = nextEvent(alice, 'identity-changed');
    await expect(alice.sendText(bob2.accountId!, 'are you still bob?')).resolves.toBeDefined();
    await changed;
    const c = alice.store.getContact(bob2.accountId!)!;
    expect(c.pendingIdentityKey).toBeDefined();
    await expect(alice.sendText(bob2.accountId!, 'blocked')).rejects.toMatchObject({ code: 'IDENTITY_CHANGED' });
    const sn = alice.safetyNumber(bob2.accountId!);
    expect(sn.changed).toBe(true);
    expect(sn.digits).toMatch(/^\d{60}$/);
    alice.acceptIdentity(bob2.accountId!);
    const arrived = nextEvent(bob2, 'message', (e) => e.message.text === 'accepted now');
    await alice.sendText(bob2.accountId!, 'accepted now');
    await arrived;
    // Safety numbers agree on both sides.
    expect(bob2.safetyNumber(alice.accountId!).digits).toBe(alice.safetyNumber(bob2.accountId!).digits);
    await bob2.close();
  }, 30_000);

  it('a sender whose identity key is not accepted can show a text but cannot delete a message', async () => {
    const carol = await world.person('carol');
    const dave = await world.person('dave');
    introduce(carol, 'carol', dave, 'dave');
    const got = nextEvent(carol, 'message', (e) => e.message.text === 'keep this');
    const m = await dave.sendText(carol.accountId!, 'keep this');
    await got;
    // Carol's accepted key for Dave is now another one; Dave's real key is only pending.
    const c = carol.store.getContact(dave.accountId!)!;
    carol.store.putContact({ ...c, identityKey: new Uint8Array(64).fill(3), pendingIdentityKey: c.identityKey });
    await dave.deleteForEveryone(carol.accountId!, m.messageId);
    const shown = nextEvent(carol, 'message', (e) => e.message.text === 'after the delete');
    await dave.sendText(carol.accountId!, 'after the delete');
    await shown; // delivered in order: the deletion was processed before this text
    expect(carol.store.getMessage(dave.accountId!, m.messageId)!.deleted).toBe(false);
  });

  it('a wrong certificate fingerprint is refused before anything is sent', async () => {
    const client = createNodeClient({ store: SqlCipherStore.open(world.dir('wrong-pin'), 'pw') });
    const wrong = '00'.repeat(32);
    await expect(client.init(world.server.server.url, wrong)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect(client.server).toBeUndefined();
    client.store.close();
  });
});

describe('the outbox', () => {
  it('a message that can never be sent is marked failed and does not block the next ones', async () => {
    const world = await World.start();
    try {
      const alice = await world.person('alice');
      const bob = await world.person('bob');
      introduce(alice, 'alice', bob, 'bob');
      const ghost = new Uint8Array(16).fill(7);
      alice.addContact('ghost', ghost, undefined);
      const failed = nextEvent(alice, 'send-failed');
      const m = await alice.sendText(ghost, 'to nobody');
      expect((await failed).reason).toMatch(/./);
      expect(alice.store.getMessage(ghost, m.messageId)!.status).toBe('failed');
      const got = nextEvent(bob, 'message', (e) => e.message.text === 'after the failure');
      await alice.sendText(bob.accountId!, 'after the failure');
      await got;
      expect(alice.store.listOutbox()).toHaveLength(0);
    } finally {
      await world.stop();
    }
  }, 60_000);
});
