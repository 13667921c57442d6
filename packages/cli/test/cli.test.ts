import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/run.js';

function io(env: NodeJS.ProcessEnv = {}) {
  let stop!: (s: string) => void;
  const out: string[] = [];
  const err: string[] = [];
  return {
    out, err,
    stop: (s = 'SIGTERM') => stop(s),
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), stopSignal: new Promise<string>((r) => (stop = r)), env, cwd: process.cwd() },
  };
}

async function until(cond: () => boolean, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sigilo command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints help and rejects unknown commands with exit code 2', async () => {
    const h = io();
    expect(await runCli(['help'], h.io)).toBe(0);
    expect(h.out.join('')).toMatch(/server start/);
    expect(h.out.join('')).toMatch(/admin invite/);
    const u = io();
    expect(await runCli(['frobnicate'], u.io)).toBe(2);
    expect(u.err.join('')).toMatch(/unknown command 'frobnicate'/);
    const f = io();
    expect(await runCli(['server', 'start', '--bogus'], f.io)).toBe(2);
    expect(f.err.join('')).toMatch(/Unknown option '--bogus'/);
    const s = io();
    expect(await runCli(['server', 'start', '--help'], s.io)).toBe(0);
    expect(s.out.join('')).toMatch(/SIGILO_UNDELIVERED_TTL/);
  });

  it('takes client options before the command too (sigilo --dir DIR whoami)', async () => {
    const empty = join(dir, 'no-client');
    const before = io();
    expect(await runCli(['--dir', empty, 'whoami'], before.io)).toBe(1);
    expect(before.err.join('')).toContain(`no Sigilo client in ${empty}`);
    const after = io();
    expect(await runCli(['whoami', `--dir=${empty}`], after.io)).toBe(1);
    expect(after.err.join('')).toBe(before.err.join(''));
    // A leading option the command does not take is still refused by the command.
    const wrong = io();
    expect(await runCli(['--dir', empty, 'server', 'start'], wrong.io)).toBe(2);
    expect(wrong.err.join('')).toMatch(/Unknown option '--dir'/);
    // The server's data directory may come first too; an option that may not, or one without its value, is named.
    const admin = io();
    expect(await runCli(['--data', join(dir, 'empty'), 'admin', 'accounts'], admin.io)).toBe(1);
    expect(admin.err.join('')).toMatch(/no Sigilo database in .*empty/);
    const notLeading = io();
    expect(await runCli(['--expires', '1d', 'admin', 'invite'], notLeading.io)).toBe(2);
    expect(notLeading.err.join('')).toBe("sigilo: --expires cannot come before the command (only --dir, --passphrase-file, --data, --config, --json can); put it after the command: sigilo COMMAND --expires\n");
    const noValue = io();
    expect(await runCli(['--dir'], noValue.io)).toBe(2);
    expect(noValue.err.join('')).toBe('sigilo: --dir needs a value before the command: sigilo --dir DIR COMMAND\n');
  });

  it('reports configuration mistakes clearly', async () => {
    const a = io({ SIGILO_PORT: 'eighty' });
    expect(await runCli(['server', 'start', '--data', join(dir, 'x')], a.io)).toBe(2);
    expect(a.err.join('')).toMatch(/SIGILO_PORT: port must be an integer/);
    const b = io();
    expect(await runCli(['admin', 'invite', '--data', join(dir, 'empty')], b.io)).toBe(1);
    expect(b.err.join('')).toMatch(/no Sigilo database in .*start the server once/);
    const c = io();
    expect(await runCli(['admin', 'invite', '--data', dir, '--expires', 'soon'], c.io)).toBe(2);
  });

  it('starts a server, administers it live and offline, and stops on a signal', async () => {
    const data = join(dir, 'data');
    const s = io();
    const running = runCli(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--data', data, '--set', 'retention.undelivered=14d'], s.io);
    await until(() => s.out.join('').includes('SHA-256 fingerprint'));
    expect(s.out.join('')).toMatch(/self-signed certificate \(generated now\)/);

    const inv = io();
    expect(await runCli(['admin', 'invite', '--data', data, '--json'], inv.io)).toBe(0);
    expect(JSON.parse(inv.out.join(''))).toMatchObject({ code: expect.stringMatching(/^\w{5}-/) });
    const many = io();
    expect(await runCli(['admin', 'invite', '--data', data, '--count', '3', '--json'], many.io)).toBe(0);
    expect(JSON.parse(many.out.join(''))).toHaveLength(3);
    // The web link names the port the running server listens on (here one the OS chose for --port 0, which no config
    // file or environment holds), for one invite and for each of several.
    const livePort = /listening on wss:\/\/127\.0\.0\.1:(\d+)\//.exec(s.out.join(''))![1]!;
    const one = io();
    expect(await runCli(['admin', 'invite', '--data', data], one.io)).toBe(0);
    const oneCode = /Invite code: (\S+)/.exec(one.out.join(''))![1]!;
    expect(one.out.join('')).toContain(`\nWeb app: https://127.0.0.1:${livePort}/#invite=${encodeURIComponent(oneCode)}\n`);
    const several = io();
    expect(await runCli(['admin', 'invite', '--data', data, '--count', '2'], several.io)).toBe(0);
    const lines = several.out.join('').split('\n').filter((l) => /^\w{5}-/.test(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      const [code, link] = l.split(/\s+/);
      expect(link).toBe(`https://127.0.0.1:${livePort}/#invite=${encodeURIComponent(code!)}`);
    }
    const acc = io();
    expect(await runCli(['admin', 'accounts', '--data', data], acc.io)).toBe(0);
    expect(acc.out.join('')).toMatch(/No accounts yet/);
    const rev = io();
    expect(await runCli(['admin', 'revoke-device', '0'.repeat(32), '1', '--data', data], rev.io)).toBe(1);
    expect(rev.err.join('')).toMatch(/no account a{26} on this server/);
    const aud = io();
    expect(await runCli(['admin', 'audit', '--data', data], aud.io)).toBe(0);
    expect(aud.out.join('')).toMatch(/invites\s+7/);
    expect(aud.out.join('')).toMatch(/undelivered messages 14 days/);

    s.stop('SIGTERM');
    expect(await running).toBe(0);
    expect(s.out.join('')).toMatch(/stopped/);

    // Offline: the same commands work on the data directory.
    const off = io();
    expect(await runCli(['admin', 'invite', '--data', data], off.io)).toBe(0);
    expect(off.out.join('')).toMatch(/Invite code: .*\nValid until: .*single use/);
    // The web app's sign-up link, the code in the fragment (never sent to the server).
    const code = /Invite code: (\S+)/.exec(off.out.join(''))![1]!;
    expect(off.out.join('')).toMatch(new RegExp(`\\nWeb app: https://\\S+:\\d+/#invite=${encodeURIComponent(code)}`));
    const aud2 = io();
    expect(await runCli(['admin', 'audit', '--data', data, '--json'], aud2.io)).toBe(0);
    expect(JSON.parse(aud2.out.join('')).tables.find((t: { table: string }) => t.table === 'invites').rows).toBe(8);
  });

  it('reads a config file', async () => {
    const data = join(dir, 'with-config');
    const file = join(dir, 'sigilo.json');
    writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: 0, dataDir: data, limits: { maxDevicesPerAccount: 2 } }));
    const s = io();
    const running = runCli(['server', 'start', '--config', file], s.io);
    await until(() => s.out.join('').includes('fingerprint'));
    expect(s.out.join('')).toContain(data);
    s.stop();
    expect(await running).toBe(0);
    writeFileSync(file, JSON.stringify({ limits: { maxDevices: 2 } }));
    const bad = io();
    expect(await runCli(['server', 'start', '--config', file], bad.io)).toBe(2);
    expect(bad.err.join('')).toMatch(/unknown setting 'limits.maxDevices'/);
  });

  it('the sigilo process shuts down gracefully on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const tsconfig = fileURLToPath(new URL('../../server/test/support/tsconfig.spawn.json', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'server', 'start', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'proc')], {
      env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => out.includes('fingerprint'));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toMatch(/received SIGTERM: shutting down\nstopped/);
  });
});
