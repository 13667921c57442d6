#!/usr/bin/env node
/** The `sigilo` command. */
import { needsRelaunch, relaunch, watchParent } from './launch.js';

// `server start` runs in a child with the server's node settings (launch.ts); loaded only after.
if (needsRelaunch(process.argv.slice(2), process.execArgv, process.env)) process.exit(await relaunch());
watchParent();
const { runCli } = await import('./run.js');

const stopSignal = new Promise<string>((resolve) => {
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
});

// Output piped into a reader that stops early (`sigilo chat bob --lines | head`): the rest of
// the output is dropped and the command finishes its work, instead of crashing on EPIPE.
let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  stdoutClosed = true;
});
process.stderr.on('error', () => { /* nowhere left to report it */ });

const code = await runCli(process.argv.slice(2), {
  out: (t) => { if (!stdoutClosed) process.stdout.write(t); },
  err: (t) => process.stderr.write(t),
  stopSignal,
  env: process.env,
  cwd: process.cwd(),
});
// Exit now: a finished command does not wait for idle handles (signal listeners, unref'd timers).
process.exit(code);
