// Where the open-loop latency of bench/server.mjs comes from: the same workload (N devices over TLS,
// 1:1 sealed sends of 300 bytes, server pinned to core 1, load generator to core 0), run open loop at
// fixed rates on one server start, with the latency taken apart:
//   generator: scheduled -> written to the socket (`lag`: its timers and event loop), written ->
//     SendResult read (`answer`), written -> Deliver read by the partner (`receive`), scheduled ->
//     Deliver read (`total`, the figure bench/server.mjs reports); its own event-loop delay and CPU;
//   server (bench/support/server-process.mjs "probe"): event-loop delay, each WAL fdatasync's
//     duration, GC pauses, CPU; from /metrics: sends per group commit and the server's own
//     receive-to-SendResult time (sigilo_send_commit_seconds), as bucket counts.
// Registers the devices once into LAT_DATA and reuses them (as bench/server-steady.mjs).
//
//   npm run build && node bench/server-latency.mjs
//
// Env: LAT_DEVICES (default 2000), LAT_RATES (comma list: msg/s, or a fraction of the measured saturated
//      rate such as 0.5x; default 0.25x,0.5x), LAT_SATURATE (messages in flight in all for the saturated step
//      that measures the rate the fractions refer to; default 2 per device), LAT_SECONDS (per step, default 6),
//      LAT_WARMUP (default 2), LAT_DATA (default /var/tmp/sigilo-latency).
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { rerunPinned } from './support/pin.mjs';

const SELF = fileURLToPath(import.meta.url);
rerunPinned(SELF);

const { spawnServer } = await import('./support/spawn-server.mjs');
const { SigiloDevice, WsConn } = await import('./support/sigilo-load.mjs');
const { LoadEngine, LatencyTrace } = await import('./support/load-engine.mjs');
const { CpuWatch, schedMs } = await import('./support/proc.mjs');
const { connectAll, registeredOnce } = await import('./support/register.mjs');
const { SERVER_ENV, SERVER_NODE_FLAGS } = await import('../packages/cli/dist/launch.js');

const N = Number(process.env.LAT_DEVICES ?? 2000);
const DATA = process.env.LAT_DATA ?? '/var/tmp/sigilo-latency';
const RATES = (process.env.LAT_RATES ?? '0.25x,0.5x').split(',').filter(Boolean);
const SATURATE = Number(process.env.LAT_SATURATE ?? 2 * N);
const SECONDS = Number(process.env.LAT_SECONDS ?? 6);
const WARMUP = Number(process.env.LAT_WARMUP ?? 2);
const CPU = process.env.SIGILO_BENCH_CHILD === 'pinned' ? 1 : undefined;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const note = (s) => process.stderr.write(`  ${s}\n`);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const portOf = (url) => Number(new URL(url.replace(/^wss:/, 'https:')).port);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** The histograms of /metrics: name -> {le: [bounds], counts: [cumulative], count, sum}. */
function histograms(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        const out = {};
        const get = (name) => (out[name] ??= { le: [], counts: [], count: 0, sum: 0 });
        for (const line of body.split('\n')) {
          let m = /^([a-z_]+)_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$/.exec(line);
          if (m) { const h = get(m[1]); h.le.push(m[2] === '+Inf' ? Infinity : Number(m[2])); h.counts.push(Number(m[3])); continue; }
          m = /^([a-z_]+)_(count|sum) ([0-9.e+-]+)$/.exec(line);
          if (m && out[m[1]]) out[m[1]][m[2]] = Number(m[3]);
        }
        resolve(out);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A histogram's growth between two readings: count, mean, and the bucket bound under which p50 / p99 fall. */
function histDiff(a, b) {
  if (!a || !b) return undefined;
  const counts = b.counts.map((c, i) => c - (a.counts[i] ?? 0));
  const count = b.count - a.count;
  const at = (q) => { const i = counts.findIndex((c) => c >= q * count); return i < 0 ? NaN : b.le[i]; };
  return { count, mean: count ? (b.sum - a.sum) / count : NaN, p50: at(0.5), p99: at(0.99) };
}

function dist(xs) {
  const s = Float64Array.from(xs).sort();
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1] : NaN, sum: s.reduce((a, b) => a + b, 0) };
}

const line = (name, d) => `${name.padEnd(34)} p50 ${fmt(d.p50).padStart(7)}  p90 ${fmt(d.p90).padStart(7)}  p99 ${fmt(d.p99).padStart(7)}  max ${fmt(d.max).padStart(7)} ms${d.n !== undefined ? `  (${d.n})` : ''}`;

