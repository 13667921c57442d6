/**
 * Helpers for the web app's end-to-end tests: drive the real app in Chromium (register, add a contact,
 * open a chat), dump what a browser context keeps (IndexedDB, Cache Storage, localStorage), run axe-core,
 * and save screenshots at phone and desktop size under packages/web/test-artifacts/ (gitignored).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');
export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/** Registers a person through the UI, from an invite link; resolves once the chat list shows. */
export async function registerInUi(page: Page, origin: string, invite: string, name: string, passphrase: string, options: { requestCertification?: boolean } = {}): Promise<void> {
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(`${origin}/#invite=${encodeURIComponent(invite)}`);
  await page.locator('#invite').waitFor({ timeout: 30_000 });
  if ((await page.locator('#invite').inputValue()) !== invite) throw new Error('the invite link did not fill in the code');
  await page.locator('#name').fill(name);
  await page.locator('#new-pass').fill(passphrase);
  await page.locator('#new-pass2').fill(passphrase);
  if (options.requestCertification) await page.locator('#cert-at-signup').check();
  await page.getByRole('button', { name: /Create my account/ }).click();
  await page.locator('#chats-h, #register-error').first().waitFor({ timeout: 90_000 });
  const error = await page.locator('#register-error').count() ? await page.locator('#register-error').textContent() : null;
  if (error) throw new Error(`registration failed: ${error} ${logs.join(' | ')}`);
}

/** The person's contact card, read from the "My contact card" screen. */
export async function contactCard(page: Page): Promise<string> {
  await page.evaluate(() => { location.hash = '#/me'; });
  const card = (await page.locator('#my-card').textContent({ timeout: 10_000 }))!;
  await page.evaluate(() => { location.hash = '#/'; });
  return card;
}

/** Adds a contact by pasting their card; ends in the new chat. */
export async function addContactInUi(page: Page, name: string, card: string): Promise<void> {
  await page.evaluate(() => { location.hash = '#/add-contact'; });
  await page.locator('#card').fill(card);
  await page.locator('#contact-name').fill(name);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#conv-h').waitFor({ timeout: 10_000 });
}

export async function openChat(page: Page, name: string): Promise<void> {
  await page.evaluate(() => { location.hash = '#/'; });
  await page.locator('.chat-row', { hasText: name }).first().locator('a').click();
  await page.locator('#conv-h', { hasText: name }).waitFor({ timeout: 10_000 });
}

/**
 * The hash of a chat's, contact's or group's screen on this page (`#/chat/<token>`, …). Routes carry a
 * random per-page token, never the id (web.md §4.1): the token is read from the chat list's row for `id` (hex).
 */
export async function routeHash(page: Page, id: string, screen: 'chat' | 'contact' | 'group' = 'chat', sub = ''): Promise<string> {
  const href = await page.locator(`.chat-row[data-chat="${id}"] a`).getAttribute('href', { timeout: 10_000 });
  const token = /^#\/chat\/([^/]+)$/.exec(href ?? '')?.[1];
  if (!token) throw new Error(`no chat row with a route token for ${id.slice(0, 8)}…: ${href}`);
  return `#/${screen}/${token}${sub ? `/${sub}` : ''}`;
}

/** The id (hex) of the chat open on this page: its chat-list row is the active one. */
export async function openChatId(page: Page): Promise<string> {
  return (await page.locator('.chat-row.active').getAttribute('data-chat', { timeout: 10_000 }))!;
}

export async function sendInUi(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await page.locator('.msg.out', { hasText: text }).first().waitFor({ timeout: 10_000 });
}

/** Everything this page's origin keeps in the browser, as bytes to search: IndexedDB records, Cache Storage bodies, localStorage. */
export async function dumpStorage(page: Page): Promise<{ bytes: Buffer; summary: { idbRecords: number; cacheEntries: number; localStorageKeys: number } }> {
  const b64 = await page.evaluate(async () => {
    const parts: Uint8Array[] = [];
    const enc = new TextEncoder();
    const add = (v: unknown): void => {
      if (v instanceof ArrayBuffer) parts.push(new Uint8Array(v));
      else if (ArrayBuffer.isView(v)) parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      else if (v instanceof Blob) return;
      else if (typeof v === 'string') parts.push(enc.encode(v));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { parts.push(enc.encode(k)); add(x); }
      else parts.push(enc.encode(String(v)));
    };
    let idbRecords = 0, cacheEntries = 0;
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((res, rej) => { const r = indexedDB.open(info.name!); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      for (const store of Array.from(db.objectStoreNames)) {
        const tx = db.transaction(store, 'readonly');
        const [keys, values] = await Promise.all([
          new Promise<unknown[]>((res) => { const r = tx.objectStore(store).getAllKeys(); r.onsuccess = () => res(r.result); }),
          new Promise<unknown[]>((res) => { const r = tx.objectStore(store).getAll(); r.onsuccess = () => res(r.result); }),
        ]);
        idbRecords += values.length;
        add(keys); add(values);
      }
      db.close();
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        cacheEntries++;
        add(req.url);
        const res = await cache.match(req);
        if (res) parts.push(new Uint8Array(await res.arrayBuffer()));
      }
    }
    for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i)!; add(k); add(localStorage.getItem(k)); }
    const total = parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    let s = '';
    for (let i = 0; i < all.length; i += 0x8000) s += String.fromCharCode(...all.subarray(i, i + 0x8000));
    return { b64: btoa(s), idbRecords, cacheEntries, localStorageKeys: localStorage.length };
  });
  return { bytes: Buffer.from(b64.b64, 'base64'), summary: { idbRecords: b64.idbRecords, cacheEntries: b64.cacheEntries, localStorageKeys: b64.localStorageKeys } };
}

/** Which of `secrets` appear in `bytes` (UTF-8, and UTF-16LE as some stores write strings). */
export function leaked(bytes: Buffer, secrets: readonly string[]): string[] {
  return secrets.filter((s) => bytes.includes(Buffer.from(s, 'utf8')) || bytes.includes(Buffer.from(s, 'utf16le')));
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (injected through the DevTools protocol, not a script tag: the CSP forbids inline scripts). */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, o: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Screenshots the page at phone and desktop size (`<name>-phone.png`, `<name>-desktop.png`), then restores the size. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const before = page.viewportSize();
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`) });
  }
  if (before) await page.setViewportSize(before);
}
