/**
 * How `sigilo server start` runs its node process (issue 6; measured with
 * bench/attachments.mjs, which starts its server with these same settings).
 *
 * - `--max-semi-space-size=1`: V8's young generation is collected every 1 MiB
 *   of new objects instead of growing to 16 MiB semi-spaces. Every TLS record a
 *   transfer receives is a fresh 16 KiB buffer that lives until the collection
 *   after it, so the young generation's size decides how much of them piles
 *   up: with the default, a 256 MiB upload plus download left the server
 *   ~45 MiB of private memory above its start; with this flag ~20 MiB, for no
 *   measurable CPU.
 * - `--heap-growing-percent=50`: after each full collection V8 lets the old generation grow to
 *   1.5 times what survived, instead of up to 4 times when the mutator runs flat out. A
 *   saturated node keeps each message's objects (frame, request, promises) for the fraction of a
 *   second a group commit and its fsync take, long enough to be promoted, so its old generation fills
 *   with garbage at tens of MiB/s: at 10,000 devices the heap reached ~500 MiB (RSS ~950 MiB) by
 *   default, ~250 MiB (RSS ~660 MiB) with 50 (bench/server.mjs; spec/server.md §13.3).
 * - `MALLOC_ARENA_MAX=2`: glibc keeps fewer per-thread arenas (libuv's file
 *   threads free buffers into their own), so less freed memory stays resident.
 *
 * Neither can be set from inside a running process (v8.setFlagsFromString does
 * not resize the young generation once the heap exists; glibc reads its
 * variables at start), so main.ts starts the server command again as a child
 * with them, unless they are in place (SIGILO_SERVER_TUNED=1, set for that
 * child) or the user chose a semi-space size themselves; SIGILO_NO_RELAUNCH=1
 * keeps it in one process. The parent only waits: it forwards SIGTERM and
 * SIGHUP, leaves SIGINT to the terminal (which sends it to both), and exits
 * as the child did.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=50'];
export const SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
const TUNED = 'SIGILO_SERVER_TUNED';

/** Whether `args` (the command line after the script) should run again with the server settings. */
export function needsRelaunch(args: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (args[0] !== 'server' || args[1] !== 'start') return false;
  if (env[TUNED] === '1' || env.SIGILO_NO_RELAUNCH === '1') return false;
  const chosen = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--max-semi-space-size\b/.test(a));
  return !chosen;
}

/**
 * Runs this same node command line again in a child with SERVER_NODE_FLAGS
 * and SERVER_ENV, stdio shared; resolves with the exit code to use (a child
 * killed by a signal is re-raised on this process first).
 */
export function relaunch(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
      // The IPC channel is only a lifeline: if this parent dies (kill -9), the
      // child sees it close and shuts down instead of running on unseen with
      // the data directory locked (watchParent).
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...SERVER_ENV, [TUNED]: '1' },
    });
    const forward = (signal: NodeJS.Signals) => () => { child.kill(signal); };
    const handlers = (['SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const ignoreInt = () => { /* the terminal sent it to the child too */ };
    process.on('SIGINT', ignoreInt);
    child.once('error', (e) => {
      process.stderr.write(`sigilo: cannot start the server process (${e.message}); set SIGILO_NO_RELAUNCH=1 to run it in this process\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      process.off('SIGINT', ignoreInt);
      if (signal) {
        process.kill(process.pid, signal);
        // Still here (the signal is handled or ignored elsewhere): report it as a shell would.
        resolve(128 + (constants.signals[signal] ?? 0));
        return;
      }
      resolve(code ?? 1);
    });
  });
}

/**
 * In the relaunched server child: when the parent `sigilo` process goes away
 * (even by kill -9, which it cannot forward), stop gracefully as on SIGTERM.
 */
export function watchParent(): void {
  if (process.env[TUNED] !== '1' || !process.connected) return;
  process.once('disconnect', () => { process.kill(process.pid, 'SIGTERM'); });
  // The channel must not keep the process alive once the server has stopped.
  process.channel?.unref();
}
