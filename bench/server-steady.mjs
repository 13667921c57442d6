// Steady-state A/B of the server's per-message cost: the Sigilo half of bench/server.mjs's
// saturated workload (N devices over TLS, 1:1 sealed sends of 300 bytes, each device keeping W in
// flight), repeated in fixed steps on one server start, reporting the server's CPU time per
// delivered message (less sensitive to a shared machine's load than msg/s) and its peak RSS.
// Registers the devices once into STEADY_DATA and reuses them on later runs, so that an A/B of two
// builds or two sets of node flags costs a minute each instead of three.
//
//   npm run build && node bench/server-steady.mjs
//
// Env: STEADY_DATA (registered devices and the server's data; default /var/tmp/sigilo-steady),
//      STEADY_DEVICES (default 10000), STEADY_INFLIGHT (messages in flight in all, default 20000),
//      STEADY_STEPS (measured steps, default 3), STEADY_SECONDS (per step, default 8),
//      STEADY_WARMUP (seconds before the first step, default 3),
//      STEADY_NODE_FLAGS (space-separated node flags of the server; default the launcher's,
//      packages/cli/src/launch.ts), STEADY_PROFILE (a file: CPU profile of the measured steps only,
//      summarised at the end), STEADY_ALLOC (a file: sampling heap profile of the steps, .heapprofile),
//      STEADY_SNAPSHOT (a file: heap snapshot with the devices connected and idle, then stop).
// Server pinned to core 1, load generator to core 0 (as bench/server.mjs). Every accepted message
// must arrive exactly once and in order, or the run fails.
// Last line: `steady: N devices X-Y us/msg (median Z), A-B msg/s, peak RSS R MiB`
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { rerunPinned } from './support/pin.mjs';

const SELF = fileURLToPath(import.meta.url);
rerunPinned(SELF);

const { spawnServer } = await import('./support/spawn-server.mjs');
const { SigiloDevice } = await import('./support/sigilo-load.mjs');
const { LoadEngine } = await import('./support/load-engine.mjs');
const { CpuWatch, rssKiB } = await import('./support/proc.mjs');
const { connectAll, registeredOnce } = await import('./support/register.mjs');
const { summariseProfile } = await import('./support/cpu-profile.mjs');
const { SERVER_ENV, SERVER_NODE_FLAGS } = await import('../packages/cli/dist/launch.js');

const N = Number(process.env.STEADY_DEVICES ?? 10000);
const DATA = process.env.STEADY_DATA ?? '/var/tmp/sigilo-steady';
const INFLIGHT = Number(process.env.STEADY_INFLIGHT ?? 20000);
const STEPS = Number(process.env.STEADY_STEPS ?? 3);
const SECONDS = Number(process.env.STEADY_SECONDS ?? 8);
const WARMUP = Number(process.env.STEADY_WARMUP ?? 3);
const FLAGS = process.env.STEADY_NODE_FLAGS !== undefined ? process.env.STEADY_NODE_FLAGS.split(/\s+/).filter(Boolean) : [...SERVER_NODE_FLAGS];
const PROFILE = process.env.STEADY_PROFILE;
const ALLOC = process.env.STEADY_ALLOC;
const CPU = process.env.SIGILO_BENCH_CHILD === 'pinned' ? 1 : undefined;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const note = (s) => process.stderr.write(`  ${s}\n`);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const portOf = (url) => Number(new URL(url.replace(/^wss:/, 'https:')).port);


const dataDir = join(DATA, 'sigilo');
// Registered once, then every run starts from the database as registration left it (support/register.mjs).
const devices = await registeredOnce({ root: DATA, dataDir, n: N, pristine: 'registered', cpus: CPU, note, spawnServer, SigiloDevice });

