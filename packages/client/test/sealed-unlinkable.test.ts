/**
 * Sealed sender stays unlinked from its recipient when the sender has two
 * devices (spec/server.md §5): against the real server over TLS with its real
 * SQLite files. Ana (two devices) writes sealed to Bruno while Bruno and Ana's
 * second device are offline, so both copies wait in the server's queue: the
 * sealed copy to Bruno and the identified copy for Ana's other device must
 * carry unrelated message ids (so unrelated dedup keys) and rounded times.
 * After both are delivered and the sweeper ran, every file of the data
 * directory (sigilo.db, -wal, -shm, the rest) is read as raw bytes: neither
 * message id nor any piece of either stored ciphertext is left, and no dedup
 * key pairs the two (the dedup keys the server must keep are found, which
 * shows the search reads what the files hold).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import pg from 'pg';
import { POSTGRES_URL, dropSchema, postgresUnavailable, randomSchema, requireService } from '../../server/test/support/services.js';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());

function waitForText(client: SigiloClient, text: string, ms = 20_000): Promise<unknown> {
  const have = () => client.store.listMessages(undefined, 10_000).some((m) => m.text === text);
  if (have()) return Promise.resolve();
  return nextEvent(client, 'message', (e) => e.message.text === text, ms);
}

/** Every regular file under `dir`, as raw bytes. */
function readAll(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) return readAll(path);
    return st.isFile() ? [{ path, bytes: readFileSync(path) }] : [];
  });
}

/** The files (by name) whose bytes contain `needle`. */
function filesContaining(files: { path: string; bytes: Buffer }[], needle: Uint8Array): string[] {
  return files.filter((f) => f.bytes.indexOf(Buffer.from(needle)) >= 0).map((f) => f.path.split('/').slice(-2).join('/'));
}

/** Four 24-byte pieces of a ciphertext (start, two inside, end): any of them surviving means the row did. */
function pieces(content: Uint8Array): Uint8Array[] {
  const n = content.length;
  return [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 24].map((o) => content.slice(o, o + 24));
}

