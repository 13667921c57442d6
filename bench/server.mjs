// Server load benchmark: N connected devices (1,000 and 10,000) exchanging 1:1 sealed-sender
// messages of 300 bytes over TLS, with the Sigilo server pinned to core 1 (taskset -c 1) and this
// load generator pinned to core 0; then the same 1:1 workload at 1,000 connections against
// Prosody (Debian's package, plaintext c2s, pinned the same way), in the same run.
//
//   npm run bench:server        (from the repository root: builds, then runs this)
//   node bench/server.mjs       (after npm run build)
//
// What it does, in order:
//   1. Registers the devices once (real accounts: an invite each, Ed25519-signed Register, then
//      SetAccessKey; sealed sends present the partner's access key). Untimed; this server runs
//      with storage.synchronous=normal and is stopped afterwards.
//   2. Memory floor: a bare TLS `ws` server (bench/support/bare-ws-server.mjs, same `ws`, same
//      certificate and options) takes the largest N idle connections; RSS before/after (after a
//      full GC) gives its KiB per connection.
//   3. For each N: a fresh Sigilo server with its default configuration (SQLite,
//      synchronous=full) and the node flags and environment of `sigilo server start`
//      (packages/cli/src/launch.ts) on the registered data; RSS with no connection, then with N
//      authenticated idle devices (each got QueueEmpty) -> KiB per idle connection, in total and
//      above the bare floor. Saturated: every device keeps W messages in flight until its partner
//      received them; W rises (total in flight ~2,000 / 5,000 / 10,000 / 20,000) until the
//      delivered rate stops improving by 5 %. Open loop: half the best saturated rate, senders
//      in turn, latency from the scheduled send time to receipt by the partner, and its parts: the
//      generator's own lag (scheduled -> written to its socket) and written -> received, each process's
//      event-loop delay and the time its main thread waited for a CPU (other work on a shared machine);
//      bench/server-latency.mjs takes the open loop further apart (fsyncs, batches, GC, a timeline).
//   4. Prosody at 1,000 connections: in-band registration, SASL PLAIN, bind, stream management
//      (acks as a client sends them), presence; the same saturated search.
// Delivered = received by the partner device, which acknowledges it (Ack frame, or XEP-0198 <a/>)
// in the same event-loop turn. Every message carries sender, sequence number and send time; after
// each phase every accepted message must have arrived exactly once, in order, at the right device,
// and the server's own counters (/metrics) must agree, or the benchmark fails.
//
// Env: BENCH_DEVICES (default 1000,10000), BENCH_SECONDS (measured seconds per step, default 6),
//      BENCH_WARMUP (seconds, default 2), BENCH_INFLIGHT (comma list of total messages in flight
//      for the saturated search, default 2000,5000,10000,20000), BENCH_PROSODY=0 (skip Prosody),
//      BENCH_PROFILE=1 (CPU profile of the Sigilo server at the largest N, summarised at the end),
//      BENCH_TMP (data directories; default /var/tmp, on disk so that fsync costs what it costs),
//      BENCH_REGISTER_CONCURRENCY (registrations at once, default 32; each retried with backoff, progress on stderr).
// Last line: `server: 10000 devices X msg/s p99 Y ms Z KiB/conn; vs prosody R x`
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { rerunPinned } from './support/pin.mjs';

// ---------------------------------------------------------------------------------- pinning

const SELF = fileURLToPath(import.meta.url);
const DEVICE_COUNTS = (process.env.BENCH_DEVICES ?? '1000,10000').split(',').map(Number).filter((n) => n > 0);
const MAX_N = Math.max(...DEVICE_COUNTS);
const WANT_FILES = Math.max(65536, MAX_N * 2 + 4096);

function openFileLimit() {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : 0;
}

