// Offline catch-up: a device that was offline while 10,000 messages were queued for it
// reconnects; measured from connect() until every message is received, decrypted and stored
// in its SQLCipher store (and acknowledged). Server in its own process, real TLS, sealed sender.
//   npm run bench:catchup            (BENCH_MESSAGES=10000 by default)
// Last line: `catch-up: 10000 messages in S s`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCipherStore, createNodeClient } from '../packages/client-node/dist/index.js';
import { spawnServer } from './support/spawn-server.mjs';

const N = Number(process.env.BENCH_MESSAGES ?? 10_000);
const root = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'sigilo-catchup-'));
// The sender writes N messages as fast as it can: lift the per-account send limit, which is
// not what this benchmark measures.
const server = await spawnServer(join(root, 'server'), {
  cpus: 1,
  overrides: { 'limits.accountSendsPerSecond': 1_000_000, 'limits.accountBurst': 1_000_000, 'limits.connectionFramesPerSecond': 1_000_000, 'limits.connectionBurst': 1_000_000 },
});

async function person(name) {
  const client = createNodeClient({ store: SqlCipherStore.open(join(root, name), `bench ${name}`) });
  await client.init(server.url, server.fingerprint);
  await client.register(await server.invite());
  return client;
}

try {
  const alice = await person('alice');
  const bob = await person('bob');
  alice.addContact('bob', bob.accountId, bob.accessKey);
  bob.addContact('alice', alice.accountId, alice.accessKey);
  // Alice writes N messages while offline (they go to her outbox), then connects and her outbox
  // is sent, in order, while Bob stays offline: the server queues them for Bob (untimed).
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await alice.sendText(bob.accountId, `message ${i} ${'·'.repeat(40)}`);
  let sent = 0;
  const allSent = new Promise((resolve) => alice.on((e) => {
    if (e.type === 'status' && e.status === 'sent' && ++sent % 2000 === 0) process.stderr.write(`  queued ${sent}/${N} at the server\n`);
    if (sent === N) resolve();
  }));
  await alice.connect({ reconnect: false });
  await allSent;
  await alice.close();
  process.stderr.write(`  queued ${N} sealed messages in ${((performance.now() - t0) / 1000).toFixed(1)} s; Bob reconnects\n`);

  let received = 0;
  const done = new Promise((resolve) => bob.on((e) => {
    if (e.type === 'message' && ++received === N) resolve();
  }));
  const start = performance.now();
  await bob.connect({ reconnect: false });
  await done;
  const seconds = (performance.now() - start) / 1000;
  const stored = bob.store.listMessages(alice.accountId, N + 10).length;
  if (stored !== N) throw new Error(`stored ${stored} messages, expected ${N}`);
  await bob.close();
  console.log(`  ${N} messages received, decrypted and stored in ${seconds.toFixed(2)} s (${Math.round(N / seconds)} msg/s); server ${server.pinned ? 'pinned to cpu 1' : 'not pinned'}`);
  console.log(`catch-up: ${N} messages in ${seconds.toFixed(2)} s`);
} finally {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
