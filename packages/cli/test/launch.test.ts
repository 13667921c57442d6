/**
 * `sigilo server start` runs its server in a child node process with the
 * server's node settings (src/launch.ts), through the built command: the child
 * has the flag and the environment, SIGTERM to the command stops the server
 * gracefully with exit status 0, and SIGILO_NO_RELAUNCH=1 keeps one process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needsRelaunch, SERVER_ENV, SERVER_NODE_FLAGS } from '../src/launch.js';
import { MAIN, assertBuilt } from './support/sigilo.js';

const dir = mkdtempSync(join(tmpdir(), 'sigilo-launch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

async function startServer(name: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, 'server', 'start', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, name)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes('fingerprint')) {
    if (Date.now() > deadline) throw new Error(`the server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exit, output: () => out };
}

describe('sigilo server start', () => {
  it('runs the server in a child with the server flags and environment; SIGTERM stops both, exit 0', async () => {
    assertBuilt();
    const s = await startServer('relaunched');
    const kids = childrenOf(s.child.pid!);
    expect(kids.length).toBe(1);
    const argv = readFileSync(`/proc/${kids[0]}/cmdline`, 'utf8').split('\0');
    for (const flag of SERVER_NODE_FLAGS) expect(argv).toContain(flag);
    const environ = readFileSync(`/proc/${kids[0]}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(SERVER_ENV)) expect(environ).toContain(`${k}=${v}`);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.output()).toMatch(/received SIGTERM: shutting down\n[\s\S]*stopped/);
    await new Promise((r) => setTimeout(r, 100));
    expect(() => readFileSync(`/proc/${kids[0]}/stat`)).toThrow(); // the server process is gone too
  }, 30_000);

  it('kill -9 of the sigilo command stops its server child too, and the data directory can be started again', async () => {
    assertBuilt();
    const s = await startServer('orphan');
    const [kid] = childrenOf(s.child.pid!);
    expect(kid).toBeDefined();
    s.child.kill('SIGKILL');
    await s.exit;
    const deadline = Date.now() + 15_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        readFileSync(`/proc/${kid}/stat`);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
    const again = await startServer('orphan');
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  }, 45_000);

  it('stays in one process with SIGILO_NO_RELAUNCH=1', async () => {
    const s = await startServer('single', { SIGILO_NO_RELAUNCH: '1' });
    expect(childrenOf(s.child.pid!)).toEqual([]);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  }, 30_000);

  it('relaunches only server start, once, and not when a semi-space size is chosen', () => {
    expect(needsRelaunch(['server', 'start'], [], {})).toBe(true);
    expect(needsRelaunch(['server', 'start', '--port', '1'], ['--import', 'tsx'], {})).toBe(true);
    expect(needsRelaunch(['server', 'start'], [], { SIGILO_SERVER_TUNED: '1' })).toBe(false);
    expect(needsRelaunch(['server', 'start'], [], { SIGILO_NO_RELAUNCH: '1' })).toBe(false);
    expect(needsRelaunch(['server', 'start'], ['--max-semi-space-size=4'], {})).toBe(false);
    expect(needsRelaunch(['server', 'start'], [], { NODE_OPTIONS: '--max-semi-space-size=2' })).toBe(false);
    expect(needsRelaunch(['admin', 'invite'], [], {})).toBe(false);
    expect(needsRelaunch(['send', 'bob', 'hi'], [], {})).toBe(false);
    expect(needsRelaunch([], [], {})).toBe(false);
  });
});
