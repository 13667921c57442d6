// Starts bench/support/server-process.mjs (optionally pinned to CPUs with taskset) and talks to it.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// nodeArgs: extra node flags for the server process (e.g. --expose-gc for the "gc" command,
// --cpu-prof for a profile written when it stops).
export async function spawnServer(dataDir, { cpus, overrides, nodeArgs = [] } = {}) {
  const script = fileURLToPath(new URL('./server-process.mjs', import.meta.url));
  const pinned = cpus !== undefined && spawnSync('taskset', ['--version']).status === 0;
  const nodeCmd = [process.execPath, ...nodeArgs, script, dataDir, JSON.stringify(overrides ?? {})];
  const [cmd, args] = pinned ? ['taskset', ['-c', String(cpus), ...nodeCmd]] : [nodeCmd[0], nodeCmd.slice(1)];
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
    /** n invite codes at once (at most 10,000 per call). */
    async invites(n) {
      child.stdin.write(`invites ${n}\n`);
      return JSON.parse(await nextLine()).invites;
    },
    /** A full GC in the server (when started with --expose-gc); resolves to {gc, rss}. */
    async gc() {
      child.stdin.write('gc\n');
      return JSON.parse(await nextLine());
    },
    /** Sends a line and resolves with the JSON answer (server-process.mjs: "memory", "profile start", "profile stop FILE"). */
    async command(line) {
      child.stdin.write(`${line}\n`);
      return JSON.parse(await nextLine());
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
