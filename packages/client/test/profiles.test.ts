/**
 * Profiles and profile keys end to end (client.md §11.1): the key travels in pairwise
 * messages, in the group's pairwise messages to members who are not contacts, in
 * contact cards and to a linked device; the server holds only ciphertext.
 */
import { randomBytes } from 'node:crypto';
import { bytesEqual } from '@sigilo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from './support.js';
import { create } from '@bufbuild/protobuf';
import { ProfileContentSchema, ProvisionMessage_KnownProfileSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { MAX_AVATAR_BYTES, parseContactCard, type SigiloClient } from '../src/index.js';

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Refreshes due profiles and tells whether `of`'s name reads as `name` on `on`. */
async function knowsName(on: SigiloClient, of: SigiloClient, name: string): Promise<boolean> {
  await on.profiles.refresh({ maxAgeMs: 0 });
  return on.profiles.nameOf(of.accountId!) === name;
}

describe('profiles', () => {
  let world: World;
  let ana: SigiloClient, bruno: SigiloClient, carla: SigiloClient;

  beforeAll(async () => {
    world = await World.start();
    [ana, bruno, carla] = await Promise.all([world.person('ana'), world.person('bruno'), world.person('carla')]);
    await ana.profiles.set({ name: 'Ana López' });
    await bruno.profiles.set({ name: 'Bruno Alves' });
    await carla.profiles.set({ name: 'Carla Nunes' });
  }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('a contact card carries the profile key; the server stores only ciphertext that names nothing', async () => {
    const card = parseContactCard(ana.contactCard);
    expect(card.profileKey && bytesEqual(card.profileKey, ana.profiles.ownKey())).toBe(true);
    bruno.addContact('ana', card.accountId, card.accessKey, card.profileKey);
    expect(await knowsName(bruno, ana, 'Ana López')).toBe(true);
    const stored = await world.server.server.storage.getProfile(ana.accountId!);
    expect(stored).toBeDefined();
    expect(Buffer.from(stored!.profile).includes(Buffer.from('Ana'))).toBe(false);
    // A changed name reaches those holding the key at their next refresh.
    await ana.profiles.set({ name: 'Ana L.' });
    expect(await knowsName(bruno, ana, 'Ana L.')).toBe(true);
    await ana.profiles.set({ name: 'Ana López' });
  }, 60_000);

  it('the first message carries the key to someone who had no card', async () => {
    // Carla knows Bruno's account only (no card): she writes; he learns her key from the message.
    carla.addContact('bruno', bruno.accountId!, undefined);
    await carla.sendText(bruno.accountId!, 'hola');
    await waitFor('bruno reads carla\'s name', () => knowsName(bruno, carla, 'Carla Nunes'));
  }, 60_000);

  it('group members who are not contacts learn each other\'s keys from the group\'s pairwise messages', async () => {
    const dora = await world.person('dora');
    await dora.profiles.set({ name: 'Dora' });
    ana.addContact('dora', dora.accountId!, dora.accessKey);
    ana.addContact('bruno', bruno.accountId!, bruno.accessKey);
    expect(dora.profiles.nameOf(bruno.accountId!)).toBeUndefined();
    const g = await ana.createGroup('crew', [bruno.accountId!, dora.accountId!]);
    await waitFor('dora holds the group', () => { try { return dora.group(g.groupId).members.length === 3; } catch { return false; } });
    // Bruno's first group message distributes his sender key pairwise to Dora, with his profile key.
    await bruno.sendGroupText(g.groupId, 'buenos días');
    await waitFor('dora reads bruno\'s name', () => knowsName(dora, bruno, 'Bruno Alves'));
    await waitFor('dora reads ana\'s name', () => knowsName(dora, ana, 'Ana López'));
  }, 90_000);

  it('a linked device receives the profile key, the profile and the contacts\' keys', async () => {
    const dora = world.people.get('dora')!.devices[0]!;
    dora.addContact('ana', ana.accountId!, ana.accessKey);
    await dora.sendText(ana.accountId!, 'hola Ana');
    await waitFor('ana reads dora\'s name', () => knowsName(ana, dora, 'Dora'));
    await ana.usernames.set('@Ana.Lopez');
    const device = await world.newClient('ana-2');
    const pending = await device.startLink();
    await ana.approveLink(pending.code);
    await pending.completed;
    // Before any connection or message: its own name, and the names of the contacts, as the approving device knows them.
    expect(device.state).toBe('offline');
    expect(device.profiles.own().name).toBe('Ana López');
    expect(device.profiles.nameOf(dora.accountId!)).toBe('Dora');
    expect(device.profiles.nameOf(bruno.accountId!)).toBe('Bruno Alves');
    // Given names are due: the first refresh reads them from the server (and the avatars, which are not sent).
    expect(device.profiles.get(dora.accountId!)?.fetchedAt).toBe(0);
    await device.connect({ reconnect: false });
    expect(bytesEqual(device.profiles.ownKey(), ana.profiles.ownKey())).toBe(true);
    expect(device.usernames.current).toBe('ana.lopez');
    expect(await device.profiles.refresh()).toBe(2);
    expect(device.profiles.nameOf(dora.accountId!)).toBe('Dora');
    expect((await device.profiles.fetchOwn()).name).toBe('Ana López');
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    expect(await device.profiles.set({ avatar: { bytes: png, type: 'image/png' } })).toMatchObject({ name: 'Ana López', avatarType: 'image/png' });
    expect((await bruno.profiles.refresh({ accountIds: [ana.accountId!], maxAgeMs: 0 }))).toBe(1);
    expect(bruno.profiles.get(ana.accountId!)).toMatchObject({ name: 'Ana López', avatar: png, avatarType: 'image/png' });
    await device.close();
  }, 60_000);

  it('a linked device gets the names of fellow group members she never added', async () => {
    // Dora knows Bruno only from the group (she never added him): his key and name still reach her new device.
    const dora = world.people.get('dora')!.devices[0]!;
    expect(dora.profiles.nameOf(bruno.accountId!)).toBe('Bruno Alves');
    const device = await world.newClient('dora-2');
    const pending = await device.startLink();
    await dora.approveLink(pending.code);
    await pending.completed;
    expect(device.profiles.own().name).toBe('Dora');
    expect(device.profiles.nameOf(bruno.accountId!)).toBe('Bruno Alves');
    expect(bytesEqual(device.profiles.get(bruno.accountId!)!.profileKey, bruno.profiles.ownKey())).toBe(true);
    await device.close();
  }, 60_000);

  it('from an older device (keys only, no names) the new device reads the names from the server', async () => {
    // An older client sends a ProvisionMessage without own_profile and profiles (150, 151): the restore path installs the same message.
    const dora = world.people.get('dora')!.devices[0]!;
    const { account, messages } = ana.backupContents();
    account.ownProfile = undefined;
    account.profiles = [];
    const device = await world.newClient('ana-old');
    await device.restoreAccount(account, messages);
    expect(device.profiles.own().name).toBeUndefined();
    expect(device.profiles.nameOf(dora.accountId!)).toBeUndefined();
    await device.connect({ reconnect: false });
    expect(await device.profiles.refresh()).toBeGreaterThanOrEqual(2);
    expect(device.profiles.nameOf(dora.accountId!)).toBe('Dora');
    expect((await device.profiles.fetchOwn()).name).toBe('Ana López');
    await device.close();
  }, 60_000);

  it('a hostile backup or linking device: a huge or non-picture own avatar is dropped; thousands of keys are read without flooding the server', async () => {
    const { account, messages } = ana.backupContents();
    const dora = world.people.get('dora')!.devices[0]!;
    account.ownProfile = create(ProfileContentSchema, { name: 'Ana\u202eB', avatar: new Uint8Array(MAX_AVATAR_BYTES + 1), avatarType: 'image/svg+xml' });
    const stranger = () => create(ProvisionMessage_KnownProfileSchema, { accountId: new Uint8Array(randomBytes(16)), profileKey: new Uint8Array(randomBytes(32)), name: 'Dora' });
    // An entry whose account id is no account id would make every getProfile of the refresh refused (INVALID_ARGUMENT).
    const bad = create(ProvisionMessage_KnownProfileSchema, { accountId: new Uint8Array(3), profileKey: new Uint8Array(randomBytes(32)), name: 'Dora' });
    account.profiles = [bad, ...account.profiles, ...Array.from({ length: 4500 }, stranger)];
    const device = await world.newClient('ana-hostile');
    await device.restoreAccount(account, messages);
    expect(device.profiles.own()).toEqual({ name: undefined, avatar: undefined, avatarType: undefined });
    expect(device.profiles.get(bad.accountId)).toBeUndefined();
    await device.connect({ reconnect: false });
    // Every key is due: the refresh reads them all within the server's frame limits, and the connection stays up.
    expect(await device.profiles.refresh()).toBeGreaterThanOrEqual(2);
    expect(device.state).toBe('online');
    expect(device.profiles.nameOf(dora.accountId!)).toBe('Dora');
    // The strangers have no profile on the server: the names given with their keys are gone.
    expect(device.profiles.nameOf(account.profiles.at(-1)!.accountId)).toBeUndefined();
    await device.close();
  }, 120_000);

  it('refuses names that are empty, too long or carry control characters', async () => {
    for (const bad of ['', '   ', 'x'.repeat(65), 'Ana\u001b[31m', 'A\u202eB']) await expect(ana.profiles.set({ name: bad })).rejects.toThrow(/display name is 1–64/);
  });
});
