/**
 * Attack (client.md §15, drafts): Chromium keeps the state of a page's form fields (a textarea's text included) in the
 * profile's session files on disk (Sessions/Session_*, Tabs_*), in plain text, at every navigation, also a
 * same-document one such as the app's hash routes. The message box therefore wrote the draft being typed, a
 * confidential chat's included, to disk outside the encrypted store, and so the passphrase when "Show passphrase" made
 * its field a text field. Real server over TLS, real Chromium with a
 * persistent profile trusting the organisation's CA through NSS.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, CHROMIUM } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, contactCard, registerInUi } from './support/app.js';
import { parseContactCard } from '@sigilo/client-node';

const missing = browserMissing();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    try { return statSync(p).isDirectory() ? filesUnder(p) : [p]; } catch { return []; }
  });
}

describe.skipIf(missing !== undefined)('attack: a draft in the browser profile\'s session files', () => {
  let web: WebServer;
  const home = mkdtempSync(join(tmpdir(), 'sigilo-web-attack-draft-'));
  beforeAll(async () => { web = await startWebServer('sigilo-web-attack-draft-srv-'); }, 240_000);
  afterAll(async () => {
    await web?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('neither the message box\'s text, nor a shown passphrase, nor a contact\'s id reaches the profile on disk', async () => {
    // Bruno, in the test's ordinary browser, gives his card; the CA is read from the server's /ca.crt.
    const other = await web.tb.browser.newContext({ locale: 'en-GB' });
    const bruno = await other.newPage();
    await registerInUi(bruno, web.origin, await web.invite(), 'Bruno', 'tulip granite orbit lantern bruno');
    const card = await contactCard(bruno);
    const ca = Buffer.from(await bruno.evaluate(async () => {
      const b = new Uint8Array(await (await fetch('/ca.crt')).arrayBuffer());
      let s = '';
      for (const x of b) s += String.fromCharCode(x);
      return btoa(s);
    }), 'base64');
    await other.close();
    const nss = join(home, '.pki', 'nssdb');
    mkdirSync(nss, { recursive: true });
    execFileSync('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password']);
    writeFileSync(join(home, 'ca.pem'), ca);
    execFileSync('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,', '-n', 'sigilo-test-ca', '-i', join(home, 'ca.pem')]);
    const profile = join(home, 'profile');
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, locale: 'en-GB',
      args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      env: { ...process.env, HOME: home },
    });
    try {
      const ana = ctx.pages()[0] ?? await ctx.newPage();
      // Registered with the passphrase shown as text ("Show passphrase").
      const passphrase = `pass-${Math.random().toString(36).slice(2)}-staple`;
      const invite = await web.invite();
      await ana.goto(`${web.origin}/#invite=${encodeURIComponent(invite)}`);
      await ana.locator('#invite').waitFor({ timeout: 30_000 });
      await ana.locator('#name').fill('Ana');
      await ana.locator('#new-pass').fill(passphrase);
      await ana.locator('#new-pass2').fill(passphrase);
      await ana.locator('.passphrase input[type="checkbox"]').check();
      expect(await ana.locator('#new-pass').getAttribute('type')).toBe('text');
      await ana.getByRole('button', { name: /Create my account/ }).click();
      await ana.locator('#chats-h').waitFor({ timeout: 90_000 });
      await addContactInUi(ana, 'Bruno', card);
      // Routes name no one (web.md §4.1): visit Bruno's chat, his contact screen and the chat's settings by the app's own links.
      await ana.getByRole('button', { name: 'Contact info' }).first().click();
      await ana.locator('#ci-h').waitFor({ timeout: 10_000 });
      await ana.evaluate(() => history.back());
      await ana.getByRole('button', { name: 'Chat settings' }).click();
      await ana.locator('#chat-settings-h').waitFor({ timeout: 10_000 });
      await ana.evaluate(() => history.back());
      await ana.locator('#conv-h').waitFor({ timeout: 10_000 });
      const draft = `draft-${Math.random().toString(36).slice(2)}-secreto`;
      await ana.getByRole('textbox', { name: 'Message' }).fill(draft);
      await ana.evaluate(() => { location.hash = '#/'; });
      await ana.locator('#chats-h').waitFor({ timeout: 10_000 });
      await ana.waitForTimeout(2000);
      await ctx.close();
      const found = filesUnder(profile).filter((f) => {
        const b = readFileSync(f);
        return [draft, passphrase].some((x) => b.includes(Buffer.from(x)) || b.includes(Buffer.from(x, 'utf16le')));
      }).map((f) => f.slice(profile.length));
      expect(found).toEqual([]);
      // Nor Bruno's account id, in any spelling, in any file of the profile (session files, history, …).
      const id = Buffer.from(parseContactCard(card.trim()).accountId);
      const spellings = [...new Set([id.toString('hex'), id.toString('hex').toUpperCase(), id.toString('base64'), id.toString('base64').replace(/=+$/, ''), id.toString('base64url')])];
      const withId = filesUnder(profile).filter((f) => {
        const b = readFileSync(f);
        return b.includes(id) || spellings.some((x) => b.includes(Buffer.from(x)) || b.includes(Buffer.from(x, 'utf16le')));
      }).map((f) => f.slice(profile.length));
      expect(withId).toEqual([]);
    } finally {
      await ctx.close().catch(() => undefined);
    }
  }, 240_000);
});
