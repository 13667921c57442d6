/**
 * Groups end to end (spec/groups.md, client.md §8): five people with two
 * devices each against the real server over TLS, with real SQLCipher stores.
 *
 * Confidentiality claims are checked on the ciphertext itself: a message is
 * captured from the server's queue of a device that is offline (the exact
 * shared payload and header it would be delivered), and the removed member's
 * or late joiner's own keys are tried on it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  bytesEqual, createSenderKey, decodeSessionRecord, decryptMessage, groupEntrySignedBytes, parseGroupEntry, senderKeyDecrypt, senderKeyMessageDistributionId,
  unsealMultiRecipient, unsealSender, type SessionRecord, type TrustedServerKey,
} from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { ContentSchema, type Content } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { GroupLogEntrySchema, GroupLogEntry_BodySchema } from '@sigilo/protocol/gen/sigilo/protocol/v1/group_pb';
import { World, introduce, nextEvent } from './support.js';
import type { ClientEvent, GroupInfo, SigiloClient } from '../src/index.js';
import { SENDER_KEYS_KEPT_PER_DEVICE } from '../src/groups.js';
import { unpad } from '../src/padding.js';

const ctx = { crypto: nodeCrypto, random: systemRandom };
const NAMES = ['ana', 'bruno', 'carla', 'dora', 'eva'] as const;
type Name = typeof NAMES[number];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

function hasText(d: SigiloClient, groupId: Uint8Array, text: string): boolean {
  return d.store.listMessages(groupId, 10_000).some((m) => m.text === text);
}

/** What every device must agree on: revision and the member list with roles. */
function view(d: SigiloClient, groupId: Uint8Array): string | undefined {
  try {
    const g: GroupInfo = d.group(groupId);
    return `${g.revision}|${g.name}|${g.members.map((m) => `${hex(m.accountId)}:${m.role}`).sort().join(',')}`;
  } catch {
    return undefined;
  }
}

/** Records every event of a device (for asserting on rejections after the fact). */
function record(d: SigiloClient): ClientEvent[] {
  const events: ClientEvent[] = [];
  d.on((e) => events.push(e));
  return events;
}

