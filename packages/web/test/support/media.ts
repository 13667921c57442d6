/**
 * Files for the media tests: a JPEG drawn by the browser with an Exif segment spliced in (camera make and a
 * GPS position, the metadata the SDK must remove before sending), random bytes, and reading a blob: URL back.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';

const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The marker the Exif carries (Make), searched for in what arrives. */
export const CAMERA = 'SigiloTestCam';

/** A big-endian TIFF: IFD0 {Make, GPS IFD pointer}, GPS IFD {LatitudeRef "S", Latitude 15°35'46"}. */
function exif(): number[] {
  const make = [...ascii(CAMERA), 0];
  // Layout: header 8 | IFD0 (2 + 2×12 + 4 = 30) at 8 | make at 38 | GPS IFD (2 + 2×12 + 4 = 30) | rationals (3 × 8)
  const makeAt = 8 + 30, gpsAt = makeAt + make.length, ratAt = gpsAt + 30;
  const entry = (tag: number, type: number, count: number, value: number[]) => [...be16(tag), ...be16(type), ...be32(count), ...value];
  const ifd0 = [...be16(2), ...entry(0x010f, 2, make.length, be32(makeAt)), ...entry(0x8825, 4, 1, be32(gpsAt)), ...be32(0)];
  const gps = [...be16(2), ...entry(0x0001, 2, 2, [0x53, 0, 0, 0]), ...entry(0x0002, 5, 3, be32(ratAt)), ...be32(0)];
  const rationals = [...be32(15), ...be32(1), ...be32(35), ...be32(1), ...be32(46), ...be32(1)];
  return [0x4d, 0x4d, 0x00, 0x2a, ...be32(8), ...ifd0, ...make, ...gps, ...rationals];
}

/** A `width`×`height` JPEG made by the page's canvas, with an APP1 Exif (camera, GPS) after its start marker. */
export async function jpegWithGps(page: Page, width = 800, height = 600): Promise<Buffer> {
  const b64 = await page.evaluate(async ([w, h]) => {
    const c = new OffscreenCanvas(w!, h!);
    const g = c.getContext('2d')!;
    const grad = g.createLinearGradient(0, 0, w!, h!);
    grad.addColorStop(0, '#0b6e4f'); grad.addColorStop(1, '#f2c14e');
    g.fillStyle = grad; g.fillRect(0, 0, w!, h!);
    g.fillStyle = '#fff'; g.font = '64px sans-serif'; g.fillText('Cuiabá', 60, 120);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    let s = '';
    for (const x of bytes) s += String.fromCharCode(x);
    return btoa(s);
  }, [width, height]);
  const jpeg = Buffer.from(b64, 'base64');
  const body = [...ascii('Exif\0\0'), ...exif()];
  const app1 = Buffer.from([0xff, 0xe1, ...be16(body.length + 2), ...body]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/** Whether a JPEG still has Exif, the camera's name or a GPS latitude reference. */
export function hasMetadata(jpeg: Buffer): string[] {
  const found: string[] = [];
  if (jpeg.includes(Buffer.from('Exif\0\0'))) found.push('Exif');
  if (jpeg.includes(Buffer.from(CAMERA))) found.push('camera');
  if (jpeg.includes(Buffer.from([0x88, 0x25]))) found.push('GPS pointer');
  return found;
}

export const randomFile = (size: number, head = ''): Buffer => Buffer.concat([Buffer.from(head), randomBytes(size - head.length)]);

/** What clicking a download link saves (the person's own way to keep a file; the CSP lets no script fetch a blob: URL). */
export async function downloaded(page: Page, link: Locator): Promise<Buffer> {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return readFileSync((await dl.path())!);
}

/** Every file the page's origin keeps in the origin private file system (path and size). */
export async function opfsFiles(page: Page): Promise<{ path: string; size: number }[]> {
  return page.evaluate(async () => {
    const out: { path: string; size: number }[] = [];
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
      for await (const [name, h] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else out.push({ path: `${prefix}${name}`, size: (await (h as FileSystemFileHandle).getFile()).size });
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return out;
  });
}

/** A short WebM video (VP8/VP9) recorded by the page from a canvas animation. */
export async function webmVideo(page: Page, ms = 1200): Promise<Buffer> {
  const b64 = await page.evaluate(async (duration) => {
    const c = document.createElement('canvas');
    c.width = 320; c.height = 240;
    const g = c.getContext('2d')!;
    const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm' });
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((r) => { rec.onstop = r; });
    const t0 = performance.now();
    const timer = setInterval(() => {
      const f = (performance.now() - t0) / duration;
      g.fillStyle = '#0b6e4f'; g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#f2c14e'; g.fillRect(20 + f * 220, 90, 60, 60);
    }, 40);
    rec.start(200);
    await new Promise((r) => setTimeout(r, duration));
    rec.stop();
    await stopped;
    clearInterval(timer);
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, ms);
  return Buffer.from(b64, 'base64');
}
