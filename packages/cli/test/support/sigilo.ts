/**
 * Runs the built `sigilo` command (packages/cli/dist/main.js; `npm test` builds
 * first) as a child process, as people and scripts run it, against a real test
 * server over TLS.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../../../server/test/support/server.js';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Result {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm test\` does)`);
}

/** Runs `sigilo ARGS…`; `input` is written to stdin (closed either way, so nothing waits on a terminal). */
export function sigilo(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`sigilo ${args.join(' ')} timed out\nstdout: ${out}\nstderr: ${err}`)); }, options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
    child.stdin.end(options.input ?? '');
  });
}

/** One person's client directory and passphrase, for `sigilo … --dir`. */
export interface CliPerson {
  readonly name: string;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  accountId: string;
  card: string;
  run(args: string[], options?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Result>;
}

export function cliPerson(root: string, name: string): CliPerson {
  const dir = join(root, name);
  const env = { SIGILO_PASSPHRASE: `correct horse of ${name}` };
  return {
    name, dir, env, accountId: '', card: '',
    run: (args, options = {}) => sigilo([...args, '--dir', dir], { ...options, env: { ...env, ...options.env } }),
  };
}

/** init + register through the command, as a person would; fills in accountId and card. */
export async function registered(server: TestServer, root: string, name: string): Promise<CliPerson> {
  const p = cliPerson(root, name);
  const init = await p.run(['init', server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, ''), '--fingerprint', server.server.tls.fingerprint]);
  if (init.code !== 0) throw new Error(`init failed: ${init.err}`);
  const { code } = await server.server.admin.createInvite();
  const reg = await p.run(['register', '--invite', code, '--json']);
  if (reg.code !== 0) throw new Error(`register failed: ${reg.err}`);
  const info = JSON.parse(reg.out) as { accountId: string; contactCard: string };
  p.accountId = info.accountId;
  p.card = info.contactCard;
  return p;
}

/**
 * A new client (`init` with the server's fingerprint only) linked to `primary`'s account: `sigilo link --json` on it,
 * `sigilo link --approve CODE` on the primary, as a person does it.
 */
export async function linkedDevice(server: TestServer, root: string, primary: CliPerson, name: string, deviceName = name): Promise<CliPerson> {
  const p = cliPerson(root, name);
  const init = await p.run(['init', server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, ''), '--fingerprint', server.server.tls.fingerprint]);
  if (init.code !== 0) throw new Error(`init failed: ${init.err}`);
  const child = spawn(process.execPath, [MAIN, 'link', '--json', '--device-name', deviceName, '--dir', p.dir], { env: { PATH: process.env.PATH, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', r));
  const deadline = Date.now() + 30_000;
  while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!out.includes('\n')) { child.kill(); throw new Error('sigilo link printed no code within 30 s'); }
  const { code } = JSON.parse(out.split('\n')[0]!) as { code: string };
  const approved = await primary.run(['link', '--approve', code], { timeoutMs: 60_000 });
  if (approved.code !== 0) throw new Error(`link --approve failed: ${approved.err}`);
  const status = await exited;
  if (status !== 0) throw new Error(`sigilo link exited with ${status}`);
  return p;
}

/** Makes two people contacts of each other with their cards. */
export async function introduce(a: CliPerson, b: CliPerson): Promise<void> {
  for (const [x, y] of [[a, b], [b, a]] as const) {
    const r = await x.run(['contacts', 'add', y.name, y.card]);
    if (r.code !== 0) throw new Error(`contacts add failed: ${r.err}`);
  }
}

/**
 * The first line a child process prints (`sigilo link --json` prints its code): waits up to `ms` (a loaded machine
 * starts node slowly), then throws saying what it waited for and what the child wrote to stderr, instead of
 * handing an empty string to JSON.parse.
 */
export async function firstLine(output: () => { out: string; err?: string }, what: string, ms = 60_000): Promise<string> {
  await until(() => output().out.includes('\n'), what, ms).catch((e: Error) => {
    throw new Error(`${e.message}; stdout: ${JSON.stringify(output().out)}, stderr: ${JSON.stringify(output().err ?? '(not read)')}`);
  });
  return output().out.split('\n')[0]!;
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