describe('groups: five people, ten devices', () => {
  let world: World;
  const p = {} as Record<Name, SigiloClient[]>;
  const events = new Map<SigiloClient, ClientEvent[]>();
  let trusted: TrustedServerKey[];
  let groupId: Uint8Array;
  const all = () => NAMES.flatMap((n) => p[n]);
  const id = (n: Name) => p[n][0]!.accountId!;

  /** The queued row (shared payload and header) of a group message for an offline device. */
  async function queued(n: Name, device: number, messageId: Uint8Array) {
    const rows = await world.server.server.storage.fetchQueue(id(n), p[n][device]!.deviceId!, 0, 10_000);
    const row = rows.find((r) => bytesEqual(r.messageId, messageId));
    if (!row) throw new Error(`no queued row for ${n}'s device ${device + 1}`);
    return row;
  }

  /** The highest server id in a device's queue (rows above it arrived later). */
  async function queueMark(n: Name, device: number): Promise<number> {
    const rows = await world.server.server.storage.fetchQueue(id(n), p[n][device]!.deviceId!, 0, 10_000);
    return Math.max(0, ...rows.map((r) => r.serverId));
  }

  /**
   * The pairwise Contents queued for an offline device after `mark` by the device `from`, opened as the device
   * would (sealed sender, then its session with `from`, on a copy: the device's store is not touched).
   */
  async function queuedPairwise(n: Name, device: number, mark: number, from: SigiloClient): Promise<Content[]> {
    const d = p[n][device]!;
    const rows = await world.server.server.storage.fetchQueue(id(n), d.deviceId!, mark, 10_000);
    const out: Content[] = [];
    let session: SessionRecord | undefined;
    for (const r of rows) {
      if (r.recipientHeader) continue; // a group message
      expect(r.sealed).toBe(true);
      const opened = unsealSender(ctx, d.identity, r.content, trusted, Date.now());
      if (!bytesEqual(opened.sender.accountId, from.accountId!) || opened.sender.deviceId !== from.deviceId) continue;
      session ??= decodeSessionRecord(d.store.getSession(from.accountId!, from.deviceId!)!);
      const got = decryptMessage(ctx, session, opened.content);
      session = got.record;
      out.push(fromBinary(ContentSchema, unpad(got.plaintext)));
    }
    return out;
  }

  beforeAll(async () => {
    world = await World.start();
    for (const n of NAMES) p[n] = [await world.person(n)];
    for (let i = 0; i < NAMES.length; i++) for (let j = i + 1; j < NAMES.length; j++) introduce(p[NAMES[i]!][0]!, NAMES[i]!, p[NAMES[j]!][0]!, NAMES[j]!);
    // Every person links a second device (contacts and access keys come with the link).
    for (const n of NAMES) {
      const device = await world.newClient(`${n}-2`);
      const pending = await device.startLink();
      await p[n][0]!.approveLink(pending.code);
      await pending.completed;
      await device.connect({ reconnect: false });
      p[n].push(device);
      world.people.get(n)!.devices.push(device);
    }
    for (const d of all()) events.set(d, record(d));
    trusted = [{ keyId: world.server.server.certificateKey.keyId, publicKey: world.server.server.certificateKey.publicKey }];
  }, 60_000);

  afterAll(async () => {
    await world?.stop();
  });

  it('creates a group; every device of every member holds the same signed member list', async () => {
    const g = await p.ana[0]!.createGroup('crew', [id('bruno'), id('carla'), id('dora')]);
    groupId = g.groupId;
    expect(g.myRole).toBe('admin');
    expect(g.members).toHaveLength(4);
    const members = ['ana', 'bruno', 'carla', 'dora'] as const;
    const reference = view(p.ana[0]!, groupId)!;
    await waitFor('all eight member devices hold the group', () => members.every((n) => p[n].every((d) => view(d, groupId) === reference)));
    for (const n of members) for (const d of p[n]) {
      expect(d.group(groupId).myRole).toBe(n === 'ana' ? 'admin' : 'member');
      expect(d.resolveGroup('crew').groupId).toEqual(groupId);
    }
    // Eva is not in it, and her devices know nothing of it.
    for (const d of p.eva) expect(d.listGroups()).toEqual([]);
    // Who created it with whom reaches the members as an event.
    const created = events.get(p.bruno[1]!)!.find((e) => e.type === 'group-update') as Extract<ClientEvent, { type: 'group-update' }>;
    expect(created.changes[0]!.kind).toBe('created');
    expect(bytesEqual(created.changes[0]!.by, id('ana'))).toBe(true);
  });

  it('a group message is sent once for everyone and reaches every device, the sender\'s other device included', async () => {
    const m = await p.ana[0]!.sendGroupText(groupId, 'hello crew');
    expect(['sent', 'delivered']).toContain(m.status); // every member is online: all their receipts can beat the end of the send
    const others = [...p.ana.slice(1), ...p.bruno, ...p.carla, ...p.dora];
    await waitFor('every device has the message', () => others.every((d) => hasText(d, groupId, 'hello crew')));
    const copy = p.ana[1]!.store.listMessages(groupId, 10).find((x) => x.text === 'hello crew')!;
    expect(copy.outgoing).toBe(true);
    const got = p.carla[1]!.store.listMessages(groupId, 10).find((x) => x.text === 'hello crew')!;
    expect(bytesEqual(got.author, id('ana'))).toBe(true);
    expect(got.outgoing).toBe(false);
    // A reply from a member's second device reaches everyone too.
    await p.dora[1]!.sendGroupText(groupId, 'hi from dora 2');
    await waitFor('the reply reaches every device', () => [...p.ana, ...p.bruno, ...p.carla, p.dora[0]!].every((d) => hasText(d, groupId, 'hi from dora 2')));
  });

  let beforeEva: { messageId: Uint8Array; shared: Uint8Array; header: Uint8Array; distributionId: Uint8Array };
  let doraKeys: { accountId: Uint8Array; record: Uint8Array; distributionId: Uint8Array }[];

  it('two admins add and remove at the same time: all ten devices converge on one member list', async () => {
    await p.ana[0]!.promote(groupId, id('bruno'));
    const promoted = view(p.ana[0]!, groupId)!;
    await waitFor('bruno is an admin everywhere', () => [...p.ana, ...p.bruno, ...p.carla, ...p.dora].every((d) => view(d, groupId) === promoted));
    expect(p.bruno[1]!.group(groupId).myRole).toBe('admin');

    // A message sent before Eva joins, captured from the server's queue of Carla's offline second device.
    await p.carla[1]!.close();
    const m = await p.ana[0]!.sendGroupText(groupId, 'before eva joins');
    await waitFor('the message reaches carla 1', () => hasText(p.carla[0]!, groupId, 'before eva joins'));
    const row = await queued('carla', 1, m.messageId);
    expect(row.recipientHeader).toBeDefined();
    const inner = unsealMultiRecipient(ctx, p.carla[1]!.identity, row.recipientHeader!, row.content, trusted, Date.now());
    beforeEva = { messageId: m.messageId, shared: row.content, header: row.recipientHeader!, distributionId: senderKeyMessageDistributionId(inner.content) };
    await p.carla[1]!.connect({ reconnect: false });
    await waitFor('carla 2 catches up', () => hasText(p.carla[1]!, groupId, 'before eva joins'));

    // What Dora's device holds before she is removed: a removed member keeps whatever it had.
    await waitFor('dora has ana\'s sender key', () => p.dora[0]!.store.listSenderKeys(groupId).some((k) => bytesEqual(k.accountId, id('ana'))));
    doraKeys = p.dora[0]!.store.listSenderKeys(groupId).map((k) => ({ accountId: k.accountId, record: k.record, distributionId: k.distributionId }));

    // On the same head, neither seeing the other's change: Ana adds Eva, Bruno removes Dora (both offline, then both connect).
    await p.ana[0]!.sendText(id('eva'), 'hello eva'); // Ana learns Eva's identity key (from her bundle)
    const head = p.ana[0]!.group(groupId).revision;
    await Promise.all([p.ana[0]!.close(), p.bruno[0]!.close()]);
    const [byAna, byBruno] = await Promise.all([p.ana[0]!.addMembers(groupId, [id('eva')]), p.bruno[0]!.removeMembers(groupId, [id('dora')])]);
    expect([byAna.revision, byBruno.revision]).toEqual([head + 1, head + 1]); // a fork
    await Promise.all([p.ana[0]!.connect({ reconnect: false }), p.bruno[0]!.connect({ reconnect: false })]);
    const expected = [id('ana'), id('bruno'), id('carla'), id('eva')].map(hex).sort();
    await waitFor('all ten devices agree on the members and the revision', () => {
      const views = all().map((d) => view(d, groupId));
      return views.every((v) => v !== undefined && v === views[0]) && views[0]!.split('|')[2]!.split(',').map((x) => x.split(':')[0]).sort().join() === expected.join();
    }, 20_000);
    for (const d of p.dora) expect(d.group(groupId).status).toBe('removed');
    for (const d of p.eva) expect(d.group(groupId).status).toBe('active');
    const changes = events.get(p.carla[1]!)!.filter((e) => e.type === 'group-update').flatMap((e) => (e as Extract<ClientEvent, { type: 'group-update' }>).changes.map((c) => c.kind));
    expect(changes).toEqual(expect.arrayContaining(['added', 'removed', 'promoted']));
    // Ana (a genesis admin) is more senior than Bruno: her branch won; Bruno's device was told its change was
    // undone by Ana's, and signed it again on the winning head (groups.md §4.5, §4.6).
    expect(p.ana[0]!.group(groupId).revision).toBe(head + 2);
    const atBruno = events.get(p.bruno[0]!)!.filter((e) => e.type === 'group-update').flatMap((e) => (e as Extract<ClientEvent, { type: 'group-update' }>).changes);
    const undone = atBruno.find((c) => c.kind === 'undone');
    expect(undone && bytesEqual(undone.by, id('bruno')) && undone.undoneBy && bytesEqual(undone.undoneBy, id('ana'))).toBe(true);
  }, 40_000);

  it('a removed member\'s device cannot decrypt what is sent after the removal', async () => {
    await p.carla[1]!.close();
    const m = await p.ana[0]!.sendGroupText(groupId, 'after dora left');
    await waitFor('the remaining members get it', () => [p.bruno[0]!, p.carla[0]!, p.eva[0]!, p.eva[1]!, p.ana[1]!].every((d) => hasText(d, groupId, 'after dora left')));
    const row = await queued('carla', 1, m.messageId);
    // Dora's identity cannot open the header meant for Carla's account (nor any header: Dora was not a recipient).
    expect(() => unsealMultiRecipient(ctx, p.dora[0]!.identity, row.recipientHeader!, row.content, trusted, Date.now())).toThrow(/header does not open it|DECRYPTION/i);
    // Even given the inner sender-key message, none of the sender keys Dora held decrypts it: Ana's key was renewed.
    const inner = unsealMultiRecipient(ctx, p.carla[1]!.identity, row.recipientHeader!, row.content, trusted, Date.now()).content;
    const distributionId = senderKeyMessageDistributionId(inner);
    expect(doraKeys.length).toBeGreaterThan(0);
    expect(doraKeys.some((k) => bytesEqual(k.distributionId, distributionId))).toBe(false);
    for (const k of doraKeys) expect(() => senderKeyDecrypt(ctx, k.record, inner)).toThrow();
    // And nothing new shows on Dora's devices; she cannot send either.
    for (const d of p.dora) expect(hasText(d, groupId, 'after dora left')).toBe(false);
    await expect(p.dora[0]!.sendGroupText(groupId, 'still here?')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // A group message Dora's device forges pairwise (it knows the group id) is refused by the members it reaches.
    const refused = nextEvent(p.ana[0]!, 'group-rejected', (e) => /do not share/.test(e.reason));
    const forged = create(ContentSchema, { body: { case: 'data', value: { messageId: systemRandom(16), timestamp: BigInt(Date.now()), text: 'pairwise from dora', groupId } } });
    p.dora[0]!.store.enqueueOutbox({ recipient: id('ana'), content: toBinary(ContentSchema, forged), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
    await p.dora[0]!.flush();
    await refused;
    expect(hasText(p.ana[0]!, groupId, 'pairwise from dora')).toBe(false);
    await p.carla[1]!.connect({ reconnect: false });
    await waitFor('carla 2 catches up', () => hasText(p.carla[1]!, groupId, 'after dora left'));
  });

  it('a late joiner cannot decrypt messages sent before it joined, and is not given the old key', async () => {
    for (const d of p.eva) expect(hasText(d, groupId, 'before eva joins')).toBe(false);
    expect(() => unsealMultiRecipient(ctx, p.eva[0]!.identity, beforeEva.header, beforeEva.shared, trusted, Date.now())).toThrow();
    const inner = unsealMultiRecipient(ctx, p.carla[0]!.identity, beforeEva.header, beforeEva.shared, trusted, Date.now()).content;
    const evaKeys = p.eva[0]!.store.listSenderKeys(groupId);
    expect(evaKeys.some((k) => bytesEqual(k.accountId, id('ana')))).toBe(true);
    for (const k of evaKeys) expect(() => senderKeyDecrypt(ctx, k.record, inner)).toThrow();
    // Asking Ana for that old key is refused: Eva's account was not a member of its epoch.
    const refused = nextEvent(p.ana[0]!, 'group-rejected', (e) => /not a member when it was made/.test(e.reason));
    const request = create(ContentSchema, { body: { case: 'senderKeyRequest', value: { groupId, distributionId: beforeEva.distributionId } } });
    p.eva[0]!.store.enqueueOutbox({ recipient: id('ana'), content: toBinary(ContentSchema, request), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
    await p.eva[0]!.flush();
    await refused;
    expect(p.eva[0]!.store.listSenderKeys(groupId).some((k) => bytesEqual(k.distributionId, beforeEva.distributionId))).toBe(false);
  });

  it('a forged membership change (by a non-admin, or tampered) is rejected by every device', async () => {
    const carla = p.carla[0]!;
    const state = carla.group(groupId);
    const chain = carla.store.getGroupEntries(groupId);
    const head = chain.map((e) => ({ e, info: parseGroupEntry(e) })).reduce((a, b) => (b.info.revision > a.info.revision ? b : a));
    // Carla is a member, not an admin: she signs "remove ana" with her own, real identity.
    const body = toBinary(GroupLogEntry_BodySchema, create(GroupLogEntry_BodySchema, {
      version: 1, groupId, revision: state.revision + 1, parent: nodeCrypto.sha256(head.e), authorAccountId: id('carla'),
      authorIdentityKey: carla.identity.publicKey, timestamp: BigInt(Date.now()),
      change: { change: { case: 'remove', value: { accountIds: [id('ana')] } } },
    }));
    const byMember = toBinary(GroupLogEntrySchema, create(GroupLogEntrySchema, { body, signature: nodeCrypto.ed25519Sign(carla.identity.signing.privateKey, groupEntrySignedBytes(body)) }));
    // An admin's entry with one byte of its body changed: the signature no longer verifies.
    const adminEntry = chain.find((e) => bytesEqual(parseGroupEntry(e).authorAccountId, id('ana')) && parseGroupEntry(e).revision > 0)!;
    const tampered = adminEntry.slice();
    tampered[tampered.length - 70] ^= 0x01; // inside the body, before the 64-byte signature and its tag
    const before = all().filter((d) => !p.dora.includes(d)).map((d) => view(d, groupId));
    const targets = [...p.ana, ...p.bruno, ...p.eva, p.carla[1]!];
    const rejected = targets.map((d) => nextEvent(d, 'group-rejected', (e) => e.groupId !== undefined && bytesEqual(e.groupId, groupId), 15_000));
    for (const forged of [byMember, tampered]) {
      const update = create(ContentSchema, { body: { case: 'groupUpdate', value: { groupId, entries: [...chain, forged] } } });
      for (const to of [id('ana'), id('bruno'), id('eva'), id('carla')]) {
        carla.store.enqueueOutbox({ recipient: to, content: toBinary(ContentSchema, update), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
      }
    }
    await carla.flush();
    await Promise.all(rejected);
    await new Promise((r) => setTimeout(r, 300));
    expect(all().filter((d) => !p.dora.includes(d)).map((d) => view(d, groupId))).toEqual(before);
    for (const d of targets) {
      const reasons = events.get(d)!.filter((e) => e.type === 'group-rejected').map((e) => (e as { reason: string }).reason).join('\n');
      expect(reasons).toMatch(/GROUP_PERMISSION_DENIED/);
      expect(reasons).toMatch(/FORGED_GROUP_ENTRY|DECODE_ERROR/);
    }
    expect(p.ana[0]!.group(groupId).members.some((m) => bytesEqual(m.accountId, id('ana')))).toBe(true);
  });

  it('a private message inside the group reaches only the two accounts', async () => {
    await p.bruno[1]!.close();
    const m = await p.ana[0]!.sendPrivateInGroup(groupId, id('bruno'), 'only for bruno');
    expect(m.privateWith && bytesEqual(m.privateWith, id('bruno'))).toBe(true);
    await waitFor('bruno 1 and ana 2 have it', () => hasText(p.bruno[0]!, groupId, 'only for bruno') && hasText(p.ana[1]!, groupId, 'only for bruno'));
    const atBruno = p.bruno[0]!.store.listMessages(groupId, 100).find((x) => x.text === 'only for bruno')!;
    expect(atBruno.privateWith && bytesEqual(atBruno.privateWith, id('ana'))).toBe(true);
    const atAna2 = p.ana[1]!.store.listMessages(groupId, 100).find((x) => x.text === 'only for bruno')!;
    expect(atAna2.outgoing && atAna2.privateWith && bytesEqual(atAna2.privateWith, id('bruno'))).toBe(true);
    // A group message sent after it reaches the others; the private one never does.
    await p.ana[0]!.sendGroupText(groupId, 'marker after private');
    await waitFor('the marker reaches carla and eva', () => [...p.carla, ...p.eva].every((d) => hasText(d, groupId, 'marker after private')));
    for (const d of [...p.carla, ...p.eva, ...p.dora]) expect(hasText(d, groupId, 'only for bruno')).toBe(false);
    // What the server queued is a pairwise envelope for Bruno's device: Carla's identity cannot open it.
    const row = await queued('bruno', 1, m.messageId);
    expect(row.recipientHeader).toBeUndefined();
    expect(() => unsealSender(ctx, p.carla[0]!.identity, row.content, trusted, Date.now())).toThrow();
    expect(unsealSender(ctx, p.bruno[1]!.identity, row.content, trusted, Date.now()).sender.accountId).toEqual(id('ana'));
    await p.bruno[1]!.connect({ reconnect: false });
    await waitFor('bruno 2 gets it', () => hasText(p.bruno[1]!, groupId, 'only for bruno'));
  });

  it('a device that lost a sender key asks for it and then shows the message', async () => {
    const carla = p.carla[0]!;
    // Make sure Ana's current key is in use, then lose it.
    await p.ana[0]!.sendGroupText(groupId, 'key in use');
    await waitFor('carla has it', () => hasText(carla, groupId, 'key in use'));
    expect(carla.store.deleteSenderKeys(groupId, id('ana'))).toBeGreaterThan(0);
    await p.ana[0]!.sendGroupText(groupId, 'after the key was lost');
    await waitFor('carla 1 shows the message once the key came back', () => hasText(carla, groupId, 'after the key was lost'));
    expect(carla.store.listSenderKeys(groupId).some((k) => bytesEqual(k.accountId, id('ana')))).toBe(true);
    expect(carla.store.countPendingGroupMessages()).toBe(0);
  });

  it('typing and receipts in a group: delivered when every member has it, read when every member read it', async () => {
    const typing = nextEvent(p.ana[0]!, 'typing', (e) => bytesEqual(e.conversation, groupId) && e.started && e.from !== undefined && bytesEqual(e.from, id('eva')));
    await p.eva[1]!.typing(groupId, true);
    await typing;
    const m = await p.ana[0]!.sendGroupText(groupId, 'please read');
    await waitFor('delivered to every member', () => p.ana[0]!.store.getMessage(groupId, m.messageId)?.status === 'delivered');
    // Read by two of three: not yet read.
    await waitFor('they have it', () => [p.bruno[0]!, p.carla[0]!, p.eva[0]!].every((d) => hasText(d, groupId, 'please read')));
    await p.bruno[0]!.markRead(groupId);
    await p.carla[0]!.markRead(groupId);
    await waitFor('two read receipts arrived', () => p.ana[0]!.groupReceipts(groupId, m.messageId).filter((r) => r.status === 'read').length === 2);
    expect(p.ana[0]!.store.getMessage(groupId, m.messageId)!.status).toBe('delivered');
    await p.eva[0]!.markRead(groupId);
    await waitFor('read by everyone', () => p.ana[0]!.store.getMessage(groupId, m.messageId)?.status === 'read');
    // The read state is mirrored to the reader's other device.
    await waitFor('eva 2 shows it read', () => p.eva[1]!.store.listMessages(groupId, 100).find((x) => x.text === 'please read')?.status === 'read');
  });

  it('a member whose access key is wrong or unknown gets the message pairwise, still as a group message', async () => {
    const ana = p.ana[0]!;
    const carlaContact = ana.store.getContact(id('carla'))!;
    const evaContact = ana.store.getContact(id('eva'))!;
    // A wrong access key for Carla (the server refuses her in the multi-recipient send), none for Eva.
    ana.store.putContact({ ...carlaContact, accessKey: systemRandom(16) });
    ana.store.putContact({ ...evaContact, accessKey: undefined });
    try {
      const m = await ana.sendGroupText(groupId, 'reaches everyone anyway');
      expect(['sent', 'delivered']).toContain(m.status); // members online: their receipts can come first
      await waitFor('every member device has it', () => [...p.bruno, ...p.carla, ...p.eva].every((d) => hasText(d, groupId, 'reaches everyone anyway')));
      for (const d of [...p.carla, ...p.eva]) {
        const got = d.store.listMessages(groupId, 1000).find((x) => x.text === 'reaches everyone anyway')!;
        expect(bytesEqual(got.author, id('ana')) && got.privateWith === undefined).toBe(true);
      }
    } finally {
      // Carla's and Eva's next messages to Ana carry their access keys again; restore them now for the next tests.
      ana.store.putContact({ ...ana.store.getContact(id('carla'))!, accessKey: carlaContact.accessKey });
      ana.store.putContact({ ...ana.store.getContact(id('eva'))!, accessKey: evaContact.accessKey });
    }
  });

  it('a file sent to the group arrives at the members with its pointer, and they can download it', async () => {
    const dir = world.dir('group-file');
    const body = Buffer.from('minutes of the meeting\n'.repeat(100));
    writeFileSync(join(dir, 'minutes.txt'), body);
    await p.ana[0]!.sendFile(groupId, join(dir, 'minutes.txt'), { caption: 'the minutes' });
    const arrived = () => p.eva[1]!.store.listMessages(groupId, 1000).find((m) => m.text === 'the minutes' && m.attachments?.length === 1);
    await waitFor('the file reaches eva 2', () => arrived() !== undefined);
    await p.eva[1]!.downloadAttachment(groupId, arrived()!.messageId, 0, join(dir, 'got.txt'));
    expect(readFileSync(join(dir, 'got.txt'))).toEqual(body);
  });

  it('a group message written offline is sent on the next connection', async () => {
    const ana2 = p.ana[1]!;
    await ana2.close();
    const m = await ana2.sendGroupText(groupId, 'written offline');
    expect(m.status).toBe('pending');
    await ana2.connect({ reconnect: false });
    await waitFor('it went out', () => ana2.store.getMessage(groupId, m.messageId)?.status !== 'pending');
    await waitFor('members got it', () => [p.bruno[0]!, p.eva[1]!].every((d) => hasText(d, groupId, 'written offline')));
  });
  it('an update carries only the new entries; a device that missed one asks for the chain and catches up', async () => {
    const eva2 = p.eva[1]!;
    // Eva's second device misses a change; the next change brings it only the newest entry, whose parent it lacks.
    const held = eva2.store.getGroupEntries(groupId);
    await p.ana[0]!.renameGroup(groupId, 'crew (renamed)');
    await waitFor('eva 2 has the rename', () => eva2.group(groupId).name === 'crew (renamed)');
    eva2.store.setGroupEntries(groupId, held);
    expect(eva2.group(groupId).name).toBe('crew');
    const caughtUp = nextEvent(eva2, 'group-update', (e) => bytesEqual(e.groupId, groupId) && e.changes.some((c) => c.kind === 'renamed' && c.name === 'crew again'));
    await p.ana[0]!.renameGroup(groupId, 'crew again');
    await caughtUp;
    expect(view(eva2, groupId)).toBe(view(p.ana[0]!, groupId));
    expect(p.ana[0]!.store.getGroup(groupId)!.name).toBe('crew again');
    // Both renames are held now: the first came with the chain it asked for.
    expect(eva2.store.getGroupEntries(groupId).length).toBe(held.length + 2);
  });

  it('a device linked later gets the groups (log verified on the device) and its history, then reads and writes in them', async () => {
    const bruno3 = await world.newClient('bruno-3');
    const pending = await bruno3.startLink();
    await p.bruno[0]!.approveLink(pending.code);
    await pending.completed;
    world.people.get('bruno')!.devices.push(bruno3);
    expect(view(bruno3, groupId)).toBe(view(p.bruno[0]!, groupId));
    expect(bruno3.group(groupId).myRole).toBe('admin');
    const old = bruno3.store.listMessages(groupId, 1000);
    expect(old.map((m) => m.text)).toEqual(expect.arrayContaining(['hello crew', 'only for bruno']));
    const privateOne = old.find((m) => m.text === 'only for bruno')!;
    expect(privateOne.privateWith && bytesEqual(privateOne.privateWith, id('ana'))).toBe(true);
    await bruno3.connect({ reconnect: false });
    // The others learn of the new device from the server's device lists and give it their keys (or it asks).
    await p.ana[0]!.sendGroupText(groupId, 'welcome, third device');
    await waitFor('bruno 3 reads it', () => hasText(bruno3, groupId, 'welcome, third device'));
    await bruno3.sendGroupText(groupId, 'from bruno 3');
    await waitFor('everyone reads it', () => [...p.ana, p.bruno[0]!, ...p.carla, ...p.eva].every((d) => hasText(d, groupId, 'from bruno 3')));
    for (const d of p.dora) expect(hasText(d, groupId, 'from bruno 3')).toBe(false);
  });

  it('delete for everyone reaches every member, those reached pairwise too; only the author can delete; a private message\'s deletion reaches its other account', async () => {
    const ana = p.ana[0]!;
    const members = [p.ana[1]!, ...p.bruno, ...p.carla, ...p.eva];
    const m = await ana.sendGroupText(groupId, 'to be deleted');
    await waitFor('every member device has it', () => members.every((d) => hasText(d, groupId, 'to be deleted')));
    // Eva is reached pairwise (no access key known): the deletion must reach her that way too.
    const evaContact = ana.store.getContact(id('eva'))!;
    ana.store.putContact({ ...evaContact, accessKey: undefined });
    try {
      await ana.deleteForEveryone(groupId, m.messageId);
    } finally {
      ana.store.putContact({ ...ana.store.getContact(id('eva'))!, accessKey: evaContact.accessKey });
    }
    expect(ana.store.getMessage(groupId, m.messageId)!.deleted).toBe(true);
    await waitFor('every member device shows it deleted', () => members.every((d) => d.store.getMessage(groupId, m.messageId)?.deleted === true));

    // Someone else's message: refused on the device, and a deletion forged pairwise (with the group id) is ignored.
    const kept = await ana.sendGroupText(groupId, 'not carla\'s to delete');
    await waitFor('bruno has it', () => hasText(p.bruno[0]!, groupId, 'not carla\'s to delete'));
    await expect(p.carla[0]!.deleteForEveryone(groupId, kept.messageId)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const forged = create(ContentSchema, { body: { case: 'delete', value: { messageId: kept.messageId, timestamp: BigInt(Date.now()), groupId } } });
    p.carla[0]!.store.enqueueOutbox({ recipient: id('bruno'), content: toBinary(ContentSchema, forged), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
    await p.carla[0]!.flush();
    await p.carla[0]!.sendPrivateInGroup(groupId, id('bruno'), 'after the forged deletion'); // same session, so it arrives after it
    await waitFor('bruno has the marker', () => hasText(p.bruno[0]!, groupId, 'after the forged deletion'));
    expect(p.bruno[0]!.store.getMessage(groupId, kept.messageId)!.deleted).toBe(false);

    // A private message inside the group: its deletion goes pairwise to the other account (and to the author's devices).
    const priv = await ana.sendPrivateInGroup(groupId, id('bruno'), 'private, then deleted');
    await waitFor('bruno and ana 2 have it', () => [...p.bruno, p.ana[1]!].every((d) => hasText(d, groupId, 'private, then deleted')));
    await ana.deleteForEveryone(groupId, priv.messageId);
    await waitFor('deleted at bruno and on ana 2', () => [...p.bruno, p.ana[1]!].every((d) => d.store.getMessage(groupId, priv.messageId)?.deleted === true));
    for (const d of [...p.carla, ...p.eva]) expect(d.store.getMessage(groupId, priv.messageId)).toBeUndefined();
  });

  it('a member device can make this device keep only a few of its sender keys per group (the oldest dropped), and a few for groups not held', async () => {
    const ana = p.ana[0]!;
    const carla = p.carla[0]!;
    const carlaKeys = () => ana.store.listSenderKeys(groupId).filter((k) => bytesEqual(k.accountId, id('carla')) && k.deviceId === carla.deviceId);
    const sendKey = (gid: Uint8Array) => {
      const made = createSenderKey(ctx);
      const c = create(ContentSchema, { body: { case: 'senderKey', value: { groupId: gid, distribution: made.distribution } } });
      carla.store.enqueueOutbox({ recipient: id('ana'), content: toBinary(ContentSchema, c), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
      return made.distributionId;
    };
    const sent = Array.from({ length: SENDER_KEYS_KEPT_PER_DEVICE + 4 }, () => sendKey(groupId));
    await carla.flush();
    await waitFor('ana has the last one', () => carlaKeys().some((k) => bytesEqual(k.distributionId, sent.at(-1)!)));
    const held = carlaKeys().map((k) => hex(k.distributionId)).sort();
    expect(held).toEqual(sent.slice(-SENDER_KEYS_KEPT_PER_DEVICE).map(hex).sort());
    // Carla's messages under her newest key still read.
    await carla.sendGroupText(groupId, 'after many keys');
    await waitFor('ana reads it', () => hasText(ana, groupId, 'after many keys'));

    // Keys for groups this device does not hold: a few per member device, all such groups together.
    const unknown = Array.from({ length: SENDER_KEYS_KEPT_PER_DEVICE + 3 }, () => systemRandom(32));
    const ids = unknown.map((g) => sendKey(g));
    await carla.flush();
    const stored = () => unknown.flatMap((g) => ana.store.listSenderKeys(g));
    await waitFor('ana has the last one', () => stored().some((k) => bytesEqual(k.distributionId, ids.at(-1)!)));
    expect(stored().map((k) => hex(k.distributionId)).sort()).toEqual(ids.slice(-SENDER_KEYS_KEPT_PER_DEVICE).map(hex).sort());
  });

  it('a membership change is one pairwise message per member device: members get the new entry with the new sender key, the removed member the entry alone, a new member the whole chain with the key', async () => {
    const ana = p.ana[0]!;
    for (const d of [p.carla[1]!, p.eva[1]!, p.dora[1]!]) await d.close();
    const marks = { carla: await queueMark('carla', 1), eva: await queueMark('eva', 1), dora: await queueMark('dora', 1) };

    await ana.removeMembers(groupId, [id('eva')]);
    const atCarla = await queuedPairwise('carla', 1, marks.carla, ana);
    expect(atCarla.map((c) => c.body.case)).toEqual(['senderKey']);
    const rotation = atCarla[0]!.body.value as Extract<Content['body'], { case: 'senderKey' }>['value'];
    expect(rotation.groupId).toEqual(groupId);
    expect(rotation.entries).toHaveLength(1);
    const removal = parseGroupEntry(rotation.entries[0]!);
    expect(removal.change.type === 'remove' && removal.change.accountIds.some((a) => bytesEqual(a, id('eva')))).toBe(true);
    expect(bytesEqual(rotation.distribution, ana.store.getOwnSenderKey(groupId)!.distribution)).toBe(true);
    const atEva = await queuedPairwise('eva', 1, marks.eva, ana);
    expect(atEva.map((c) => c.body.case)).toEqual(['groupUpdate']);
    expect((atEva[0]!.body.value as { entries: Uint8Array[] }).entries).toHaveLength(1);

    await ana.addMembers(groupId, [id('dora')]);
    const atDora = await queuedPairwise('dora', 1, marks.dora, ana);
    expect(atDora.map((c) => c.body.case)).toEqual(['senderKey']);
    const welcome = atDora[0]!.body.value as { entries: Uint8Array[] };
    expect(welcome.entries.map(hex)).toEqual(ana.store.getGroupEntries(groupId).filter((e) => welcome.entries.some((w) => bytesEqual(w, e))).map(hex));
    expect(parseGroupEntry(welcome.entries[0]!).change.type).toBe('genesis');
    expect(welcome.entries.length).toBeGreaterThan(3);
    // Carla's device got one more: the add with the next key.
    const atCarla2 = await queuedPairwise('carla', 1, marks.carla, ana);
    expect(atCarla2.map((c) => c.body.case)).toEqual(['senderKey', 'senderKey']);
    expect((atCarla2[1]!.body.value as { entries: Uint8Array[] }).entries).toHaveLength(1);

    for (const d of [p.carla[1]!, p.eva[1]!, p.dora[1]!]) await d.connect({ reconnect: false });
    await waitFor('carla 2 and dora 2 hold ana\'s view', () => [p.carla[1]!, p.dora[1]!].every((d) => view(d, groupId) === view(ana, groupId)));
    expect(p.eva[1]!.group(groupId).status).toBe('removed');
    expect(p.dora[1]!.group(groupId).status).toBe('active');
    await ana.sendGroupText(groupId, 'after the rotation');
    await waitFor('carla 2 and dora 2 read it', () => [p.carla[1]!, p.dora[1]!].every((d) => hasText(d, groupId, 'after the rotation')));
    for (const d of p.eva) expect(hasText(d, groupId, 'after the rotation')).toBe(false);
  }, 30_000);
});
