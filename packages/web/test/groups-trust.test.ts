/**
 * Groups and trust in real Chromium against the real server over TLS (test CA trusted through NSS):
 * two people in browsers and one on the Node SDK (the CLI's engine) form a group of three; author names
 * show on bubbles; a private message inside the group reaches only the two; the group info screen renames,
 * promotes, removes. Safety numbers are identical on both sides; verifying by the other's QR code (its
 * picture fed to the app's decoder: Chromium's fake camera cannot show a QR) marks the contact verified,
 * a wrong code does not; a changed key blocks sending until accepted from the contact screen.
 * axe-core on each of these screens; screenshots at 360×740 and 1280×800 into test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createOrganisationCa, startServer, silentLogger, type RunningServer } from '@sigilo/server';
import { createNodeClient, type ClientEvent, type MessageRow, type SigiloClient } from '@sigilo/client-node';
import { generateReleaseKey } from '../scripts/release.mjs';
import { browserMissing, launchTrusting, type TestBrowser } from './support/chromium.js';
import { buildBundle } from '../../client-web/test/support/browser.js';
import { addContactInUi, axeViolations, contactCard, DESKTOP, openChat, openChatId, PHONE, registerInUi, routeHash, screenshots, sendInUi } from './support/app.js';

const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = browserMissing();

interface Person { context: BrowserContext; page: Page; name: string; passphrase: string; problems: string[] }

describe.skipIf(missing !== undefined)('web app in Chromium: groups, safety numbers, verification, changed keys', () => {
  let tmp: string;
  let server: RunningServer;
  let tb: TestBrowser;
  let origin: string;
  let carla: SigiloClient & { store: { close(): void } };
  const carlaGot: MessageRow[] = [];
  const people: Person[] = [];
  const a11y: Record<string, unknown[]> = {};
  let groupHex = '';
  const jsqrLoaded: string[] = [];

  const person = async (name: string, passphrase: string, size: { width: number; height: number }): Promise<Person> => {
    const context = await tb.browser.newContext({ locale: 'en-GB', viewport: size });
    const page = await context.newPage();
    page.on('request', (r) => { if (/jsqr/i.test(r.url())) jsqrLoaded.push(`${name}: ${r.url()}`); });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    const p = { context, page, name, passphrase, problems };
    people.push(p);
    return p;
  };
  const check = async (p: Person, screen: string) => {
    await screenshots(p.page, screen);
    const before = p.page.viewportSize();
    for (const size of [PHONE, DESKTOP]) {
      await p.page.setViewportSize(size);
      const v = await axeViolations(p.page);
      if (v.length) a11y[`${screen} ${size.width}`] = v;
    }
    if (before) await p.page.setViewportSize(before);
  };
  const invite = async () => (await server.admin.createInvite()).code;
  const go = (p: Person, hash: string) => p.page.evaluate((h) => { location.hash = h; }, hash);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sigilo-web-groups-'));
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
    await carla?.close().catch(() => undefined);
    carla?.store.close();
    await tb?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a group of three (two browsers, one Node SDK person): authors on bubbles, a private message only the two see, group info', async () => {
    const ana = await person('Ana Quintero', 'correct horse battery staple ana', DESKTOP);
    const bob = await person('Bruno Vasconcelos', 'tulip granite orbit lantern bruno', PHONE);
    await registerInUi(ana.page, origin, await invite(), ana.name, ana.passphrase);
    await registerInUi(bob.page, origin, await invite(), bob.name, bob.passphrase);
    carla = createNodeClient({ dir: join(tmp, 'carla'), passphrase: 'carla node store' }) as typeof carla;
    await carla.init(server.url, server.tls.fingerprint);
    await carla.register(await invite());
    await carla.connect({ reconnect: true });
    await carla.profiles.set({ name: 'Carla Nunes' });
    carla.on((e: ClientEvent) => { if (e.type === 'message' && !e.message.outgoing) carlaGot.push(e.message); });

    // Ana and Bruno know each other (a first message each way gives both sides the other's key).
    const anaCard = await contactCard(ana.page);
    const bobCard = await contactCard(bob.page);
    await addContactInUi(bob.page, 'Ana', anaCard);
    await sendInUi(bob.page, 'hola Ana');
    await addContactInUi(ana.page, 'Bruno', bobCard);
    await ana.page.locator('.msg.in', { hasText: 'hola Ana' }).waitFor({ timeout: 30_000 });
    await sendInUi(ana.page, 'hola Bruno');
    await bob.page.locator('.msg.in', { hasText: 'hola Bruno' }).waitFor({ timeout: 30_000 });
    await addContactInUi(ana.page, 'Carla', carla.contactCard);

    // Ana creates the group from New chat › New group.
    await go(ana, '#/new');
    await ana.page.getByRole('button', { name: 'New group' }).click();
    await ana.page.locator('#group-name').fill('Equipo Cuiabá');
    await check(ana, 'new-group');
    await ana.page.getByRole('checkbox', { name: 'Bruno' }).check();
    await ana.page.getByRole('checkbox', { name: 'Carla' }).check();
    await ana.page.getByRole('button', { name: 'Create group' }).click();
    await ana.page.locator('#gconv-h', { hasText: 'Equipo Cuiabá' }).waitFor({ timeout: 30_000 });
    groupHex = await openChatId(ana.page);
    expect(groupHex).toMatch(/^[0-9a-f]{64}$/);
    await expect.poll(() => ana.page.locator('.members-line').textContent(), { timeout: 10_000 }).toBe('You, Bruno, Carla');

    const toAll = 'Reunión el jueves a las 10 — 4471';
    await sendInUi(ana.page, toAll);
    // Bruno sees the group and Ana's message with her name on the bubble.
    await go(bob, '#/');
    await bob.page.locator('.chat-row', { hasText: 'Equipo Cuiabá' }).locator('a').click({ timeout: 30_000 });
    const inBob = bob.page.locator('.msg.in', { hasText: toAll });
    await inBob.waitFor({ timeout: 30_000 });
    expect(await inBob.locator('.author').textContent()).toBe('Ana');
    await expect.poll(() => carlaGot.some((m) => m.text === toAll), { timeout: 30_000 }).toBe(true);

    // A private message from Ana to Bruno inside the group: marked on both sides, never reaching Carla.
    const secret = 'Solo para ti, Bruno: el presupuesto real es 9182';
    await ana.page.locator('#send-to').selectOption({ label: 'Only Bruno (private)' });
    await ana.page.getByText('Only Bruno will see this message.').waitFor();
    await check(ana, 'group-private-compose');
    await sendInUi(ana.page, secret);
    const mine = ana.page.locator('.msg.out.private', { hasText: secret });
    expect(await mine.locator('.private-tag').textContent()).toContain('Private to Bruno');
    const got = bob.page.locator('.msg.in.private', { hasText: secret });
    await got.waitFor({ timeout: 30_000 });
    expect(await got.locator('.private-tag').textContent()).toContain('Private from Ana');
    // Carla answers the group; once her message is in, Ana's private one had its chance to reach her: it did not.
    const fromCarla = 'Confirmo el jueves. — Carla 5520';
    await carla.sendGroupText(fromHexBytes(groupHex), fromCarla);
    const carlaAtBob = bob.page.locator('.msg.in', { hasText: fromCarla });
    await carlaAtBob.waitFor({ timeout: 30_000 });
    expect(await carlaAtBob.locator('.author').textContent()).not.toBe('');
    await ana.page.locator('.msg.in', { hasText: fromCarla }).waitFor({ timeout: 30_000 });
    await carla.flush();
    await new Promise((r) => setTimeout(r, 1500));
    expect(carlaGot.map((m) => m.text)).toContain(toAll);
    expect(carlaGot.map((m) => m.text)).not.toContain(secret);
    expect(carla.store.listMessages(fromHexBytes(groupHex), -1).map((m: MessageRow) => m.text)).not.toContain(secret);
    await check(bob, 'group-conversation');
    await check(ana, 'group-conversation-sender');

    // Group info: roles, promote Bruno, rename, remove Carla.
    await ana.page.getByRole('button', { name: 'Group info', exact: true }).click();
    await ana.page.locator('#gi-h').waitFor();
    const bobRow = ana.page.locator('.member-row', { hasText: 'Bruno' });
    await expect.poll(() => ana.page.locator('.member-row[data-role="admin"]').count()).toBe(1);
    await check(ana, 'group-info');
    await ana.page.getByRole('button', { name: 'Make Bruno admin' }).click();
    await expect.poll(() => bobRow.getAttribute('data-role'), { timeout: 30_000 }).toBe('admin');
    await ana.page.getByRole('button', { name: 'Rename' }).click();
    await ana.page.locator('#rename').fill('Equipo Cuiabá 2027');
    await ana.page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => ana.page.locator('[data-group-name]').textContent(), { timeout: 30_000 }).toBe('Equipo Cuiabá 2027');
    ana.page.once('dialog', (d) => void d.accept());
    await ana.page.getByRole('button', { name: 'Remove Carla' }).click();
    await expect.poll(() => ana.page.locator('.member-row').count(), { timeout: 30_000 }).toBe(2);
    // Bruno's side follows: the new name, his admin role, two members.
    await go(bob, await routeHash(bob.page, groupHex, 'group'));
    await expect.poll(async () => { await bob.page.evaluate(() => undefined); return bob.page.locator('[data-group-name]').textContent(); }, { timeout: 30_000 }).toBe('Equipo Cuiabá 2027');
    await expect.poll(() => bob.page.locator('.member-row').count(), { timeout: 30_000 }).toBe(2);
    expect(await bob.page.locator('.member-row[data-role="admin"]').count()).toBe(2);
    await check(bob, 'group-info-member');
    // The conversation shows the changes as lines between the messages, as messengers do.
    await go(bob, await routeHash(bob.page, groupHex));
    await bob.page.locator('[data-change="renamed"]', { hasText: 'Ana renamed the group to “Equipo Cuiabá 2027”' }).waitFor({ timeout: 10_000 });
    await bob.page.locator('[data-change="promoted"]', { hasText: 'Ana made you admin' }).waitFor({ timeout: 10_000 });
    await check(bob, 'group-conversation-changes');
  }, 400_000);

  it('safety number: identical on both sides, grouped in fives; the other\'s QR picture verifies, a wrong one does not', async () => {
    const [ana, bob] = [people[0]!, people[1]!];
    // The JS decoder (jsQR) is fetched only when a code is read in a browser without BarcodeDetector, never on first load.
    const native = await ana.page.evaluate(() => 'BarcodeDetector' in globalThis);
    expect(jsqrLoaded).toEqual([]);
    // A contact's QR code (My contact card), read from a picture on the Add contact screen, fills in their card.
    await go(bob, '#/me');
    const cardText = (await bob.page.locator('#my-card').textContent({ timeout: 10_000 }))!;
    const cardPng = await bob.page.locator('.sn-qr svg').screenshot();
    await go(ana, '#/add-contact');
    await ana.page.getByRole('button', { name: 'Scan a contact’s QR code' }).click();
    await ana.page.locator('#card-qr-file').setInputFiles({ name: 'card.png', mimeType: 'image/png', buffer: cardPng });
    await expect.poll(() => ana.page.locator('#card').inputValue(), { timeout: 20_000 }).toContain(`#contact=${cardText}`);
    const bobId = await contactId(ana.page, 'Bruno');
    const anaId = await contactId(bob.page, 'Ana');
    await go(ana, await routeHash(ana.page, bobId, 'contact'));
    await go(bob, await routeHash(bob.page, anaId, 'contact'));
    const anaDigits = ana.page.locator('.safety-digits');
    const bobDigits = bob.page.locator('.safety-digits');
    await anaDigits.waitFor({ timeout: 10_000 });
    await bobDigits.waitFor({ timeout: 10_000 });
    const a = (await anaDigits.getAttribute('data-safety-number'))!;
    expect(a).toMatch(/^\d{60}$/);
    expect(await bobDigits.getAttribute('data-safety-number')).toBe(a);
    const groups = await anaDigits.locator('span').allTextContents();
    expect(groups).toHaveLength(12);
    expect(groups.join('')).toBe(a);
    expect(await bobDigits.locator('span').allTextContents()).toEqual(groups);
    await check(ana, 'contact-safety-number');
    await check(bob, 'contact-safety-number-phone');

    // Ana's own code is not Bruno's: scanning it is refused and nothing is marked verified.
    // The JS decoder (jsQR) is fetched only when a code is read in a browser without BarcodeDetector, never on first load.
    if (!native) expect(jsqrLoaded.length).toBe(1);
    const ownPng = await ana.page.locator('.sn-qr svg').screenshot();
    await ana.page.getByRole('button', { name: 'Scan their code' }).click();
    await ana.page.locator('#sn-file').setInputFiles({ name: 'own.png', mimeType: 'image/png', buffer: ownPng });
    await ana.page.locator('[data-verify="mismatch"]').waitFor({ timeout: 20_000 });
    expect(await ana.page.locator('[data-trust="verified"]').count()).toBe(0);
    await check(ana, 'contact-scan-mismatch');

    // Bruno's code, as a picture, read by the app's decoder: verified, and the badge shows where people look.
    const bobPng = await bob.page.locator('.sn-qr svg').screenshot();
    await ana.page.getByRole('button', { name: 'Scan their code' }).click();
    await ana.page.locator('#sn-file').setInputFiles({ name: 'bruno.png', mimeType: 'image/png', buffer: bobPng });
    await ana.page.locator('[data-verify="ok"]').waitFor({ timeout: 20_000 });
    await ana.page.locator('.ci-who [data-trust="verified"]').waitFor({ timeout: 10_000 });
    await check(ana, 'contact-verified');
    await openChat(ana.page, 'Bruno');
    await ana.page.locator('#conv-h [data-trust="verified"]').waitFor({ timeout: 10_000 });
    await go(ana, '#/');
    await ana.page.locator('.chat-row', { hasText: 'Bruno' }).locator('[data-trust="verified"]').waitFor({ timeout: 10_000 });
    await check(ana, 'chat-list-verified');

    // Bruno marks Ana verified after comparing the digits in person.
    await bob.page.getByRole('button', { name: 'Mark as verified' }).click();
    await bob.page.locator('.ci-who [data-trust="verified"]').waitFor({ timeout: 10_000 });
  }, 180_000);

  it('a changed key: warning badge in the list and header, sending blocked; Review opens the contact screen, accepting unblocks', async () => {
    const [ana, bob] = [people[0]!, people[1]!];
    const tamper = await buildBundle(fileURLToPath(new URL('./support/tamper-entry.ts', import.meta.url)));
    await ana.page.reload();
    await ana.page.locator('#pass').waitFor({ timeout: 30_000 });
    await ana.page.evaluate(tamper.js);
    expect(await ana.page.evaluate(([p, n]) => (globalThis as unknown as { sigiloTamper(p: string, n: string): Promise<boolean> }).sigiloTamper(p!, n!), [ana.passphrase, bob.name])).toBe(true);
    await ana.page.locator('#pass').fill(ana.passphrase);
    await ana.page.getByRole('button', { name: 'Unlock' }).click();
    await ana.page.locator('#chats-h').waitFor({ timeout: 30_000 });
    // The group's change lines were kept in the encrypted IndexedDB store across the reload.
    await go(ana, await routeHash(ana.page, groupHex));
    await ana.page.locator('[data-change="removed"]', { hasText: 'You removed Carla' }).waitFor({ timeout: 10_000 });
    await ana.page.locator('[data-change="created"]', { hasText: 'You created the group' }).waitFor({ timeout: 10_000 });
    await openChat(bob.page, 'Ana');
    await sendInUi(bob.page, 'después del cambio 6610');
    const row = ana.page.locator('.chat-row', { hasText: 'Bruno' });
    await row.locator('[data-trust="changed"]').waitFor({ timeout: 30_000 });
    expect(await row.locator('[data-trust="verified"]').count()).toBe(0);
    await check(ana, 'chat-list-key-changed');
    await openChat(ana.page, 'Bruno');
    await ana.page.locator('#conv-h [data-trust="changed"]').waitFor();
    expect(await ana.page.getByRole('textbox', { name: 'Message' }).isDisabled()).toBe(true);
    await check(ana, 'conversation-key-changed');
    await ana.page.locator('[data-notice="identity-changed"]').getByRole('button', { name: 'Review' }).click();
    await ana.page.locator('#ci-h').waitFor();
    await ana.page.locator('.ci-who [data-trust="changed"]').waitFor();
    await ana.page.locator('.safety-digits').waitFor();
    await check(ana, 'contact-key-changed');
    await ana.page.locator('[data-action="accept"]').click();
    await expect.poll(() => ana.page.locator('.ci-who [data-trust="changed"]').count(), { timeout: 10_000 }).toBe(0);
    await openChat(ana.page, 'Bruno');
    expect(await ana.page.getByRole('textbox', { name: 'Message' }).isDisabled()).toBe(false);
    await sendInUi(ana.page, 'clave nueva aceptada 6611');
    await bob.page.locator('.msg.in', { hasText: 'clave nueva aceptada 6611' }).waitFor({ timeout: 30_000 });
  }, 180_000);

  it('no serious or critical accessibility violation on these screens; no page error', () => {
    expect(a11y).toEqual({});
    for (const p of people) expect(p.problems.filter((x) => !/Failed to load resource|WebSocket connection to|net::ERR_CONNECTION_REFUSED/.test(x))).toEqual([]);
  });
});

function fromHexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
}

/** A contact's id (hex) from its chat row's link. */
async function contactId(page: Page, name: string): Promise<string> {
  await page.evaluate(() => { location.hash = '#/'; });
  return (await page.locator('.chat-row', { hasText: name }).getAttribute('data-chat', { timeout: 10_000 }))!;
}
