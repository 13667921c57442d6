// The client SDK in a browser (issue 12): real Chromium (the test harness of packages/client-web)
// against a Sigilo server in its own process over real TLS (a test CA trusted through NSS).
//   npm run bench:browser
// 1. Double Ratchet encrypt+decrypt ops/s in Chromium with the portable provider, and in this
//    Node process with the node:crypto provider (same code: packages/client-web/test/bench-ratchet.ts).
// 2. Unlocking and opening an IndexedDB store holding 1,000 sessions and 10,000 messages: the
//    open after the KDF (best of three), and the KDF (default parameters) apart.
// 3. A browser client that was offline while a Node client wrote it BENCH_CATCHUP (1,000) texts
//    reconnects: time until every one is received, decrypted, stored and written to IndexedDB.
// Last line: `browser: ratchet R ops/s (node N ops/s), store open O ms (kdf K ms), catch-up 1000 in C ms`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { SqlCipherStore, createNodeClient } from '../packages/client-node/dist/index.js';
import { nodeCrypto, systemRandom } from '../packages/protocol/dist/crypto/node.js';
import { spawnServer } from './support/spawn-server.mjs';

const N = Number(process.env.BENCH_CATCHUP ?? 1000);
const RATCHET_MS = Number(process.env.BENCH_RATCHET_MS ?? 3000);
const support = await tsImport('../packages/client-web/test/support/browser.ts', import.meta.url);
const { ratchetOpsPerSecond } = await tsImport('../packages/client-web/test/bench-ratchet.ts', import.meta.url);
const missing = support.browserMissing();
if (missing) {
  console.log(`browser: skipped (${missing})`);
  process.exit(0);
}

const root = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'sigilo-bench-browser-'));
const pki = support.makeTestPki();
const bundle = await support.buildBundle();
const web = support.testWebDir(bundle.js);
const server = await spawnServer(join(root, 'server'), {
  overrides: {
    'tls.cert': pki.certFile, 'tls.key': pki.keyFile, webDir: web.dir,
    'limits.accountSendsPerSecond': 1_000_000, 'limits.accountBurst': 1_000_000, 'limits.connectionFramesPerSecond': 1_000_000, 'limits.connectionBurst': 1_000_000,
  },
});
const origin = `https://127.0.0.1:${new URL(server.url).port}`;
let browser;
try {
  browser = await support.openBrowser(origin, pki);

  // 1. Ratchet: Chromium (portable) then Node (node:crypto), one after the other on the same machine.
  const inBrowser = await browser.run('ratchetBench', RATCHET_MS);
  const inNode = ratchetOpsPerSecond({ crypto: nodeCrypto, random: systemRandom }, RATCHET_MS);
  console.log(`  ratchet: Chromium portable ${Math.round(inBrowser.opsPerSecond)} ops/s (${inBrowser.ops} ops), Node node:crypto ${Math.round(inNode.opsPerSecond)} ops/s (${inNode.ops} ops)`);

  // 2. Store open with 1,000 sessions and 10,000 messages; the KDF at its default parameters.
  const open = await browser.run('storeOpenTime', 1000, 10_000);
  const kdf = await browser.run('kdfTime');
  console.log(`  store open: ${open.openMs.toFixed(0)} ms best of ${open.runsMs.map((x) => x.toFixed(0)).join(', ')} (${open.rows} rows in ${open.records} records; phases ${JSON.stringify(open.phases, (_k, v) => (typeof v === 'number' ? Math.round(v) : v))}); KDF ${JSON.stringify(kdf.kdf)} ${kdf.openKdfMs.toFixed(0)} ms at open, ${kdf.createKdfMs.toFixed(0)} ms at creation`);

  // 3. Catch-up: the browser client goes offline, a Node client writes N texts, the browser reconnects.
  const web1 = await browser.run('heldStart', await server.invite());
  const node = createNodeClient({ store: SqlCipherStore.open(join(root, 'node'), 'bench node') });
  await node.init(server.url, server.fingerprint);
  await node.register(await server.invite());
  const { parseContactCard } = await import('../packages/client/dist/index.js');
  const card = parseContactCard(web1.card);
  node.addContact('web', card.accountId, card.accessKey, card.profileKey);
  await browser.run('heldSend', 'node', node.contactCard, 'hello');
  await browser.run('heldOffline');
  let sent = 0;
  const allSent = new Promise((resolve) => node.on((e) => { if (e.type === 'status' && e.status === 'sent' && ++sent === N) resolve(); }));
  for (let i = 0; i < N; i++) await node.sendText(card.accountId, `message ${i} ${'·'.repeat(40)}`);
  await node.connect({ reconnect: false });
  await allSent;
  await node.close();
  const nodeCard = node.contactCard;
  node.store.close();
  const caught = await browser.run('heldCatchUp', nodeCard, N);
  if (caught.stored !== N) throw new Error(`the browser stored ${caught.stored} of ${N} messages`);
  await browser.run('heldClose');
  console.log(`  catch-up: ${N} queued texts received, decrypted, stored and written to IndexedDB in ${caught.ms.toFixed(0)} ms (${Math.round(N / (caught.ms / 1000))} msg/s)`);

  console.log(`browser: ratchet ${Math.round(inBrowser.opsPerSecond)} ops/s (node ${Math.round(inNode.opsPerSecond)} ops/s), store open ${Math.round(open.openMs)} ms (kdf ${Math.round(kdf.openKdfMs)} ms), catch-up ${N} in ${Math.round(caught.ms)} ms`);
} finally {
  await browser?.close();
  await server.stop();
  web.cleanup();
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
}
