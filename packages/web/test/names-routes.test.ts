/**
 * What the browser keeps and shows about others (issues 14 and 15), in real Chromium against the real server over
 * TLS; Ana in the browser, Bruno and Mallory on the Node SDK, the organisation's CA made by the real `sigilo admin ca`.
 * - Routes name no one (web.md §4.1): after opening 1:1 chats, a group, a contact screen, a group's info and a chat's
 *   settings, neither the address bar nor any session history entry (navigation.entries(), and a history.back() walk)
 *   holds an account or group id, in hex, base64 or base64url; Back returns to the earlier chat; a token from an
 *   earlier page load (a stale link, a reload) lands on the chat list without an error.
 * - The chat list shows a lock where confidential mode is on and a clock where a disappearing timer is set.
 * - A display name cannot imitate the "Certified by ORG" badge (web.md §4.2): Mallory calls herself
 *   "Ana ✓ Certified by Acme Logistics" beside Bruno, whom the organisation certified.
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
import { ARTIFACTS, axeViolations, contactCard, openChatId, PHONE, registerInUi } from './support/app.js';
import { assertBuilt, sigilo, type Result } from '../../cli/test/support/sigilo.js';

const missing = browserMissing();
const SHOTS = process.env.SIGILO_SHOTS ?? ARTIFACTS;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const HOSTILE = 'Ana ✓ Certified by Acme Logistics';

function ok(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`sigilo ${what} exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

/** Every way the app or a browser could spell an id (hex either case, base64 and base64url with and without padding). */
function spellings(idHex: string): string[] {
  const b = Buffer.from(idHex, 'hex');
  const b64 = b.toString('base64'), url = b.toString('base64url');
  return [...new Set([idHex, idHex.toUpperCase(), b64, b64.replace(/=+$/, ''), url, encodeURIComponent(b64)])];
}

