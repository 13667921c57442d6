/**
 * Groups against hostile peers (issue 5; groups.md §4.1.1, §6.2, §6.4, §6.10): a removed member squatting a group
 * id at a future member, strangers and contacts flooding a device with updates and sender keys for made-up groups,
 * a removed member fetching the log, and private messages over a session whose identity is not the group's or not
 * accepted. Real server over TLS, real clients with SQLCipher stores; the hostile side writes raw Content into its
 * own outbox (what a modified client would send).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { bytesEqual, createGroup, generateIdentityKeyPair, createSenderKey, groupEntrySignedBytes, parseGroupEntry } from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { GroupLogEntry_BodySchema, GroupLogEntrySchema } from '@sigilo/protocol/gen/sigilo/protocol/v1/group_pb';
import { type ClientEvent, type SigiloClient } from '../src/index.js';
import { SqlCipherStore } from '../../client-node/src/index.js';
import { MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, SENDER_KEYS_KEPT_PER_DEVICE } from '../src/groups.js';
import { World, introduce, nextEvent } from './support.js';

const ctx = { crypto: nodeCrypto, random: systemRandom };

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `content` from `from` to `to` pairwise, as a modified client would. */
async function sendRaw(from: SigiloClient, to: Uint8Array, contents: MessageInitShape<typeof ContentSchema>[]): Promise<void> {
  for (const c of contents) {
    from.store.enqueueOutbox({ recipient: to, content: toBinary(ContentSchema, create(ContentSchema, c)), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
  }
  await from.flush();
}

function collect(client: SigiloClient): ClientEvent[] {
  const events: ClientEvent[] = [];
  client.on((e) => events.push(e));
  return events;
}
const rejections = (events: ClientEvent[]) => events.flatMap((e) => (e.type === 'group-rejected' ? [e.reason] : []));

let world: World;
beforeAll(async () => {
  world = await World.start();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

describe('group id squatting', () => {
  it('a removed member\'s genesis reusing the group id is refused by the future member, who then joins the real group', async () => {
    const ana = await world.person('ana');
    const carla = await world.person('carla');
    const dora = await world.person('dora');
    introduce(ana, 'ana', carla, 'carla');
    introduce(ana, 'ana', dora, 'dora');
    const G = (await ana.createGroup('crew', [carla.accountId!])).groupId;
    await waitFor('carla holds the group', () => !!carla.store.getGroup(G));
    await ana.removeMembers(G, [carla.accountId!]);
    await waitFor('carla is removed', () => carla.store.getGroup(G)?.status === 'removed');

    // Carla signs a genesis of her own under G's id: herself admin, ana and dora with their real identity keys.
    const { entry: template } = createGroup(ctx, { accountId: carla.accountId!, identity: carla.identity }, 'crew',
      [{ accountId: ana.accountId!, identityKey: ana.identity.publicKey }, { accountId: dora.accountId!, identityKey: dora.identity.publicKey }], Date.now());
    const body = toBinary(GroupLogEntry_BodySchema, create(GroupLogEntry_BodySchema, {
      ...parseBody(template), groupId: G,
    }));
    const squat = toBinary(GroupLogEntrySchema, create(GroupLogEntrySchema, { body, signature: nodeCrypto.ed25519Sign(carla.identity.signing.privateKey, groupEntrySignedBytes(body)) }));
    expect(bytesEqual(parseGroupEntry(squat).groupId, G)).toBe(true);

    const doraEvents = collect(dora);
    const refused = nextEvent(dora, 'group-rejected', (e) => e.reason.includes('first entry was refused') && e.reason.includes('group id'));
    await sendRaw(carla, dora.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G, entries: [squat] } } }]);
    await refused;
    expect(dora.store.getGroup(G)).toBeUndefined();
    expect(dora.store.getGroupEntries(G)).toEqual([]);

    // The real admin adds dora: she is in the real group, ana its admin, carla not in it.
    await ana.addMembers(G, [dora.accountId!]);
    await waitFor('dora holds the real group', () => dora.store.getGroup(G)?.status === 'active');
    const info = dora.group(G);
    expect(info.members.find((m) => bytesEqual(m.accountId, ana.accountId!))?.role).toBe('admin');
    expect(info.members.some((m) => bytesEqual(m.accountId, carla.accountId!))).toBe(false);
    expect(info.members.some((m) => bytesEqual(m.accountId, dora.accountId!))).toBe(true);

    // Offered again now that dora holds G: refused loudly, the group unchanged.
    const loud = nextEvent(dora, 'group-rejected', (e) => e.reason.includes('different first entry'));
    await sendRaw(carla, dora.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G, entries: [squat] } } }]);
    await loud;
    expect(dora.group(G).revision).toBe(info.revision);
    expect(rejections(doraEvents).length).toBeGreaterThanOrEqual(2);

    // Dora's group message reaches ana, and carla cannot read it.
    const got = nextEvent(ana, 'message', (e) => e.message.text === 'plan for the crew');
    await dora.sendGroupText(G, 'plan for the crew');
    await got;
    await new Promise((r) => setTimeout(r, 500));
    expect(carla.store.listMessages(G, 100).some((m) => m.text === 'plan for the crew')).toBe(false);
  }, 60_000);
});

