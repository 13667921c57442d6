// A Sigilo server in its own process for benchmarks (built workspace, SQLite in a temp dir).
// Prints one JSON line {url, fingerprint, pid, metricsUrl} once listening (metrics on their own loopback port); an "invite" line on stdin
// answers with an invite code, "invites N" with N codes, "gc" runs a full collection when the
// process was started with --expose-gc (memory measurements) and answers with its RSS;
// "profile start" / "profile stop FILE" profile a stretch of the run (inspector), "memory" answers
// with process.memoryUsage(); SIGTERM stops it.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startServer, silentLogger } from '../../packages/server/dist/index.js';

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
  } else if (line.trim() === 'memory') {
    process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
  } else if (line.trim() === 'gc') {
    const collected = typeof globalThis.gc === 'function';
    if (collected) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); globalThis.gc(); }
    process.stdout.write(`${JSON.stringify({ gc: collected, rss: process.memoryUsage.rss() })}\n`);
  }
});
process.once('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
