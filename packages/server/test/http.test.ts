import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

async function get(t: TestServer, path: string): Promise<{ status: number; type: string; body: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https.get(`${t.server.httpsUrl}${path}`, { ca: t.server.tls.cert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

describe('health and metrics', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'metrics.enabled': true, 'metrics.port': 0 }); });
  afterAll(async () => { await t.stop(); });

  it('/health answers ok', async () => {
    expect(await get(t, '/health')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect((await get(t, '/v1/nope')).status).toBe(404);
  });

  it('/metrics (on its own loopback listener) is Prometheus text with counts only', async () => {
    const alice = await t.account();
    const bob = await t.account();
    await alice.client.sendTo(bob.device.accountId!, [1], () => new Uint8Array([1]));
    await bob.client.waitForDeliveries(1);
    await bob.client.ackAll();
    const http = await import('node:http');
    const m = await new Promise<{ type: string; body: string }>((resolve, reject) => {
      http.get(t.server.metricsUrl!, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ type: String(res.headers['content-type']), body }));
      }).on('error', reject);
    });
    expect((await get(t, '/metrics')).status).toBe(404);
    expect(m.type).toMatch(/^text\/plain; version=0.0.4/);
    expect(m.body).toMatch(/^# TYPE sigilo_connections gauge$/m);
    expect(m.body).toMatch(/^sigilo_connections_authenticated 2$/m);
    expect(m.body).toMatch(/^sigilo_queue_depth 0$/m);
    expect(m.body).toMatch(/^sigilo_messages_delivered_total 1$/m);
    expect(m.body).toMatch(/^sigilo_sends_total\{kind="identified",outcome="stored"\} 1$/m);
    expect(m.body).toMatch(/^sigilo_delivery_seconds_count 1$/m);
    expect(m.body).toMatch(/^sigilo_send_commit_seconds_bucket\{le="\+Inf"\} 1$/m);
    for (const id of [alice.device.accountId!, bob.device.accountId!]) expect(m.body).not.toContain(Buffer.from(id).toString('hex'));
  });

  it('WebSocket upgrades elsewhere than /v1/ws are refused', async () => {
    const WebSocket = (await import('ws')).default;
    const ws = new WebSocket(t.server.url.replace('/v1/ws', '/other'), { ca: t.server.tls.cert });
    await expect(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); })).rejects.toThrow(/404/);
  });
});
