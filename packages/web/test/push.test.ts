/**
 * Push that carries nothing, in the web app (issue 14 point 4; spec/web.md §5, server.md §8.2), in real Chromium
 * against the real server over TLS:
 * - Settings › Notifications › "Notify me when Sigilo is closed" subscribes with the server's VAPID key and the
 *   server stores the subscription for this device (admin export-account); with the app closed, a message makes the
 *   server send a real Web Push to a local HTTPS push service, decrypted here (RFC 8291, an independent
 *   implementation shared with the server's push.test.ts): the fixed 26-byte wake-up in a 129-byte body, with no
 *   account id, name or text in the URL, headers or body; the service worker shows only "You may have new
 *   messages"; a subscription the browser replaced is registered again at unlock; "Only while Sigilo is open"
 *   unsubscribes and the server forgets it.
 * - The browser's own push service: this machine's network is closed, so Chromium's real `pushManager.subscribe`
 *   cannot reach Google's push service. The first person therefore gets a stand-in for that one call (and
 *   getSubscription / unsubscribe) answering with an endpoint on the local push service and keys made here; only
 *   the browser's push service is stood in for, everything else (page, Worker, server, Web Push, service worker) is
 *   real. The second person uses Chromium's real subscribe: where it fails (closed network) the app says so and
 *   stays "only while open"; where it works the server holds the real endpoint.
 * - A server with push off: the settings say messages arrive only while Sigilo is open, and push cannot be chosen.
 * Screenshots at 360×740 go to SIGILO_SHOTS (default packages/web/test-artifacts).
 */
import { createHash, type ECDH } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { PUSH_WAKE_UP } from '@sigilo/client';
import { decryptWebPush, newSubscriber, startPushService } from '../../server/test/support/push-service.js';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, ARTIFACTS, axeViolations, contactCard, PHONE, registerInUi, sendInUi } from './support/app.js';

const missing = browserMissing();
const SHOTS = process.env.SIGILO_SHOTS ?? ARTIFACTS;

interface Person { context: BrowserContext; page: Page; name: string; passphrase: string; accountId: string }
type Export = { tables: Record<string, Record<string, unknown>[]> };
const STAND_IN = '__sigiloPushStandIn';