const cert = readFileSync(join(dataDir, 'tls', 'self-signed.crt'));
const secureContext = createSecureContext({ ca: cert });
console.log(`steady: node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start; server flags ${FLAGS.join(' ') || '(none)'}`);
const saved = Object.fromEntries(Object.keys(SERVER_ENV).map((k) => [k, process.env[k]]));
Object.assign(process.env, SERVER_ENV);
const server = await spawnServer(dataDir, { cpus: CPU, nodeArgs: [...FLAGS, '--expose-gc'] });
for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
try {
  const target = { port: portOf(server.url), cert, secureContext };
  const idle0 = await server.gc();
  await connectAll(devices, target);
  await sleep(1000);
  const idle1 = await server.gc();
  const idleMem = await server.command('memory');
  console.log(`  RSS ${fmt(idle0.rss / 2 ** 20)} MiB with no connection, ${fmt(idle1.rss / 2 ** 20)} MiB with ${N} idle devices`
    + ` (heapUsed ${fmt(idleMem.heapUsed / 2 ** 20)}, heapTotal ${fmt(idleMem.heapTotal / 2 ** 20)}, external ${fmt(idleMem.external / 2 ** 20)} MiB)`);
  if (process.env.STEADY_SNAPSHOT) {
    // A heap snapshot of the idle server (STEADY_SNAPSHOT=file), then stop.
    await server.command(`snapshot ${process.env.STEADY_SNAPSHOT}`);
    throw Object.assign(new Error('snapshot written'), { snapshot: true });
  }
  const engine = new LoadEngine(devices);
  const window = Math.max(1, Math.round(INFLIGHT / N));
  let peak = rssKiB(server.pid);
  let peakMem;
  const sampler = setInterval(() => { const v = rssKiB(server.pid); if (v > peak) peak = v; }, 250);
  server.child.setMaxListeners(0);
  const heapSampler = setInterval(async () => {
    const m = await server.command('memory');
    if (!peakMem || m.rss > peakMem.rss) peakMem = m;
  }, 1000);
  const steps = [];
  // One long saturated run: the steps are consecutive windows of it.
  const run = engine.saturate({
    window, warmup: WARMUP, seconds: STEPS * SECONDS,
    during: () => {},
  });
  await sleep(WARMUP * 1000 + 50);
  if (PROFILE) await server.command('profile start');
  if (ALLOC) await server.command('alloc start');
  for (let s = 0; s < STEPS; s++) {
    const watch = new CpuWatch({ server: server.pid, generator: process.pid }).start();
    const d0 = engine.totals.delivered;
    await sleep(SECONDS * 1000);
    const cpu = watch.stop();
    const delivered = engine.totals.delivered - d0;
    const rate = delivered / cpu.seconds;
    const us = (cpu.procs.server / 100) * cpu.seconds * 1e6 / delivered;
    steps.push({ rate, us, cpu });
    console.log(`  step ${s + 1}: ${Math.round(rate)} msg/s, server ${fmt(cpu.procs.server, 0)} % of core 1 -> ${fmt(us)} us/msg;`
      + ` generator ${fmt(cpu.procs.generator, 0)} %; core 0 busy ${fmt(cpu.cores[0], 0)} %, core 1 busy ${fmt(cpu.cores[1], 0)} %; load ${fmt(loadavg()[0], 2)}`);
  }
  if (PROFILE) await server.command(`profile stop ${PROFILE}`);
  if (ALLOC) await server.command(`alloc stop ${ALLOC}`);
  const r = await run;
  clearInterval(sampler);
  clearInterval(heapSampler);
  if (!r.drain.ok) throw new Error(`messages still missing after the steps: ${JSON.stringify(r.drain)}`);
  const problems = engine.verify();
  if (problems.length) throw new Error(`delivery check failed: ${problems.join('; ')}`);
  const t = engine.totals;
  console.log(`  check: ${t.sent} sent, ${t.stored} accepted, ${t.delivered} received exactly once and in order${t.failed ? `, ${t.failed} refused (${[...engine.errors].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`);
  const mib = (b) => fmt(b / 2 ** 20);
  if (peakMem) console.log(`  at the highest sampled RSS (${mib(peakMem.rss)} MiB): heapUsed ${mib(peakMem.heapUsed)}, heapTotal ${mib(peakMem.heapTotal)}, external ${mib(peakMem.external)}, arrayBuffers ${mib(peakMem.arrayBuffers)} MiB`);
  if (PROFILE) {
    console.log('  where the server spent its CPU during the steps (self time):');
    for (const { what, percent } of summariseProfile(join(PROFILE, '..'), 25, PROFILE)) console.log(`      ${fmt(percent).padStart(5)} %  ${what}`);
  }
  const us = steps.map((s) => s.us).sort((a, b) => a - b);
  const rates = steps.map((s) => s.rate).sort((a, b) => a - b);
  console.log(`steady: ${N} devices ${fmt(us[0])}-${fmt(us[us.length - 1])} us/msg (median ${fmt(us[Math.floor(us.length / 2)])}), `
    + `${Math.round(rates[0])}-${Math.round(rates[rates.length - 1])} msg/s, peak RSS ${fmt(peak / 1024)} MiB`);
} catch (e) {
  if (!e.snapshot) throw e;
  console.log(`  heap snapshot of the idle server in ${process.env.STEADY_SNAPSHOT}`);
} finally {
  for (const d of devices) d.close();
  await server.stop();
}
