// The web app (issue 13) in real Chromium against a Sigilo server in its own process over real TLS
// (a test CA trusted through NSS), serving the built app (packages/web/dist):
//   npm run bench:web
// 1. First load: a fresh browser profile opens an invite link and registers through the UI; the
//    gzipped size of every JS and CSS file the page and its Worker loaded until the chat list is drawn
//    (the service worker's own verification downloads are not the page's load and are left out).
// 2. Chat list with BENCH_CONVERSATIONS (1,000) conversations in the local store: the app's encrypted
//    store is filled on its origin, then the page is loaded again; time from navigation to the drawn
//    chat list, minus the passphrase's KDF (printed apart) and the moment the person takes to type it.
// Last line: `web: first-load JS K KB gz, chat list in T ms`
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { spawnServer } from './support/spawn-server.mjs';

const N = Number(process.env.BENCH_CONVERSATIONS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const support = await tsImport('../packages/client-web/test/support/browser.ts', import.meta.url);
const missing = support.browserMissing();
if (missing) {
  console.log(`web: skipped (${missing})`);
  process.exit(0);
}
const webDir = fileURLToPath(new URL('../packages/web/dist', import.meta.url));
readFileSync(join(webDir, 'release.json')); // built by `npm run build`

const root = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'sigilo-bench-web-'));
const pki = support.makeTestPki();
const seed = await support.buildBundle(fileURLToPath(new URL('./support/web-seed.ts', import.meta.url)));
const server = await spawnServer(join(root, 'server'), { overrides: { 'tls.cert': pki.certFile, 'tls.key': pki.keyFile, webDir } });
const origin = `https://127.0.0.1:${new URL(server.url).port}`;
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: support.CHROMIUM, args: support.CHROMIUM_ARGS, headless: true, env: { ...process.env, HOME: pki.home }, timeout: 60_000 });
const passphrase = 'bench passphrase for the web app';
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // 1. First load, up to the drawn chat list.
  const loaded = new Map();
  context.on('response', async (res) => {
    const url = new URL(res.url());
    if (res.request().serviceWorker() || url.origin !== origin || !/\.(js|css)$/.test(url.pathname) || url.pathname === '/sw.js') return;
    try { loaded.set(url.pathname, gzipSync(await res.body(), { level: 9 }).length); } catch { /* no body (a 304) */ }
  });
  let page = await context.newPage();
  await page.goto(`${origin}/#invite=${encodeURIComponent(await server.invite())}`);
  await page.locator('#name').fill('Bench Person');
  await page.locator('#new-pass').fill(passphrase);
  await page.locator('#new-pass2').fill(passphrase);
  await page.getByRole('button', { name: /Create my account/ }).click();
  await page.locator('#chats-h').waitFor({ timeout: 120_000 });
  const firstLoad = [...loaded.values()].reduce((a, b) => a + b, 0);
  console.log(`  first load: ${[...loaded.entries()].map(([p, n]) => `${p} ${(n / 1024).toFixed(1)} KB`).join(', ')}`);
  await page.close();

  // 2. Fill the store on the app's origin (the app is locked there), then time the unlock to the chat list.
  page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.locator('#pass').waitFor({ timeout: 30_000 });
  await page.evaluate(seed.js);
  const seeded = await page.evaluate(([p, n]) => globalThis.sigiloSeed(p, n), [passphrase, N]);
  console.log(`  store: ${seeded.contacts} conversations, ${seeded.messages} messages`);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto('about:blank');
    await page.goto(`${origin}/`);
    await page.locator('#pass').fill(passphrase);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.waitForFunction(() => performance.getEntriesByName('sigilo-chat-list').length > 0, undefined, { timeout: 60_000 });
    const m = await page.evaluate(() => {
      const at = (n) => performance.getEntriesByName(n)[0];
      return { shown: at('sigilo-unlock-shown').startTime, submit: at('sigilo-unlock-submit').startTime, opened: at('sigilo-store-open').startTime, open: at('sigilo-store-open').detail, list: at('sigilo-chat-list').startTime, rows: at('sigilo-chat-list').detail.conversations };
    });
    if (m.rows < N) throw new Error(`the chat list showed ${m.rows} conversations, expected ${N}`);
    const total = m.shown + (m.list - m.submit) - m.open.kdfMs;
    runs.push({ total, kdf: m.open.kdfMs, load: m.open.loadMs, shown: m.shown });
    console.log(`  run ${i + 1}: navigation to unlock form ${m.shown.toFixed(0)} ms; unlock to chat list ${(m.list - m.submit).toFixed(0)} ms: KDF ${m.open.kdfMs.toFixed(0)} ms, store load ${m.open.loadMs.toFixed(0)} ms, other work before the store was open ${(m.opened - m.submit - m.open.kdfMs - m.open.loadMs).toFixed(0)} ms, store open to drawn list ${(m.list - m.opened).toFixed(0)} ms`);
  }
  const best = runs.reduce((a, b) => (b.total < a.total ? b : a));
  console.log(`  KDF (scrypt, default parameters) ${best.kdf.toFixed(0)} ms, printed apart; chat list of ${N} conversations: best of ${RUNS}`);
  console.log(`  against the targets (no peer runs here): first load ${(firstLoad / 1024 / 200).toFixed(2)}× of 200 KB, chat list ${(best.total / 1000).toFixed(2)}× of 1,000 ms`);
  console.log(`web: first-load JS ${Math.round(firstLoad / 1024)} KB gz, chat list in ${Math.round(best.total)} ms`);
} finally {
  await browser.close();
  await server.stop();
  pki.cleanup();
}
