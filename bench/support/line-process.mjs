// Spawns a helper script in its own node process, optionally pinned with taskset, that prints
// JSON lines on stdout (the first one once it is ready) and takes commands on stdin.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export async function spawnLineProcess(script, args, { cpus, nodeArgs = [] } = {}) {
  const pinned = cpus !== undefined && spawnSync('taskset', ['--version']).status === 0;
  const nodeCmd = [process.execPath, ...nodeArgs, script, ...args];
  const [cmd, argv] = pinned ? ['taskset', ['-c', String(cpus), ...nodeCmd]] : [nodeCmd[0], nodeCmd.slice(1)];
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  let exited;
  child.once('exit', (code) => {
    exited = new Error(`${script} exited (${code})`);
    for (const w of waiters.splice(0)) w.reject(exited);
  });
  lines.on('line', (l) => { const w = waiters.shift(); if (w) w.resolve(l); else queue.push(l); });
  const nextLine = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    if (exited) return reject(exited);
    waiters.push({ resolve, reject });
  });
  const info = JSON.parse(await nextLine());
  return {
    ...info,
    pinned,
    child,
    /** Writes one command line and resolves to the JSON line it answers with. */
    async command(line) {
      child.stdin.write(`${line}\n`);
      return JSON.parse(await nextLine());
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
