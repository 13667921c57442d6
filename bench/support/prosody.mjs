// Prosody from Debian's packages for the server benchmark: installed if missing, configured here
// (bench/prosody/prosody.cfg.lua.template) on 127.0.0.1 with a temporary config and data
// directory and its own port, plaintext c2s, in-band registration allowed (for the benchmark's
// accounts), stream management on; started in the foreground, optionally pinned with taskset.
// A system Prosody service, if any, is left alone: this one uses other ports and files.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const TEMPLATE = new URL('../prosody/prosody.cfg.lua.template', import.meta.url);

/** Makes sure `prosody` is installed (apt-get); returns its version line. */
export function ensureProsody(log = (s) => process.stderr.write(`${s}\n`)) {
  const has = () => spawnSync('sh', ['-c', 'command -v prosody'], { encoding: 'utf8' }).status === 0;
  if (!has()) {
    log('  installing prosody (apt-get install -y prosody) ...');
    const env = { ...process.env, TMPDIR: '/var/tmp', DEBIAN_FRONTEND: 'noninteractive' };
    const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', 'prosody']]) {
      const [cmd, ...rest] = [...sudo, ...args];
      const r = spawnSync(cmd, rest, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (!has()) throw new Error('prosody is still not on the PATH after apt-get install');
  }
  const v = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'prosody'], { encoding: 'utf8' });
  return v.status === 0 ? v.stdout.trim() : 'unknown version';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitForPort(port, child, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}) before listening`);
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`prosody did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts Prosody with a generated config under `dir`; resolves to {port, pid, domain, stop()}. */
export async function startProsody(dir, { cpus, domain = 'localhost' } = {}) {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const config = join(dir, 'prosody.cfg.lua');
  const values = { DIR: dir, PORT: String(port), DOMAIN: domain };
  writeFileSync(config, readFileSync(TEMPLATE, 'utf8').replace(/@(\w+)@/g, (m, k) => values[k] ?? m));
  const pinned = cpus !== undefined && spawnSync('taskset', ['--version']).status === 0;
  const cmd = pinned ? ['taskset', '-c', String(cpus), 'prosody'] : ['prosody'];
  const child = spawn(cmd[0], [...cmd.slice(1), '--config', config, '-F'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  try {
    await waitForPort(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    let log = '';
    try { log = readFileSync(join(dir, 'prosody.log'), 'utf8').slice(-2000); } catch { /* none */ }
    throw new Error(`${err.message}\n${stderr}\n${log}`);
  }
  return {
    port, pid: child.pid, domain, pinned, child, logFile: join(dir, 'prosody.log'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(t);
    },
  };
}