/** The init fields of an entry's body (to sign a changed copy). */
function parseBody(entry: Uint8Array): MessageInitShape<typeof GroupLogEntry_BodySchema> {
  return fromBinary(GroupLogEntry_BodySchema, fromBinary(GroupLogEntrySchema, entry).body);
}

describe('storage bounds for groups not held', () => {
  it('a stranger\'s 200 updates and sender keys for made-up groups leave no entries, at most the per-device keys, and no chain requests', async () => {
    const mallory = await world.person('mallory');
    // The victim connects once mallory has sent everything and gone offline: any chain request would wait at the server.
    const victim = await world.newClient('victim');
    await victim.register((await world.server.server.admin.createInvite()).code);
    world.people.set('victim', { name: 'victim', devices: [victim], dirs: [] });
    mallory.addContact('victim', victim.accountId!, victim.accessKey); // one-sided: the victim never added mallory
    const gids = Array.from({ length: 100 }, () => systemRandom(32));
    const contents: MessageInitShape<typeof ContentSchema>[] = [];
    for (const G of gids) {
      contents.push({ body: { case: 'groupUpdate', value: { groupId: G, entries: [systemRandom(2_000), systemRandom(2_000)] } } });
      contents.push({ body: { case: 'senderKey', value: { groupId: G, distribution: createSenderKey(ctx).distribution } } });
    }
    await sendRaw(mallory, victim.accountId!, contents);
    await mallory.close();
    await victim.connect({ reconnect: false });
    await waitFor('the victim read everything', async () => (await world.server.server.storage.fetchQueue(victim.accountId!, victim.deviceId!, 0, 10)).length === 0
      && gids.reduce((n, g) => n + victim.store.listSenderKeys(g).length, 0) > 0, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const pending = gids.filter((g) => victim.store.takePendingGroupEntries(g).length > 0).length;
    const keys = gids.reduce((n, g) => n + victim.store.listSenderKeys(g).length, 0);
    const asked = await world.server.server.storage.fetchQueue(mallory.accountId!, mallory.deviceId!, 0, 1_000);
    expect(pending).toBe(0);
    expect(keys).toBeLessThanOrEqual(SENDER_KEYS_KEPT_PER_DEVICE);
    expect(asked.length).toBe(0);
  }, 60_000);

  it('a contact\'s 150 updates for made-up groups leave entries of at most MAX_UNHELD_GROUPS groups and a bounded number of chain requests', async () => {
    const cora = await world.person('cora');
    // Vic connects only once cora has sent everything and gone offline: vic's chain requests then wait at the server.
    const vic = await world.newClient('vic');
    await vic.register((await world.server.server.admin.createInvite()).code);
    world.people.set('vic', { name: 'vic', devices: [vic], dirs: [] });
    introduce(cora, 'cora', vic, 'vic');
    const gids = Array.from({ length: 150 }, () => systemRandom(32));
    await sendRaw(cora, vic.accountId!, gids.map((G) => ({ body: { case: 'groupUpdate' as const, value: { groupId: G, entries: [systemRandom(500)] } } })));
    await cora.close();
    await vic.connect({ reconnect: false });
    await waitFor('vic read everything', async () => (await world.server.server.storage.fetchQueue(vic.accountId!, vic.deviceId!, 0, 10)).length === 0
      && !!vic.store.takePendingGroupEntries(gids.at(-1)!).length, 30_000);
    await vic.flush();
    const pending = gids.slice(0, -1).filter((g) => vic.store.takePendingGroupEntries(g).length > 0).length + 1;
    expect(pending).toBeLessThanOrEqual(MAX_UNHELD_GROUPS);
    expect(pending).toBeGreaterThan(MAX_UNHELD_GROUPS / 2); // the newest were kept: contacts' entries do wait
    const asked = await world.server.server.storage.fetchQueue(cora.accountId!, cora.deviceId!, 0, 1_000);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.length).toBeLessThanOrEqual(16);
  }, 60_000);

  it('sender keys for groups not held, from 200 devices, are bounded across senders (groups, keys, age) in the store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-unheld-'));
    const store = SqlCipherStore.open(dir, 'passphrase');
    try {
      const gids = Array.from({ length: 200 }, () => systemRandom(32));
      const now = 1_800_000_000_000;
      gids.forEach((groupId, i) => {
        const d = createSenderKey(ctx);
        store.putSenderKey({ groupId, accountId: systemRandom(16), deviceId: i + 1, distributionId: d.distributionId, record: systemRandom(100), receivedAt: now + i });
        store.pruneAllUnheldSenderKeys(MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, now - 7 * 24 * 3600_000);
      });
      const held = gids.map((g) => store.listSenderKeys(g).length);
      expect(held.reduce((a, b) => a + b, 0)).toBe(MAX_UNHELD_GROUPS);
      expect(held.slice(-MAX_UNHELD_GROUPS).every((n) => n === 1)).toBe(true); // the newest stay
      // Older than a week: gone.
      expect(store.pruneAllUnheldSenderKeys(MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, now + 1_000)).toBe(MAX_UNHELD_GROUPS);
      // Many keys for few groups: at most MAX_UNHELD_SENDER_KEYS.
      const g = systemRandom(32);
      for (let i = 0; i < MAX_UNHELD_SENDER_KEYS + 50; i++) {
        store.putSenderKey({ groupId: g, accountId: systemRandom(16), deviceId: 1, distributionId: systemRandom(16), record: systemRandom(10), receivedAt: now });
      }
      store.pruneAllUnheldSenderKeys(MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, now - 1);
      expect(store.listSenderKeys(g).length).toBe(MAX_UNHELD_SENDER_KEYS);
      // Pending entries: the same bounds across groups.
      gids.forEach((groupId, i) => {
        store.addPendingGroupEntries(groupId, [systemRandom(50)], now + i, 256);
        store.prunePendingGroupEntries(MAX_UNHELD_GROUPS, now - 1);
      });
      expect(gids.filter((x) => store.takePendingGroupEntries(x).length > 0).length).toBe(MAX_UNHELD_GROUPS);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('who gets the log', () => {
  it('a removed member asking for the chain gets it only up to its removal; a member gets all of it', async () => {
    const ann = await world.person('ann');
    const bea = await world.person('bea');
    const cat = await world.person('cat');
    introduce(ann, 'ann', bea, 'bea');
    introduce(ann, 'ann', cat, 'cat');
    const G = (await ann.createGroup('log', [bea.accountId!, cat.accountId!])).groupId;
    await waitFor('both hold it', () => !!bea.store.getGroup(G) && !!cat.store.getGroup(G));
    await ann.removeMembers(G, [cat.accountId!]);
    await waitFor('cat removed', () => cat.store.getGroup(G)?.status === 'removed');
    const removedAt = cat.store.getGroupEntries(G).length;
    await ann.renameGroup(G, 'after the removal');
    await waitFor('bea sees the rename', () => bea.group(G).name === 'after the removal');

    // Cat asks for the chain; ann's answer comes before ann's next message to cat.
    await sendRaw(cat, ann.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G, entries: [] } } }]);
    await new Promise((r) => setTimeout(r, 500));
    const text = nextEvent(cat, 'message', (e) => e.message.text === 'marker');
    await ann.sendText(cat.accountId!, 'marker');
    await text;
    expect(cat.store.getGroupEntries(G).length).toBe(removedAt);
    expect(cat.group(G).name).toBe('log');

    // Bea (a member) lost the last entry and asks: she gets the whole chain back.
    const full = bea.store.getGroupEntries(G);
    bea.store.setGroupEntries(G, full.slice(0, -1));
    await sendRaw(bea, ann.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G, entries: [] } } }]);
    await waitFor('bea has the rename again', () => bea.store.getGroupEntries(G).length === full.length);
  }, 60_000);
});

