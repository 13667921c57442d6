/** The signed release manifest and the release key script (spec/web.md §2), in Node. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateReleaseKey, publicKeyRaw, readReleaseKey, verifyRelease, writeRelease } from '../scripts/release.mjs';

const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'sigilo-web-release-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('release manifest', () => {
  it('signs every file; a changed file or another key fails verification, naming what', () => {
    const dir = join(tmp, 'site');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'assets', 'a.js'), 'a');
    const key = generateReleaseKey(join(tmp, 'k1.pem'));
    const other = generateReleaseKey(join(tmp, 'k2.pem'));
    const r = writeRelease(dir, key, { version: '2.0.0', buildTime: 1 });
    expect(Object.keys(r.files).sort()).toEqual(['/assets/a.js', '/index.html']);
    expect(verifyRelease(dir, publicKeyRaw(key)).version).toBe('2.0.0');
    expect(() => verifyRelease(dir, publicKeyRaw(other))).toThrow(/signature is not valid/);
    writeFileSync(join(dir, 'assets', 'a.js'), 'b');
    expect(() => verifyRelease(dir, publicKeyRaw(key))).toThrow(/\/assets\/a\.js: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
  });

  it('refuses a release key that other users can read', () => {
    const f = join(tmp, 'k3.pem');
    generateReleaseKey(f);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    chmodSync(f, 0o644);
    expect(() => readReleaseKey(f)).toThrow(/chmod 600/);
  });
});

describe('npm run release-key', () => {
  const script = join(webRoot, 'scripts', 'release-key.mjs');
  it('creates a 0600 Ed25519 key, prints its fingerprint, and never overwrites one', () => {
    const out = join(tmp, 'org', 'release.pem');
    const info = JSON.parse(execFileSync(process.execPath, [script, '--out', out, '--json']).toString());
    expect(info.fingerprint).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(publicKeyRaw(readFileSync(out, 'utf8')).toString('base64')).toBe(info.publicKey);
    const again = spawnSync(process.execPath, [script, '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr.toString()).toMatch(/never overwritten/);
    expect(spawnSync(process.execPath, [script]).status).toBe(2);
  });
});
