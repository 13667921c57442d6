import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

function http(t: TestServer, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = request(`${t.server.httpsUrl}${path}`, { method, headers, ca: t.server.tls.cert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('attachments', () => {
  let t: TestServer;
  let clock = Date.now();
  beforeAll(async () => { t = await startTestServer({ 'retention.attachments': '1d', 'limits.maxAttachmentBytes': '1MiB' }, { now: () => clock }); });
  afterAll(async () => { await t.stop(); });

  it('uploads with the slot token, downloads whole and by range, expires with its TTL', async () => {
    const { client } = await t.account();
    const blob = new Uint8Array(200_000).map((_, i) => i % 251);
    const slot = await client.expectOk({ case: 'allocateAttachment', value: { size: BigInt(blob.length) } }, 'attachmentSlot');
    expect(slot.uploadPath).toMatch(/^\/v1\/attachments\/[0-9a-f]{32}$/);
    expect((await http(t, 'GET', slot.uploadPath)).status).toBe(404); // not uploaded yet
    expect((await http(t, 'PUT', slot.uploadPath, { authorization: 'Bearer wrong' }, blob)).status).toBe(401);
    expect((await http(t, 'PUT', slot.uploadPath, { authorization: `Bearer ${slot.uploadToken}` }, blob.subarray(1))).status).toBe(413);
    expect((await http(t, 'PUT', slot.uploadPath, { authorization: `Bearer ${slot.uploadToken}` }, blob)).status).toBe(201);
    expect((await http(t, 'PUT', slot.uploadPath, { authorization: `Bearer ${slot.uploadToken}` }, blob)).status).toBe(409);
    const whole = await http(t, 'GET', slot.uploadPath);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(Buffer.from(blob))).toBe(true);
    const part = await http(t, 'GET', slot.uploadPath, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${blob.length}`);
    expect(part.body.equals(Buffer.from(blob.subarray(1000, 2000)))).toBe(true);

    const file = join(t.dataDir, 'attachments', slot.uploadPath.split('/').pop()!);
    expect(existsSync(file)).toBe(true);
    clock += 86_400_000 + 1;
    expect((await http(t, 'GET', slot.uploadPath)).status).toBe(404);
    expect((await t.server.sweep()).attachmentIds).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses slots above the size limit and without authentication', async () => {
    const { client } = await t.account();
    const f = await client.request({ case: 'allocateAttachment', value: { size: 2n * 1024n * 1024n } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    const anon = await t.connect();
    const g = await anon.request({ case: 'allocateAttachment', value: { size: 10n } });
    expect(g.body.case === 'error' && g.body.value.code).toBe(ErrorCode.NOT_AUTHENTICATED);
    expect((await http(t, 'GET', `/v1/attachments/${'0'.repeat(32)}`)).status).toBe(404);
  });
});
