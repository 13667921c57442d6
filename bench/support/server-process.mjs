// A Sigilo server in its own process for benchmarks (built workspace, SQLite in a temp dir).
// Prints one JSON line {url, fingerprint, pid, metricsUrl} once listening (metrics on their own loopback port); an "invite" line on stdin
// answers with an invite code, "invites N" with N codes, "gc" runs a full collection when the
// process was started with --expose-gc (memory measurements) and answers with its RSS;
// "profile start" / "profile stop FILE" profile a stretch of the run (inspector), "memory" answers
// with process.memoryUsage(), "probe start" / "probe stop" measure a stretch (event-loop delay, WAL
// fdatasync durations, GC pauses, CPU; bench/server-latency.mjs); SIGTERM stops it.
import fs, { writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

// Latency probe ("probe start" / "probe stop"): how long the WAL's fdatasync calls took (storage/sqlite-wal-sync.ts calls
// fs.fdatasync; wrapped here, before the server is loaded, so its import binds to the wrapper), the event-loop delay and
// the GC pauses of this process. Measurement only: the server's code is unchanged.
const probe = { on: false, syncs: [], gcs: [], eld: undefined };
const baseFdatasync = fs.fdatasync;
fs.fdatasync = function timedFdatasync(fd, cb) {
  if (!probe.on) return baseFdatasync(fd, cb);
  const t0 = performance.now();
  return baseFdatasync(fd, (e) => { probe.syncs.push(performance.now() - t0); cb(e); });
};
syncBuiltinESMExports();
const { startServer, silentLogger } = await import('../../packages/server/dist/index.js');

const [dataDir, overridesJson] = process.argv.slice(2);
const server = await startServer({
  overrides: { host: '127.0.0.1', port: 0, dataDir, logLevel: 'error', 'metrics.enabled': true, 'metrics.port': 0, ...(overridesJson ? JSON.parse(overridesJson) : {}) },
  logger: silentLogger,
});
process.stdout.write(`${JSON.stringify({ url: server.url, fingerprint: server.tls.fingerprint, pid: process.pid, metricsUrl: server.metricsUrl })}\n`);
let profiler;
const post = (method, params = {}) => new Promise((resolve, reject) => profiler.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'invite') {
    const { code } = await server.admin.createInvite();
    process.stdout.write(`${JSON.stringify({ invite: code })}\n`);
  } else if (/^invites \d+$/.test(line.trim())) {
    const list = await server.admin.createInvites(Number(line.trim().split(' ')[1]));
    process.stdout.write(`${JSON.stringify({ invites: list.map((i) => i.code) })}\n`);
  } else if (line.trim() === 'profile start') {
    // A CPU profile of a chosen stretch only (bench/server-steady.mjs: the saturated steps, not the connects).
    const { Session } = await import('node:inspector');
    profiler = new Session();
    profiler.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
    process.stdout.write(`${JSON.stringify({ profiling: true })}\n`);
  } else if (line.trim().startsWith('profile stop ')) {
    const { profile } = await post('Profiler.stop');
    writeFileSync(line.trim().slice('profile stop '.length), JSON.stringify(profile));
    profiler.disconnect();
    process.stdout.write(`${JSON.stringify({ profiling: false })}\n`);
  } else if (line.trim() === 'alloc start') {
    // Sampling heap profiler: where the stretch's allocations come from.
    const { Session } = await import('node:inspector');
    profiler = new Session();
    profiler.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    process.stdout.write(`${JSON.stringify({ sampling: true })}\n`);
  } else if (line.trim().startsWith('alloc stop ')) {
    const { profile } = await post('HeapProfiler.stopSampling');
    writeFileSync(line.trim().slice('alloc stop '.length), JSON.stringify(profile));
    profiler.disconnect();
    process.stdout.write(`${JSON.stringify({ sampling: false })}\n`);
  } else if (line.trim().startsWith('snapshot ')) {
    const { writeHeapSnapshot } = await import('node:v8');
    writeHeapSnapshot(line.trim().slice('snapshot '.length));
    process.stdout.write(`${JSON.stringify({ snapshot: true })}\n`);
  } else if (line.trim() === 'probe start') {
    probe.on = true;
    probe.syncs = [];
    probe.gcs = [];
    probe.eld = monitorEventLoopDelay({ resolution: 1 });
    probe.eld.enable();
    probe.gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) probe.gcs.push({ ms: e.duration, kind: e.detail?.kind }); });
    probe.gcObserver.observe({ entryTypes: ['gc'] });
    probe.cpu0 = process.cpuUsage();
    probe.t0 = performance.now();
    process.stdout.write(`${JSON.stringify({ probing: true })}\n`);
  } else if (line.trim() === 'probe stop') {
    probe.on = false;
    const h = probe.eld;
    h.disable();
    probe.gcObserver.disconnect();
    const ms = (ns) => ns / 1e6;
    const cpu = process.cpuUsage(probe.cpu0);
    process.stdout.write(`${JSON.stringify({
      seconds: (performance.now() - probe.t0) / 1000,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - probe.t0)) * 100,
      eld: { p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) },
      syncs: probe.syncs, gcs: probe.gcs,
    })}\n`);
  } else if (line.trim() === 'memory') {
    process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
  } else if (line.trim() === 'gc') {
    const collected = typeof globalThis.gc === 'function';
    if (collected) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); globalThis.gc(); }
    process.stdout.write(`${JSON.stringify({ gc: collected, rss: process.memoryUsage.rss() })}\n`);
  }
});
process.once('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
