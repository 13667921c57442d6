// Starts bench/support/server-process.mjs (optionally pinned to CPUs with taskset) and talks to it.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export async function spawnServer(dataDir, { cpus, overrides } = {}) {
  const script = fileURLToPath(new URL('./server-process.mjs', import.meta.url));
  const pinned = cpus !== undefined && spawnSync('taskset', ['--version']).status === 0;
  const [cmd, args] = pinned
    ? ['taskset', ['-c', String(cpus), process.execPath, script, dataDir, JSON.stringify(overrides ?? {})]]
    : [process.execPath, [script, dataDir, JSON.stringify(overrides ?? {})]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => { const w = waiters.shift(); if (w) w(l); else queue.push(l); });
  const nextLine = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    waiters.push(resolve);
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  const info = JSON.parse(await nextLine());
  return {
    ...info,
    pinned,
    child,
    async invite() {
      child.stdin.write('invite\n');
      return JSON.parse(await nextLine()).invite;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