// ------------------------------------------------------------------------------ devices (once)

const dataDir = join(DATA, 'sigilo');
// Registered once, then every run starts from the database as registration left it (support/register.mjs).
const devices = await registeredOnce({ root: DATA, dataDir, n: N, pristine: `registered-${N}`, cpus: CPU, note, spawnServer, SigiloDevice });

// ------------------------------------------------------------------------------ run

const cert = readFileSync(join(dataDir, 'tls', 'self-signed.crt'));
const secureContext = createSecureContext({ ca: cert });
console.log(`latency: node ${process.version}, ${N} devices, load average ${load()} at start`);
const saved = Object.fromEntries(Object.keys(SERVER_ENV).map((k) => [k, process.env[k]]));
Object.assign(process.env, SERVER_ENV);
const server = await spawnServer(dataDir, { cpus: CPU, nodeArgs: [...SERVER_NODE_FLAGS] });
for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
try {
  const target = { port: portOf(server.url), cert, secureContext };
  await connectAll(devices, target);
  await sleep(1000);
  const engine = new LoadEngine(devices);
  engine.trace = new LatencyTrace();
  WsConn.onPing = (now) => engine.trace.pinged(now);
  let saturated = NaN;
  if (RATES.some((r) => r.endsWith('x'))) {
    const window = Math.max(1, Math.round(SATURATE / N));
    let watch, cpu;
    const r = await engine.saturate({
      window, warmup: WARMUP, seconds: SECONDS,
      during: (p) => { if (p === 'start') watch = new CpuWatch({ server: server.pid, generator: process.pid }).start(); else cpu = watch.stop(); },
    });
    saturated = r.rate;
    console.log(`  saturated, ${window} in flight per device: ${Math.round(r.rate)} msg/s; server ${fmt(cpu.procs.server, 0)} % of core 1,`
      + ` generator ${fmt(cpu.procs.generator, 0)} % of core 0; core 0 busy ${fmt(cpu.cores[0], 0)} %, core 1 busy ${fmt(cpu.cores[1], 0)} %; load ${load()}`);
  }
  for (const spec of RATES) {
    const rate = Math.max(1, Math.round(spec.endsWith('x') ? Number(spec.slice(0, -1)) * saturated : Number(spec)));
    const eld = monitorEventLoopDelay({ resolution: 1 });
    let watch, cpu, h0, h1, probe, s0, s1;
    const sched = () => ({ server: schedMs(server.pid), generator: schedMs(process.pid) });
    // CPU time of the server's main thread per 100 ms of the window (schedstat: not inflated by waiting for a CPU).
    const cpuSlots = [];
    let sampler, wStart, lastRun;
    const r = await engine.openLoop({
      rate, warmup: WARMUP, seconds: SECONDS,
      during: async (p) => {
        if (p === 'start') {
          eld.enable();
          s0 = sched();
          wStart = performance.now();
          lastRun = s0.server.run;
          sampler = setInterval(() => {
            const run = schedMs(server.pid).run;
            const i = Math.floor((performance.now() - wStart) / 100);
            cpuSlots[i] = (cpuSlots[i] ?? 0) + run - lastRun;
            lastRun = run;
          }, 100);
          watch = new CpuWatch({ server: server.pid, generator: process.pid }).start();
          void server.command('probe start');
          h0 = histograms(server.metricsUrl);
        } else {
          cpu = watch.stop();
          s1 = sched();
          clearInterval(sampler);
          eld.disable();
          probe = server.command('probe stop');
          h1 = histograms(server.metricsUrl);
        }
      },
    });
    [h0, h1, probe] = await Promise.all([h0, h1, probe]);
    const tr = engine.trace.summary();
    const ms = (ns) => ns / 1e6;
    const geld = { p50: ms(eld.percentile(50)), p90: ms(eld.percentile(90)), p99: ms(eld.percentile(99)), max: ms(eld.max) };
    const syncs = dist(probe.syncs);
    const gcs = dist(probe.gcs.map((g) => g.ms));
    const batch = histDiff(h0.sigilo_commit_batch_size, h1.sigilo_commit_batch_size);
    const sendCommit = histDiff(h0.sigilo_send_commit_seconds, h1.sigilo_send_commit_seconds);
    console.log(`open loop at ${rate} msg/s${spec.endsWith('x') ? ` (${spec} of the saturated ${Math.round(saturated)})` : ''}: ${Math.round(r.rate)} delivered msg/s;`
      + ` server ${fmt(cpu.procs.server, 0)} % of core 1, generator ${fmt(cpu.procs.generator, 0)} % of core 0;`
      + ` core 0 busy ${fmt(cpu.cores[0], 0)} %, core 1 busy ${fmt(cpu.cores[1], 0)} %; load ${load()}`);
    const waited = (k) => `${k}'s main thread ran ${fmt(s1[k].run - s0[k].run, 0)} ms and waited ${fmt(s1[k].wait - s0[k].wait, 0)} ms for a CPU`
      + ` (${fmt((s1[k].wait - s0[k].wait) / Math.max(1, s1[k].slices - s0[k].slices), 2)} ms per wake-up)`;
    console.log(`  run queue over ${fmt(cpu.seconds)} s: ${waited('server')}; ${waited('generator')}`);
    console.log(`  ${line('total: scheduled -> received', tr.total)}`);
    console.log(`  ${line('generator lag: scheduled -> written', tr.lag)}`);
    console.log(`  ${line('written -> SendResult read', tr.answer)}`);
    console.log(`  ${line('written -> Deliver read', tr.receive)}`);
    console.log(`  ${line('generator event-loop delay', geld)}`);
    console.log(`  ${line('server event-loop delay', probe.eld)}`);
    console.log(`  ${line('server WAL fdatasync', syncs)}; ${fmt(syncs.n / probe.seconds, 0)}/s, busy ${fmt((100 * syncs.sum) / (probe.seconds * 1000), 0)} % of the time`);
    console.log(`  ${line('server GC pauses', gcs)}; ${fmt(gcs.sum, 0)} ms in all (${fmt((100 * gcs.sum) / (probe.seconds * 1000), 1)} %)`);
    if (batch) console.log(`  sends per group commit: ${batch.count} commits, mean ${fmt(batch.mean)}, p50 <= ${batch.p50}, p99 <= ${batch.p99}`);
    if (sendCommit) console.log(`  server receive -> SendResult (sigilo_send_commit_seconds): mean ${fmt(sendCommit.mean * 1000)} ms, p50 <= ${sendCommit.p50 * 1000} ms, p99 <= ${sendCommit.p99 * 1000} ms`);
    // Timeline: the 100 ms slots with the slowest messages, and those with heartbeat pings.
    const sl = engine.trace.slots;
    const slots = [...sl.worst.keys()].filter((i) => sl.worst[i] !== undefined).sort((a, b) => sl.worst[b] - sl.worst[a]).slice(0, 5).sort((a, b) => a - b);
    console.log(`  slowest 100 ms slots (time in the window: worst total, received): ${slots.map((i) => `${fmt(i / 10)} s: ${fmt(sl.worst[i], 0)} ms, ${sl.count[i]}`).join('; ')}`);
    const busiest = [...cpuSlots.keys()].filter((i) => cpuSlots[i] !== undefined).sort((a, b) => cpuSlots[b] - cpuSlots[a]);
    const around = (i) => [-1, 0, 1].map((d) => cpuSlots[i + d] ?? 0).reduce((a, b) => a + b, 0);
    const mean = cpuSlots.reduce((a, b) => a + (b ?? 0), 0) / Math.max(1, cpuSlots.length);
    console.log(`  server CPU per 100 ms: mean ${fmt(mean)} ms; busiest: ${busiest.slice(0, 5).map((i) => `${fmt(i / 10)} s: ${fmt(cpuSlots[i], 0)} ms (${fmt(around(i), 0)} ms with its neighbours)`).join('; ')}`);
    const pinged = [...sl.pings.keys()].filter((i) => sl.pings[i]);
    console.log(`  server pings received (heartbeat): ${pinged.length ? pinged.map((i) => `${fmt(i / 10)} s: ${sl.pings[i]}`).join('; ') : 'none in the window'}`);
    if (!r.drain.ok) throw new Error(`messages still missing after the open loop: ${JSON.stringify(r.drain)}`);
  }
  const problems = engine.verify();
  if (problems.length) throw new Error(`delivery check failed: ${problems.join('; ')}`);
  const t = engine.totals;
  console.log(`  check: ${t.sent} sent, ${t.stored} accepted, ${t.delivered} received exactly once and in order; load average at the end ${load()}`);
} finally {
  for (const d of devices) d.close();
  await server.stop();
}
