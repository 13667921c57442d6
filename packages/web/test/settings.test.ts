/**
 * Settings in real Chromium against the real server over TLS (issue 13 point 7): browser notifications while
 * the tab is hidden — without the message text unless "show message text" is on, and none for a muted chat;
 * muting for 8 hours / always and unmuting; deleting a chat's history; linked devices (link a second browser by
 * its code, see it listed, unlink it); the profile name; the language switch. axe-core on each screen and
 * screenshots at 360×740 and 1280×800 in test-artifacts/.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, ARTIFACTS, axeViolations, contactCard, DESKTOP, openChat, PHONE, registerInUi, routeHash, screenshots, sendInUi } from './support/app.js';
import { notes, recordNotifications, setHidden } from './support/notifications.js';

const missing = browserMissing();

interface Person { context: BrowserContext; page: Page; name: string; passphrase: string; problems: string[] }

describe.skipIf(missing !== undefined)('web settings in Chromium: notifications, mute, history, devices, profile, language', () => {
  let web: WebServer;
  const people: Person[] = [];
  const a11y: Record<string, unknown[]> = {};
  let ana: Person, bob: Person;

  const person = async (name: string, passphrase: string, size: { width: number; height: number }, notify = false): Promise<Person> => {
    const context = await web.tb.browser.newContext({ locale: 'en-GB', viewport: size });
    if (notify) await recordNotifications(context, web.origin);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    const p = { context, page, name, passphrase, problems };
    people.push(p);
    return p;
  };
  const check = async (p: Person, screen: string) => {
    await screenshots(p.page, screen);
    for (const size of [PHONE, DESKTOP]) {
      await p.page.setViewportSize(size);
      const v = await axeViolations(p.page);
      if (v.length) a11y[`${screen} ${size.width}`] = v;
    }
  };
  const go = (p: Person, hash: string) => p.page.evaluate((h) => { location.hash = h; }, hash);
  /** Waits until Ana's chat list shows `text` as Bruno's last message (so its event was handled). */
  const arrived = async (text: string) => {
    await go(ana, '#/');
    await ana.page.locator('.chat-row', { hasText: text }).waitFor({ timeout: 30_000 });
  };
  let bobChat = '';

  beforeAll(async () => {
    web = await startWebServer('sigilo-web-settings-');
    ana = await person('Ana Quintero', 'correct horse battery staple ana', DESKTOP, true);
    bob = await person('Bruno Vasconcelos', 'tulip granite orbit lantern bruno', PHONE);
    await registerInUi(ana.page, web.origin, await web.invite(), ana.name, ana.passphrase);
    await registerInUi(bob.page, web.origin, await web.invite(), bob.name, bob.passphrase);
    await addContactInUi(bob.page, 'Ana', await contactCard(ana.page));
    await sendInUi(bob.page, 'Hola Ana');
    await arrived('Hola Ana');
    bobChat = (await ana.page.locator('.chat-row', { hasText: 'Hola Ana' }).getAttribute('data-chat'))!;
  }, 240_000);

  afterAll(async () => { await web?.close(); });

  it('notifications: off until turned on; while hidden they name the sender but not the text, unless asked', async () => {
    await setHidden(ana.page, true);
    await sendInUi(bob.page, 'antes de activar 4410');
    await arrived('antes de activar 4410');
    expect(await notes(ana.page)).toEqual([]);

    await setHidden(ana.page, false);
    await go(ana, '#/settings');
    await ana.page.locator('#settings-h').waitFor();
    await ana.page.locator('#notify-on').check();
    await expect.poll(() => ana.page.locator('#notify-on').isChecked()).toBe(true);
    expect(await ana.page.locator('#notify-text').isChecked()).toBe(false);
    await check(ana, 'settings-notifications');

    await setHidden(ana.page, true);
    const secret = 'la clave del archivo es 9931';
    await sendInUi(bob.page, secret);
    await expect.poll(async () => (await notes(ana.page)).length, { timeout: 30_000 }).toBe(1);
    const [first] = await notes(ana.page);
    expect(first!.body).toBe('New message');
    expect(first!.title).not.toContain(secret);
    expect(JSON.stringify(first)).not.toContain('9931');

    // Visible tab: no notification.
    await setHidden(ana.page, false);
    await sendInUi(bob.page, 'con la pestaña a la vista');
    await arrived('con la pestaña a la vista');
    expect((await notes(ana.page)).length).toBe(1);

    await go(ana, '#/settings');
    await ana.page.locator('#notify-text').check();
    await setHidden(ana.page, true);
    await sendInUi(bob.page, 'ahora con texto 5520');
    await expect.poll(async () => (await notes(ana.page)).length, { timeout: 30_000 }).toBe(2);
    expect((await notes(ana.page))[1]!.body).toBe('ahora con texto 5520');
    await setHidden(ana.page, false);
    // The preference survives a reload; the text stays hidden when the person turns it off again.
    await ana.page.locator('#notify-text').uncheck();
  }, 180_000);

  it('mute for 8 hours silences the chat; unmute; mute always', async () => {
    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.locator('#chat-settings-h').waitFor();
    // The section is named for what it holds; its one button says what it does.
    const history = ana.page.getByRole('group', { name: 'Chat history' });
    await history.getByRole('button', { name: 'Delete chat history' }).waitFor();
    await ana.page.setViewportSize(PHONE);
    await history.scrollIntoViewIfNeeded();
    await ana.page.screenshot({ path: join(ARTIFACTS, 'chat-settings-history-phone.png') });
    await ana.page.setViewportSize(DESKTOP);
    await check(ana, 'chat-settings');
    // Disappearing messages (client.md §14): a timer set here is a line in both conversations and a mark in the top bar.
    // The usual choices, short ones too (30 s is the SDK's shortest; this server sets no maximum).
    const offered = await ana.page.locator('#disappearing option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).textContent));
    expect(offered).toEqual(['Off', '30 seconds', '5 minutes', '1 hour', '8 hours', '1 day', '1 week', '4 weeks']);
    await ana.page.locator('#disappearing').selectOption(String(5 * 60_000));
    await go(ana, await routeHash(ana.page, bobChat));
    await ana.page.locator('li.notice[data-notice="timer"]', { hasText: '5 minutes' }).first().waitFor({ timeout: 15_000 });
    expect(await ana.page.locator('li.notice[data-notice="timer"]', { hasText: '5 minutes' }).first().textContent()).toBe('You set disappearing messages to 5 minutes');
    // The top bar says how long, not only that messages disappear.
    const mark = ana.page.locator('.disappearing-mark');
    await expect.poll(() => mark.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => mark.textContent(), { timeout: 15_000 }).toBe('5 min');
    expect(await mark.getAttribute('aria-label')).toBe('Disappearing messages: 5 minutes');
    // Each message sent under the timer carries its mark on the meta line; one sent before does not.
    await sendInUi(ana.page, 'esto se borra en 5 minutos');
    const timed = ana.page.locator('.msg.out', { hasText: 'esto se borra en 5 minutos' });
    await expect(timed.locator('.meta [role="img"].msg-timer').getAttribute('aria-label')).resolves.toBe('Disappearing message (5 minutes)');
    expect(await ana.page.locator('.msg', { hasText: 'Hola Ana' }).locator('.msg-timer').count()).toBe(0);
    await go(bob, '#/');
    await bob.page.locator('.chat-row').first().click();
    await bob.page.locator('li.notice[data-notice="timer"]', { hasText: '5 minutes' }).first().waitFor({ timeout: 30_000 });
    // The other side is told who set it.
    expect(await bob.page.locator('li.notice[data-notice="timer"]', { hasText: '5 minutes' }).first().textContent()).toBe('Ana set disappearing messages to 5 minutes');
    await expect.poll(() => bob.page.locator('.disappearing-mark').textContent(), { timeout: 15_000 }).toBe('5 min');
    await bob.page.locator('.msg.in', { hasText: 'esto se borra en 5 minutos' }).locator('.msg-timer').waitFor({ timeout: 30_000 });
    await check(bob, 'chat-disappearing');
    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.locator('#disappearing').selectOption('0');
    await go(ana, await routeHash(ana.page, bobChat));
    await ana.page.locator('li.notice[data-notice="timer"]', { hasText: 'You turned disappearing messages off' }).first().waitFor({ timeout: 15_000 });
    await expect.poll(() => ana.page.locator('.disappearing-mark').count(), { timeout: 15_000 }).toBe(0);
    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.locator('#chat-settings-h').waitFor();
    await ana.page.getByRole('button', { name: 'For 8 hours' }).click();
    await expect.poll(() => ana.page.locator('#mute-status').textContent(), { timeout: 10_000 }).toMatch(/^Muted until /);
    await check(ana, 'chat-settings-muted');

    await setHidden(ana.page, true);
    const before = (await notes(ana.page)).length;
    await sendInUi(bob.page, 'silenciado 1');
    await arrived('silenciado 1');
    // Give a (wrong) notification every chance to appear.
    await ana.page.waitForTimeout(500);
    expect((await notes(ana.page)).length).toBe(before);

    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.getByRole('button', { name: 'Unmute' }).click();
    await expect.poll(() => ana.page.locator('#mute-status').textContent()).toBe('Notifications on');
    await sendInUi(bob.page, 'ya no silenciado');
    await expect.poll(async () => (await notes(ana.page)).length, { timeout: 30_000 }).toBe(before + 1);

    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.getByRole('button', { name: 'Always' }).click();
    await expect.poll(() => ana.page.locator('#mute-status').textContent()).toBe('Muted');
    await sendInUi(bob.page, 'silenciado para siempre');
    await arrived('silenciado para siempre');
    await ana.page.waitForTimeout(500);
    expect((await notes(ana.page)).length).toBe(before + 1);
    await setHidden(ana.page, false);
    // The muted chat shows 🔕 in its header.
    await openChat(ana.page, bob.name);
    await ana.page.locator('.conversation .bar').getByRole('img', { name: 'Muted chat' }).waitFor();
    await ana.page.locator('.chat-row', { hasText: bob.name }).getByRole('img', { name: 'Muted chat' }).waitFor();
  }, 180_000);

  it('deletes a chat’s history after confirming', async () => {
    await openChat(ana.page, bob.name);
    await ana.page.locator('.msg.in').first().waitFor();
    await go(ana, await routeHash(ana.page, bobChat, 'chat', 'settings'));
    await ana.page.getByRole('button', { name: /Delete chat history/ }).click();
    await ana.page.locator('dialog.confirm[open]').waitFor();
    await check(ana, 'chat-settings-delete-confirm');
    // Escape cancels: nothing deleted.
    await ana.page.keyboard.press('Escape');
    await ana.page.locator('dialog.confirm[open]').waitFor({ state: 'detached' }).catch(() => undefined);
    expect(await ana.page.locator('dialog.confirm[open]').count()).toBe(0);
    await ana.page.getByRole('button', { name: /Delete chat history/ }).click();
    await ana.page.locator('dialog.confirm[open]').getByRole('button', { name: 'Delete' }).click();
    await ana.page.getByText(/\d+ messages? deleted/).waitFor({ timeout: 15_000 });
    expect(await ana.page.locator('.msg').count()).toBe(0);
    // Bruno wrote first and Ana never added him: a chat with someone not in the contacts that holds nothing any more
    // leaves the list (strangers.test.ts); his next message brings it back, empty but for that message.
    await go(ana, '#/');
    await ana.page.locator('#chats-h').waitFor();
    await expect.poll(() => ana.page.locator(`.chat-row[data-chat="${bobChat}"]`).count(), { timeout: 10_000 }).toBe(0);
    await openChat(bob.page, 'Ana');
    await sendInUi(bob.page, 'otra vez 7731');
    await arrived('otra vez 7731');
    await openChat(ana.page, bob.name);
    await expect.poll(() => ana.page.locator('.msg').count(), { timeout: 10_000 }).toBe(1);
  }, 120_000);

  it('linked devices: a second browser links by its code, is listed, and is unlinked', async () => {
    await go(ana, '#/settings/devices');
    await ana.page.locator('#devices-h').waitFor();
    await expect.poll(() => ana.page.locator('.device').count(), { timeout: 15_000 }).toBe(1);
    await expect(ana.page.locator('.device').first().textContent()).resolves.toContain('This device');

    const second = await person('Ana (phone)', 'second device passphrase 77', PHONE);
    await second.page.goto(`${web.origin}/#/link`);
    await second.page.locator('#link-pass').waitFor({ timeout: 30_000 });
    await second.page.locator('#link-pass').fill(second.passphrase);
    await second.page.locator('#link-pass2').fill(second.passphrase);
    await second.page.getByRole('button', { name: 'Show the link code' }).click();
    const code = (await second.page.locator('#link-code').textContent({ timeout: 30_000 }))!.trim();
    expect(code.length).toBeGreaterThan(4);

    // The new device shows the code as a QR too; Ana's device reads it from a picture of it (no camera here).
    expect(await second.page.locator('.link-qr svg').getAttribute('data-qr-text')).toBe(code);
    await check(second, 'link-new-device');
    const qrPng = await second.page.locator('.link-qr svg').screenshot();
    await ana.page.getByRole('button', { name: 'Scan the code' }).click();
    await ana.page.locator('#link-qr-file').setInputFiles({ name: 'link.png', mimeType: 'image/png', buffer: qrPng });
    await expect.poll(() => ana.page.locator('#link-code').inputValue(), { timeout: 10_000 }).toBe(code);
    await check(ana, 'devices-link');
    // Scanning only fills the field, and Link asks first, saying what a new device gets (a code can come from an
    // attacker as a QR "invite"): Cancel, the default, sends nothing.
    await ana.page.getByRole('button', { name: 'Link device' }).click();
    const ask = ana.page.locator('dialog.confirm[open]');
    await ask.waitFor({ timeout: 10_000 });
    expect(await ask.textContent()).toMatch(/NEW device.*read all your messages.*Never link a code someone sent you/s);
    expect(await ana.page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ana.page.waitForTimeout(1500);
    expect(await second.page.locator('#link-code').count()).toBe(1);
    expect(await ana.page.getByText(/Device linked/).count()).toBe(0);
    await ana.page.getByRole('button', { name: 'Link device' }).click();
    await ana.page.locator('dialog.confirm[open]').getByRole('button', { name: 'Link device' }).click();
    await ana.page.getByText(/Device linked/).waitFor({ timeout: 60_000 });
    await second.page.locator('#chats-h').waitFor({ timeout: 60_000 });
    // Without any new message: its own name (under Chats, in Settings) and Bruno's, as Ana's first browser knows them.
    await second.page.locator('.bar-sub', { hasText: ana.name }).waitFor({ timeout: 15_000 });
    await second.page.locator('.chat-row', { hasText: bob.name }).waitFor({ timeout: 30_000 });
    await go(second, '#/settings');
    await second.page.locator('#settings-h').waitFor();
    expect(await second.page.locator('.me-row strong').textContent()).toBe(ana.name);
    expect(await second.page.locator('.me-row .avatar').textContent()).toBe('AQ');
    expect(await second.page.locator('#profile-name').inputValue()).toBe(ana.name);
    await go(second, '#/');
    await expect.poll(() => ana.page.locator('.device').count(), { timeout: 15_000 }).toBe(2);
    // The linked browser named itself as the first did (headless Chromium on Linux), not "Device 2".
    await expect.poll(() => ana.page.locator('.device-name', { hasText: 'Chrome on Linux' }).count(), { timeout: 15_000 }).toBe(2);
    // Two "Chrome on Linux": Ana names the other one; the name is what both of her devices read from then on.
    await ana.page.locator('.device', { hasNotText: 'This device' }).getByRole('button', { name: /^Rename/ }).click();
    await ana.page.getByLabel('Device name (seen only by your devices)').fill('Ana’s phone');
    await check(ana, 'devices-rename');
    await ana.page.locator('.device-rename').getByRole('button', { name: 'Save' }).click();
    await ana.page.locator('.device-name', { hasText: 'Ana’s phone' }).waitFor({ timeout: 15_000 });
    expect(await ana.page.locator('.device', { hasText: 'Ana’s phone' }).locator('.device-icon svg').count()).toBe(1);
    await go(second, '#/settings/devices');
    await second.page.locator('.device', { hasText: 'This device' }).locator('.device-name', { hasText: 'Ana’s phone' }).waitFor({ timeout: 15_000 });
    await check(ana, 'devices');

    const other = ana.page.locator('.device', { hasNotText: 'This device' });
    await other.getByRole('button', { name: /Unlink/ }).click();
    await ana.page.locator('dialog.confirm[open]').waitFor();
    await ana.page.locator('dialog.confirm[open]').getByRole('button', { name: 'Unlink' }).click();
    await ana.page.getByText('Device unlinked').waitFor({ timeout: 15_000 });
    await expect.poll(() => ana.page.locator('.device').count(), { timeout: 15_000 }).toBe(1);
  }, 240_000);

  it('profile name and language', async () => {
    await go(ana, '#/settings');
    await ana.page.locator('#profile-name').fill('Ana Q.');
    await ana.page.locator('form.profile').getByRole('button', { name: 'Save' }).click();
    await ana.page.getByText('Name saved').waitFor({ timeout: 15_000 });
    await ana.page.locator('#lang').selectOption('es');
    await expect.poll(() => ana.page.locator('#notify-on').evaluate((el) => el.parentElement!.textContent)).toBe('Avisarme de mensajes nuevos');
    // The English confirmation does not stay on a Spanish page.
    expect(await ana.page.getByText('Name saved').count()).toBe(0);
    await check(ana, 'settings-es');
    await ana.page.locator('#lang').selectOption('pt');
    await expect.poll(() => ana.page.locator('legend', { hasText: 'Notificações do navegador' }).count()).toBe(1);
    await ana.page.locator('#lang').selectOption('en');
  }, 60_000);

  it('no serious or critical accessibility violation; no page error', () => {
    expect(a11y).toEqual({});
    for (const p of people) expect(p.problems.filter((x) => !/Failed to load resource/.test(x))).toEqual([]);
  });
});