describe.skipIf(missing !== undefined)('web app in Chromium: routes name no one; chat-list marks; names cannot imitate badges', () => {
  let ws: WebServer;
  let root: string;
  let context: BrowserContext;
  let page: Page;
  let bruno: NodePerson, mallory: NodePerson;
  let anaHex = '', brunoHex = '', malloryHex = '', groupHex = '';
  const problems: string[] = [];
  const a11y: Record<string, unknown> = {};
  const shot = async (name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
    const v = await axeViolations(page);
    if (v.length) a11y[name] = v;
  };
  const admin = (args: string[]) => sigilo(['admin', 'ca', ...args, '--data', ws.dataDir], { timeoutMs: 90_000 });
  const go = (hash: string) => page.evaluate((h) => { location.hash = h; }, hash);
  const row = (idHex: string) => page.locator(`.chat-row[data-chat="${idHex}"]`);
  const person = (dir: string, name: string) => nodePerson(ws, join(root, dir), name);

  beforeAll(async () => {
    assertBuilt();
    ws = await startWebServer('sigilo-web-names-', [], { adminSocket: true });
    root = mkdtempSync(join(tmpdir(), 'sigilo-web-names-people-'));
    context = await ws.tb.browser.newContext({ locale: 'en-GB', viewport: PHONE });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|WebSocket connection to/.test(m.text())) problems.push(`console: ${m.text()}`); });

    ok(await admin(['init', '--org', 'Acme Logistics']), 'admin ca init');
    bruno = await person('bruno', 'Bruno Vasconcelos');
    mallory = await person('mallory', HOSTILE);
    ok(await admin(['certify', hex(bruno.accountId!), '--name', 'Bruno Vasconcelos', '--fingerprint', bruno.identityFingerprint]), 'admin ca certify');
    brunoHex = hex(bruno.accountId!);
    malloryHex = hex(mallory.accountId!);

    // Ana asks, on the sign-up form, to be certified (the organisation has an identity CA); the last test checks it.
    await registerInUi(page, ws.origin, await ws.invite(), 'Ana Quintero', 'correct horse battery staple ana', { requestCertification: true });
    const card = parseContactCard((await contactCard(page)).trim());
    anaHex = hex(card.accountId);
    for (const [p, text] of [[bruno, 'hola Ana, soy Bruno'], [mallory, 'hola Ana, urgente']] as const) {
      p.addContact('Ana', card.accountId, card.accessKey, card.profileKey);
      await p.sendText(card.accountId, text);
    }
    await row(brunoHex).locator('.chat-name', { hasText: 'Bruno Vasconcelos' }).waitFor({ timeout: 30_000 });
    await row(malloryHex).locator('.chat-name', { hasText: 'Acme' }).waitFor({ timeout: 30_000 });

    // Ana makes a group with both (New chat › New group).
    await go('#/new');
    await page.getByRole('button', { name: 'New group' }).click();
    await page.locator('#group-name').fill('Turno de noche');
    await page.getByRole('checkbox', { name: 'Bruno Vasconcelos' }).check();
    await page.getByRole('checkbox', { name: /Acme/ }).check();
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.locator('#gconv-h', { hasText: 'Turno de noche' }).waitFor({ timeout: 30_000 });
    groupHex = await openChatId(page);
    expect(groupHex).toMatch(/^[0-9a-f]{64}$/);
    await go('#/');
  }, 300_000);

  afterAll(async () => {
    for (const p of [bruno, mallory]) { await p?.close().catch(() => undefined); p?.store.close(); }
    await context?.close();
    await ws?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('no URL in the address bar or session history holds an account or group id; Back works; a stale token lands on the chat list', async () => {
    const seen: string[] = [];
    const look = async () => { seen.push(await page.evaluate(() => location.href)); };
    const open = async (idHex: string, header: string, name: RegExp | string) => {
      await go('#/');
      await row(idHex).locator('a').click();
      await page.locator(header, { hasText: name }).waitFor({ timeout: 10_000 });
      await look();
    };
    await open(brunoHex, '#conv-h', 'Bruno');
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('#ci-h').waitFor({ timeout: 10_000 });
    await look();
    await page.getByRole('button', { name: 'Back' }).first().click();
    await page.locator('#conv-h', { hasText: 'Bruno' }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Chat settings' }).click();
    await page.locator('#chat-settings-h').waitFor({ timeout: 10_000 });
    await look();
    await open(malloryHex, '#conv-h', /Acme/);
    await open(groupHex, '#gconv-h', 'Turno de noche');
    await page.getByRole('button', { name: 'Group info' }).first().click();
    await page.locator('[data-group-name]').waitFor({ timeout: 10_000 });
    await look();
    await page.getByRole('button', { name: 'Back' }).first().click();
    await page.locator('#gconv-h').waitFor({ timeout: 10_000 });
    // From the group, through the chat list, to Bruno's chat (a link in the list: a new history entry each).
    await open(brunoHex, '#conv-h', 'Bruno');

    // Every entry of this tab's session history, as the browser keeps it.
    const entries = await page.evaluate(() => (globalThis as unknown as { navigation: { entries(): { url: string }[] } }).navigation.entries().map((e) => e.url));
    expect(entries.length).toBeGreaterThan(8);
    seen.push(...entries);
    // Back: from Bruno's chat to the chat list, then to the group conversation, resolved from its token.
    await page.evaluate(() => history.back());
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: 10_000 }).toBe('#/');
    await page.evaluate(() => history.back());
    await page.locator('#gconv-h', { hasText: 'Turno de noche' }).waitFor({ timeout: 10_000 });
    // And on to the app's first entry in this tab (before it: about:blank), reading each.
    const index = await page.evaluate(() => (globalThis as unknown as { navigation: { currentEntry: { index: number } } }).navigation.currentEntry.index);
    expect(index).toBeGreaterThan(5);
    for (let i = 0; i < index; i++) {
      const before = await page.evaluate(() => location.href);
      await page.evaluate(() => history.back());
      await expect.poll(() => page.evaluate(() => location.href), { timeout: 5_000 }).not.toBe(before);
      seen.push(await page.evaluate(() => location.href));
    }
    expect(await page.evaluate(() => location.origin)).toBe(ws.origin);
    const tokens = new Set(seen.map((u) => /#\/(?:chat|contact|group)\/([^/]+)/.exec(u)?.[1]).filter(Boolean));
    expect(tokens.size).toBeGreaterThanOrEqual(3); // Bruno, Mallory, the group: one token each
    for (const id of [anaHex, brunoHex, malloryHex, groupHex]) {
      for (const s of spellings(id)) {
        expect(seen.filter((u) => u.includes(s)), `${s.slice(0, 12)}… in a URL`).toEqual([]);
        // Nor a prefix long enough to find the id by (the app's short form #1a2b3c4d is 8 digits).
        expect(seen.filter((u) => u.toLowerCase().includes(id.slice(0, 8))), 'an id prefix in a URL').toEqual([]);
      }
    }

    // A token this page never drew (from a bookmark or another page load): the chat list, the URL cleaned.
    await go(`#/chat/tAAAAAAAAAAAA`);
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: 10_000 }).toBe('#/');
    await page.locator('#chats-h').waitFor();
    // A reload forgets every token: Bruno's chat link of the last page load opens the unlock screen, then the list.
    await go('#/');
    await row(brunoHex).locator('a').click();
    await page.locator('#conv-h', { hasText: 'Bruno' }).waitFor({ timeout: 10_000 });
    const stale = await page.evaluate(() => location.hash);
    await page.reload();
    await page.locator('#pass').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => location.hash)).toBe(stale);
    await page.locator('#pass').fill('correct horse battery staple ana');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.locator('#chats-h').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: 10_000 }).toBe('#/');
    expect(await page.locator('#conv-h').count()).toBe(0);
    // The new page load draws a new token for Bruno.
    await row(brunoHex).locator('a').click();
    await page.locator('#conv-h', { hasText: 'Bruno' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => location.hash)).not.toBe(stale);
    expect(problems).toEqual([]);
  }, 180_000);

  it('the chat list shows a lock where confidential mode is on and a clock where messages disappear', async () => {
    await bruno.setConfidential(fromHex(anaHex), true);
    await mallory.setDisappearingTimer(fromHex(anaHex), 86_400_000);
    await go('#/');
    const lock = row(brunoHex).locator('[data-mark="confidential"]');
    await lock.waitFor({ timeout: 30_000 });
    expect(await lock.getAttribute('aria-label')).toBe('Confidential mode on');
    expect(await lock.getAttribute('role')).toBe('img');
    const clock = row(malloryHex).locator('[data-mark="disappearing"]');
    await clock.waitFor({ timeout: 30_000 });
    expect(await clock.getAttribute('aria-label')).toBe('Disappearing messages: 1 day');
    expect(await row(brunoHex).locator('[data-mark="disappearing"]').count()).toBe(0);
    expect(await row(malloryHex).locator('[data-mark="confidential"]').count()).toBe(0);
    expect(await row(groupHex).locator('[data-mark]').count()).toBe(0);
    await shot('chat-list-marks');
    // Off again: the marks go.
    await bruno.setConfidential(fromHex(anaHex), false);
    await expect.poll(() => row(brunoHex).locator('[data-mark="confidential"]').count(), { timeout: 30_000 }).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);

  it('a display name with a check mark and the badge\'s words shows as a plain, marked name; only the certified contact has the badge', async () => {
    await go('#/');
    // The chat list: Mallory's name without the check mark, with "~" (once) and, as she is not in Ana's contacts, the
    // "Not a contact" tag (strangers.test.ts); no badge.
    const name = row(malloryHex).locator('.chat-name');
    await expect.poll(() => name.textContent(), { timeout: 30_000 }).toBe('~Ana Certified by Acme Logistics');
    expect(await row(malloryHex).locator('[data-name-flag="stranger"]').getAttribute('title')).toBe('Name chosen by them; not in your contacts');
    expect(await row(malloryHex).locator('[data-name-flag]').count()).toBe(1);
    expect(await row(brunoHex).locator('[data-name-flag]').count()).toBe(0);
    expect(await page.locator('.chat-list').textContent()).not.toMatch(/[✓✔✅☑]/u);
    await shot('names-chat-list');

    // Bruno's chat: the badge, a drawn pill with its words as one image's name.
    await row(brunoHex).locator('a').click();
    const badge = page.locator('.bar .cert-badge[data-cert="certified"]');
    await badge.waitFor({ timeout: 15_000 });
    expect(await badge.getAttribute('role')).toBe('img');
    expect(await badge.getAttribute('aria-label')).toBe('Certified by Acme Logistics');
    expect(await badge.locator('svg').count()).toBe(1);
    await shot('names-certified-chat');

    // Mallory's chat: her name as plain text and the tag; no badge, no check mark anywhere in the header.
    await go('#/');
    await row(malloryHex).locator('a').click();
    const header = page.locator('.bar', { has: page.locator('#conv-h') });
    await page.locator('#conv-h', { hasText: '~Ana Certified by Acme Logistics' }).waitFor({ timeout: 10_000 });
    expect(await header.locator('.cert-badge').count()).toBe(0);
    expect(await header.locator('[data-name-flag]').count()).toBe(1);
    expect(await header.textContent()).not.toMatch(/[✓✔✅☑]/u);
    // What a screen reader hears for the header: the name, then "Name chosen by them; not in your contacts"; never the badge's image.
    expect(await header.getByRole('img', { name: 'Certified by Acme Logistics' }).count()).toBe(0);
    await shot('names-hostile-chat');

    // Her contact screen and the group's member list say the same.
    await page.getByRole('button', { name: 'Contact info' }).first().click();
    await page.locator('.ci-name', { hasText: '~Ana Certified by Acme Logistics' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('.ci-who [data-name-flag]').count()).toBe(1);
    expect(await page.locator('.ci-who .cert-badge').count()).toBe(0);
    await shot('names-hostile-contact');
    await go('#/');
    await row(groupHex).locator('a').click();
    await expect.poll(() => page.locator('.members-line').textContent(), { timeout: 10_000 }).toContain('~Ana Certified by Acme Logistics');
    expect(a11y).toEqual({});
    expect(problems).toEqual([]);
  }, 120_000);

  it('Add contact blames a name with spaces on the name, not on the card, and a mistyped card on the card', async () => {
    const own = (await contactCard(page)).trim();
    await go('#/add-contact');
    await page.locator('#card').fill(own);
    await page.locator('#contact-name').fill('Ana ✓ Certified by Acme');
    expect(await page.locator('#contact-name-hint').textContent()).toContain('no spaces');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('section[aria-labelledby=add-h] form [role=alert]');
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain('This name cannot be used for a contact');
    expect(await alert.textContent()).not.toContain('card');
    await shot('names-add-contact-bad-name');
    const flipped = own.slice(0, 20) + (own[20] === 'a' ? 'b' : 'a') + own.slice(21);
    await page.locator('#card').fill(flipped);
    await page.locator('#contact-name').fill('ana.q');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain('This contact card has a typo');
    expect(page.url()).toContain('#/add-contact');
    await go('#/');
    expect(a11y).toEqual({});
    expect(problems).toEqual([]);
  }, 120_000);

  it('the certification asked for at sign-up reached the administrator, and Settings shows it waiting', async () => {
    await go('#/settings');
    const pending = page.locator('[data-own-cert] [data-cert-request]');
    await pending.waitFor({ timeout: 30_000 });
    expect(await pending.textContent()).toContain('to be certified as “Ana Quintero”');
    const id = Number(await pending.getAttribute('data-cert-request'));
    const fp = (await page.locator('#own-fingerprint').textContent())!.trim();
    const requests = JSON.parse(ok(await admin(['requests', '--json']), 'admin ca requests').out) as unknown[];
    expect(requests).toEqual([expect.objectContaining({ requestId: id, name: 'Ana Quintero', fingerprint: fp, signatureValid: true })]);
    expect(problems).toEqual([]);
  }, 120_000);
});
