#!/usr/bin/env node
/**
 * Builds the web app into dist/ and signs it (spec/web.md §2):
 *   1. Vite builds the Preact app (index.html, assets/*.js|css with content hashes);
 *   2. esbuild builds sw.js with the release PUBLIC key inside it (the trust anchor);
 *   3. PNG icons, favicon.ico and the web manifest are written;
 *   4. every file's SHA-256 goes into a manifest signed with the release key (release.json);
 *   5. the gzipped size of the JS+CSS loaded first is printed and checked against the budget.
 * The release key: SIGILO_RELEASE_KEY=/path/to/key.pem, else a development key generated in
 * packages/web/.release-key/ (gitignored) — never ship a build signed with that one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import { generateReleaseKey, keyFingerprint, publicKeyRaw, readReleaseKey, writeRelease } from './release.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.env.SIGILO_WEB_OUT ?? join(root, 'dist'));
const BUDGET_KB = 200;

function releaseKey() {
  const given = process.env.SIGILO_RELEASE_KEY;
  if (given) return { pem: readReleaseKey(given), dev: false };
  const dev = join(root, '.release-key', 'dev-release-key.pem');
  if (!existsSync(dev)) generateReleaseKey(dev);
  return { pem: readReleaseKey(dev), dev: true };
}

// A PNG (RGBA, no filter) from a pixel function: enough for flat icons, no image library needed.
function png(size, pixel) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) raw.set(pixel(x / size, y / size), y * (size * 4 + 1) + 1 + x * 4);
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 6;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// The padlock of icon.svg, on a 64-unit grid; `inset` shrinks it into the maskable safe zone.
function lock(inset) {
  const green = [0x0b, 0x6e, 0x4f, 255], white = [255, 255, 255, 255];
  return (fx, fy) => {
    const s = 1 - 2 * inset, x = ((fx - inset) / s) * 64, y = ((fy - inset) / s) * 64;
    const d = Math.hypot(x - 32, y - 23);
    if (y >= 29 && y <= 51 && x >= 16 && x <= 48) return Math.hypot(x - 32, y - 40) <= 4 ? green : white;
    if (y < 29 && y >= 13 && d >= 7.5 && d <= 12.5 && (y <= 23 || Math.abs(x - 32) >= 7.5)) return white;
    return green;
  };
}

// /favicon.ico: browsers ask for it on pages without a <link rel="icon"> (the /ca page, a JSON file opened in a tab)
// and some ask whatever the page says. An ICO file may hold a PNG (Windows Vista onwards, every current browser):
// a 6-byte header, one 16-byte directory entry, then the PNG itself.
function ico(pngBytes) {
  const head = Buffer.alloc(22);
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head[6] = 32; head[7] = 32; // width, height
  head.writeUInt16LE(1, 10); // colour planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(pngBytes.length, 14);
  head.writeUInt32LE(22, 18); // where the image starts
  return Buffer.concat([head, pngBytes]);
}

const t0 = Date.now();
const key = releaseKey();
const pub = publicKeyRaw(key.pem);
const version = process.env.SIGILO_WEB_VERSION ?? JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

await viteBuild({
  root,
  configFile: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir, emptyOutDir: true, assetsInlineLimit: 0, modulePreload: { polyfill: false }, target: 'es2022', sourcemap: false },
});

await esbuild({
  entryPoints: [join(root, 'src', 'sw.ts')],
  outfile: join(outDir, 'sw.js'),
  bundle: true, minify: true, format: 'iife', target: 'es2022', logLevel: 'warning',
  define: { __RELEASE_PUBLIC_KEY__: JSON.stringify(pub.toString('base64')) },
});

mkdirSync(join(outDir, 'icons'), { recursive: true });
writeFileSync(join(outDir, 'icons', 'icon-192.png'), png(192, lock(0)));
writeFileSync(join(outDir, 'icons', 'icon-512.png'), png(512, lock(0)));
writeFileSync(join(outDir, 'icons', 'maskable-512.png'), png(512, lock(0.1)));
writeFileSync(join(outDir, 'favicon.ico'), ico(png(32, lock(0))));
writeFileSync(join(outDir, 'manifest.webmanifest'), JSON.stringify({
  name: 'Sigilo', short_name: 'Sigilo', description: 'Private messages for your organisation',
  start_url: '/', scope: '/', id: '/', display: 'standalone', theme_color: '#0b6e4f', background_color: '#ffffff',
  icons: [
    { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
    { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
    { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
    { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ],
}, null, 1) + '\n');

const release = writeRelease(outDir, key.pem, { version, buildTime: Date.now() });

// First load = the JS and CSS index.html references (the worker is fetched apart, after the page).
const html = readFileSync(join(outDir, 'index.html'), 'utf8');
const firstLoad = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const gz = firstLoad.reduce((n, p) => n + gzipSync(readFileSync(join(outDir, p)), { level: 9 }).length, 0);
const all = readdirSync(join(outDir, 'assets')).filter((f) => /\.(js|css)$/.test(f)).reduce((n, f) => n + gzipSync(readFileSync(join(outDir, 'assets', f)), { level: 9 }).length, 0);
const swGz = gzipSync(readFileSync(join(outDir, 'sw.js')), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1);

if (key.dev) console.warn(`web: signed with the DEVELOPMENT release key ${join(root, '.release-key')}; set SIGILO_RELEASE_KEY to your organisation's key for a real release`);
console.log(`web: version ${version}, ${Object.keys(release.files).length} files, manifest sha256 ${release.manifestSha256}`);
console.log(`web: release key fingerprint ${keyFingerprint(pub)}`);
console.log(`web: first-load JS+CSS ${kb(gz)} KB gz (all assets ${kb(all)} KB gz, sw.js ${kb(swGz)} KB gz; budget ${BUDGET_KB} KB) in ${Date.now() - t0} ms`);
if (gz > BUDGET_KB * 1024) {
  console.error(`web: the first load is over the ${BUDGET_KB} KB gz budget; split or drop code before shipping`);
  process.exit(1);
}
