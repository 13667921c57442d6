/**
 * Key transparency on the real server (spec/transparency.md): bindings logged
 * at registration, linking and removal; every bundle fetch carries the
 * checkpoint and inclusion proofs that verify; consistency proofs over frames
 * and HTTP; existing accounts logged when an older database first starts; a
 * witness cosigns consistent checkpoints and refuses a forked log sharing the
 * key, and answers tlog-witness's error statuses.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64Encode, checkpointText, decodeBinding, encodeBinding, formatNote, ktLeafHash, ktVerifyConsistency, ktVerifyInclusion, noteCosignedBy, openCheckpoint,
  parseVerifierKey, signNote,
} from '@sigilo/protocol';
import { nodeCrypto as crypto } from '@sigilo/protocol/node';
import { startWitness, type RunningWitness } from '../src/witness.js';
import { KeyTransparency, loadLogKey } from '../src/services/transparency.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { newDevice } from './support/test-client.js';

async function get(t: TestServer, path: string): Promise<{ status: number; body: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https.get(`${t.server.httpsUrl}${path}`, { ca: t.server.tls.cert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

const logOf = (t: TestServer) => parseVerifierKey(crypto, t.server.kt.verifierKey);

describe('the key transparency log of a real server', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('serves every fetched key with an inclusion proof in a signed checkpoint', async () => {
    const alice = await t.account({ preKeys: true });
    const bob = await t.account();
    const info = JSON.parse((await get(t, '/v1/server-info')).body) as { keyTransparency: { origin: string; verifierKey: string } };
    expect(info.keyTransparency.verifierKey).toBe(t.server.kt.verifierKey);
    const f = await bob.client.request({ case: 'fetchBundles', value: { accountId: alice.device.accountId!, deviceIds: [] } });
    if (f.body.case !== 'bundles') throw new Error(f.body.case);
    const { checkpoint, note } = openCheckpoint(crypto, f.body.value.ktCheckpoint, logOf(t));
    expect(note.signatures).toHaveLength(1); // no witnesses configured
    expect(checkpoint.size).toBeGreaterThanOrEqual(2);
    const [inc] = f.body.value.ktInclusions;
    expect(inc!.deviceId).toBe(1);
    const leaf = encodeBinding({ kind: 'add', accountId: alice.device.accountId!, deviceId: 1, identityKey: alice.device.identity.publicKey, time: Number(inc!.time) });
    ktVerifyInclusion(crypto, Number(inc!.leafIndex), checkpoint.size, ktLeafHash(crypto, leaf), inc!.path, checkpoint.root);
    // Another identity key for the same device is not what the log holds.
    const forged = encodeBinding({ kind: 'add', accountId: alice.device.accountId!, deviceId: 1, identityKey: bob.device.identity.publicKey, time: Number(inc!.time) });
    expect(() => ktVerifyInclusion(crypto, Number(inc!.leafIndex), checkpoint.size, ktLeafHash(crypto, forged), inc!.path, checkpoint.root)).toThrow();
    expect((await get(t, '/v1/kt/checkpoint')).body).toBe(f.body.value.ktCheckpoint);
  });

  it('logs a linked device and a removal, proves consistency over frames and HTTP, and refuses bad sizes', async () => {
    const alice = await t.account({ preKeys: true });
    const before = openCheckpoint(crypto, (await get(t, '/v1/kt/checkpoint')).body, logOf(t)).checkpoint;
    const second = newDevice(alice.device.identity);
    const c2 = await t.connect();
    expect((await c2.link(second, alice.device.accountId!)).body.case).toBe('registered');
    await alice.client.expectOk({ case: 'removeDevice', value: { deviceId: 2 } }, 'ok');
    const mine = await alice.client.expectOk({ case: 'ktGetAccount', value: {} }, 'ktAccountBindings');
    const after = openCheckpoint(crypto, mine.checkpoint, logOf(t)).checkpoint;
    expect(mine.leaves.map((l) => { const b = decodeBinding(l.leaf); return [b.kind, b.deviceId]; })).toEqual([['add', 1], ['add', 2], ['remove', 2]]);
    for (const l of mine.leaves) ktVerifyInclusion(crypto, Number(l.leafIndex), after.size, ktLeafHash(crypto, l.leaf), l.path, after.root);
    const proof = await alice.client.expectOk({ case: 'ktGetConsistency', value: { oldSize: BigInt(before.size), newSize: 0n } }, 'ktConsistency');
    expect(Number(proof.newSize)).toBe(after.size);
    ktVerifyConsistency(crypto, before.size, after.size, before.root, after.root, proof.path);
    const http = await get(t, `/v1/kt/consistency?old=${before.size}&new=${after.size}`);
    expect(http.body).toBe(proof.path.map((h) => `${base64Encode(h)}\n`).join(''));
    const bad = await alice.client.request({ case: 'ktGetConsistency', value: { oldSize: 5n, newSize: BigInt(after.size + 1) } });
    expect(bad.body.case === 'error' && bad.body.value.message).toMatch(/old_size <= new_size/);
    expect((await get(t, '/v1/kt/consistency?old=x&new=1')).status).toBe(400);
    expect((await get(t, `/v1/kt/consistency?old=3&new=${after.size + 5}`)).status).toBe(400);
    expect((await alice.client.request({ case: 'ping', value: {} })).body.case).toBe('pong');
  });
});

describe('a database from before the log', () => {
  it('logs the bindings of existing accounts and devices at first start', async () => {
    const dir = tempDir('kt-migrate');
    let t = await startTestServer({}, {}, dir);
    const alice = await t.account({ preKeys: true });
    await t.account();
    await t.server.close();
    const db = new Database(join(dir, 'sigilo.db'));
    db.exec('DROP TABLE kt_leaves; DROP TABLE kt_nodes;');
    db.close();
    t = await startTestServer({}, {}, dir);
    try {
      expect(await t.server.storage.ktSize()).toBe(2);
      expect(t.logs.some((l) => /logged existing devices/.test(l))).toBe(true);
      const bob = await t.account();
      const f = await bob.client.expectOk({ case: 'fetchBundles', value: { accountId: alice.device.accountId!, deviceIds: [] } }, 'bundles');
      const { checkpoint } = openCheckpoint(crypto, f.ktCheckpoint, parseVerifierKey(crypto, t.server.kt.verifierKey));
      expect(checkpoint.size).toBe(3);
      const inc = f.ktInclusions[0]!;
      const leaf = encodeBinding({ kind: 'add', accountId: alice.device.accountId!, deviceId: 1, identityKey: alice.device.identity.publicKey, time: Number(inc.time) });
      ktVerifyInclusion(crypto, Number(inc.leafIndex), checkpoint.size, ktLeafHash(crypto, leaf), inc.path, checkpoint.root);
      // Starting again appends nothing more.
      await t.server.close();
      t = await startTestServer({}, {}, dir);
      expect(await t.server.storage.ktSize()).toBe(3);
    } finally {
      await t.stop();
    }
  });
});

describe('a witness (C2SP tlog-witness)', () => {
  let witness: RunningWitness;
  const refusals: string[] = [];
  let honest: TestServer;
  let fork: TestServer;
  let seed: Uint8Array;
  const honestDir = tempDir('kt-honest');
  const forkDir = tempDir('kt-fork');

  beforeAll(async () => {
    // The server's log key exists before the server starts, so the witness can be configured with it first.
    seed = loadLogKey(honestDir, (n) => crypto.sha256(new Uint8Array([n, 7])).slice(0, n));
    const log = KeyTransparency.describe(crypto, seed);
    witness = await startWitness({ dataDir: tempDir('witness'), logs: [parseVerifierKey(crypto, log.verifierKey)], name: 'witness.test/w1', onRefusal: (s, r) => refusals.push(`${s} ${r}`) });
    honest = await startTestServer({ 'kt.witnesses': `${witness.verifierKey} ${witness.url}` }, {}, honestDir);
    // A second server with the same log key and its own accounts: a forked view of "the same" log.
    mkdirSync(forkDir, { recursive: true });
    copyFileSync(join(honestDir, 'kt-log-key.json'), join(forkDir, 'kt-log-key.json'));
    fork = await startTestServer({ 'kt.witnesses': `${witness.verifierKey} ${witness.url}` }, {}, forkDir);
  });
  afterAll(async () => {
    await honest.stop();
    await fork.stop();
    await witness.close();
  });

  it('cosigns the honest log as it grows and refuses the fork sharing its key', async () => {
    await honest.account();
    await honest.account();
    const w = parseVerifierKey(crypto, witness.verifierKey, 4);
    const cosigned = openCheckpoint(crypto, (await get(honest, '/v1/kt/checkpoint')).body, logOf(honest));
    expect(cosigned.checkpoint.size).toBe(2);
    expect(noteCosignedBy(crypto, cosigned.note, w.name, w.publicKey)).toBeGreaterThan(1_700_000_000);
    refusals.length = 0;
    await fork.account();
    await fork.account();
    const forked = openCheckpoint(crypto, (await get(fork, '/v1/kt/checkpoint')).body, logOf(fork));
    expect(forked.checkpoint.size).toBe(2);
    expect(forked.checkpoint.root).not.toEqual(cosigned.checkpoint.root);
    expect(noteCosignedBy(crypto, forked.note, w.name, w.publicKey)).toBeUndefined();
    expect(refusals.some((r) => /^(409|422) /.test(r))).toBe(true);
    // The honest log keeps being cosigned.
    await honest.account();
    const next = openCheckpoint(crypto, (await get(honest, '/v1/kt/checkpoint')).body, logOf(honest));
    expect(next.checkpoint.size).toBe(3);
    expect(noteCosignedBy(crypto, next.note, w.name, w.publicKey)).toBeDefined();
  });

  it('answers 404, 403, 409, 422 and 400 as tlog-witness says', async () => {
    const post = async (body: string) => {
      const r = await fetch(`${witness.url}/add-checkpoint`, { method: 'POST', body });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    };
    const log = KeyTransparency.describe(crypto, seed);
    const current = openCheckpoint(crypto, (await get(honest, '/v1/kt/checkpoint')).body, logOf(honest)).checkpoint;
    const signed = (size: number, root: Uint8Array, key = seed, origin = log.origin) => {
      const text = checkpointText({ origin, size, root, extensions: [] });
      return formatNote({ text, signatures: [signNote(crypto, text, origin, key)] });
    };
    const other = new Uint8Array(32).fill(5);
    expect((await post(`old 0\n\n${signed(9, other, seed, 'other.example/log')}`)).status).toBe(404);
    expect((await post(`old 0\n\n${signed(9, other, other)}`)).status).toBe(403);
    const stale = await post(`old 0\n\n${signed(current.size + 1, other)}`);
    expect(stale).toMatchObject({ status: 409, type: 'text/x.tlog.size', body: `${current.size}\n` });
    expect((await post(`old ${current.size}\n${base64Encode(other)}\n\n${signed(current.size + 1, other)}`)).status).toBe(422);
    expect((await post(`old ${current.size}\n\n${signed(current.size, other)}`)).status).toBe(409);
    expect((await post(`old ${current.size + 5}\n\n${signed(current.size + 1, other)}`)).status).toBe(400);
    expect((await post('not a request')).status).toBe(400);
    // Nothing above moved the witness: the honest log is still cosigned from where it was.
    await honest.account();
    const w = parseVerifierKey(crypto, witness.verifierKey, 4);
    const next = openCheckpoint(crypto, (await get(honest, '/v1/kt/checkpoint')).body, logOf(honest));
    expect(noteCosignedBy(crypto, next.note, w.name, w.publicKey)).toBeDefined();
  });
});
