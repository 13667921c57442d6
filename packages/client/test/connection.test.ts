/** The connection gives up on a server that accepts TCP but never completes TLS. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Connection } from '../src/connection.js';
import { pinnedTransport } from '../../client-node/src/index.js';

describe('connection', () => {
  it('a stalled TLS handshake times out with a clear error', async () => {
    const silent = createServer(() => { /* accept and say nothing */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    await expect(Connection.open(pinnedTransport({ url: `wss://127.0.0.1:${port}/v1/ws`, fingerprint: 'AA:'.repeat(31) + 'AA' }), () => {}, 1_000))
      .rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
    silent.close();
  });
});
