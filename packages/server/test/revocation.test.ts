/**
 * What a revoked device (or a removed account) can no longer do on the server
 * (spec/server.md §4.1, §5): get a sender certificate, even on a connection
 * the revocation has not closed yet, and use an attachment upload slot it
 * reserved before — neither with a new request nor by continuing one in
 * progress. Real server over TLS, SQLite, HTTPS uploads.
 */
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import type { TestClient } from './support/test-client.js';

interface Res { status: number; headers: IncomingHttpHeaders; body: string }
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('revocation', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  function http(method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Res> {
    return new Promise((resolve, reject) => {
      const req = request(`${t.server.httpsUrl}${path}`, { method, headers, ca: t.server.tls.cert, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const allocate = (client: TestClient, size: number) => client.expectOk({ case: 'allocateAttachment', value: { size: BigInt(size) } }, 'attachmentSlot');

  it('issues no sender certificate to a device removed while its connection is still open', async () => {
    const { client, device } = await t.account();
    await client.expectOk({ case: 'getSenderCertificate', value: {} }, 'senderCertificate');
    // The first half of a revocation: committed in storage, the connection not closed yet.
    expect(await t.server.storage.removeDevice(device.accountId!, device.deviceId!)).toBe(true);
    const f = await client.request({ case: 'getSenderCertificate', value: {} });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.AUTH_FAILED);
    expect((await client.closed).code).toBe(4001);
  });

  it('refuses every upload request on a slot whose device was revoked, on the next request', async () => {
    const { client, device } = await t.account();
    const slot = await allocate(client, 1000);
    const data = randomBytes(1000);
    expect((await http('PATCH', slot.uploadPath, { ...bearer(slot.uploadToken), 'upload-offset': '0' }, data.subarray(0, 400))).status).toBe(204);

    const r = await t.server.admin.revokeDevice(hex(device.accountId!), device.deviceId!);
    expect(r.revoked).toBe(true);

    const head = await http('HEAD', slot.uploadPath, bearer(slot.uploadToken));
    expect(head.status).toBe(403);
    const more = await http('PATCH', slot.uploadPath, { ...bearer(slot.uploadToken), 'upload-offset': '400' }, data.subarray(400));
    expect(more.status).toBe(403);
    expect(JSON.parse(more.body).error).toMatch(/revoked or its account removed/);
    const whole = await http('PUT', slot.uploadPath, { ...bearer(slot.uploadToken), 'content-length': '1000' }, data);
    expect(whole.status).toBe(403);
    // Never completed: nothing to download.
    expect((await http('GET', slot.uploadPath)).status).toBe(404);
  });

  it('refuses uploads once the account is removed, while other accounts upload as before', async () => {
    const a = await t.account();
    const b = await t.account();
    const slotA = await allocate(a.client, 10);
    const slotB = await allocate(b.client, 10);
    await t.server.admin.removeAccount(hex(a.device.accountId!));
    const data = randomBytes(10);
    expect((await http('PUT', slotA.uploadPath, { ...bearer(slotA.uploadToken), 'content-length': '10' }, data)).status).toBe(403);
    expect((await http('PUT', slotB.uploadPath, { ...bearer(slotB.uploadToken), 'content-length': '10' }, data)).status).toBe(201);
    const got = await http('GET', slotB.uploadPath);
    expect(got.status).toBe(200);
  });

  it('cuts an upload in progress when its device is revoked and refuses it afterwards', async () => {
    const { client, device } = await t.account();
    const size = 64 * 1024;
    const slot = await allocate(client, size);
    const data = randomBytes(size);
    let answered: number | undefined;
    const closed = new Promise<void>((resolve) => {
      const req = request(`${t.server.httpsUrl}${slot.uploadPath}`, {
        method: 'PATCH', ca: t.server.tls.cert, agent: false,
        headers: { ...bearer(slot.uploadToken), 'upload-offset': '0', 'content-length': String(size) },
      }, (res) => { answered = res.statusCode; res.resume(); res.on('close', () => resolve()); });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(data.subarray(0, 1000));
      void (async () => {
        // Wait until the server stored the first bytes (the request is then the slot's writer).
        for (let i = 0; i < 500; i++) {
          const h = await http('HEAD', slot.uploadPath, bearer(slot.uploadToken));
          if (Number(h.headers['upload-offset']) === 1000) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        await t.server.admin.revokeDevice(hex(device.accountId!), device.deviceId!);
        // A client that kept sending would complete the upload if it were not cut.
        if (!req.destroyed) req.end(data.subarray(1000));
      })();
    });
    await closed;
    expect(answered).not.toBe(201);
    expect((await http('HEAD', slot.uploadPath, bearer(slot.uploadToken))).status).toBe(403);
    expect((await http('GET', slot.uploadPath)).status).toBe(404);
  }, 30_000);

  it('refuses a token that names no device (a slot reserved before this server version) with 410', async () => {
    const id = randomBytes(16);
    const token = randomBytes(32);
    const now = Date.now();
    const { createHash } = await import('node:crypto');
    await t.server.storage.createAttachment({
      attachmentId: id, size: 10, uploadTokenHash: createHash('sha256').update(token).digest(), createdAt: now, expiresAt: now + 86_400_000, complete: false,
    });
    const r = await http('PUT', `/v1/attachments/${hex(id)}`, { ...bearer(token.toString('base64url')), 'content-length': '10' }, randomBytes(10));
    expect(r.status).toBe(410);
    expect(JSON.parse(r.body).error).toMatch(/allocate a new attachment slot/);
  });
});