/** The stand-in for the browser's push service (see the header): subscribe answers with `sub`'s endpoint and keys. */
async function standInPushService(context: BrowserContext, sub: { endpoint: string; p256dh: string; auth: string }): Promise<void> {
  await context.addInitScript(([s, KEY]) => {
    if (typeof PushManager === 'undefined') return; // about:blank is no secure context
    const w = window as unknown as { __pushCalls: unknown[] };
    w.__pushCalls = [];
    const fromB64u = (t: string): ArrayBuffer => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
    const toB64u = (b: BufferSource): string => btoa(String.fromCharCode(...new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const held = (): { endpoint: string; key: string } | null => JSON.parse(localStorage.getItem(KEY) ?? 'null');
    const make = (h: { endpoint: string; key: string }) => ({
      endpoint: h.endpoint, expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: fromB64u(h.key) },
      getKey: (n: string) => fromB64u(n === 'p256dh' ? s.p256dh : s.auth),
      unsubscribe: async () => { localStorage.removeItem(KEY); w.__pushCalls.push({ unsubscribe: h.endpoint }); return true; },
    });
    PushManager.prototype.subscribe = async function (o?: PushSubscriptionOptionsInit) {
      const key = toB64u(o!.applicationServerKey as BufferSource);
      w.__pushCalls.push({ subscribe: { userVisibleOnly: o?.userVisibleOnly, key } });
      const h = { endpoint: s.endpoint, key };
      localStorage.setItem(KEY, JSON.stringify(h));
      return make(h) as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async function () {
      const h = held();
      return (h ? make(h) : null) as unknown as PushSubscription | null;
    };
  }, [sub, STAND_IN] as const);
}

describe.skipIf(missing !== undefined)('web push in Chromium: subscribe from settings, content-free wake-ups, no-push fallback', () => {
  let web: WebServer;
  let svc: Awaited<ReturnType<typeof startPushService>>;
  let ana: Person, bob: Person;
  let anaSub: { ecdh: ECDH; auth: Buffer; endpoint: string };

  const person = async (w: WebServer, name: string, passphrase: string, standIn?: typeof anaSub): Promise<Person> => {
    const context = await w.tb.browser.newContext({ locale: 'en-GB', viewport: PHONE });
    await context.grantPermissions(['notifications'], { origin: w.origin });
    if (standIn) await standInPushService(context, { endpoint: standIn.endpoint, p256dh: standIn.ecdh.getPublicKey().toString('base64url'), auth: standIn.auth.toString('base64url') });
    const page = await context.newPage();
    const before = new Set((await w.server.admin.listAccounts()).map((a) => a.accountId));
    await registerInUi(page, w.origin, await w.invite(), name, passphrase);
    const accountId = (await w.server.admin.listAccounts()).map((a) => a.accountId).find((a) => !before.has(a))!;
    return { context, page, name, passphrase, accountId };
  };
  const shot = async (p: Person, name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await p.page.locator('#push-settings').scrollIntoViewIfNeeded();
    await p.page.waitForTimeout(200);
    await p.page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };
  const settings = async (p: Person) => {
    await p.page.evaluate(() => { location.hash = '#/settings'; });
    await p.page.locator('#push-settings').waitFor({ timeout: 10_000 });
  };
  const subscriptions = async (w: WebServer, p: Person) => ((await w.server.admin.exportAccount(p.accountId)) as Export).tables.push_subscriptions ?? [];
  const connected = async (w: WebServer, p: Person) => (await w.server.admin.listAccounts()).find((a) => a.accountId === p.accountId)!.devices.some((d) => d.connected);
  const status = (p: Person) => p.page.locator('#push-status').textContent();

  beforeAll(async () => {
    svc = await startPushService();
    web = await startWebServer('sigilo-web-push-', [], { overrides: { 'push.ca': svc.caFile, 'push.allowedHosts': '127.0.0.1' } });
    anaSub = newSubscriber(svc.origin);
    ana = await person(web, 'Ana Quintero', 'correct horse battery staple ana', anaSub);
    bob = await person(web, 'Bruno Vasconcelos', 'tulip granite orbit lantern bruno');
    await addContactInUi(bob.page, 'Ana', await contactCard(ana.page));
  }, 240_000);

  afterAll(async () => {
    await web?.close();
    svc?.server.close();
  });

  it('push chosen in settings: subscribed with the server\'s key, stored for the device, a wake-up that carries nothing, the worker\'s fixed notice', async () => {
    await settings(ana);
    expect(await ana.page.locator('#push-off').isChecked()).toBe(true);
    expect(await status(ana)).toBe('');
    await ana.page.getByLabel('Notify me when Sigilo is closed').click();
    await expect.poll(() => status(ana), { timeout: 20_000 }).toBe('On: this browser wakes Sigilo when messages wait.');
    await shot(ana, 'settings-push-on');
    expect(await axeViolations(ana.page)).toEqual([]);
    // The page keeps the choice and a hash of the endpoint, never the endpoint (localStorage is not encrypted).
    const kept = await ana.page.evaluate((standIn) => Object.fromEntries(Object.keys(localStorage).filter((k) => k !== standIn && k.startsWith('sigilo.push')).map((k) => [k, localStorage.getItem(k)])), STAND_IN);
    expect(kept).toEqual({ 'sigilo.push': 'push', 'sigilo.push.endpoint': createHash('sha256').update(anaSub.endpoint).digest('hex') });
    const info = await ana.page.evaluate(() => fetch('/v1/server-info').then((r) => r.json())) as { push: { mode: string; vapidPublicKey: string } };
    expect(info.push.mode).toBe('webpush');
    const calls = await ana.page.evaluate(() => (window as unknown as { __pushCalls: unknown[] }).__pushCalls);
    expect(calls).toEqual([{ subscribe: { userVisibleOnly: true, key: info.push.vapidPublicKey } }]);
    // The server holds this device's subscription: the endpoint and the keys the browser gave.
    const [row, ...more] = await subscriptions(web, ana);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ device_id: 1, endpoint: anaSub.endpoint, p256dh: { base64: anaSub.ecdh.getPublicKey().toString('base64') }, auth: { base64: anaSub.auth.toString('base64') } });

    // The app closed: a probe page keeps the context (and its service worker) alive.
    const probe = await ana.context.newPage();
    await probe.goto('about:blank');
    await ana.page.close();
    await expect.poll(() => connected(web, ana), { timeout: 20_000 }).toBe(false);
    const text = 'CANARY-push-text Bruno writes to Ana';
    await sendInUi(bob.page, text);
    await expect.poll(() => svc.requests.length, { timeout: 20_000 }).toBe(1);
    const q = svc.requests[0]!;
    expect(`${svc.origin}${q.url}`).toBe(anaSub.endpoint);
    expect(q.body.length).toBe(129);
    const wake = decryptWebPush(q.body, anaSub);
    expect(wake.toString()).toBe(PUSH_WAKE_UP);
    // Another message within 30 s of the wake-up: no second request now (at most one per device per 30 s).
    await sendInUi(bob.page, `${text} again, longer this time ${'x'.repeat(400)}`);
    await probe.waitForTimeout(3000);
    expect(svc.requests.length).toBe(1);
    // No identifier anywhere in what the push service receives.
    const ids = await Promise.all([ana, bob].map(async (p) => ((await web.server.admin.exportAccount(p.accountId)) as Export).tables.accounts![0]!.account_id as { base64: string }));
    const forbidden = [text, 'Ana', 'Bruno', ana.accountId, bob.accountId, ...ids.flatMap((i) => {
      const b = Buffer.from(i.base64, 'base64');
      return [b.toString('hex'), b.toString('base64'), b.toString('base64url')];
    })];
    const seen = JSON.stringify({ url: q.url, headers: q.headers }) + q.body.toString('latin1') + wake.toString();
    for (const f of forbidden) expect(seen.includes(f), f).toBe(false);

    // What the service worker does with it: the fixed notice, nothing else (the app is closed).
    const cdp = await ana.context.newCDPSession(probe);
    const registrations = new Set<string>();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) if (!r.isDeleted && r.scopeURL.startsWith(web.origin)) registrations.add(r.registrationId); });
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => registrations.size, { timeout: 20_000 }).toBeGreaterThan(0);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: web.origin, registrationId: [...registrations][0]!, data: wake.toString() });
    const sw = ana.context.serviceWorkers().find((w) => w.url().startsWith(web.origin))!;
    const shown = () => sw.evaluate(async () => (await (self as unknown as ServiceWorkerGlobalScope).registration.getNotifications()).map((n) => ({ title: n.title, body: n.body })));
    await expect.poll(() => shown().then((n) => n.length), { timeout: 20_000 }).toBe(1);
    expect(await shown()).toEqual([{ title: 'Sigilo', body: 'You may have new messages' }]);
    await cdp.detach();
    ana.page = probe;
  }, 180_000);

  it('a subscription the browser replaced is registered at unlock; wake-ups go to the new endpoint', async () => {
    const rotated = `${svc.origin}/push/rotated-${createHash('sha256').update(anaSub.endpoint).digest('hex').slice(0, 16)}`;
    await ana.page.goto(web.origin);
    await ana.page.locator('#pass').waitFor({ timeout: 30_000 });
    // The browser's push service gave a new endpoint while the app was closed.
    await ana.page.evaluate(([KEY, endpoint]) => {
      const h = JSON.parse(localStorage.getItem(KEY)!) as { endpoint: string; key: string };
      localStorage.setItem(KEY, JSON.stringify({ ...h, endpoint }));
    }, [STAND_IN, rotated] as const);
    await ana.page.locator('#pass').fill(ana.passphrase);
    await ana.page.getByRole('button', { name: 'Unlock' }).click();
    await ana.page.locator('#chats-h').waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await subscriptions(web, ana)).map((r) => r.endpoint), { timeout: 20_000 }).toEqual([rotated]);
    // Counted from here: the wake-up the previous test's second text left coalesced is sent 30 s after the first one if
    // Ana is still offline then, to the endpoint the server held at that time (the old one when a loaded machine took
    // that long to get here). Every wake-up from now on must go to the new endpoint.
    const before = svc.requests.length;
    // Closed again: the next wake-up (due when the 30 s since the first have passed) goes to the new endpoint.
    const probe = await ana.context.newPage();
    await ana.page.close();
    ana.page = probe;
    await expect.poll(() => connected(web, ana), { timeout: 20_000 }).toBe(false);
    await sendInUi(bob.page, 'after the rotation');
    await expect.poll(() => svc.requests.length, { timeout: 45_000 }).toBeGreaterThan(before);
    const after = svc.requests.slice(before);
    expect(after.map((r) => `${svc.origin}${r.url}`)).toEqual([rotated]);
    expect(decryptWebPush(after[0]!.body, anaSub).toString()).toBe(PUSH_WAKE_UP);
  }, 180_000);

  it('a subscription replaced while the app is open is registered at once; "Only while Sigilo is open" unsubscribes in the browser and the server forgets it', async () => {
    await ana.page.goto(web.origin);
    await ana.page.locator('#pass').fill(ana.passphrase);
    await ana.page.getByRole('button', { name: 'Unlock' }).click();
    await ana.page.locator('#chats-h').waitFor({ timeout: 30_000 });
    // While the app is open, the browser replaces the subscription: the service worker's pushsubscriptionchange tells
    // the page, which registers the new endpoint at once. (Chromium does not fire the event itself: the test dispatches it.)
    const replaced = `${svc.origin}/push/replaced-while-open`;
    await ana.page.evaluate(([KEY, endpoint]) => {
      const h = JSON.parse(localStorage.getItem(KEY)!) as { endpoint: string; key: string };
      localStorage.setItem(KEY, JSON.stringify({ ...h, endpoint }));
    }, [STAND_IN, replaced] as const);
    const sw = ana.context.serviceWorkers().find((w) => w.url().startsWith(web.origin))!;
    await sw.evaluate(() => { self.dispatchEvent(new ExtendableEvent('pushsubscriptionchange')); });
    await expect.poll(async () => (await subscriptions(web, ana)).map((r) => r.endpoint), { timeout: 20_000 }).toEqual([replaced]);

    await settings(ana);
    expect(await ana.page.locator('#push-on').isChecked()).toBe(true);
    await ana.page.getByLabel('Only while Sigilo is open (no push service)').click();
    await expect.poll(async () => (await subscriptions(web, ana)).length, { timeout: 20_000 }).toBe(0);
    // The server forgets the endpoint before the page has finished (unsubscribe in the browser, then re-render).
    await expect.poll(() => status(ana), { timeout: 20_000 }).toBe('');
    expect(await ana.page.evaluate((KEY) => localStorage.getItem(KEY), STAND_IN)).toBeNull();
    expect(await ana.page.locator('#push-off-hint').textContent()).toMatch(/Messages arrive only while Sigilo is open in a tab/);
    await shot(ana, 'settings-push-off');
    // Nothing is sent for a device without a subscription.
    const before = svc.requests.length;
    await ana.page.close();
    await expect.poll(() => connected(web, ana), { timeout: 20_000 }).toBe(false);
    await sendInUi(bob.page, 'nobody wakes you now');
    await bob.page.waitForTimeout(35_000);
    expect(svc.requests.length).toBe(before);
  }, 180_000);

  it('Chromium\'s own push service: unreachable here, the app says so and stays "only while open"; reachable, the server holds its endpoint', async () => {
    await settings(bob);
    await bob.page.getByLabel('Notify me when Sigilo is closed').click();
    await expect.poll(() => status(bob), { timeout: 60_000 }).not.toBe('Setting up…');
    const rows = await subscriptions(web, bob);
    if (await bob.page.locator('#push-on').isChecked()) {
      // A network that reaches the browser's push service (not this machine's): a real endpoint, stored.
      expect(rows.map((r) => String(r.endpoint).startsWith('https://'))).toEqual([true]);
    } else {
      expect(await status(bob)).toBe('The browser could not reach its push service (a closed network can block it). Messages arrive only while Sigilo is open.');
      expect(await bob.page.locator('#push-off').isChecked()).toBe(true);
      expect(rows).toEqual([]);
      await shot(bob, 'settings-push-unreachable');
    }
  }, 120_000);
});

describe.skipIf(missing !== undefined)('web push in Chromium: a server with push off', () => {
  let web: WebServer;
  afterAll(async () => { await web?.close(); });

  it('says that messages arrive only while Sigilo is open, and push cannot be chosen', async () => {
    web = await startWebServer('sigilo-web-nopush-', [], { overrides: { 'push.mode': 'off' } });
    const context = await web.tb.browser.newContext({ locale: 'en-GB', viewport: PHONE });
    await context.grantPermissions(['notifications'], { origin: web.origin });
    const page = await context.newPage();
    await registerInUi(page, web.origin, await web.invite(), 'Dora Lima', 'quartz meadow ember violin dora');
    await page.evaluate(() => { location.hash = '#/settings'; });
    await expect.poll(() => page.locator('#push-status').textContent(), { timeout: 20_000 })
      .toBe('This server sends no push notifications (it may have no way out to a push service). Messages arrive only while Sigilo is open.');
    expect(await page.locator('#push-off').isChecked()).toBe(true);
    expect(await page.locator('#push-on').isDisabled()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('#push-settings').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'settings-push-server-off.png') });
  }, 240_000);
});
