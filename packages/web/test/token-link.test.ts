/**
 * The browser and an identity key on a PKCS#11 token (spec/trust.md §7.1): a person whose identity signing
 * key is on a token (SoftHSM2, registered with the built `sigilo` command) cannot link the web app in real
 * Chromium as a device, since a browser reaches no PKCS#11 token. The page says why and what to use instead,
 * and the account keeps its one device.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { DESKTOP } from './support/app.js';
import { assertBuilt, cliPerson, type CliPerson } from '../../cli/test/support/sigilo.js';
import { hasSoftHsm, makeToken, type TestToken } from '../../server/test/support/softhsm.js';

const missing = browserMissing();
if (!hasSoftHsm) console.warn('token-link: SoftHSM2 (softhsm2-util and libsofthsm2.so) is not installed: skipped (SIGILO_REQUIRE_SOFTHSM=1 makes this an error)');

describe.skipIf(missing !== undefined || !hasSoftHsm)('linking the web app to an account whose identity key is on a token', () => {
  let ws: WebServer;
  let root: string;
  let token: TestToken;
  let context: BrowserContext;
  let page: Page;
  let ana: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    token = makeToken('ana-web-card', '112233');
    ws = await startWebServer('sigilo-web-token-');
    root = mkdtempSync(join(tmpdir(), 'sigilo-web-token-people-'));
    context = await ws.tb.browser.newContext({ locale: 'en-GB', viewport: DESKTOP });
    page = await context.newPage();
  }, 240_000);
  afterAll(async () => {
    await context?.close();
    await ws?.close();
    token?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the page refuses with a sentence naming the token and the command-line client; no device is added', async () => {
    ana = cliPerson(root, 'ana');
    Object.assign(ana.env, { SOFTHSM2_CONF: token.conf, SIGILO_PKCS11_PIN: token.pin });
    const url = ws.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    expect((await ana.run(['init', url, '--fingerprint', ws.server.tls.fingerprint])).code).toBe(0);
    const reg = await ana.run(['register', '--invite', await ws.invite(), '--pkcs11-module', token.module, '--token', token.label], { timeoutMs: 90_000 });
    expect(reg.code, reg.err).toBe(0);

    await page.goto(`${ws.origin}/`);
    await page.getByRole('button', { name: 'Link this browser to my account' }).click();
    await page.locator('#link-pass').fill('a browser passphrase of ana');
    await page.locator('#link-pass2').fill('a browser passphrase of ana');
    await page.getByRole('button', { name: 'Show the link code' }).click();
    const code = (await page.locator('#link-code').textContent({ timeout: 30_000 }))!.trim();
    const approved = await ana.run(['link', '--approve', code], { timeoutMs: 90_000 });
    expect(approved.code, approved.err).toBe(0);
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.textContent()).toMatch(/identity key is on a smartcard or security token \(PKCS#11\).*sigilo command-line client/);
    const devices = await ana.run(['devices', '--json'], { timeoutMs: 60_000 });
    expect(devices.code, devices.err).toBe(0);
    expect(JSON.parse(devices.out)).toHaveLength(1);
  }, 300_000);
});
