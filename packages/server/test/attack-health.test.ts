/**
 * Attack: /health needs no authentication and no WebSocket, and HTTP requests take no token of any
 * bucket. It used to count the whole message queue (SELECT count(*) FROM messages) on every request:
 * with 2 million queued messages that is ~40 ms of the event loop each, and 16 peers pipelining
 * /health kept a real client's own /health unanswered for over 12 s. Now one primary-key lookup
 * answers every /health within a second. Real server over real TLS; the storage is the real SQLite
 * adapter, wrapped only to count its calls.
 */
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { openStorage } from '../src/storage/open.js';
import type { Storage } from '../src/storage/port.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';

describe('attack: pipelined /health requests', () => {
  let t: TestServer;
  let calls = 0;
  beforeAll(async () => {
    const dataDir = tempDir('attack-health');
    const real = await openStorage(resolveConfig({ overrides: { dataDir } }));
    const counted = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => { calls++; return (v as (...a: unknown[]) => unknown).apply(target, args); };
      },
    }) as Storage;
    t = await startTestServer({}, { storage: counted }, dataDir);
  });
  afterAll(async () => { await t?.stop(); });

  it('400 pipelined requests are all answered ok, from a handful of storage reads', async () => {
    const port = Number(new URL(t.server.httpsUrl).port);
    const s = tlsConnect({ host: '127.0.0.1', port, ca: t.server.tls.cert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => { s.once('secureConnect', () => resolve()); s.once('error', reject); });
    const N = 400;
    let text = '';
    const started = calls;
    const t0 = Date.now();
    s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    s.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'.repeat(N));
    const count = () => text.split('{"status":"ok"}').length - 1;
    while (count() < N && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const reads = calls - started;
    s.destroy();
    expect(count()).toBe(N);
    // Old code: one queue count per request (400). Now: one lookup per second at most.
    expect(reads).toBeLessThanOrEqual(Math.ceil((Date.now() - t0) / 1000) + 1);
    expect(reads).toBeLessThan(N / 4);
  }, 90_000);
});
