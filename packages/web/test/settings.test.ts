/**
 * Settings in real Chromium against the real server over TLS (issue 13 point 7): browser notifications while
 * the tab is hidden — without the message text unless "show message text" is on, and none for a muted chat;
 * muting for 8 hours / always and unmuting; deleting a chat's history; linked devices (link a second browser by
 * its code, see it listed, unlink it); the profile name; the language switch. axe-core on each screen and
 * screenshots at 360×740 and 1280×800 in test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, axeViolations, contactCard, DESKTOP, openChat, PHONE, registerInUi, routeHash, screenshots, sendInUi } from './support/app.js';
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
    await check(ana, 'chat-settings');
    // Disappearing messages (client.md §14): a timer set here is a line in both conversations and a mark in the top bar.
    await ana.page.locator('#disappearing').selectOption(String(24 * 3_600_000));
    await go(ana, await routeHash(ana.page, bobChat));
    await ana.page.locator('li.notice[data-notice="timer"]', { hasText: '1 day' }).first().waitFor({ timeout: 15_000 });
    expect(await ana.page.locator('li.notice[data-notice="timer"]', { hasText: '1 day' }).first().textContent()).toBe('You set disappearing messages to 1 day');
    await expect.poll(() => ana.page.locator('.disappearing-mark').count(), { timeout: 15_000 }).toBe(1);
    await go(bob, '#/');
    await bob.page.locator('.chat-row').first().click();
    await bob.page.locator('li.notice[data-notice="timer"]', { hasText: '1 day' }).first().waitFor({ timeout: 30_000 });
    // The other side is told who set it.
    expect(await bob.page.locator('li.notice[data-notice="timer"]', { hasText: '1 day' }).first().textContent()).toBe('Ana set disappearing messages to 1 day');
    await expect.poll(() => bob.page.locator('.disappearing-mark').count(), { timeout: 15_000 }).toBe(1);
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

    await ana.page.locator('#link-code').fill(code);
    await check(ana, 'devices-link');
    await ana.page.getByRole('button', { name: 'Link device' }).click();
    await ana.page.getByText(/Device linked/).waitFor({ timeout: 60_000 });
    await second.page.locator('#chats-h').waitFor({ timeout: 60_000 });
    await expect.poll(() => ana.page.locator('.device').count(), { timeout: 15_000 }).toBe(2);
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
