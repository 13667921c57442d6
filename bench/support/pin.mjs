// Runs the calling benchmark again as a child pinned to core 0 (the servers it starts are pinned to core 1), and
// exits with the child's status; in the child (SIGILO_BENCH_CHILD set) it returns at once. Without `taskset` or
// with one core the child runs unpinned, and says so through SIGILO_BENCH_CHILD=unpinned.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export function rerunPinned(self) {
  if (process.env.SIGILO_BENCH_CHILD) return;
  const canPin = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0;
  const cmd = canPin ? ['taskset', '-c', '0', process.execPath] : [process.execPath];
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, SIGILO_BENCH_CHILD: canPin ? 'pinned' : 'unpinned' },
  });
  process.exit(r.status ?? 1);
}
