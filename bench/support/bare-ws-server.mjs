// The memory floor for bench/server.mjs: a bare TLS WebSocket server in its own process with
// the same `ws` package, the same certificate and the same WebSocketServer options as the Sigilo
// server, doing nothing but sending a 48-byte binary "challenge" to each new connection and
// keeping message, close, error and pong listeners on it.
//   node [--expose-gc] bare-ws-server.mjs CERT.pem KEY.pem
// Prints one JSON line {port, pid} once listening; a "gc" line on stdin runs a full collection
// (with --expose-gc) and answers {gc, rss}; SIGTERM stops it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

// Resolve `ws` as the server package does, so both use the same copy.
const require = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const [certPath, keyPath] = process.argv.slice(2);
const https = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: 'TLSv1.2' }, (req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024, perMessageDeflate: false, clientTracking: false });
const all = new Set();
https.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    all.add(ws);
    ws.on('message', () => {});
    ws.on('pong', () => {});
    ws.on('error', () => {});
    ws.on('close', () => all.delete(ws));
    ws.send(randomBytes(48), { binary: true });
  });
});
await new Promise((resolve) => https.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ port: https.address().port, pid: process.pid })}\n`);
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'gc') {
    const collected = typeof globalThis.gc === 'function';
    if (collected) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); globalThis.gc(); }
    process.stdout.write(`${JSON.stringify({ gc: collected, rss: process.memoryUsage.rss(), connections: all.size })}\n`);
  }
});
process.once('SIGTERM', () => {
  for (const ws of all) ws.terminate();
  https.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