describe('private messages in a group', () => {
  it('are dropped, with an event, over a session whose identity is not the group\'s or not accepted', async () => {
    const ada = await world.person('ada');
    const ben = await world.person('ben');
    const dee = await world.person('dee');
    introduce(ada, 'ada', dee, 'dee');
    introduce(ben, 'ben', dee, 'dee');
    introduce(ada, 'ada', ben, 'ben');
    // Dee knows ada's real identity key (first message) before any group names her.
    const hi = nextEvent(dee, 'message', (e) => e.message.text === 'hi');
    await ada.sendText(dee.accountId!, 'hi');
    await hi;
    // Ben (admin) made a group listing ada with an identity key that is not hers.
    const otherKey = generateIdentityKeyPair(ctx).publicKey;
    const { entry, log } = createGroup(ctx, { accountId: ben.accountId!, identity: ben.identity }, 'side',
      [{ accountId: ada.accountId!, identityKey: otherKey }, { accountId: dee.accountId!, identityKey: dee.identity.publicKey }], Date.now());
    const G = log.state.groupId;
    await sendRaw(ben, dee.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G, entries: [entry] } } }]);
    await waitFor('dee holds the group', () => !!dee.store.getGroup(G));

    const dropped = nextEvent(dee, 'group-rejected', (e) => e.reason.includes('another identity'));
    await sendRaw(ada, dee.accountId!, [{ body: { case: 'data', value: { groupId: G, private: true, messageId: systemRandom(16), timestamp: BigInt(Date.now()), text: 'psst' } } }]);
    await dropped;
    expect(dee.store.listMessages(G, 100).some((m) => m.text === 'psst')).toBe(false);

    // A group where ada is listed with her real key, but dee has not accepted her current key.
    const real = createGroup(ctx, { accountId: ben.accountId!, identity: ben.identity }, 'side2',
      [{ accountId: ada.accountId!, identityKey: ada.identity.publicKey }, { accountId: dee.accountId!, identityKey: dee.identity.publicKey }], Date.now());
    const G2 = real.log.state.groupId;
    await sendRaw(ben, dee.accountId!, [{ body: { case: 'groupUpdate', value: { groupId: G2, entries: [real.entry] } } }]);
    await waitFor('dee holds the second group', () => !!dee.store.getGroup(G2));
    const c = dee.store.getContact(ada.accountId!)!;
    dee.store.putContact({ ...c, identityKey: otherKey, pendingIdentityKey: undefined });
    const unaccepted = nextEvent(dee, 'group-rejected', (e) => e.reason.includes('not accepted'));
    await sendRaw(ada, dee.accountId!, [{ body: { case: 'data', value: { groupId: G2, private: true, messageId: systemRandom(16), timestamp: BigInt(Date.now()), text: 'psst2' } } }]);
    await unaccepted;
    expect(dee.store.listMessages(G2, 100).some((m) => m.text === 'psst2')).toBe(false);

    // Accepted again: the same kind of message is shown.
    dee.store.putContact({ ...dee.store.getContact(ada.accountId!)!, identityKey: ada.identity.publicKey, pendingIdentityKey: undefined });
    const shown = nextEvent(dee, 'message', (e) => e.message.text === 'psst3');
    await sendRaw(ada, dee.accountId!, [{ body: { case: 'data', value: { groupId: G2, private: true, messageId: systemRandom(16), timestamp: BigInt(Date.now()), text: 'psst3' } } }]);
    await shown;
  }, 60_000);
});

