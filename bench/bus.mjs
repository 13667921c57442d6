// Wake-up bus choice (spec/server.md §"Several nodes"): publish->receive latency and
// messages per second of Redis pub/sub (ioredis) and NATS core (nats) on this machine.
// Usage: npm run bench:bus  (Redis on 127.0.0.1:6379, NATS on 127.0.0.1:4222)
import { createRequire } from 'node:module';
import { connect } from 'nats'; // bench/node_modules: never a server dependency
// The server's own Redis client.
const { Redis } = createRequire(new URL('../packages/server/package.json', import.meta.url))('ioredis');

const ROUND_TRIPS = 2000;
const BURST = 100_000;
const payload = Buffer.alloc(40, 7); // about the size of a wake-up (device address)

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function measure(name, { publish, subscribe, close }) {
  let onMsg = () => {};
  await subscribe(() => onMsg());
  const lat = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = process.hrtime.bigint();
    await new Promise((resolve) => { onMsg = resolve; publish(); });
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  let got = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    onMsg = () => { if (++got === BURST) resolve(); };
    for (let i = 0; i < BURST; i++) publish();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await close();
  const line = `${name}: p50 ${pct(lat, 0.5).toFixed(3)} ms, p99 ${pct(lat, 0.99).toFixed(3)} ms, ${Math.round(BURST / secs)} msg/s`;
  console.log(line);
}

const pub = new Redis('redis://127.0.0.1:6379');
const sub = new Redis('redis://127.0.0.1:6379');
await measure('redis pub/sub', {
  subscribe: async (f) => { await sub.subscribe('bench'); sub.on('messageBuffer', f); },
  publish: () => { pub.publish('bench', payload); },
  close: async () => { pub.disconnect(); sub.disconnect(); },
});
const nc = await connect({ servers: '127.0.0.1:4222' });
const nc2 = await connect({ servers: '127.0.0.1:4222' });
await measure('nats core', {
  subscribe: async (f) => { nc2.subscribe('bench', { callback: () => f() }); await nc2.flush(); },
  publish: () => { nc.publish('bench', payload); },
  close: async () => { await nc.drain(); await nc2.drain(); },
});
