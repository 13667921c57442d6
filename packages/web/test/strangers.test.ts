/**
 * Whose name is shown, and how (person-name.ts), in real Chromium against the real server over TLS; Carla in the
 * browser, Bruno, an impostor and Mallory on the Node SDK, the organisation's CA made by the real `sigilo admin ca`.
 * - Someone NOT in Carla's contacts who calls themselves "Bruno Silva" shows as "~Bruno Silva" with a "Not a contact"
 *   tag ("Name chosen by them; not in your contacts") in the chat list, the chat's header and Contact info, and their
 *   chat opens with a banner saying so, with "Add to contacts" and "Delete chat".
 * - The real Bruno, found by @bruno, shows by the name he chose ("Bruno Silva", unmarked: he is a contact), then by
 *   the name the organisation certified, unless Carla gives him a nickname in Contact info; his username shows as
 *   @bruno there.
 * - A notification for a stranger's message names them "~Name" as well.
 * Screenshots at 360×740 go to SIGILO_SHOTS (default packages/web/test-artifacts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { parseContactCard } from '@sigilo/client-node';
import { browserMissing } from './support/chromium.js';
import { nodePerson, startWebServer, type NodePerson, type WebServer } from './support/server.js';
import { ARTIFACTS, axeViolations, contactCard, PHONE, registerInUi, sendInUi } from './support/app.js';
import { notes, recordNotifications, setHidden } from './support/notifications.js';
import { assertBuilt, sigilo, type Result } from '../../cli/test/support/sigilo.js';

const missing = browserMissing();
const SHOTS = process.env.SIGILO_SHOTS ?? ARTIFACTS;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const HINT = 'Name chosen by them; not in your contacts';

function ok(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`sigilo ${what} exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

describe.skipIf(missing !== undefined)('web app in Chromium: a stranger cannot pose as a contact; contacts show their own or certified name', () => {
  let ws: WebServer;
  let root: string;
  let context: BrowserContext;
  let page: Page;
  let bruno: NodePerson, impostor: NodePerson, mallory: NodePerson;
  let brunoHex = '', impostorHex = '', malloryHex = '';
  let carlaCard: ReturnType<typeof parseContactCard>;
  const problems: string[] = [];
  const a11y: Record<string, unknown> = {};
  const shot = async (name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
    const v = await axeViolations(page);
    if (v.length) a11y[name] = v;
  };
  const admin = (args: string[]) => sigilo(['admin', 'ca', ...args, '--data', ws.dataDir], { timeoutMs: 90_000 });
  const go = (hash: string) => page.evaluate((h) => { location.hash = h; }, hash);
  const row = (idHex: string) => page.locator(`.chat-row[data-chat="${idHex}"]`);
  const person = (dir: string, name: string) => nodePerson(ws, join(root, dir), name);
  const openRow = async (idHex: string) => {
    await go('#/');
    await row(idHex).locator('a').click();
    await page.locator('#conv-h').waitFor({ timeout: 10_000 });
  };

  beforeAll(async () => {
    assertBuilt();
    ws = await startWebServer('sigilo-web-strangers-', [], { adminSocket: true });
    root = mkdtempSync(join(tmpdir(), 'sigilo-web-strangers-people-'));
    context = await ws.tb.browser.newContext({ locale: 'en-GB', viewport: PHONE });
    await recordNotifications(context, ws.origin);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|WebSocket connection to/.test(m.text())) problems.push(`console: ${m.text()}`); });

    ok(await admin(['init', '--org', 'Acme Logistics']), 'admin ca init');
    bruno = await person('bruno', 'Bruno Silva');
    await bruno.usernames.set('bruno');
    impostor = await person('impostor', 'Bruno Silva');
    mallory = await person('mallory', 'Mallory');
    [brunoHex, impostorHex, malloryHex] = [bruno, impostor, mallory].map((p) => hex(p.accountId!));
    await registerInUi(page, ws.origin, await ws.invite(), 'Carla Méndez', 'correct horse battery staple carla');
    carlaCard = parseContactCard((await contactCard(page)).trim());
  }, 300_000);

  afterAll(async () => {
    for (const p of [bruno, impostor, mallory]) { await p?.close().catch(() => undefined); p?.store.close(); }
    await context?.close();
    await ws?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a contact found by @username shows by the name he chose, not his username; a stranger with the same name is marked', async () => {
    // New chat › @bruno › Find: the real Bruno. Until his profile arrives he is @bruno.
    await go('#/new');
    await page.locator('#find-username').fill('@bruno');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('#conv-h', { hasText: '@bruno' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-banner="not-a-contact"]').count()).toBe(0);
    await sendInUi(page, 'hola Bruno, soy Carla');
    // Bruno answers (his message carries his profile key): his own name replaces the username everywhere.
    bruno.addContact('Carla', carlaCard.accountId, carlaCard.accessKey, carlaCard.profileKey);
    await bruno.sendText(carlaCard.accountId, 'hola Carla');
    await page.locator('.msg.in', { hasText: 'hola Carla' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('#conv-h').textContent(), { timeout: 30_000 }).toContain('Bruno Silva');
    expect(await page.locator('#conv-h').textContent()).not.toContain('~');
    expect(await page.locator('.bar [data-name-flag]').count()).toBe(0);

    // The impostor, not in Carla's contacts, calls himself "Bruno Silva" too and writes.
    impostor.addContact('Carla', carlaCard.accountId, carlaCard.accessKey, carlaCard.profileKey);
    await impostor.sendText(carlaCard.accountId, 'Carla, soy Bruno: paga esta factura hoy');
    await go('#/');
    await expect.poll(() => row(impostorHex).locator('.chat-name').textContent(), { timeout: 30_000 }).toBe('~Bruno Silva');
    await expect.poll(() => row(brunoHex).locator('.chat-name').textContent(), { timeout: 30_000 }).toBe('Bruno Silva');
    const flag = row(impostorHex).locator('[data-name-flag="stranger"]');
    expect(await flag.getAttribute('title')).toBe(HINT);
    expect(await flag.textContent()).toContain('Not a contact');
    expect(await row(brunoHex).locator('[data-name-flag]').count()).toBe(0);
    // What a screen reader hears for the impostor's row: the name and "Name chosen by them; not in your contacts".
    expect(await row(impostorHex).locator('a').evaluate((a) => a.textContent)).toContain(HINT);
    await shot('strangers-chat-list');

    // The impostor's chat: "~Bruno Silva", the tag and the banner with its two actions.
    await openRow(impostorHex);
    await expect.poll(() => page.locator('#conv-h').textContent()).toContain('~Bruno Silva');
    expect(await page.locator('.bar [data-name-flag="stranger"]').count()).toBe(1);
    const banner = page.locator('[data-banner="not-a-contact"]');
    expect(await banner.locator('.stranger-text').textContent()).toBe('~Bruno Silva is not in your contacts. They chose this name themselves; check with them another way before trusting it.');
    expect(await banner.getByRole('button', { name: 'Add to contacts' }).count()).toBe(1);
    expect(await banner.getByRole('button', { name: 'Delete chat' }).count()).toBe(1);
    await shot('strangers-impostor-chat');
    // The same in Spanish and Portuguese.
    await go('#/settings');
    await page.locator('#lang').selectOption('es');
    await openRow(impostorHex);
    expect(await banner.locator('.stranger-text').textContent()).toContain('~Bruno Silva no está en tus contactos.');
    expect(await page.locator('.bar [data-name-flag="stranger"]').getAttribute('title')).toBe('Nombre elegido por esta persona; no está en tus contactos');
    await go('#/settings');
    await page.locator('#lang').selectOption('pt');
    await openRow(impostorHex);
    expect(await banner.locator('.stranger-text').textContent()).toContain('~Bruno Silva não está nos seus contatos.');
    await go('#/settings');
    await page.locator('#lang').selectOption('en');

    // His contact info says it too; the real Bruno's shows his @username and no warning.
    await openRow(impostorHex);
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('.ci-name', { hasText: '~Bruno Silva' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('.ci-who [data-name-flag="stranger"]').count()).toBe(1);
    expect(await page.locator('.contact-info [data-banner="not-a-contact"]').count()).toBe(1);
    expect(await page.locator('#nickname').count()).toBe(0);
    await shot('strangers-impostor-contact');
    await openRow(brunoHex);
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('.ci-name', { hasText: 'Bruno Silva' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('.ci-name').textContent()).toBe('Bruno Silva');
    expect(await page.locator('[data-username]').textContent()).toBe('@bruno');
    expect(await page.locator('.contact-info [data-banner="not-a-contact"]').count()).toBe(0);
    await shot('strangers-bruno-contact');
    expect(a11y).toEqual({});
    expect(problems).toEqual([]);
  }, 180_000);

  it('a nickname given in Contact info wins; without one the certified name does; the chat settings say the same', async () => {
    await openRow(brunoHex);
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('#nickname').fill('Bruno (finanzas)');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ci-name', { hasText: 'Bruno (finanzas)' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-their-name]').textContent()).toBe('Their name: Bruno Silva');
    await shot('strangers-nickname');
    await go('#/');
    await expect.poll(() => row(brunoHex).locator('.chat-name').textContent()).toBe('Bruno (finanzas)');
    // The list's search finds him by it.
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('finanz');
    await expect.poll(() => page.locator('.chat-row').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('');

    // The organisation certifies him as "Bruno M. Silva": the nickname still wins; emptied, the certified name shows.
    ok(await admin(['certify', brunoHex, '--name', 'Bruno M. Silva', '--fingerprint', bruno.identityFingerprint]), 'admin ca certify');
    await openRow(brunoHex);
    await page.locator('.bar .cert-badge[data-cert="certified"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#conv-h').textContent()).toContain('Bruno (finanzas)');
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('#nickname').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ci-name', { hasText: 'Bruno M. Silva' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-their-name]').textContent()).toBe('Their name: Bruno Silva');
    await go('#/');
    await expect.poll(() => row(brunoHex).locator('.chat-name').textContent()).toBe('Bruno M. Silva');
    expect(await row(impostorHex).locator('.chat-name').textContent()).toBe('~Bruno Silva');
    await openRow(brunoHex);
    await page.getByRole('button', { name: 'Chat settings' }).click();
    await page.locator('.settings-name', { hasText: 'Bruno M. Silva' }).waitFor({ timeout: 10_000 });
    await go('#/');
    await shot('strangers-certified-list');
    expect(a11y).toEqual({});
    expect(problems).toEqual([]);
  }, 180_000);

  it('Add to contacts takes the banner and the marks away; Delete chat removes a stranger\'s chat from the list', async () => {
    await openRow(impostorHex);
    await page.locator('[data-banner="not-a-contact"]').getByRole('button', { name: 'Add to contacts' }).click();
    await page.locator('#ci-h').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('.ci-name').textContent(), { timeout: 10_000 }).toBe('Bruno Silva');
    expect(await page.locator('.contact-info [data-banner="not-a-contact"]').count()).toBe(0);
    expect(await page.locator('.ci-who [data-name-flag]').count()).toBe(0);
    await page.locator('#nickname').waitFor();
    await go('#/');
    await expect.poll(() => row(impostorHex).locator('.chat-name').textContent()).toBe('Bruno Silva');

    // Mallory writes; Carla deletes the chat from the banner (after confirming): it leaves the list.
    mallory.addContact('Carla', carlaCard.accountId, carlaCard.accessKey, carlaCard.profileKey);
    await mallory.sendText(carlaCard.accountId, 'hola');
    await expect.poll(() => row(malloryHex).locator('.chat-name').textContent(), { timeout: 30_000 }).toBe('~Mallory');
    await openRow(malloryHex);
    await page.locator('[data-banner="not-a-contact"]').getByRole('button', { name: 'Delete chat' }).click();
    await page.locator('dialog.confirm[open]').getByRole('button', { name: 'Delete chat' }).click();
    await page.locator('#chats-h').waitFor({ timeout: 10_000 });
    await expect.poll(() => row(malloryHex).count(), { timeout: 10_000 }).toBe(0);
    // A new message from her brings the chat back, still marked; its notification names her "~Mallory" too.
    await go('#/settings');
    await page.locator('#notify-on').check();
    await expect.poll(() => page.locator('#notify-on').isChecked()).toBe(true);
    await go('#/');
    await setHidden(page, true);
    await mallory.sendText(carlaCard.accountId, 'hola otra vez');
    await expect.poll(async () => (await notes(page)).map((n) => n.title), { timeout: 30_000 }).toEqual(['~Mallory']);
    await setHidden(page, false);
    await expect.poll(() => row(malloryHex).locator('.chat-name').textContent(), { timeout: 30_000 }).toBe('~Mallory');
    expect(a11y).toEqual({});
    expect(problems).toEqual([]);
  }, 120_000);
});
