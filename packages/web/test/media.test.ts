/**
 * Media in real Chromium against the real server over TLS (issue 13 point 4), two people in two browser
 * contexts: a picture with Exif GPS (thumbnail in the bubble, full view that Escape closes, no metadata in what
 * arrives) sent with a caption from the preview sheet (nothing is sent before Send; Cancel and Escape drop a choice); a voice note recorded from Chromium's fake microphone (duration, waveform, playback); a file whose
 * upload shows progress, is cancelled and retried, and arrives byte for byte; no decrypted copy stays in OPFS. axe-core on the screens and
 * screenshots at 360×740 and 1280×800 in test-artifacts/.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { browserMissing } from './support/chromium.js';
import { startWebServer, type WebServer } from './support/server.js';
import { addContactInUi, axeViolations, contactCard, DESKTOP, openChat, PHONE, registerInUi, screenshots, sendInUi } from './support/app.js';
import { downloaded, hasMetadata, jpegWithGps, opfsFiles, randomFile, webmVideo } from './support/media.js';

const missing = browserMissing();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Person { context: BrowserContext; page: Page; name: string; passphrase: string; problems: string[] }

describe.skipIf(missing !== undefined)('web media in Chromium: pictures, voice notes, files, progress, cancel and retry', () => {
  let web: WebServer;
  const people: Person[] = [];
  const a11y: Record<string, unknown[]> = {};
  let ana: Person, bob: Person;

  const person = async (name: string, passphrase: string, size: { width: number; height: number }): Promise<Person> => {
    const context = await web.tb.browser.newContext({ locale: 'en-GB', viewport: size });
    await context.grantPermissions(['microphone'], { origin: web.origin });
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
  const choose = (p: Person, name: string, mimeType: string, buffer: Buffer) => p.page.locator('[data-attach-input]').setInputFiles({ name, mimeType, buffer });
  /** Chooses a file and sends it from the preview sheet. */
  const attach = async (p: Person, name: string, mimeType: string, buffer: Buffer) => {
    await choose(p, name, mimeType, buffer);
    const sheet = p.page.locator('dialog[data-attach-sheet][open]');
    await sheet.waitFor({ timeout: 15_000 });
    await sheet.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => p.page.locator('dialog[data-attach-sheet][open]').count()).toBe(0);
  };

  beforeAll(async () => {
    web = await startWebServer('sigilo-web-media-', ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
    ana = await person('Ana Quintero', 'correct horse battery staple ana', DESKTOP);
    bob = await person('Bruno Vasconcelos', 'tulip granite orbit lantern bruno', PHONE);
    await registerInUi(ana.page, web.origin, await web.invite(), ana.name, ana.passphrase);
    await registerInUi(bob.page, web.origin, await web.invite(), bob.name, bob.passphrase);
    await addContactInUi(bob.page, 'Ana', await contactCard(ana.page));
    await sendInUi(bob.page, 'Hola Ana, te mando las fotos');
    await ana.page.locator('.chat-row', { hasText: 'te mando las fotos' }).waitFor({ timeout: 30_000 });
    await openChat(ana.page, bob.name);
  }, 240_000);

  afterAll(async () => { await web?.close(); });

  it('choosing a file sends nothing until Send: a preview sheet with name, type and size, Cancel and Escape drop it', async () => {
    const before = await ana.page.locator('.msg.out').count();
    await choose(ana, 'contrato-firmado.pdf', 'application/pdf', randomFile(300 * 1024, '%PDF-1.7\n'));
    // Ana never added Bruno (he wrote first): the sheet names him as the rest of the app does, marked as not a contact.
    const sheet = ana.page.getByRole('dialog', { name: `Send to ~${bob.name}` });
    await sheet.waitFor({ timeout: 15_000 });
    await expect(sheet.locator('.file-name').textContent()).resolves.toBe('contrato-firmado.pdf');
    await expect(sheet.locator('.file-size').textContent()).resolves.toBe('300 KB · application/pdf');
    // The caption field has the focus: a person can type at once, and Tab reaches Cancel then Send.
    expect(await ana.page.evaluate(() => document.activeElement?.id)).toBe('attach-caption');
    await ana.page.keyboard.press('Tab');
    expect(await ana.page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await ana.page.keyboard.press('Tab');
    expect(await ana.page.evaluate(() => document.activeElement?.textContent)).toBe('Send');
    await check(ana, 'media-attach-file-sheet');
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => ana.page.locator('dialog[data-attach-sheet][open]').count()).toBe(0);
    // Escape cancels too.
    await choose(ana, 'otra-foto.png', 'image/png', randomFile(2048, '\x89PNG'));
    await sheet.waitFor();
    await ana.page.keyboard.press('Escape');
    await expect.poll(() => ana.page.locator('dialog[data-attach-sheet][open]').count()).toBe(0);
    // A name with a right-to-left override shows its real extension ("photognp.exe", not "photoexe.png").
    await choose(ana, 'photo\u202Egnp.exe', 'application/octet-stream', randomFile(1024, 'MZ'));
    await sheet.waitFor();
    await expect(sheet.locator('.file-name').textContent()).resolves.toBe('photognp.exe');
    await expect(sheet.locator('.file-icon').textContent()).resolves.toBe('EXE');
    await ana.page.keyboard.press('Escape');
    await expect.poll(() => ana.page.locator('dialog[data-attach-sheet][open]').count()).toBe(0);
    await ana.page.waitForTimeout(1000);
    expect(await ana.page.locator('.pending-upload').count()).toBe(0);
    expect(await ana.page.locator('.msg.out').count()).toBe(before);
  }, 60_000);

  it('a picture with Exif GPS and a caption: thumbnail in the bubble, full view opens and Escape closes it, no metadata arrives', async () => {
    const jpeg = await jpegWithGps(ana.page);
    expect(hasMetadata(jpeg)).toEqual(['Exif', 'camera', 'GPS pointer']);
    await choose(ana, 'IMG_2041.jpg', 'image/jpeg', jpeg);
    const sheet = ana.page.getByRole('dialog', { name: `Send to ~${bob.name}` });
    await sheet.waitFor({ timeout: 15_000 });
    // The picture itself, to check before it leaves.
    await expect.poll(() => sheet.getByRole('img', { name: 'IMG_2041.jpg' }).evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), { timeout: 10_000 }).toBe(800);
    await ana.page.keyboard.type('La playa, domingo');
    await check(ana, 'media-attach-picture-sheet');
    await ana.page.keyboard.press('Enter'); // Enter in the caption sends, as in the input bar
    // Sent: the pending bubble gives way to the message, with its ticks.
    const sent = ana.page.locator('.msg.out [data-attachment="image"]');
    await sent.waitFor({ timeout: 60_000 });
    expect(await ana.page.locator('.pending-upload').count()).toBe(0);

    await expect(ana.page.locator('.msg.out', { has: ana.page.locator('[data-attachment="image"]') }).locator('.text').textContent()).resolves.toBe('La playa, domingo');

    const got = bob.page.locator('.msg.in [data-attachment="image"]');
    await openChat(bob.page, 'Ana');
    await got.waitFor({ timeout: 30_000 });
    await expect(bob.page.locator('.msg.in', { has: bob.page.locator('[data-attachment="image"]') }).locator('.text').textContent()).resolves.toBe('La playa, domingo');
    expect(await got.getAttribute('data-thumb')).toBe('yes');
    await expect.poll(() => got.locator('img').getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    await check(bob, 'media-picture');

    await got.getByRole('button', { name: /Open photo IMG_2041\.jpg/ }).click();
    const box = bob.page.locator('dialog.lightbox[open]');
    await box.waitFor();
    expect(await box.locator('img.lightbox-img').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(800);
    await check(bob, 'media-lightbox');
    // What Bruno saves from the full view is the picture without its Exif (no camera, no GPS).
    const arrived = await downloaded(bob.page, box.getByRole('link', { name: /Save/ }));
    expect(arrived.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(hasMetadata(arrived)).toEqual([]);
    expect(arrived.length).toBeLessThan(jpeg.length);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bob.page.locator('dialog.lightbox[open]').count()).toBe(0);
  }, 180_000);

  it('a voice note recorded from the microphone: sent, with duration and waveform, and it plays', async () => {
    await openChat(bob.page, 'Ana');
    const mic = bob.page.getByRole('button', { name: 'Record a voice note' });
    const t0 = Date.now();
    await mic.click(); // a tap: recording goes on until Send
    await bob.page.locator('.recorder').waitFor({ timeout: 15_000 });
    await bob.page.waitForTimeout(2500);
    await check(bob, 'media-recording');
    await bob.page.getByRole('button', { name: 'Send voice note' }).click();
    const recordedFor = Date.now() - t0;
    await bob.page.locator('.msg.out [data-attachment="voice"]').waitFor({ timeout: 60_000 });

    const note = ana.page.locator('.msg.in [data-attachment="voice"]');
    await note.waitFor({ timeout: 30_000 });
    await expect.poll(async () => Number(await note.getAttribute('data-duration-ms')), { timeout: 30_000 }).toBeGreaterThan(1500);
    // As long as the recording ran (the screenshots above were taken while it did).
    expect(Number(await note.getAttribute('data-duration-ms'))).toBeLessThanOrEqual(recordedFor + 500);
    expect(await note.locator('.wf-bar').count()).toBe(40);
    await note.getByRole('button', { name: /^Play/ }).click();
    await expect.poll(() => note.locator('audio').evaluate((a: HTMLAudioElement) => a.currentTime), { timeout: 10_000 }).toBeGreaterThan(0);
    await check(ana, 'media-voice');
  }, 180_000);

  it('a video: a poster frame with its play button, played in place once downloaded', async () => {
    const video = await webmVideo(bob.page);
    await attach(bob, 'paseo.webm', 'video/webm', video);
    await bob.page.locator('.msg.out [data-attachment="video"]').waitFor({ timeout: 60_000 });
    const got = ana.page.locator('.msg.in [data-attachment="video"]');
    await got.waitFor({ timeout: 30_000 });
    await got.getByRole('button', { name: /^Play video paseo\.webm, / }).click();
    const player = got.locator('video[controls]');
    await player.waitFor({ timeout: 30_000 });
    await expect.poll(() => player.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await player.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(320);
    await check(ana, 'media-video');
  }, 120_000);

  it('a file: upload progress, cancelled, retried from where it stopped, downloaded byte for byte', async () => {
    // Slow the upload down (each PATCH held back) so progress and cancel can be seen.
    const patches: { offset: number; bytes: number }[] = [];
    await ana.context.route('**/v1/attachments/**', async (route) => {
      const req = route.request();
      if (req.method() === 'PATCH') {
        patches.push({ offset: Number(req.headers()['upload-offset'] ?? -1), bytes: req.postDataBuffer()?.length ?? 0 });
        await new Promise((r) => setTimeout(r, 400));
      }
      await route.continue();
    });
    const file = randomFile(12 * 1024 * 1024, '%PDF-1.7\n');
    await attach(ana, 'informe-anual.pdf', 'application/pdf', file);
    const pending = ana.page.locator('.pending-upload');
    await pending.waitFor({ timeout: 15_000 });
    const bar = pending.locator('progress.transfer-bar');
    await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 60_000 }).toBeGreaterThan(0);
    await check(ana, 'media-upload-progress');
    await pending.getByRole('button', { name: /Cancel/ }).click();
    await expect.poll(() => pending.getAttribute('data-phase'), { timeout: 15_000 }).toBe('cancelled');
    await pending.getByRole('button', { name: /Retry/ }).waitFor();
    await check(ana, 'media-upload-cancelled');
    const before = patches.length;

    await pending.getByRole('button', { name: /Retry/ }).click();
    await ana.page.locator('.msg.out [data-attachment="file"]').waitFor({ timeout: 120_000 });
    expect(await ana.page.locator('.pending-upload').count()).toBe(0);
    // Resumed: the retry's first piece starts where the server's copy ended, not at 0.
    const retried = patches.slice(before);
    expect(retried[0]!.offset).toBeGreaterThan(0);
    expect(retried.reduce((n, p) => n + p.bytes, 0)).toBeLessThan(file.length);
    await ana.context.unroute('**/v1/attachments/**');

    const got = bob.page.locator('.msg.in [data-attachment="file"]');
    await got.waitFor({ timeout: 30_000 });
    await expect(got.locator('.file-name').textContent()).resolves.toBe('informe-anual.pdf');
    await expect(got.locator('.file-size').textContent()).resolves.toMatch(/^12 MB/);
    await got.getByRole('button', { name: 'Download informe-anual.pdf' }).click();
    const save = got.getByRole('link', { name: /Save: informe-anual\.pdf/ });
    await save.waitFor({ timeout: 60_000 });
    expect(sha(await downloaded(bob.page, save))).toBe(sha(file));
    await check(bob, 'media-file');
    // No decrypted attachment (picture, voice note, file) is left in the origin private file system.
    expect(await opfsFiles(bob.page)).toEqual([]);
    expect(await opfsFiles(ana.page)).toEqual([]);
  }, 300_000);

  it('no serious or critical accessibility violation; no page error', () => {
    expect(a11y).toEqual({});
    for (const p of people) expect(p.problems.filter((x) => !/Failed to load resource/.test(x))).toEqual([]);
  });
});
