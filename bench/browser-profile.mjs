// Profiles the store open and the catch-up of bench/browser.mjs in Chromium (CDP Profiler, 100 µs
// sampling): prints the functions with the most self time in each phase and a timeline in 50 ms
// windows, and writes open.cpuprofile / catchup.cpuprofile (and the bundle they refer to,
// profile-bundle.js) to the temporary directory for DevTools. Not a benchmark: the figures it
// prints include the profiler's overhead. Needs `npm run build` first.
//   node bench/browser-profile.mjs [open|catchup|both]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { SqlCipherStore, createNodeClient } from '../packages/client-node/dist/index.js';
import { spawnServer } from './support/spawn-server.mjs';

const what = process.argv[2] ?? 'both';
const N = Number(process.env.BENCH_CATCHUP ?? 1000);
const support = await tsImport('../packages/client-web/test/support/browser.ts', import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'sigilo-profile-browser-'));
const pki = support.makeTestPki();
const bundle = await support.buildBundle();
const web = support.testWebDir(bundle.js);
writeFileSync(join(tmpdir(), 'profile-bundle.js'), bundle.js);
const server = await spawnServer(join(root, 'server'), {
  overrides: {
    'tls.cert': pki.certFile, 'tls.key': pki.keyFile, webDir: web.dir,
    'limits.accountSendsPerSecond': 1_000_000, 'limits.accountBurst': 1_000_000, 'limits.connectionFramesPerSecond': 1_000_000, 'limits.connectionBurst': 1_000_000,
  },
});
const origin = `https://127.0.0.1:${new URL(server.url).port}`;

function top(profile, label, n = 30) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const dt = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
  let total = 0;
  for (const [id, c] of counts) {
    const node = byId.get(id);
    const f = node.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + c * dt);
    total += c * dt;
  }
  console.log(`-- ${label}: ${total.toFixed(0)} ms sampled`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${v.toFixed(1).padStart(8)} ms  ${k}`);
  // Timeline: per 50 ms window, the share of idle and the top function.
  let t = profile.startTime;
  const windows = [];
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i];
    const w = Math.floor((t - profile.startTime) / 50000);
    const f = byId.get(id).callFrame;
    const name = f.functionName || f.url.split('/').pop() || '(anon)';
    (windows[w] ??= new Map()).set(name, (windows[w].get(name) ?? 0) + 1);
  });
  windows.forEach((m, w) => {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const top3 = [...m].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${Math.round(100 * v / total)}%`).join(', ');
    console.log(`  ${String(w * 50).padStart(5)} ms: ${top3}`);
  });
}

let browser;
try {
  browser = await support.openBrowser(origin, pki);
  await browser.cdp('Profiler.enable');
  await browser.cdp('Profiler.setSamplingInterval', { interval: 100 });
  if (what !== 'catchup') {
    console.log('warm-up', JSON.stringify(await browser.run('storeOpenTime', 1000, 10_000)));
    await browser.cdp('Profiler.start');
    const open = await browser.run('storeOpenTime', 1000, 10_000);
    const { profile } = await browser.cdp('Profiler.stop');
    console.log(`store open ${JSON.stringify(open)}`);
    writeFileSync(join(tmpdir(), 'open.cpuprofile'), JSON.stringify(profile));
    top(profile, 'store open (whole storeOpenTime incl. fill)');
  }
  if (what !== 'open') {
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
    await browser.cdp('Profiler.start');
    const caught = await browser.run('heldCatchUp', nodeCard, N);
    const { profile } = await browser.cdp('Profiler.stop');
    console.log(`catch-up ${JSON.stringify(caught)}`);
    writeFileSync(join(tmpdir(), 'catchup.cpuprofile'), JSON.stringify(profile));
    top(profile, 'catch-up');
    await browser.run('heldClose');
  }
} finally {
  await browser?.close();
  await server.stop();
  web.cleanup();
  pki.cleanup();
  rmSync(root, { recursive: true, force: true });
}