describe('sealed sender with two sender devices, in the server files', () => {
  let world: World;
  let ana1: SigiloClient, ana2: SigiloClient, bruno: SigiloClient;

  beforeAll(async () => {
    world = await World.start();
    ana1 = await world.person('ana');
    bruno = await world.person('bruno');
    introduce(ana1, 'ana', bruno, 'bruno');
    ana2 = await world.newClient('ana-2');
    const pending = await ana2.startLink();
    await ana1.approveLink(pending.code);
    await pending.completed;
    await ana2.connect({ reconnect: false });
    // Sessions in every direction first, so the message below is an ordinary one.
    const warm = [waitForText(bruno, 'warm up'), waitForText(ana2, 'warm up')];
    await ana1.sendText(bruno.accountId!, 'warm up');
    await Promise.all(warm);
  }, 90_000);

  afterAll(async () => {
    for (const c of [ana1, ana2, bruno]) await c?.close().catch(() => {});
    await world?.stop();
  });

  it('the sealed copy and the sync copy share no id, no dedup key and no exact time; nothing of them survives delivery and the sweep', async () => {
    const server = world.server.server;
    const storage = server.storage;
    const ana = ana1.accountId!, brunoId = bruno.accountId!;
    await bruno.close();
    await ana2.close();

    const sent = await ana1.sendText(brunoId, 'the text that must not link ana to bruno');
    expect(sent.status).toBe('sent');

    // Both copies wait in the queue: Bruno's sealed one, and the identified one for Ana's second device.
    const toBruno = (await storage.fetchQueue(brunoId, bruno.deviceId!, 0, 100));
    const toAna2 = (await storage.fetchQueue(ana, ana2.deviceId!, 0, 100))
      .filter((m) => m.senderAccountId && bytesEqual(m.senderAccountId, ana) && m.senderDeviceId === ana1.deviceId);
    expect(toBruno).toHaveLength(1);
    expect(toAna2).toHaveLength(1);
    const sealed = toBruno[0]!, sync = toAna2[0]!;
    expect(sealed.sealed).toBe(true);
    expect(sealed.senderAccountId).toBeUndefined();

    // No shared message id, so no shared dedup key: the sync copy's id is not the message's own id either.
    expect(bytesEqual(sealed.messageId, sync.messageId)).toBe(false);
    expect(bytesEqual(sync.messageId, sent.messageId)).toBe(false);
    // Stored times are rounded to the minute (a millisecond time paired the two rows).
    expect(sealed.createdAt % 60_000).toBe(0);
    expect(sync.createdAt % 60_000).toBe(0);

    const keptDedup = [sha256(brunoId, sealed.messageId), sha256(ana, sync.messageId)];
    // What would pair them: a dedup key of Ana's account under the sealed message's id.
    const linkingDedup = sha256(ana, sealed.messageId);

    // Both get delivered and acknowledged, then the sweeper runs.
    const arrivals = [waitForText(bruno, sent.text), waitForText(ana2, sent.text)];
    await bruno.connect({ reconnect: false });
    await ana2.connect({ reconnect: false });
    await Promise.all(arrivals);
    for (let i = 0; i < 200 && (await storage.queueDepth()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await storage.queueDepth()).toBe(0);
    await server.sweep();

    const files = readAll(world.server.dataDir);
    expect(files.map((f) => f.path.split('/').pop())).toContain('sigilo.db');
    // The search reads what the files hold: the dedup keys the server keeps (7 days, by design) are found.
    for (const key of keptDedup) expect(filesContaining(files, key).length).toBeGreaterThan(0);
    // Nothing links the two rows, and nothing of the deleted rows is left in the database, the WAL or anywhere else.
    expect(filesContaining(files, linkingDedup)).toEqual([]);
    for (const id of [sealed.messageId, sync.messageId]) expect(filesContaining(files, id)).toEqual([]);
    for (const piece of [...pieces(sealed.content), ...pieces(sync.content)]) expect(filesContaining(files, piece)).toEqual([]);

    // The dedup rows keep only an hour-rounded expiry (read after the raw search: this connection writes nothing).
    const db = new Database(join(world.server.dataDir, 'sigilo.db'), { readonly: true });
    try {
      const expiries = db.prepare('SELECT expires_at FROM dedup').pluck().all() as number[];
      expect(expiries.length).toBeGreaterThanOrEqual(2);
      for (const e of expiries) expect(e % 3_600_000).toBe(0);
      expect(db.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  }, 120_000);
});

describe('a group message with one member reached pairwise', () => {
  let world: World;
  let ana1: SigiloClient, ana2: SigiloClient, bruno: SigiloClient, carla: SigiloClient;
  const has = (d: SigiloClient, groupId: Uint8Array, text: string) => d.store.listMessages(groupId, 10_000).some((m) => m.text === text);
  async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  beforeAll(async () => {
    world = await World.start();
    ana1 = await world.person('ana');
    bruno = await world.person('bruno');
    carla = await world.person('carla');
    introduce(ana1, 'ana', bruno, 'bruno');
    introduce(bruno, 'bruno', carla, 'carla');
    // Ana has no access key for Carla: Carla gets Ana's group messages pairwise, identified.
    ana1.addContact('carla', carla.accountId!, undefined);
    carla.addContact('ana', ana1.accountId!, ana1.accessKey);
    ana2 = await world.newClient('ana-2');
    const pending = await ana2.startLink();
    await ana1.approveLink(pending.code);
    await pending.completed;
    await ana2.connect({ reconnect: false });
  }, 90_000);

  afterAll(async () => {
    for (const c of [ana1, ana2, bruno, carla]) await c?.close().catch(() => {});
    await world?.stop();
  });

  it('the identified pairwise copy does not carry the id of the sealed multi-recipient send', async () => {
    const storage = world.server.server.storage;
    const g = await ana1.createGroup('trio', [bruno.accountId!, carla.accountId!]);
    await ana1.sendGroupText(g.groupId, 'warm up');
    await until('everyone has the first message', () => [bruno, carla, ana2].every((d) => has(d, g.groupId, 'warm up')));
    for (const c of [bruno, carla, ana2]) await c.close();

    await ana1.sendGroupText(g.groupId, 'sealed to the group');
    const multi = (await storage.fetchQueue(bruno.accountId!, bruno.deviceId!, 0, 100)).filter((m) => m.recipientHeader);
    expect(multi).toHaveLength(1);
    const sealedId = multi[0]!.messageId;
    // Ana's own account is one more recipient of the same sealed send (like any member), not an identified copy.
    const own = await storage.fetchQueue(ana1.accountId!, ana2.deviceId!, 0, 100);
    expect(own.filter((m) => bytesEqual(m.messageId, sealedId)).every((m) => m.sealed && m.recipientHeader)).toBe(true);
    const pairwise = (await storage.fetchQueue(carla.accountId!, carla.deviceId!, 0, 100))
      .filter((m) => m.senderAccountId && bytesEqual(m.senderAccountId, ana1.accountId!));
    expect(pairwise.length).toBeGreaterThanOrEqual(1);
    for (const m of pairwise) expect(bytesEqual(m.messageId, sealedId)).toBe(false);

    await carla.connect({ reconnect: false });
    await until('carla reads it', () => has(carla, g.groupId, 'sealed to the group'));
  }, 90_000);
});

const pgUnavailable = await postgresUnavailable();
requireService(pgUnavailable, 'PostgreSQL');

describe.skipIf(pgUnavailable !== undefined)('the same on PostgreSQL', () => {
  const schema = randomSchema('sigilo_sealed');
  let world: World;
  let ana1: SigiloClient, ana2: SigiloClient, bruno: SigiloClient;

  beforeAll(async () => {
    world = await World.start({ 'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema });
    ana1 = await world.person('ana');
    bruno = await world.person('bruno');
    introduce(ana1, 'ana', bruno, 'bruno');
    ana2 = await world.newClient('ana-2');
    const pending = await ana2.startLink();
    await ana1.approveLink(pending.code);
    await pending.completed;
    await ana2.connect({ reconnect: false });
    const warm = [waitForText(bruno, 'warm up'), waitForText(ana2, 'warm up')];
    await ana1.sendText(bruno.accountId!, 'warm up');
    await Promise.all(warm);
    // The link's catch-up answer (ana1 -> ana2) has arrived: nothing else from ana1 is on its way to ana2.
    for (const end = Date.now() + 20_000; ana2.store.getMeta('link.awaiting') !== undefined;) {
      if (Date.now() > end) throw new Error('ana2 never got its link catch-up');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of [ana1, ana2, bruno]) await c?.close().catch(() => {});
    await world?.stop();
    await dropSchema(schema);
  });

  it('the sealed copy and the sync copy share no id and no exact time; the dedup rows keep hour-rounded expiries only', async () => {
    const storage = world.server.server.storage;
    await bruno.close();
    await ana2.close();
    // What already waits for ana2 (the answer to its link catch-up request can still be queued when it closes) is
    // not this send's sync copy.
    const waiting = new Set((await storage.fetchQueue(ana1.accountId!, ana2.deviceId!, 0, 100)).map((m) => m.serverId));
    const sent = await ana1.sendText(bruno.accountId!, 'on postgres');
    const [sealed] = await storage.fetchQueue(bruno.accountId!, bruno.deviceId!, 0, 100);
    const sync = (await storage.fetchQueue(ana1.accountId!, ana2.deviceId!, 0, 100)).filter((m) => !waiting.has(m.serverId) && !m.sealed && m.senderDeviceId === ana1.deviceId);
    expect(sealed?.sealed).toBe(true);
    expect(sync).toHaveLength(1);
    expect(bytesEqual(sealed!.messageId, sync[0]!.messageId)).toBe(false);
    expect(bytesEqual(sync[0]!.messageId, sent.messageId)).toBe(false);
    for (const m of [sealed!, sync[0]!]) expect(m.createdAt % 60_000).toBe(0);
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT dedup_key, expires_at FROM ${schema}.dedup`);
      const keys = rows.map((r: { dedup_key: Buffer }) => Buffer.from(r.dedup_key).toString('hex'));
      expect(keys).toContain(Buffer.from(sha256(bruno.accountId!, sealed!.messageId)).toString('hex'));
      expect(keys).not.toContain(Buffer.from(sha256(ana1.accountId!, sealed!.messageId)).toString('hex'));
      for (const r of rows as { expires_at: string }[]) expect(Number(r.expires_at) % 3_600_000).toBe(0);
    } finally {
      await client.end();
    }
  }, 60_000);
});
