// Attachments (issue 6): a 1 GiB file padded, encrypted and uploaded by Alice's SDK
// (SigiloClient.sendFile), then downloaded, verified and decrypted to a file by Bob's SDK
// (downloadAttachment), through the real server over TLS on loopback, all streaming. Measured
// from the start of sendFile to the end of Bob's decrypted file. Ceiling, same run, same server:
// the same bytes copied with the same HTTP upload and download (same TLS, same endpoints, same
// server code; HEAD + PATCH up, GET down, the downloaded file synced like the SDK syncs its
// own), no padding and no encryption.
//   npm run bench:attachments        (BENCH_ATTACHMENT_MIB=1024 by default; BENCH_TMP for the
//                                     temp dir; BENCH_PIN=0 to leave the processes unpinned;
//                                     BENCH_PROFILE=1 for CPU profiles of every process,
//                                     summarised on stderr at the end; BENCH_PROFILE_DIR to
//                                     keep the files)
// Server, Alice, Bob and the ceiling client are separate processes; the server is pinned to
// cpu 1 and the clients to cpu 0 (one core each, as on two machines; the two clients never
// transfer at the same time). MB = 10^6 bytes; MiB = 2^20 bytes.
// The server runs with the node flags and environment of `sigilo server start` (launch.ts).
// Peak RSS: VmHWM of each process, reset (clear_refs) just before the encrypted transfer;
// printed with each process's idle RSS before the transfer, its growth above that, and the RSS
// of a bare node process in the same run (the floor: a node process alone is about 40 MiB).
// Last line: `attachment 1 GiB: T MB/s (ceiling C MB/s) peak RSS M MiB`
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryKiB, resetPeak, sampleMemory, sha256File, writeSourceFile } from './support/attachment-files.mjs';
import { spawnLineProcess } from './support/line-process.mjs';
import { summariseProfile } from './support/cpu-profile.mjs';
import { CpuWatch } from './support/proc.mjs';
import { spawnServer } from './support/spawn-server.mjs';
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../packages/cli/dist/launch.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MB = 1e6;
const sizeMiB = Number(process.env.BENCH_ATTACHMENT_MIB ?? 1024);
if (!Number.isInteger(sizeMiB) || sizeMiB < 1) {
  console.error('BENCH_ATTACHMENT_MIB must be a whole number of MiB, 1 or more (1024 for the 1 GiB benchmark)');
  process.exit(2);
}
const SIZE = sizeMiB * MiB;
const LABEL = sizeMiB % 1024 === 0 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`;
const PIN = process.env.BENCH_PIN !== '0';
const PROFILE = process.env.BENCH_PROFILE === '1';
const log = (line) => process.stderr.write(`${line}\n`);
const fmt = (n, d = 1) => n.toFixed(d);
const mibOf = (kib) => kib / 1024;
const seconds = (t0, t1) => Number(BigInt(t1) - BigInt(t0)) / 1e9;

// Disk: the source, the encrypted blob and the ceiling's blob on the server, Bob's decrypted
// copy and the ceiling's downloaded copy (each deleted once checked), with room for padding.
const base = process.env.BENCH_TMP ?? tmpdir();
mkdirSync(base, { recursive: true });
const disk = statfsSync(base);
const free = disk.bavail * disk.bsize;
const need = Math.ceil(4.5 * SIZE) + 256 * MiB;
log(`free space in ${base}: ${fmt(free / GiB)} GiB (this run needs ${fmt(need / GiB)} GiB)`);
if (free < need) {
  console.error(`not enough free space in ${base} for a ${LABEL} run: set BENCH_TMP to a directory with ${fmt(need / GiB)} GiB free, or BENCH_ATTACHMENT_MIB to a smaller size`);
  process.exit(1);
}

const root = mkdtempSync(join(base, 'sigilo-attachments-'));
const children = [];
let server;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) await c.stop().catch(() => {});
  await server?.stop().catch(() => {});
  rmSync(root, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { void cleanup().then(() => process.exit(130)); });

/**
 * Resident memory of a bare node process (`node -e "setInterval(() => {}, 1000)"`) after it
 * settled: what any node process costs before it loads a line of Sigilo.
 */
async function bareNodeMemory() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const m = memoryKiB(child.pid);
  child.kill();
  await new Promise((r) => child.once('exit', r));
  return m;
}

/** Sends one JSON command to a helper process; its {error} answer becomes a thrown Error. */
async function call(child, cmd) {
  const answer = await child.command(JSON.stringify(cmd));
  if (answer.error) throw new Error(`${child.name} ${cmd.op}: ${answer.error}`);
  return answer;
}

// BENCH_PROFILE_DIR keeps the .cpuprofile files there (otherwise they go with the temp dir).
const profileDir = (name) => join(process.env.BENCH_PROFILE_DIR ?? root, `profile-${name}`);
const profileArgs = (name) => (PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(name)}`] : []);

