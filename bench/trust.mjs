// Trust features (issue 15): SMP over ristretto255, full exchange time per side.
//
//   npm run build && node bench/trust.mjs        (BENCH_SMP_RUNS=N, default 30)
//
// One process, the real protocol engine (packages/protocol/dist) with the node provider and
// system randomness. Per run, two SmpExchange objects run a whole exchange (SMP1..SMP4, every
// proof made and checked, answers equal so all four steps run); each side's CPU work is timed
// separately:
//   initiator = start() + receive(SMP2) + receive(SMP4)
//   responder = receive(SMP1) + answer() + receive(SMP3)
// Printed: the median over the runs of each side, and `smp S ms` with S the slower side's median.
// Key transparency (issue 15 point 5, spec/transparency.md): a log of BENCH_KT_ENTRIES (default 1,000,000)
// binding leaves built in memory the way the server stores it (every complete subtree hash, appended with
// ktAppendNodes); for BENCH_KT_PROOFS random leaves (default 2000) the served inclusion (the KtInclusion
// message of a bundle answer: device id, leaf index, time, RFC 9162 path) is made from the stored nodes and
// verified as the client does (binding leaf encoded from the fetched key, leaf hash, path to the checkpoint
// root). Printed: the largest KtInclusion in bytes, the median verification time, and the signed checkpoint
// note's size and signature check time (once per answer, not per key).
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

const protocol = await import('../packages/protocol/dist/index.js');
const { nodeCrypto } = await import('../packages/protocol/dist/crypto/node.js');
const runs = Number(process.env.BENCH_SMP_RUNS ?? 30);
const ctx = { crypto: nodeCrypto, random: (n) => new Uint8Array(randomBytes(n)) };
const a = protocol.generateIdentityKeyPair(ctx), b = protocol.generateIdentityKeyPair(ctx);
const binding = new Uint8Array([...a.publicKey, ...b.publicKey, ...randomBytes(32)]);
const pa = { ourIdentityKey: a.publicKey, theirIdentityKey: b.publicKey, sessionBinding: binding };
const pb = { ourIdentityKey: b.publicKey, theirIdentityKey: a.publicKey, sessionBinding: binding };

function once() {
  const alice = protocol.SmpExchange.idle(), bob = protocol.SmpExchange.idle();
  let ta = 0, tb = 0, t;
  t = performance.now(); const m1 = alice.start(ctx, pa, 'Where did we meet?', 'the library'); ta += performance.now() - t;
  t = performance.now(); bob.receive(ctx, m1); const m2 = bob.answer(ctx, pb, 'The Library'); tb += performance.now() - t;
  t = performance.now(); const e3 = alice.receive(ctx, m2); ta += performance.now() - t;
  t = performance.now(); const e4 = bob.receive(ctx, e3.message); tb += performance.now() - t;
  t = performance.now(); const e5 = alice.receive(ctx, e4.message); ta += performance.now() - t;
  if (e4.result !== 'match' || e5.result !== 'match') throw new Error('SMP bench: expected a match');
  return [ta, tb];
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (let i = 0; i < 3; i++) once(); // warm up
const samples = Array.from({ length: runs }, once);
const initiator = median(samples.map((s) => s[0])), responder = median(samples.map((s) => s[1]));
console.log(`smp: ${runs} exchanges, median per side: initiator ${initiator.toFixed(2)} ms, responder ${responder.toFixed(2)} ms`);
const smpMs = Math.max(initiator, responder);

// ---------------------------------------------------------------- key transparency at 1M entries
const { toBinary, create } = await import('@bufbuild/protobuf');
const { KtInclusionSchema } = await import('../packages/protocol/dist/gen/sigilo/server/v1/frames_pb.js');
const crypto = nodeCrypto;
const entries = Number(process.env.BENCH_KT_ENTRIES ?? 1_000_000);
const proofs = Number(process.env.BENCH_KT_PROOFS ?? 2000);
const levels = [[]]; // levels[l][i]: the hash of complete subtree i at level l
const stored = (n) => levels[n.level][n.index];
const T0 = 1_765_000_000_000;
const bindingOf = (i) => ({ kind: 'add', accountId: new Uint8Array(16).fill(i & 255).map((v, j) => v ^ (i >>> (j % 4) * 8)), deviceId: 1 + (i % 3), identityKey: new Uint8Array(64).fill((i * 7) & 255), time: T0 + i });
let t0 = performance.now();
for (let i = 0; i < entries; i++) {
  for (const { node, hash } of protocol.ktAppendNodes(crypto, i, protocol.ktLeafHash(crypto, protocol.encodeBinding(bindingOf(i))), stored)) {
    (levels[node.level] ??= [])[node.index] = hash;
  }
}
const buildMs = performance.now() - t0;
const nodesFor = (ranges) => {
  const m = new Map();
  for (const r of ranges) for (const n of protocol.ktRangeNodes(r)) m.set(protocol.ktNodeKey(n), stored(n));
  return m;
};
const root = protocol.ktRangeHash(crypto, { start: 0, end: entries }, nodesFor([{ start: 0, end: entries }]));
const logSeed = new Uint8Array(randomBytes(32));
const origin = 'sigilo.kt/bench';
const text = protocol.checkpointText({ origin, size: entries, root, extensions: [] });
const note = protocol.formatNote({ text, signatures: [protocol.signNote(crypto, text, origin, logSeed)] });
const log = { name: origin, publicKey: crypto.ed25519PublicKey(logSeed) };
let maxBytes = 0;
let maxHashes = 0;
const verifyUs = [];
for (let k = 0; k < proofs; k++) {
  const index = Math.floor(Math.random() * entries);
  const ranges = protocol.ktInclusionRanges(index, entries);
  const nodes = nodesFor(ranges);
  const path = ranges.map((r) => protocol.ktRangeHash(crypto, r, nodes));
  const b = bindingOf(index);
  const served = create(KtInclusionSchema, { deviceId: b.deviceId, leafIndex: BigInt(index), time: BigInt(b.time), path });
  maxBytes = Math.max(maxBytes, toBinary(KtInclusionSchema, served).length);
  maxHashes = Math.max(maxHashes, path.length);
  const t = performance.now();
  const leaf = protocol.encodeBinding({ kind: 'add', accountId: b.accountId, deviceId: served.deviceId, identityKey: b.identityKey, time: Number(served.time) });
  protocol.ktVerifyInclusion(crypto, Number(served.leafIndex), entries, protocol.ktLeafHash(crypto, leaf), served.path, root);
  verifyUs.push((performance.now() - t) * 1000);
}
const opens = Array.from({ length: 200 }, () => { const t = performance.now(); protocol.openCheckpoint(crypto, note, log); return (performance.now() - t) * 1000; });
const ktUs = median(verifyUs);
console.log(`kt: ${entries} entries built in ${(buildMs / 1000).toFixed(1)} s; ${proofs} inclusions: largest ${maxBytes} bytes (a path of up to ${maxHashes} hashes), median verification ${ktUs.toFixed(1)} us`);
console.log(`kt: checkpoint note ${Buffer.byteLength(note)} bytes, signature check ${median(opens).toFixed(1)} us once per answer`);
console.log(`trust: inclusion proof ${maxBytes} bytes verified in ${ktUs.toFixed(1)} us at ${entries >= 1_000_000 && entries % 1_000_000 === 0 ? `${entries / 1_000_000}M` : entries} entries, smp ${smpMs.toFixed(1)} ms`);
