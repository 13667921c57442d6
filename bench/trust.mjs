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
// Later parts of issue 15 (key transparency) add their figures before the summary line.
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
console.log(`smp ${Math.max(initiator, responder).toFixed(1)} ms`);
