/**
 * Attack on linking an account whose identity key is on a PKCS#11 token (spec/trust.md §7.1): the new device
 * signs its link on the token with the library path that the link message names. Anyone who learns the link
 * code (a screen share, a photo) can approve it first, from an account of their own whose identity names a
 * library in a directory they could write to (here a copy of SoftHSM2's library in a "Downloads" directory,
 * standing for a file they got onto the computer). The new device must not load it: only a library in a system
 * directory, or the one SIGILO_PKCS11_MODULE names, is loaded. Real server over TLS, built CLI, real SoftHSM2.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { hasSoftHsm, makeToken, type TestToken } from '../../server/test/support/softhsm.js';
import { MAIN, assertBuilt, cliPerson, firstLine, type CliPerson } from './support/sigilo.js';

if (!hasSoftHsm) console.warn('attack-token-link: SoftHSM2 is not installed: skipped (SIGILO_REQUIRE_SOFTHSM=1 makes this an error)');

describe.skipIf(!hasSoftHsm)('attack: a link message naming a token library the attacker placed', () => {
  let t: TestServer;
  let root: string;
  let token: TestToken;
  let httpsUrl: string;

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    httpsUrl = t.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-attack-toklink-'));
    token = makeToken('card', '246810');
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    token?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const person = async (name: string): Promise<CliPerson> => {
    const p = cliPerson(root, name);
    Object.assign(p.env, { SOFTHSM2_CONF: token.conf, SIGILO_PKCS11_PIN: token.pin });
    expect((await p.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    return p;
  };

  /** Starts `sigilo link` on a new device; resolves its code, then its exit. */
  function newDevice(p: CliPerson, env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [MAIN, 'link', '--json', '--dir', p.dir], { env: { PATH: process.env.PATH, ...p.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    const code = firstLine(() => ({ out, err }), 'sigilo link to print its code').then((line) => (JSON.parse(line) as { code: string }).code);
    return { code, exited, output: () => ({ out, err }) };
  }

  it('the new device refuses to load it and joins nothing; SIGILO_PKCS11_MODULE still names a library on purpose', async () => {
    const planted = join(root, 'Downloads', 'libsofthsm2.so');
    mkdirSync(join(root, 'Downloads'));
    copyFileSync(token.module, planted);
    const mallory = await person('mallory');
    const reg = await mallory.run(['register', '--invite', (await t.server.admin.createInvite()).code, '--pkcs11-module', planted, '--token', token.label], { timeoutMs: 60_000 });
    expect(reg.code, reg.err).toBe(0);

    const victim = await person('victim');
    const link = newDevice(victim);
    // Mallory approves the code the victim's new device shows before the victim does.
    expect((await mallory.run(['link', '--approve', await link.code], { timeoutMs: 60_000 })).code).toBe(0);
    expect(await link.exited, link.output().out).toBe(1);
    expect(link.output().err).toContain(`${JSON.stringify(planted)}, is not in a system library directory`);
    expect(link.output().err).toMatch(/IDENTITY_KEY_UNAVAILABLE/);
    expect(JSON.parse((await mallory.run(['devices', '--json'])).out)).toHaveLength(1);

    // The person who does keep their library outside a system directory names it themselves.
    const own = await person('own');
    const ownLink = newDevice(own, { SIGILO_PKCS11_MODULE: planted });
    expect((await mallory.run(['link', '--approve', await ownLink.code], { timeoutMs: 60_000 })).code).toBe(0);
    expect(await ownLink.exited, ownLink.output().err).toBe(0);
    expect(JSON.parse((await mallory.run(['devices', '--json'])).out)).toHaveLength(2);
  }, 180_000);

  it('a token label with a terminal escape sequence, named by the link message, is not written to the terminal', async () => {
    const evil = makeToken('card\u001b]0;pwned\u0007\u001b[2J', '135790');
    try {
      const eve = cliPerson(root, 'eve');
      Object.assign(eve.env, { SOFTHSM2_CONF: evil.conf, SIGILO_PKCS11_PIN: evil.pin });
      expect((await eve.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
      const reg = await eve.run(['register', '--invite', (await t.server.admin.createInvite()).code, '--pkcs11-module', evil.module, '--token', evil.label], { timeoutMs: 60_000 });
      expect(reg.code, reg.err).toBe(0);
      // The victim's computer has its own token, not Eve's: the signature fails and the error names Eve's label.
      const victim = await person('victim2');
      const link = newDevice(victim);
      expect((await eve.run(['link', '--approve', await link.code], { timeoutMs: 60_000 })).code).toBe(0);
      expect(await link.exited).toBe(1);
      expect(link.output().err).toMatch(/IDENTITY_KEY_UNAVAILABLE/);
      expect(link.output().err).toContain('card\ufffd]0;pwned');
      expect(link.output().err).not.toMatch(/[\u001b\u0007]/);
    } finally {
      evil.remove();
    }
  }, 180_000);
});
