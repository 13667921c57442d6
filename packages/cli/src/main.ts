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

const code = await runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stopSignal,
  env: process.env,
  cwd: process.cwd(),
});
// Exit now: a finished command does not wait for idle handles (signal listeners, unref'd timers).
process.exit(code);