async function helper(name, script, args) {
  const path = fileURLToPath(new URL(`./support/${script}`, import.meta.url));
  const child = await spawnLineProcess(path, args, { cpus: PIN ? 0 : undefined, nodeArgs: profileArgs(name) });
  child.name = name;
  children.push(child);
  return child;
}

const syncDisk = () => spawnSync('sync');

try {
  // ---- source file (untimed)
  const source = join(root, 'source.bin');
  let shown = 0;
  const t = performance.now();
  const sourceHash = await writeSourceFile(source, SIZE, (done) => {
    if (done - shown >= SIZE / 4 || done === SIZE) { shown = done; log(`  source file ${Math.round((100 * done) / SIZE)}%`); }
  });
  log(`  ${LABEL} source written in ${fmt((performance.now() - t) / 1000)} s (sha256 ${sourceHash.slice(0, 16)}…)`);

  // ---- a bare node process: the floor under every figure of resident memory below
  const bare = await bareNodeMemory();

  // ---- server: with the node flags and environment `sigilo server start` runs it with
  // (packages/cli/src/launch.ts), as users run it; the clients, like SDK applications and the
  // sigilo client commands, run with node's defaults.
  const saved = Object.fromEntries(Object.keys(SERVER_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, SERVER_ENV);
  server = await spawnServer(join(root, 'server'), {
    cpus: PIN ? 1 : undefined,
    nodeArgs: [...SERVER_NODE_FLAGS, ...profileArgs('server')],
    // The encrypted upload is the padded ciphertext, a little above the file's size: room for it
    // under the maximum and under each account's quota, for any BENCH_ATTACHMENT_MIB.
    overrides: {
      'limits.maxAttachmentBytes': String(Math.max(2 * GiB, 2 * SIZE)),
      'limits.attachmentQuotaBytes': String(Math.max(10 * GiB, 6 * SIZE)),
    },
  });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const https = `https://${new URL(server.url).host}`;
  log(`  server ${server.pinned ? 'pinned to cpu 1, clients to cpu 0' : 'and clients not pinned'}; ${https}`);

  const storeArgs = (name) => [join(root, name), server.url, server.fingerprint];
  const alice = await helper('alice', 'attachment-peer.mjs', ['alice', ...storeArgs('alice')]);
  const bob = await helper('bob', 'attachment-peer.mjs', ['bob', ...storeArgs('bob')]);
  const ceiling = await helper('ceiling', 'attachment-ceiling.mjs', storeArgs('ceiling'));
  const a = await call(alice, { op: 'register', invite: await server.invite() });
  const b = await call(bob, { op: 'register', invite: await server.invite() });
  await call(ceiling, { op: 'register', invite: await server.invite() });
  await call(alice, { op: 'contact', alias: 'bob', accountId: b.accountId, accessKey: b.accessKey });
  await call(bob, { op: 'contact', alias: 'alice', accountId: a.accountId, accessKey: a.accessKey });
  await call(alice, { op: 'connect' });
  await call(bob, { op: 'connect' });
  const serverStart = memoryKiB(server.pid);

  // ---- ceiling first: anything left over from it (dirty pages, a warm server) can only slow
  // the encrypted run, never flatter it.
  syncDisk();
  log('ceiling: plain upload and download of the same file (no padding, no encryption)');
  const slot = await call(ceiling, { op: 'allocate', size: SIZE });
  const ceilingPids = { client: ceiling.pid, server: server.pid };
  const ceilingMem = sampleMemory(ceilingPids);
  let watch = new CpuWatch(ceilingPids).start();
  const up = await call(ceiling, { op: 'upload', file: source, size: SIZE, ...slot });
  const ceilingUpCpu = watch.stop();
  const plainOut = join(root, 'ceiling.out');
  watch = new CpuWatch(ceilingPids).start();
  const down = await call(ceiling, { op: 'download', path: slot.path, out: plainOut, size: SIZE });
  const ceilingDownCpu = watch.stop();
  const ceilingPeak = ceilingMem.stop();
  const ceilingUp = seconds(up.t0, up.t1);
  const ceilingDown = seconds(down.t0, down.t1);
  const C = SIZE / MB / (ceilingUp + ceilingDown);
  if (statSync(plainOut).size !== SIZE || (await sha256File(plainOut)) !== sourceHash) throw new Error('the ceiling download differs from the source file');
  rmSync(plainOut);
  await ceiling.stop();

  // ---- encrypted, through the SDK
  syncDisk();
  log('encrypted: Alice sendFile (pad + encrypt + upload), Bob downloadAttachment (download + verify + decrypt)');
  const peers = { alice: alice.pid, bob: bob.pid, server: server.pid };
  const idle = Object.fromEntries(Object.entries(peers).map(([k, pid]) => [k, memoryKiB(pid)]));
  const reset = Object.values(peers).every((pid) => resetPeak(pid));
  if (!reset) log('  (could not reset peak RSS through /proc/<pid>/clear_refs: the figures below are lifetime peaks)');
  const decrypted = join(root, 'bob.out');
  const sampled = sampleMemory(peers);
  watch = new CpuWatch(peers).start();
  const received = call(bob, { op: 'receive', from: a.accountId, out: decrypted });
  const sent = await call(alice, { op: 'send', to: b.accountId, file: source });
  const sentCpu = watch.stop();
  watch = new CpuWatch(peers).start();
  const got = await received;
  const gotCpu = watch.stop();
  const sampledPeak = sampled.stop();
  const peak = Object.fromEntries(Object.entries(peers).map(([k, pid]) => [k, memoryKiB(pid).hwm]));
  const total = seconds(sent.t0, got.t1);
  const T = SIZE / MB / total;
  if (statSync(decrypted).size !== SIZE || (await sha256File(decrypted)) !== sourceHash) throw new Error('Bob\'s decrypted file differs from the source file');
  rmSync(decrypted);

  // ---- report
  const upload = seconds(sent.t0, sent.t1);
  const delivery = seconds(sent.t1, got.tMessage);
  const download = seconds(got.t0, got.t1);
  // CPU of each process (percent of one core) and, when pinned, what other work (builds, tests
  // of other people on this machine) took of each core meanwhile: a noisy measurement shows.
  const cpu = (w) => {
    // CPU seconds too: they depend much less than the times on what else runs on the machine.
    const ours = `${Object.entries(w.procs).filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${Math.round(v)}% = ${fmt((v * w.seconds) / 100)} s`).join(', ')}`;
    if (!server.pinned) return `${ours}; cores busy ${w.cores.map((c, i) => `cpu${i} ${Math.round(c)}%`).join(' ')}`;
    const clients = Object.entries(w.procs).filter(([k]) => k !== 'server').reduce((sum, [, v]) => sum + v, 0);
    const other = [w.cores[0] - clients, w.cores[1] - w.procs.server].map((v) => Math.max(0, Math.round(v)));
    return `${ours}; other work cpu0 ${other[0]}%, cpu1 ${other[1]}%`;
  };
  const mem = (m) => `${Math.round(mibOf(m.anon))} MiB anonymous + ${Math.round(mibOf(m.file))} MiB file pages`;
  console.log(`  ${LABEL} (${SIZE} bytes); MB = 10^6 bytes; server pinned: ${server.pinned ? 'cpu 1, clients cpu 0' : 'no'}`);
  console.log(`  ceiling  upload   ${fmt(SIZE / MB / ceilingUp)} MB/s (${fmt(ceilingUp, 2)} s; CPU ${cpu(ceilingUpCpu)})`);
  console.log(`  ceiling  download ${fmt(SIZE / MB / ceilingDown)} MB/s (${fmt(ceilingDown, 2)} s, of which fsync of the file ${fmt(seconds(down.tWritten, down.t1), 2)} s as the SDK does; CPU ${cpu(ceilingDownCpu)})`);
  console.log(`  ceiling  ${fmt(C)} MB/s over upload + download; sampled peaks: ceiling client ${mem(ceilingPeak.client)}, server ${mem(ceilingPeak.server)} `
    + `(server before the ceiling: ${mem(serverStart)})`);
  console.log(`  sendFile (pad + encrypt + upload + message) ${fmt(SIZE / MB / upload)} MB/s (${fmt(upload, 2)} s; CPU ${cpu(sentCpu)})`);
  console.log(`  message reached Bob ${fmt(delivery * 1000, 0)} ms after sendFile returned`);
  console.log(`  downloadAttachment (download + verify + decrypt) ${fmt(SIZE / MB / download)} MB/s (${fmt(download, 2)} s; CPU ${cpu(gotCpu)})`);
  console.log(`  encrypted end to end ${fmt(T)} MB/s (${fmt(total, 2)} s); T/C = ${fmt(T / C, 2)} (target >= 0.60)`);
  const v8 = { alice: sent.memory, bob: got.memory };
  for (const k of Object.keys(peers)) {
    const js = v8[k] ? `; V8 heap peak ${Math.round(mibOf(v8[k].heapTotal))} MiB (used ${Math.round(mibOf(v8[k].heapUsed))}), external ${Math.round(mibOf(v8[k].external))} MiB` : '';
    console.log(`  peak RSS ${k.padEnd(6)} ${Math.round(mibOf(peak[k]))} MiB${reset ? '' : ' (lifetime)'}: ${Math.round(mibOf(idle[k].rss))} MiB before the transfer `
      + `(${mem(idle[k])}); sampled peak ${mem(sampledPeak[k])}${js}`);
  }
  // A node process alone is already near or above the target: the growth above each process's
  // own idle is what the transfer costs.
  console.log(`  bare node process (node -e "setInterval(() => {}, 1000)"): ${Math.round(mibOf(bare.rss))} MiB RSS (${mem(bare)})`);
  const starts = { server: serverStart };
  for (const k of Object.keys(peers)) {
    const start = starts[k] ? `; at start ${Math.round(mibOf(starts[k].rss))} MiB` : '';
    console.log(`  ${k.padEnd(6)} idle ${Math.round(mibOf(idle[k].rss))} MiB before the transfer${start}, peak ${Math.round(mibOf(peak[k]))} MiB: `
      + `+${Math.round(mibOf(peak[k] - idle[k].rss))} MiB during the transfer`);
  }
  const M = Math.round(mibOf(Math.max(...Object.values(peak))));
  console.log(`  peak RSS over Alice, Bob and the server ${M} MiB (target <= 64); Bob's file and the ceiling copy match the source (SHA-256)`);
  if (PROFILE) {
    // Stopped now so their profiles are written; summarised on stderr before the last line.
    for (const c of children) await c.stop();
    await server.stop();
    server = undefined;
    for (const name of ['alice', 'bob', 'ceiling', 'server']) {
      log(`  CPU profile of ${name} (self time, share of its busy time):`);
      for (const { what, percent } of summariseProfile(profileDir(name), 12)) log(`    ${fmt(percent).padStart(5)} %  ${what}`);
    }
  }
  console.log(`attachment ${LABEL}: ${fmt(T)} MB/s (ceiling ${fmt(C)} MB/s) peak RSS ${M} MiB`);
} finally {
  await cleanup();
}
