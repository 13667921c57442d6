/**
 * Key transparency against the real server (spec/transparency.md §6): the
 * client verifies every fetched key's inclusion, keeps its checkpoints
 * consistent, monitors its own account, gossips checkpoints inside messages,
 * and can require witness cosignatures. Each malicious-server case is made
 * with the real server: its database tampered, its log rewritten across a
 * restart, or a second server sharing its log key (a forked view).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLogKey, KeyTransparency, startWitness, type RunningWitness } from '@sigilo/server';
import { parseVerifierKey } from '@sigilo/protocol';
import { nodeCrypto as crypto } from '@sigilo/protocol/node';
import { startTestServer, tempDir, type TestServer } from '../../server/test/support/server.js';
import { SigiloClient, type ClientEvent, type TransparencyOptions } from '../src/index.js';
import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';
import { World, introduce, nextEvent } from './support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function world(overrides: Record<string, unknown> = {}): Promise<World> {
  const w = await World.start(overrides);
  cleanups.push(() => w.stop());
  return w;
}

/** A registered, connected client of `server` (kept for cleanup). */
async function person(t: TestServer, name: string, transparency?: TransparencyOptions): Promise<SigiloClient> {
  const dir = tempDir(`kt-${name}`);
  const client = createNodeClient({ store: SqlCipherStore.open(dir, `passphrase of ${name}`), transparency });
  cleanups.push(async () => { await client.close(); rmSync(dir, { recursive: true, force: true }); });
  await client.init(t.server.url, t.server.tls.fingerprint);
  const { code } = await t.server.admin.createInvite();
  await client.register(code);
  await client.connect({ reconnect: false });
  return client;
}

const alerts = (c: SigiloClient) => {
  const out: string[] = [];
  c.on((e: ClientEvent) => { if (e.type === 'kt-alert') out.push(e.reason); });
  return out;
};

