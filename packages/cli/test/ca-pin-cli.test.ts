/**
 * `sigilo init URL --ca-fingerprint FP` (client.md §1.1), through the built command against the
 * real server on a certificate from `sigilo admin tls-ca`: a client pinned to the organisation CA
 * keeps working when the server certificate is issued again; one pinned to the leaf does not; a
 * wrong CA fingerprint is refused at init; a server certificate from another CA is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, silentLogger, type RunningServer } from '@sigilo/server';
import { runCli } from '../src/run.js';
import { assertBuilt, cliPerson, sigilo, type CliPerson } from './support/sigilo.js';

describe('sigilo init --ca-fingerprint (pin the organisation CA)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sigilo-cli-capin-'));
  const data = join(root, 'data');
  let server: RunningServer;
  let port = 0;
  let caFingerprint = '';
  let url = '';

  const start = async (dataDir: string): Promise<RunningServer> =>
    startServer({ overrides: { host: '127.0.0.1', port, dataDir, adminSocket: false }, logger: silentLogger });

  async function joined(name: string, pins: string[]): Promise<CliPerson> {
    const p = cliPerson(root, name);
    const init = await p.run(['init', url, ...pins, '--json']);
    expect(init.code, init.err).toBe(0);
    const { code } = await server.admin.createInvite();
    const reg = await p.run(['register', '--invite', code, '--json']);
    expect(reg.code, reg.err).toBe(0);
    return p;
  }

  beforeAll(async () => {
    assertBuilt();
    const ca = await sigilo(['admin', 'tls-ca', '--data', data, '--name', 'localhost', '--ip', '127.0.0.1', '--org', 'Example NGO', '--json']);
    expect(ca.code, ca.err).toBe(0);
    caFingerprint = JSON.parse(ca.out).caFingerprint;
    server = await start(data);
    port = server.port;
    url = `https://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a CA-pinned client keeps working after the server certificate is issued again; a leaf-pinned one is refused', async () => {
    expect(server.tls.caFingerprint).toBe(caFingerprint);
    const oldLeaf = server.tls.fingerprint;
    const ana = await joined('ana', ['--ca-fingerprint', caFingerprint.replace(/:/g, '').toLowerCase()]);
    const leo = await joined('leo', ['--fingerprint', oldLeaf]);
    // Both pins: the leaf first, the CA once the leaf changes.
    const bea = await joined('bea', ['--fingerprint', oldLeaf, '--ca-fingerprint', caFingerprint]);
    const shown = JSON.parse((await cliPerson(root, 'ana').run(['init', url, '--ca-fingerprint', caFingerprint, '--json'])).out);
    expect(shown).toMatchObject({ caFingerprint, fingerprint: null, registered: true });
    for (const p of [ana, leo, bea]) expect((await p.run(['devices'])).code).toBe(0);

    // The administrator issues the server certificate again (what renewal at start does).
    await server.close();
    const re = await sigilo(['admin', 'tls-ca', '--reissue', '--data', data, '--json']);
    expect(re.code, re.err).toBe(0);
    server = await start(data);
    expect(server.port).toBe(port);
    expect(server.tls.fingerprint).not.toBe(oldLeaf);
    expect(server.tls.caFingerprint).toBe(caFingerprint);

    const a = await ana.run(['devices', '--json']);
    expect(a.code, a.err).toBe(0);
    const b = await bea.run(['devices', '--json']);
    expect(b.code, b.err).toBe(0);
    const l = await leo.run(['devices']);
    expect(l.code).not.toBe(0);
    expect(l.err).toMatch(/FINGERPRINT_MISMATCH|does not match the pinned fingerprint/);

    // The leaf-pinned client moves to the CA pin once; its account stays.
    const move = await leo.run(['init', url, '--ca-fingerprint', caFingerprint, '--json']);
    expect(move.code, move.err).toBe(0);
    expect(JSON.parse(move.out)).toMatchObject({ registered: true, caFingerprint });
    expect((await leo.run(['devices'])).code).toBe(0);
  }, 240_000);

  it('refuses a wrong CA fingerprint, or the server certificate’s own, at init with words', async () => {
    const wrong = cliPerson(root, 'wrong');
    const r = await wrong.run(['init', url, '--ca-fingerprint', 'AB'.repeat(32)]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/does not present a CA with the fingerprint AB:AB/);
    expect(r.err).toMatch(/sigilo admin tls-ca/);
    const leaf = await wrong.run(['init', url, '--ca-fingerprint', server.tls.fingerprint]);
    expect(leaf.code).not.toBe(0);
    expect(leaf.err).toMatch(/is not a certificate authority/);
    const typo = await wrong.run(['init', url, '--ca-fingerprint', 'XYZ']);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/--ca-fingerprint: a certificate fingerprint is 64 hex digits/);
    // Nothing was kept: a later init still asks for a pin.
    const none = await wrong.run(['whoami']);
    expect(none.code).not.toBe(0);
  }, 120_000);

  it('refuses a server whose certificate another CA issued, although it names the same host', async () => {
    const carla = await joined('carla', ['--ca-fingerprint', caFingerprint]);
    await server.close();
    // An impostor on the same address with its own CA for the same names.
    const other = join(root, 'impostor');
    const ca = await sigilo(['admin', 'tls-ca', '--data', other, '--name', 'localhost', '--ip', '127.0.0.1', '--json']);
    expect(ca.code, ca.err).toBe(0);
    server = await start(other);
    expect(server.tls.caFingerprint).not.toBe(caFingerprint);
    const r = await carla.run(['devices']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/FINGERPRINT_MISMATCH|not issued by the pinned organisation CA/);
    expect(r.err).toMatch(/--ca-fingerprint/);
  }, 120_000);

  it('the start banner of a server on a CA-issued certificate gives the CA fingerprint to pin', async () => {
    const out: string[] = [];
    let stop!: (s: string) => void;
    const stopSignal = new Promise<string>((r) => { stop = r; });
    let printed!: () => void;
    const banner = new Promise<void>((r) => { printed = r; });
    const run = runCli(['server', 'start', '--data', data, '--port', '0', '--host', '127.0.0.1', '--set', 'adminSocket=false'], {
      out: (t: string) => { out.push(t); if (t.includes('listening')) printed(); }, err: () => undefined, stopSignal, env: {}, cwd: process.cwd(),
    });
    await Promise.race([banner, run.then((code) => { throw new Error(`server start ended with ${code}`); })]);
    stop('SIGTERM');
    expect(await run).toBe(0);
    const text = out.join('');
    expect(text).toContain(`CA SHA-256 fingerprint (clients pin this: sigilo init URL --ca-fingerprint FP): ${caFingerprint}`);
    expect(text).toMatch(/certificate issued by the organisation CA/);
    expect(text).not.toMatch(/provided certificate/);
  }, 60_000);
});