if (!process.env.SIGILO_BENCH_CHILD) {
  // Raise the open-file limit for this process (children inherit it), then run the benchmark
  // itself pinned to core 0; the servers it starts are pinned to core 1.
  if (openFileLimit() < WANT_FILES) {
    const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${WANT_FILES}:${WANT_FILES}`], { encoding: 'utf8' });
    if (r.status !== 0) spawnSync('prlimit', ['--pid', String(process.pid), '--nofile=unlimited:unlimited']);
  }
}
rerunPinned(SELF);

const { spawnServer } = await import('./support/spawn-server.mjs');
const { spawnLineProcess } = await import('./support/line-process.mjs');
const { SigiloDevice, WsConn } = await import('./support/sigilo-load.mjs');
const { XmppDevice } = await import('./support/xmpp-load.mjs');
const { LoadEngine, LatencyTrace } = await import('./support/load-engine.mjs');
const { CpuWatch, rssKiB, schedMs } = await import('./support/proc.mjs');
const { ensureProsody, startProsody } = await import('./support/prosody.mjs');
const { summariseProfile } = await import('./support/cpu-profile.mjs');
const { registerAll, withTimeout } = await import('./support/register.mjs');
const { SERVER_ENV, SERVER_NODE_FLAGS } = await import('../packages/cli/dist/launch.js');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const INFLIGHT = (process.env.BENCH_INFLIGHT ?? '2000,5000,10000,20000').split(',').map(Number).filter((n) => n > 0);
const WITH_PROSODY = process.env.BENCH_PROSODY !== '0';
const PROFILE = process.env.BENCH_PROFILE === '1';
const PINNED = process.env.SIGILO_BENCH_CHILD === 'pinned';
const SERVER_CPU = PINNED ? 1 : undefined;
const TMP = process.env.BENCH_TMP ?? (statfsSync('/var/tmp', { throwIfNoEntry: false }) ? '/var/tmp' : tmpdir());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => console.log(s);
const note = (s) => process.stderr.write(`  ${s}\n`);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const kib = (bytes) => bytes / 1024;

/** Runs `fn` over items with at most `limit` at once. */
async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Which phase runs now (stderr, so that stdout keeps the results). */
function phase(what) { note(`[${new Date().toISOString().slice(11, 19)}] phase ${what}`); }

/** GET /metrics of the Sigilo server (its own loopback listener), parsed into {name: value} (unlabelled series only). */
function metrics(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        const out = {};
        for (const line of body.split('\n')) {
          const m = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
          if (m) out[m[1]] = Number(m[2]);
        }
        resolve(out);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Samples a pid's RSS every 250 ms while running; max() gives the peak in KiB. */
function rssSampler(pid) {
  let max = rssKiB(pid);
  const t = setInterval(() => { const v = rssKiB(pid); if (v > max) max = v; }, 250);
  return { stop() { clearInterval(t); return max; } };
}

function cpuLine(c) {
  const core = (i) => (Number.isFinite(c.cores[i]) ? `${fmt(c.cores[i], 0)} %` : 'n/a');
  return `server ${fmt(c.procs.server, 0)} % of a core, load generator ${fmt(c.procs.generator, 0)} %; `
    + `core 0 busy ${core(0)}, core 1 busy ${core(1)} (the rest of a core's busy time is other work)`;
}

/**
 * The saturated search and (optionally) the open loop at half the best rate, printing as it goes.
 * Returns {best, open, genMax, loadedRssKiB}.
 */
async function runWorkload(engine, { serverPid, server, label, openLoop }) {
  const n = engine.devices.length;
  const windows = [...new Set(INFLIGHT.map((t) => Math.max(1, Math.round(t / n))))].sort((a, b) => a - b);
  let best;
  let genMax = 0;
  const rss = rssSampler(serverPid);
  for (const window of windows) {
    let watch, cpu;
    const r = await engine.saturate({
      window, warmup: WARMUP, seconds: SECONDS,
      during: (p) => { if (p === 'start') watch = new CpuWatch({ server: serverPid, generator: process.pid }).start(); else cpu = watch.stop(); },
    });
    genMax = Math.max(genMax, cpu.procs.generator);
    log(`  ${label} saturated, ${window} in flight per device (${window * n} in all): ${Math.round(r.rate)} delivered msg/s`
      + ` (p50 ${fmt(r.p50, 0)} ms, p99 ${fmt(r.p99, 0)} ms while saturated)`);
    log(`      cpu: ${cpuLine(cpu)}`);
    if (!r.drain.ok) throw new Error(`${label}: messages still missing ${Math.round(r.drain.ms)} ms after the step: ${JSON.stringify(r.drain)}`);
    const improved = !best || r.rate > best.rate * 1.05;
    if (!best || r.rate > best.rate) best = { ...r, window, cpu };
    if (!improved) break;
  }
  let open;
  if (openLoop) {
    const rate = Math.max(1, Math.round(best.rate / 2));
    let watch, cpu, s0, s1, probe;
    // Where the latency goes (Sigilo only: engine.trace): the generator's own delay and the server's event loop, and
    // how long each process's main thread waited for a CPU (other work on a shared machine).
    const eld = monitorEventLoopDelay({ resolution: 1 });
    const sched = () => ({ server: schedMs(serverPid), generator: schedMs(process.pid) });
    const r = await engine.openLoop({
      rate, warmup: WARMUP, seconds: SECONDS,
      during: (p) => {
        if (p === 'start') {
          eld.enable();
          s0 = sched();
          if (engine.trace) void server?.command('probe start');
          watch = new CpuWatch({ server: serverPid, generator: process.pid }).start();
        } else {
          cpu = watch.stop();
          s1 = sched();
          eld.disable();
          if (engine.trace) probe = server?.command('probe stop');
        }
      },
    });
    probe = await probe;
    genMax = Math.max(genMax, cpu.procs.generator);
    log(`  ${label} open loop at ${rate} msg/s (half the saturated rate): ${Math.round(r.rate)} delivered msg/s,`
      + ` latency p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.max, 1)} ms`);
    log(`      cpu: ${cpuLine(cpu)}`);
    if (engine.trace) {
      const t = engine.trace.summary();
      const q = (d) => `p50 ${fmt(d.p50)}, p99 ${fmt(d.p99)}, max ${fmt(d.max)} ms`;
      const waited = (k) => `${k} ${fmt(s1[k].wait - s0[k].wait, 0)} ms`;
      log(`      latency parts: generator lag (scheduled -> written to its socket) ${q(t.lag)}; written -> received ${q(t.receive)}`);
      log(`      event-loop delay: generator p99 ${fmt(eld.percentile(99) / 1e6)}, max ${fmt(eld.max / 1e6)} ms;`
        + `${probe ? ` server p99 ${fmt(probe.eld.p99)}, max ${fmt(probe.eld.max)} ms;` : ''}`
        + ` main threads waiting for a CPU in the ${fmt(cpu.seconds)} s: ${waited('server')}, ${waited('generator')}`);
    }
    if (!r.drain.ok) throw new Error(`${label}: messages still missing after the open loop: ${JSON.stringify(r.drain)}`);
    open = { ...r, cpu };
  }
  return { best, open, genMax, loadedRssKiB: rss.stop() };
}

function checkDelivery(engine, label) {
  const problems = engine.verify();
  const t = engine.totals;
  const errors = [...engine.errors].map(([k, v]) => `${k} ${v}`).join(', ');
  log(`  ${label} check: ${t.sent} sent, ${t.stored} accepted, ${t.delivered} received exactly once and in order`
    + `${t.failed ? `, ${t.failed} refused (${errors})` : ''}`);
  if (problems.length) throw new Error(`${label}: delivery check failed: ${problems.join('; ')}`);
  if (t.delivered === 0) throw new Error(`${label}: nothing was delivered`);
}

// ---------------------------------------------------------------------------------- main

const root = mkdtempSync(join(TMP, 'sigilo-bench-server-'));
const dataDir = join(root, 'sigilo');
const cleanups = [];
const stopAll = async () => { for (const f of cleanups.splice(0).reverse()) { try { await f(); } catch { /* already gone */ } } };
process.once('SIGINT', () => { void stopAll().then(() => process.exit(130)); });

const summary = {};
const started = performance.now();
try {
  const files = openFileLimit();
  log(`server bench: node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start; `
    + `${PINNED ? 'Sigilo/Prosody pinned to core 1, load generator to core 0' : 'NOT pinned (taskset missing or fewer than 2 cores)'}; `
    + `open files ${files}; data in ${TMP}`);
  if (files < WANT_FILES) {
    log(`  note: the open-file limit could not be raised to ${WANT_FILES} (prlimit refused; hard limit ${files});`
      + ` ${files >= MAX_N + 1024 ? `enough for ${MAX_N} connections, as each process (server, load generator) holds one side` : `${MAX_N} connections need at least ${MAX_N + 1024}: raise the hard limit (ulimit -Hn, or as root) first`}`);
  }
  log('  other processes may be running on this machine: the per-core busy figures below show how much of each core was ours');

  // 1. Accounts.
  phase(`1/4 registering ${MAX_N} accounts (untimed)`);
  let t0 = performance.now();
  // The registration guard takes a token per registration in flight (20 per address by default): a burst from one address
  // would be refused as guessing; and on a loaded machine a registration may outlast the default authentication timeout.
  const setup = await spawnServer(dataDir, {
    cpus: SERVER_CPU,
    overrides: {
      'storage.synchronous': 'normal', 'limits.failedRegistrationsPerHour': 1_000_000, 'limits.failedRegistrationsPerHourGlobal': 1_000_000,
      'limits.refusedRequestsPerHour': 1_000_000, 'limits.authTimeout': '10m',
    },
  });
  cleanups.push(() => setup.stop());
  const cert = readFileSync(join(dataDir, 'tls', 'self-signed.crt'));
  const key = join(dataDir, 'tls', 'self-signed.key');
  const secureContext = createSecureContext({ ca: cert });
  const portOf = (url) => Number(new URL(url.replace(/^wss:/, 'https:')).port);
  let target = { port: portOf(setup.url), cert, secureContext };
  const devices = Array.from({ length: MAX_N }, (_, i) => new SigiloDevice(i));
  await registerAll(setup, target, devices, { concurrency: Number(process.env.BENCH_REGISTER_CONCURRENCY ?? 32), note });
  for (const d of devices) d.peer = devices[d.index ^ 1];
  await setup.stop();
  cleanups.pop();
  note(`registered ${MAX_N} accounts (invite, Register, SetAccessKey) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 2. Memory floor: bare TLS ws.
  phase(`2/4 memory floor: a bare TLS ws server with ${MAX_N} idle connections`);
  {
    const bare = await spawnLineProcess(fileURLToPath(new URL('./support/bare-ws-server.mjs', import.meta.url)),
      [join(dataDir, 'tls', 'self-signed.crt'), key], { cpus: SERVER_CPU, nodeArgs: ['--expose-gc'] });
    cleanups.push(() => bare.stop());
    const before = await bare.command('gc');
    const conns = [];
    await pool(Array.from({ length: MAX_N }), 128, async () => {
      const c = await WsConn.open({ port: bare.port, secureContext, localAddress: '127.0.0.3' });
      await new Promise((resolve) => c.start(() => resolve()));
      c.start(() => {});
      conns.push(c);
    });
    await sleep(1000);
    const after = await bare.command('gc');
    if (after.connections !== MAX_N) throw new Error(`bare ws server holds ${after.connections} connections, expected ${MAX_N}`);
    summary.bareKiB = kib(after.rss - before.rss) / MAX_N;
    log(`  bare TLS ws server (same ws, certificate, options): RSS ${fmt(kib(before.rss) / 1024)} MiB -> ${fmt(kib(after.rss) / 1024)} MiB`
      + ` with ${MAX_N} idle connections: ${fmt(summary.bareKiB)} KiB per connection (the floor)`);
    for (const c of conns) c.close();
    await bare.stop();
    cleanups.pop();
  }

  // 3. Sigilo at each N.
  const engines = new Map();
  for (const n of DEVICE_COUNTS) {
    const profileDir = join(root, 'profile');
    phase(`3/4 Sigilo with ${n} devices`);
    const profiling = PROFILE && n === MAX_N;
    if (profiling) mkdirSync(profileDir, { recursive: true });
    // With the node flags and environment of `sigilo server start` (packages/cli/src/launch.ts), as users run it.
    const saved = Object.fromEntries(Object.keys(SERVER_ENV).map((k) => [k, process.env[k]]));
    Object.assign(process.env, SERVER_ENV);
    const server = await spawnServer(dataDir, {
      cpus: SERVER_CPU,
      nodeArgs: [...SERVER_NODE_FLAGS, '--expose-gc', ...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    }).finally(() => { for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; } });
    cleanups.push(() => server.stop());
    target = { port: portOf(server.url), cert, secureContext };
    const group = devices.slice(0, n);
    const engine = new LoadEngine(group);
    engines.set(n, engine);
    const idle0 = await server.gc();
    t0 = performance.now();
    // Bounded and retried like the registrations: a connection lost on a loaded machine would otherwise wait for its QueueEmpty forever.
    await pool(group, 128, async (d) => {
      for (let attempt = 1; ; attempt++) {
        try { return await withTimeout(d.connect(target, n === MAX_N ? '127.0.0.5' : '127.0.0.4'), 120_000, 'a connection', () => d.close()); } catch (e) {
          d.close();
          if (attempt >= 5) throw e;
          await sleep(500 * attempt);
        }
      }
    });
    const connectSeconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    const idle1 = await server.gc();
    const m0 = await metrics(server.metricsUrl);
    if (m0.sigilo_connections_authenticated !== n) throw new Error(`server reports ${m0.sigilo_connections_authenticated} authenticated connections, expected ${n}`);
    const perConn = kib(idle1.rss - idle0.rss) / n;
    log(`Sigilo, ${n} devices (TLS, sealed sender, 300-byte contents; connected and authenticated in ${fmt(connectSeconds)} s):`);
    log(`  server RSS ${fmt(kib(idle0.rss) / 1024)} MiB with no connection, ${fmt(kib(idle1.rss) / 1024)} MiB with ${n} idle devices:`
      + ` ${fmt(perConn)} KiB per idle connection, ${fmt(perConn - summary.bareKiB)} KiB above the bare TLS ws floor`);
    engine.trace = new LatencyTrace();
    const w = await runWorkload(engine, { serverPid: server.pid, server, label: `Sigilo ${n}`, openLoop: true });
    // The server's own counters: everything stored was acknowledged and deleted.
    let m1;
    // The rows of an ack are gone (queue depth 0) when its transaction commits; the acknowledged counter moves once the
    // WAL fsync after it returned, which on a loaded disk takes a while: wait for both (up to 60 s).
    const ackedBefore = m0.sigilo_messages_delivered_total ?? 0;
    for (let i = 0; i < 600; i++) {
      m1 = await metrics(server.metricsUrl);
      if (m1.sigilo_queue_depth === 0 && m1.sigilo_messages_delivered_total - ackedBefore >= engine.totals.delivered) break;
      await sleep(100);
    }
    checkDelivery(engine, `Sigilo ${n}`);
    const stored = m1.sigilo_messages_stored_total - (m0.sigilo_messages_stored_total ?? 0);
    const acked = m1.sigilo_messages_delivered_total - (m0.sigilo_messages_delivered_total ?? 0);
    log(`  server counters: ${stored} stored, ${acked} acknowledged and deleted, queue depth ${m1.sigilo_queue_depth}`);
    if (stored !== engine.totals.stored || acked !== engine.totals.delivered || m1.sigilo_queue_depth !== 0) {
      throw new Error(`Sigilo ${n}: the server's counters disagree with the load generator (stored ${stored} vs ${engine.totals.stored}, `
        + `acknowledged ${acked} vs ${engine.totals.delivered}, queue depth ${m1.sigilo_queue_depth})`);
    }
    log(`  server RSS: idle ${fmt(kib(idle1.rss) / 1024)} MiB, loaded (peak) ${fmt(w.loadedRssKiB / 1024)} MiB;`
      + ` load generator peak ${fmt(w.genMax, 0)} % of core 0${w.genMax > 85 ? ' -- WARNING: the load generator may have limited the rate' : ''}`);
    summary[n] = { perConn, rate: w.best.rate, p50: w.open.p50, p99: w.open.p99, genMax: w.genMax };
    for (const d of group) d.close();
    await server.stop();
    cleanups.pop();
    if (profiling) {
      log(`  where the Sigilo server spent its CPU at ${n} devices (self time, whole run incl. connects):`);
      for (const { what, percent } of summariseProfile(profileDir, 15)) log(`      ${fmt(percent).padStart(5)} %  ${what}`);
    }
  }

  // 4. Prosody at 1,000 connections.
  const PN = 1000;
  if (WITH_PROSODY) {
    phase(`4/4 Prosody with ${PN} devices`);
    const version = ensureProsody(note);
    const prosody = await startProsody(join(root, 'prosody'), { cpus: SERVER_CPU });
    cleanups.push(() => prosody.stop());
    const xdevices = Array.from({ length: PN }, (_, i) => new XmppDevice(i, prosody.domain));
    for (const d of xdevices) d.peerJid = xdevices[d.index ^ 1].jid;
    const engine = new LoadEngine(xdevices);
    const rss0 = rssKiB(prosody.pid);
    t0 = performance.now();
    await pool(xdevices, 64, (d) => d.connect({ port: prosody.port, localAddress: '127.0.0.6', register: true }));
    await sleep(1000);
    const rss1 = rssKiB(prosody.pid);
    log(`Prosody ${version}, ${PN} devices (plaintext c2s, stream management; registered in-band and logged in in ${fmt((performance.now() - t0) / 1000)} s):`);
    log(`  Prosody RSS ${fmt(rss0 / 1024)} MiB -> ${fmt(rss1 / 1024)} MiB with ${PN} idle sessions: ${fmt((rss1 - rss0) / PN)} KiB per connection (no TLS)`);
    const w = await runWorkload(engine, { serverPid: prosody.pid, label: `Prosody ${PN}`, openLoop: false });
    checkDelivery(engine, `Prosody ${PN}`);
    log(`  Prosody RSS loaded (peak) ${fmt(w.loadedRssKiB / 1024)} MiB; load generator peak ${fmt(w.genMax, 0)} % of core 0`);
    summary.prosody = w.best.rate;
    for (const d of xdevices) d.close();
    await prosody.stop();
    cleanups.pop();
  }

  const top = summary[MAX_N];
  const ratio = summary.prosody && summary[PN] ? summary[PN].rate / summary.prosody : NaN;
  if (summary.prosody && summary[PN]) {
    log(`saturated throughput at ${PN} connections: Sigilo ${Math.round(summary[PN].rate)} msg/s (TLS, every message fsynced before its SendResult)`
      + ` vs Prosody ${Math.round(summary.prosody)} msg/s (plaintext, in memory): ${fmt(ratio, 2)}x`);
  }
  log(`  whole run ${fmt((performance.now() - started) / 1000, 0)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(`server: ${MAX_N} devices ${Math.round(top.rate)} msg/s p99 ${fmt(top.p99)} ms ${fmt(top.perConn)} KiB/conn; vs prosody ${Number.isFinite(ratio) ? fmt(ratio, 2) : 'n/a'} x`);
} finally {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
}
