/**
 * A browser person and a terminal person talk (issue 13): Ana registers in the web app in real Chromium,
 * Bruno with the built `sigilo` binary (packages/cli/dist/main.js run as a child process), both against the
 * same real server over TLS. They add each other by contact card; Bruno's `sigilo send` shows up live in
 * Ana's open conversation; Ana answers in the UI; `sigilo inbox --json` shows her answer under her name;
 * Ana's ticks go sent → delivered (Bruno fetched it without reading) → read (Bruno's next inbox).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, contactCard, DESKTOP, registerInUi, sendInUi } from './support/app.js';
import { assertBuilt, cliPerson, type CliPerson, type Result } from '../../cli/test/support/sigilo.js';

const missing = browserMissing();

interface InboxRow { conversation: string; contact: string | null; author: string; text: string; outgoing: boolean; status: string }

/** A command that must succeed: its exit code and stderr in the failure message otherwise. */
function ok(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`sigilo ${what} exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

describe.skipIf(missing !== undefined)('a browser person and a person on the sigilo command line talk', () => {
  let ws: WebServer;
  let root: string;
  let context: BrowserContext;
  let page: Page;
  let bruno: CliPerson;
  const problems: string[] = [];
  // Slow when the machine is shared: every CLI command connects, catches up and closes.
  const cli = (args: string[]) => bruno.run(args, { timeoutMs: 90_000 });

  beforeAll(async () => {
    assertBuilt();
    ws = await startWebServer('sigilo-web-cli-peer-');
    root = mkdtempSync(join(tmpdir(), 'sigilo-web-cli-peer-people-'));
    context = await ws.tb.browser.newContext({ locale: 'en-GB', viewport: DESKTOP });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await ws?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('Ana (Chromium) and Bruno (sigilo CLI) add each other by card, exchange texts live, and Ana sees delivered then read', async () => {
    // Ana registers in the browser from an invite link.
    const anaName = 'Ana Quintero';
    await registerInUi(page, ws.origin, await ws.invite(), anaName, 'correct horse battery staple ana');
    const anaCard = (await contactCard(page)).trim();
    expect(anaCard).toMatch(/\S{20,}/);

    // Bruno registers with the CLI: init pinned to the server's certificate, register with an invite, set his name.
    bruno = cliPerson(root, 'bruno');
    const url = ws.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    ok(await cli(['init', url, '--fingerprint', ws.server.tls.fingerprint]), 'init');
    const reg = JSON.parse(ok(await cli(['register', '--invite', await ws.invite(), '--json']), 'register').out) as { accountId: string; contactCard: string };
    expect(reg.contactCard).toMatch(/\S{20,}/);
    ok(await cli(['profile', 'set', '--name', 'Bruno Vasconcelos']), 'profile set');

    // They add each other by contact card: Bruno sees Ana's name from her profile (the card carries its key).
    const added = JSON.parse(ok(await cli(['contacts', 'add', 'Ana', anaCard, '--json']), 'contacts add').out) as { name: string; accountId: string; profileName: string | null };
    expect(added).toMatchObject({ name: 'Ana', profileName: anaName });
    await addContactInUi(page, 'Bruno', reg.contactCard);
    await page.locator('#conv-h', { hasText: 'Bruno' }).waitFor({ timeout: 30_000 });

    // Bruno writes from the terminal; it appears live in Ana's open conversation.
    const hola = 'hola desde la terminal';
    const sent = JSON.parse(ok(await cli(['send', 'Ana', hola, '--json']), 'send').out) as { status: string; to: string };
    expect(['sent', 'delivered']).toContain(sent.status);
    expect(sent.to).toBe(added.accountId);
    await page.locator('.msg.in', { hasText: hola }).waitFor({ timeout: 60_000 });
    expect(await page.locator('.msg.in', { hasText: hola }).count()).toBe(1);

    // Ana answers in the UI. Bruno is offline between commands: her message waits on the server ("sent", not "delivered").
    const answer = 'Hola Bruno, te leo desde el navegador 4217';
    await sendInUi(page, answer);
    const mine = page.locator('.msg.out', { hasText: answer });
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 30_000 }).toBe('sent');
    await page.waitForTimeout(1_000);
    expect(await mine.getAttribute('data-status')).toBe('sent');

    // Bruno fetches without reading: the answer is there, from Ana by her contact name; Ana's ticks reach delivered.
    const fetched = JSON.parse(ok(await cli(['inbox', '--no-read', '--json']), 'inbox --no-read').out) as InboxRow[];
    const got = fetched.filter((m) => m.text === answer);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ contact: 'Ana', author: added.accountId, conversation: added.accountId, outgoing: false });
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 30_000 }).toBe('delivered');
    expect(await mine.locator('.ticks').getAttribute('aria-label')).toBe('Delivered');

    // The plain listing names her too; this inbox marks it read, and Ana sees the read ticks.
    const listed = ok(await cli(['inbox']), 'inbox');
    expect(listed.out).toMatch(new RegExp(`Ana: ${answer}`));
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 30_000 }).toBe('read');
    expect(JSON.parse(ok(await cli(['inbox', '--json']), 'inbox --json').out)).toEqual([]);

    // Bruno's contact list shows Ana's profile name next to the name he gave her.
    const contacts = JSON.parse(ok(await cli(['contacts', '--json']), 'contacts').out) as { name: string; profileName: string | null }[];
    expect(contacts).toEqual([expect.objectContaining({ name: 'Ana', profileName: anaName })]);
    expect(problems.filter((x) => !/Failed to load resource|WebSocket connection to/.test(x))).toEqual([]);
  }, 300_000);
});
