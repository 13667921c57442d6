/**
 * Code the server cannot swap (spec/web.md §2), in real Chromium against the real server over TLS
 * with the organisation's CA: first visit installs the worker; an asset changed on the server is
 * refused and named; a signed update is offered and applied only after confirmation; an update
 * signed by another key, or with a file that does not match, is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createOrganisationCa, startServer, silentLogger, type RunningServer } from '@sigilo/server';
import { generateReleaseKey, keyFingerprint, publicKeyRaw, verifyRelease, writeRelease } from '../scripts/release.mjs';
import { browserMissing, launchTrusting, type TestBrowser } from './support/chromium.js';

const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = browserMissing();

describe.skipIf(missing !== undefined)('web app integrity in Chromium', () => {
  let tmp: string;
  let web: string;
  let keyA: string;
  let keyB: string;
  let server: RunningServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const problems: string[] = [];
  let installed: { release: Buffer; js: Buffer } | undefined;
  const foreign: string[] = [];

  // The page's entry script, as index.html names it (other chunks load later, screen by screen).
  const jsAsset = (): string => /<script[^>]*\ssrc="(\/assets\/[^"]+\.js)"/.exec(readFileSync(join(web, 'index.html'), 'utf8'))![1]!;
  const appVersion = () => page.locator('#app-version').textContent();
  const marker = (name: string) => page.evaluate((n) => (globalThis as Record<string, unknown>)[n], name);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sigilo-web-integrity-'));
    keyA = join(tmp, 'keys', 'release-a.pem');
    keyB = join(tmp, 'keys', 'release-b.pem');
    generateReleaseKey(keyA);
    generateReleaseKey(keyB);
    web = join(tmp, 'web');
    execFileSync(process.execPath, [join(webRoot, 'scripts', 'build.mjs')], {
      env: { ...process.env, SIGILO_RELEASE_KEY: keyA, SIGILO_WEB_OUT: web, SIGILO_WEB_VERSION: '1.0.0' },
      stdio: 'pipe',
    });
    verifyRelease(web, publicKeyRaw(readFileSync(keyA, 'utf8')));
    const dataDir = join(tmp, 'data');
    const ca = await createOrganisationCa(dataDir, { organisation: 'Test', dns: ['localhost'], ips: ['127.0.0.1'] });
    server = await startServer({ overrides: { host: '127.0.0.1', port: 0, dataDir, webDir: web, adminSocket: false }, logger: silentLogger });
    origin = `https://localhost:${server.port}`;
    tb = await launchTrusting(ca.caCert);
    context = await tb.browser.newContext({ locale: 'en-GB' });
    page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
    context.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
  }, 120_000);

  afterAll(async () => {
    await tb?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('first visit: loads over the CA-issued certificate, installs the worker, shows the verified version and key fingerprint', async () => {
    const res = await page.goto(`${origin}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    await expect.poll(appVersion, { timeout: 30_000 }).toBe('1.0.0');
    expect(await page.locator('#key-fingerprint').textContent()).toBe(keyFingerprint(publicKeyRaw(readFileSync(keyA, 'utf8'))));
    expect(await page.locator('#start-h').textContent()).toMatch(/Welcome/);
    // The manifest and icons an installable PWA needs.
    const manifest = await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json());
    expect(manifest).toMatchObject({ name: 'Sigilo', short_name: 'Sigilo', display: 'standalone', start_url: '/' });
    for (const icon of manifest.icons as { src: string; type: string }[]) {
      expect(await page.evaluate(async (src) => { const r = await fetch(src); return `${r.status} ${r.headers.get('content-type')}`; }, icon.src)).toBe(`200 ${icon.type}`);
    }
    // The page links the app's icon; /favicon.ico, which browsers ask for on pages without such a link (the /ca page links
    // to it), is the same padlock as an ICO holding a PNG, not a 404.
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/icons/icon.svg');
    const fav = await page.evaluate(async () => {
      const r = await fetch('/favicon.ico');
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), head: Array.from(b.subarray(0, 8)), png: Array.from(b.subarray(22, 26)) };
    });
    expect(fav).toEqual({ status: 200, type: 'image/x-icon', head: [0, 0, 1, 0, 1, 0, 32, 32], png: [0x89, 0x50, 0x4e, 0x47] });
    expect(problems).toEqual([]);
    // Offline shell: with the network gone, a reload is answered by the worker from its verified copy.
    await context.setOffline(true);
    try {
      await page.reload();
      await expect.poll(appVersion, { timeout: 30_000 }).toBe('1.0.0');
    } finally {
      await context.setOffline(false);
    }
    problems.length = 0;
    await page.reload();
    await expect.poll(appVersion, { timeout: 30_000 }).toBe('1.0.0');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('an asset changed on the server is refused and the person sees a warning naming it', async () => {
    const path = jsAsset();
    const file = join(web, path);
    const original = readFileSync(file);
    writeFileSync(file, Buffer.concat([original, Buffer.from(';globalThis.__tampered=1;')]));
    try {
      await page.reload();
      const warning = page.locator('[data-problem="asset"]');
      await warning.waitFor({ timeout: 30_000 });
      const text = (await warning.textContent())!;
      expect(text).toContain(path);
      const release = JSON.parse(Buffer.from(JSON.parse(readFileSync(join(web, 'release.json'), 'utf8')).manifest, 'base64').toString());
      expect(text).toContain(release.files[path]);
      expect(await marker('__tampered')).toBeUndefined();
    } finally {
      writeFileSync(file, original);
    }
    await page.reload();
    await expect.poll(() => page.locator('[data-problem]').count(), { timeout: 30_000 }).toBe(0);
  });

  it('a properly signed update is shown as available and applied only after confirmation', async () => {
    const file = join(web, jsAsset());
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(';globalThis.__v2=1;')]));
    writeRelease(web, readFileSync(keyA, 'utf8'), { version: '1.1.0', buildTime: Date.now() });
    await page.reload();
    const banner = page.locator('[data-update="1.1.0"]');
    await banner.waitFor({ timeout: 30_000 });
    // Not applied yet: the old verified code still runs, even across a reload.
    expect(await marker('__v2')).toBeUndefined();
    await page.reload();
    await banner.waitFor({ timeout: 30_000 });
    expect(await appVersion()).toBe('1.0.0');
    expect(await marker('__v2')).toBeUndefined();
    await Promise.all([page.waitForEvent('load'), banner.getByRole('button', { name: 'Update now' }).click()]);
    await expect.poll(appVersion, { timeout: 30_000 }).toBe('1.1.0');
    expect(await marker('__v2')).toBe(1);
    expect(await page.locator('[data-problem]').count()).toBe(0);
    installed = { release: readFileSync(join(web, 'release.json')), js: readFileSync(file) };
  });

  it('an update signed by another key is refused with a warning, and the installed version keeps running', async () => {
    const file = join(web, jsAsset());
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(';globalThis.__v3=1;')]));
    writeRelease(web, readFileSync(keyB, 'utf8'), { version: '1.2.0', buildTime: Date.now() });
    await page.reload();
    await page.locator('[data-problem="update-signature"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-update]').count()).toBe(0);
    expect(await appVersion()).toBe('1.1.0');
    expect(await marker('__v3')).toBeUndefined();
    expect(await marker('__v2')).toBe(1);
  });

  it('a signed update whose file does not match its manifest is refused, naming the file', async () => {
    writeRelease(web, readFileSync(keyA, 'utf8'), { version: '1.3.0', buildTime: Date.now() });
    const path = jsAsset();
    writeFileSync(join(web, path), Buffer.concat([readFileSync(join(web, path)), Buffer.from(';globalThis.__v4=1;')]));
    await page.reload();
    const warning = page.locator('[data-problem="update-asset"]');
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toContain(path);
    expect(await warning.textContent()).toContain('1.3.0');
    expect(await appVersion()).toBe('1.1.0');
    expect(await marker('__v4')).toBeUndefined();
    expect(foreign).toEqual([]);
  });

  it('a worker script the signed release does not list is named (the browser installs it; the page warns)', async () => {
    // The server offers the installed release again, but a different worker script.
    writeFileSync(join(web, 'release.json'), installed!.release);
    writeFileSync(join(web, jsAsset()), installed!.js);
    const file = join(web, 'sw.js');
    const original = readFileSync(file);
    writeFileSync(file, Buffer.concat([original, Buffer.from('\n// changed by the server\n')]));
    try {
      await page.reload();
      const warning = page.locator('[data-problem="asset"]');
      await warning.waitFor({ timeout: 30_000 });
      expect(await warning.textContent()).toContain('/sw.js');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('/ca opens in the browser with the fingerprint; a browser without the CA refuses the server', async () => {
    const p2 = await context.newPage();
    const refused: string[] = [];
    p2.on('console', (m) => { if (/Content Security Policy/.test(m.text())) refused.push(m.text()); });
    const r = await p2.goto(`${origin}/ca`);
    expect(r?.status()).toBe(200);
    expect(await p2.locator('#fingerprint').textContent()).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(await p2.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.ico');
    // The page's own style applies (its hash is in the page's CSP), and the CSP refused nothing.
    expect(await p2.locator('#download').evaluate((a) => getComputedStyle(a).backgroundColor)).toBe('rgb(26, 115, 232)');
    expect(refused).toEqual([]);
    await p2.close();
    const other = await createOrganisationCa(join(tmp, 'other-ca'), { organisation: 'Other', dns: ['localhost'], ips: [] });
    const stranger = await launchTrusting(other.caCert);
    try {
      const p3 = await stranger.browser.newPage();
      await expect(p3.goto(`${origin}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await stranger.close();
    }
  });

  it('speaks Spanish or Portuguese when the browser does, English otherwise', async () => {
    for (const [locale, text] of [['es-AR', 'Bienvenido a Sigilo'], ['pt-BR', 'Bem-vindo ao Sigilo'], ['de-DE', 'Welcome to Sigilo']] as const) {
      const ctx = await tb.browser.newContext({ locale });
      try {
        const p = await ctx.newPage();
        await p.goto(`${origin}/`);
        expect(await p.locator('#start-h').textContent()).toBe(text);
        expect(await p.evaluate(() => document.documentElement.lang)).toBe(locale === 'de-DE' ? 'en' : locale.slice(0, 2));
        const version = await p.locator('.release-info summary').textContent();
        expect(version).toMatch(locale === 'es-AR' ? /^Versión de la app/ : locale === 'pt-BR' ? /^Versão do app/ : /^App version/);
      } finally {
        await ctx.close();
      }
    }
  });

  it('a rebuild that keeps the version number is offered as a new build of that version, not as "version 1.1.0"', async () => {
    const file = join(web, jsAsset());
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(';globalThis.__v4=1;')]));
    writeRelease(web, readFileSync(keyA, 'utf8'), { version: '1.1.0', buildTime: Date.now() });
    await page.reload();
    const banner = page.locator('[data-update="1.1.0"]');
    await banner.waitFor({ timeout: 30_000 });
    expect(await appVersion()).toBe('1.1.0');
    expect(await banner.textContent()).toMatch(/A new build of version 1\.1\.0 \(made .+\) is available/);
  }, 60_000);
});
