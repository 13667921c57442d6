/**
 * Rough edges a newcomer organisation met following the README, through the built
 * `sigilo` binary against a real server over TLS: output piped into a reader that
 * stops early, a server certificate this machine does not trust, a group member
 * one knows nothing about yet.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { MAIN, assertBuilt, cliPerson, introduce, registered, type CliPerson } from './support/sigilo.js';

describe('sigilo as a newcomer meets it', () => {
  let server: TestServer;
  let root: string;
  let ana: CliPerson, bruno: CliPerson, carla: CliPerson;
  let https: string;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    https = server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-newcomer-'));
    [ana, bruno, carla] = await Promise.all(['ana', 'bruno', 'carla'].map((n) => registered(server, root, n)));
    await introduce(ana, bruno);
    await introduce(ana, carla);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('output piped into a reader that closes early ends the command quietly, not with an EPIPE stack trace', async () => {
    for (let i = 0; i < 3; i++) expect((await ana.run(['send', 'bruno', `message ${i}`])).code).toBe(0);
    // `sigilo chat ana --lines | head -1`: the reader goes away after the first chunk, while the
    // command still has lines to write (connecting, online, the history it receives).
    const result = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'chat', 'ana', '--lines', '--dir', bruno.dir], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...bruno.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.once('data', () => child.stdout.destroy());
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`chat did not end; stderr: ${err}`)); }, 60_000);
      child.once('close', (code) => { clearTimeout(timer); resolve({ code, err }); });
      child.stdin.end();
    });
    expect(result.err).not.toMatch(/EPIPE|\n\s+at /);
    expect(result.code).toBe(0);
  }, 90_000);

  it('--ca-trusted against a certificate this machine does not trust says so, and how to pin it', async () => {
    const p = cliPerson(root, 'trusting');
    const r = await p.run(['init', https, '--ca-trusted']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the server answered, but its certificate is not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(r.err).toMatch(/sigilo init URL --fingerprint FP/);
    expect(r.err).not.toMatch(/check the URL and that it is running/);
    // A server that is really down still says so.
    const down = await p.run(['init', 'https://127.0.0.1:1', '--ca-trusted']);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the server \(ECONNREFUSED\); check the URL and that it is running/);
  }, 60_000);

  it('group show names a member one has neither a contact name nor a profile for as "-", not the id twice', async () => {
    expect((await ana.run(['group', 'create', 'team', 'bruno', 'carla'])).code).toBe(0);
    const r = await bruno.run(['group', 'show', 'team']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`\\n  -\\s+${carla.accountId}  member\\n`));
    expect(r.out).not.toContain(`${carla.accountId} ${carla.accountId}`);
    expect(r.out).toMatch(new RegExp(`\\n  ana\\s+${ana.accountId}  admin\\n`));
  }, 60_000);

  it('server start says whether the member directory is on, so the administrator can check what the README asked', async () => {
    for (const [extra, expected] of [
      [[], /\n  member directory: off \(members find each other by exact username; directory.mode=members turns the list on\)\n/],
      [['--set', 'directory.mode=members'], /\n  member directory: on \(members who join are listed, username and name in clear to the server\)\n/],
    ] as const) {
      const data = mkdtempSync(join(root, 'server-'));
      const banner = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [MAIN, 'server', 'start', '--host', '127.0.0.1', '--port', '0', '--data', data, ...extra], {
          env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('  metrics: ')) child.kill('SIGTERM');
        });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no banner: ${out}`)); }, 60_000);
        child.once('close', () => { clearTimeout(timer); resolve(out); });
      });
      expect(banner).toMatch(expected);
    }
  }, 150_000);

  it('a member whose account the administrator removed is told so in words, not "wrong signature"', async () => {
    const dora = await registered(server, root, 'dora');
    expect((await server.server.admin.removeAccount(dora.accountId)).removed).toBe(true);
    const r = await dora.run(['inbox']);
    // The server says ACCOUNT_REMOVED (a typed error, to this device only: its signature opens the record).
    expect(r.code).toBe(4);
    expect(r.err).toContain('the administrator removed your account, with all its devices, on ');
    expect(r.err).toContain('Ask your administrator for an invite and register a new account');
    expect(r.err).not.toMatch(/signature|device key/);
    const json = await dora.run(['inbox', '--json']);
    expect(json.out).toContain('"code":"ACCOUNT_REMOVED"');
  }, 60_000);

  it('whoami shows the name and username others see, and says how to set them when there are none', async () => {
    const before = await carla.run(['whoami']);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toContain('Name: - (set it with: sigilo profile set --name "Your Name")\nUsername: - (claim one with: sigilo username set NAME)\n');
    expect((await carla.run(['profile', 'set', '--name', 'Carla Díaz'])).code).toBe(0);
    expect((await carla.run(['username', 'set', 'carla.diaz'])).code).toBe(0);
    const after = await carla.run(['whoami']);
    expect(after.out).toContain(`Account: ${carla.accountId}\nName: Carla Díaz\nUsername: @carla.diaz\nDevice: 1\n`);
    expect(JSON.parse((await carla.run(['whoami', '--json'])).out)).toMatchObject({ accountId: carla.accountId, name: 'Carla Díaz', username: 'carla.diaz' });
  }, 60_000);

  it('sending by account id to a group member without a contact name names her by her profile, not by the id', async () => {
    // Carla (profile set above) writes in the group: Bruno learns her name, not a contact name.
    expect((await carla.run(['send', 'team', 'hello team'])).code).toBe(0);
    expect((await bruno.run(['inbox'])).out).toContain('hello team');
    const r = await bruno.run(['send', carla.accountId, 'hi Carla']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Sent to ~Carla Díaz /);
  }, 60_000);
});