describe('group names from peers', () => {
  it('a genesis whose name has control characters is refused on receipt', async () => {
    const eli = await world.person('eli');
    const fay = await world.person('fay');
    introduce(eli, 'eli', fay, 'fay');
    // Signed by eli with the id it derives, but the name carries a terminal escape: invalid whoever signed it.
    const { entry: template } = createGroup(ctx, { accountId: eli.accountId!, identity: eli.identity }, 'crew', [{ accountId: fay.accountId!, identityKey: fay.identity.publicKey }], Date.now());
    const b = parseBody(template);
    const change = b.change as { change: { case: 'genesis'; value: { name: string } } };
    change.change.value.name = 'crew\u001b]0;pwned\u0007';
    const unbound = toBinary(GroupLogEntry_BodySchema, create(GroupLogEntry_BodySchema, { ...b, groupId: new Uint8Array(0) }));
    const groupId = nodeCrypto.sha256(new Uint8Array([...Buffer.from('Sigilo-GroupId-v1'), ...unbound]));
    const body = toBinary(GroupLogEntry_BodySchema, create(GroupLogEntry_BodySchema, { ...b, groupId }));
    const entry = toBinary(GroupLogEntrySchema, create(GroupLogEntrySchema, { body, signature: nodeCrypto.ed25519Sign(eli.identity.signing.privateKey, groupEntrySignedBytes(body)) }));
    const refused = nextEvent(fay, 'group-rejected', (e) => e.reason.includes('control characters'));
    await sendRaw(eli, fay.accountId!, [{ body: { case: 'groupUpdate', value: { groupId, entries: [entry] } } }]);
    await refused;
    expect(fay.store.getGroup(groupId)).toBeUndefined();
  }, 30_000);
});