describe('key transparency in the client', () => {
  it('verifies keys on fetch, monitors its account and gossips checkpoints without a single alert', async () => {
    const w = await world();
    const alice = await w.person('alice');
    const bob = await w.person('bob');
    const seen = [...alerts(alice), ...alerts(bob)];
    introduce(alice, 'alice', bob, 'bob');
    const got = nextEvent(bob, 'message');
    await alice.sendText(bob.accountId!, 'hello');
    expect((await got).message.text).toBe('hello');
    const back = nextEvent(alice, 'message');
    await bob.sendText(alice.accountId!, 'hi');
    await back;
    expect(await alice.checkTransparency()).toMatchObject({ bindings: 1, treeSize: 2 });
    expect(seen).toEqual([]);
  }, 60_000);

  it('refuses a key the server substituted that is not in its log', async () => {
    const w = await world();
    const alice = await w.person('alice');
    const bob = await w.person('bob');
    introduce(alice, 'alice', bob, 'bob');
    // The server swaps bob's identity key for one it controls (first contact: TOFU alone would accept it).
    const db = new Database(join(w.server.dataDir, 'sigilo.db'));
    db.prepare('UPDATE accounts SET identity_key = ? WHERE account_id = ?').run(Buffer.alloc(64, 7), Buffer.from(bob.accountId!));
    db.close();
    const alert = nextEvent(alice, 'kt-alert', undefined, 20_000);
    const failed = nextEvent(alice, 'send-failed', undefined, 20_000);
    await alice.sendText(bob.accountId!, 'for bob only').catch(() => {});
    expect((await alert).reason).toMatch(/not in the log/);
    expect((await failed).reason).toMatch(/key transparency/);
    expect(alice.store.getSession(bob.accountId!, 1)).toBeUndefined();
  }, 60_000);

  it('detects two checkpoints of the same size with different roots (a forked server, via a contact\'s gossip)', async () => {
    const w = await world();
    const alice = await w.person('alice');
    const bob = await w.person('bob');
    introduce(alice, 'alice', bob, 'bob');
    const got = nextEvent(bob, 'message');
    await alice.sendText(bob.accountId!, 'hello');
    await got;
    expect((await alice.checkTransparency()).treeSize).toBe(2);
    // A second server with the same log key and two other accounts: a forked log of the same size.
    const forkDir = tempDir('kt-fork');
    mkdirSync(forkDir, { recursive: true });
    copyFileSync(join(w.server.dataDir, 'kt-log-key.json'), join(forkDir, 'kt-log-key.json'));
    const fork = await startTestServer({}, {}, forkDir);
    cleanups.push(() => fork.stop());
    await fork.account();
    await fork.account();
    const forked = (await fork.server.kt.latest()).note;
    expect(forked).not.toBe((await w.server.server.kt.latest()).note);
    // Bob was shown the fork; his next message carries it to alice, who compares.
    bob.store.setMeta('kt.checkpoint', new TextEncoder().encode(forked));
    const alert = nextEvent(alice, 'kt-alert', undefined, 20_000);
    await bob.sendText(alice.accountId!, 'did you see what I saw?');
    expect((await alert).reason).toMatch(/split view: a contact's checkpoint has the same size \(2\)/);
  }, 60_000);

  it('alerts when the log binds its account to an identity key it did not create', async () => {
    const w = await world();
    const alice = await w.person('alice');
    expect(await alice.checkTransparency()).toMatchObject({ bindings: 1 });
    // The server logs a device of alice's account with a key of its own (to intercept messages to her).
    await w.server.server.kt.append([{ kind: 'add', accountId: alice.accountId!, deviceId: 9, identityKey: new Uint8Array(64).fill(3), time: Date.now() }]);
    const seen = alerts(alice);
    await expect(alice.checkTransparency()).rejects.toMatchObject({ code: 'KEY_TRANSPARENCY' });
    expect(seen).toContainEqual(expect.stringMatching(/device 9 of this account to an identity key this account did not create/));
  }, 60_000);

  it('detects a log that rewrote its history across a restart', async () => {
    const dir = tempDir('kt-rewrite');
    let t = await startTestServer({}, {}, dir);
    const port = t.server.port;
    cleanups.push(() => t.stop());
    const alice = await person(t, 'alice');
    await person(t, 'bob');
    expect((await alice.checkTransparency()).treeSize).toBe(2);
    await alice.close();
    await t.server.close();
    // The operator drops the log; at start the server logs every device again: a different history.
    const db = new Database(join(dir, 'sigilo.db'));
    db.exec('DELETE FROM kt_leaves; DELETE FROM kt_nodes;');
    db.close();
    t = await startTestServer({ port }, {}, dir);
    await person(t, 'carol');
    const seen = alerts(alice);
    await alice.connect({ reconnect: false });
    await expect(alice.checkTransparency()).rejects.toMatchObject({ code: 'KEY_TRANSPARENCY' });
    expect(seen, seen.join('; ')).toContainEqual(expect.stringMatching(/rewrote its history/));
  }, 60_000);
});

describe('witness cosignatures', () => {
  let witness: RunningWitness;

  async function witnessedServer(withWitness: boolean): Promise<TestServer> {
    const dir = tempDir('kt-witnessed');
    const seed = loadLogKey(dir, (n) => new Uint8Array(crypto.sha256(new TextEncoder().encode(dir)).slice(0, n)));
    witness = await startWitness({ dataDir: tempDir('kt-witness'), logs: [parseVerifierKey(crypto, KeyTransparency.describe(crypto, seed).verifierKey)] });
    cleanups.push(() => witness.close());
    const t = await startTestServer(withWitness ? { 'kt.witnesses': `${witness.verifierKey} ${witness.url}` } : {}, {}, dir);
    cleanups.push(() => t.stop());
    return t;
  }

  it('a client requiring one cosignature refuses keys under an uncosigned checkpoint', async () => {
    const t = await witnessedServer(false);
    const alice = await person(t, 'alice', { witnesses: [witness.verifierKey], requiredCosignatures: 1 });
    const bob = await person(t, 'bob');
    alice.addContact('bob', bob.accountId!, bob.accessKey);
    const failed = nextEvent(alice, 'send-failed', undefined, 20_000);
    await alice.sendText(bob.accountId!, 'hello').catch(() => {});
    expect((await failed).reason).toMatch(/0 of the 1 witness cosignatures required/);
    expect(alice.store.getSession(bob.accountId!, 1)).toBeUndefined();
  }, 60_000);

  it('the same client sends once the server\'s checkpoints are cosigned by the witness', async () => {
    const t = await witnessedServer(true);
    const alice = await person(t, 'alice', { witnesses: [witness.verifierKey], requiredCosignatures: 1 });
    const bob = await person(t, 'bob');
    introduce(alice, 'alice', bob, 'bob');
    const got = nextEvent(bob, 'message');
    await alice.sendText(bob.accountId!, 'hello, witnessed');
    expect((await got).message.text).toBe('hello, witnessed');
  }, 60_000);

  it('refuses a requirement it cannot meet', () => {
    expect(() => new SigiloClient({ store: undefined as never, transparency: { witnesses: [], requiredCosignatures: 1 } })).toThrow(/requiredCosignatures/);
  });
});
