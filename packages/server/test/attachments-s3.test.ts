/**
 * Attachments on an S3-compatible bucket (blobs.backend s3) over the real TLS
 * server: two nodes on one PostgreSQL schema, one Redis bus and one bucket
 * (s3rver, its own process): an upload cut on one node resumes on the other,
 * either node serves byte ranges, the sweeper empties the bucket. Skipped
 * without PostgreSQL and Redis unless SIGILO_REQUIRE_SERVICES=1.
 */
import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { openBlobStore } from '../src/blobs/open.js';
import { S3Client } from '../src/blobs/s3-client.js';
import { startS3rver, type S3rver } from './support/s3rver.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, postgresUnavailable, randomSchema, redisUnavailable, requireService } from './support/services.js';

const unavailable = (await postgresUnavailable()) ?? (await redisUnavailable());
requireService(unavailable, 'attachments on S3 across nodes (PostgreSQL and Redis)');

interface Endpoint { readonly httpsUrl: string; readonly tls: { readonly cert: string } }
interface Res { status: number; headers: IncomingHttpHeaders; body: Buffer }

function http(to: Endpoint, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(`${to.httpsUrl}${path}`, { method, headers, ca: to.tls.cert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.skipIf(unavailable !== undefined)(`attachments on S3 across two nodes${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let s3: S3rver;
  let schema: string;
  let nodes: TestServer[] = [];
  let keys: () => Promise<string[]>;
  beforeAll(async () => {
    s3 = await startS3rver();
    schema = randomSchema('sigilo_s3');
    const settings = {
      'storage.backend': 'postgres', 'storage.postgresUrl': POSTGRES_URL, 'storage.postgresSchema': schema, 'bus.url': REDIS_URL,
      'blobs.backend': 's3', 'blobs.s3.endpoint': s3.endpoint, 'blobs.s3.bucket': s3.bucket, 'blobs.s3.prefix': 'att/',
      'blobs.s3.accessKeyId': s3.accessKeyId, 'blobs.s3.secretAccessKey': s3.secretAccessKey,
      'retention.attachments': '2s', 'limits.attachmentIdleTimeout': '1s',
    };
    // Node 2 uses copies of node 1's keys, as the README's two-node set-up does (upload tokens are sealed with a key derived from them).
    const n1 = await startTestServer(settings);
    const dir2 = tempDir('server');
    for (const f of ['certificate-key.json', 'kt-log-key.json']) cpSync(join(n1.dataDir, f), join(dir2, f), { preserveTimestamps: true });
    nodes = [n1, await startTestServer(settings, {}, dir2)];
    const client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    keys = async () => {
      const out: string[] = [];
      for await (const o of client.list('att/')) out.push(o.key);
      return out;
    };
  }, 60_000);
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await s3?.stop();
    if (schema) await dropSchema(schema);
  });

  it('resumes on node 2 an upload cut on node 1; both serve ranges; the sweeper empties the bucket after the TTL', async () => {
    const [n1, n2] = nodes as [TestServer, TestServer];
    const { client } = await n1.account();
    const blob = randomBytes(1_500_000);
    const slot = await client.expectOk({ case: 'allocateAttachment', value: { size: BigInt(blob.length) } }, 'attachmentSlot');
    const id = slot.uploadPath.slice(-32);

    // Node 1 receives 600,000 bytes, then the connection is cut.
    const req = request(`${n1.server.httpsUrl}${slot.uploadPath}`, {
      method: 'PATCH', ca: n1.server.tls.cert, agent: false,
      headers: { ...bearer(slot.uploadToken), 'upload-offset': '0', 'content-length': String(blob.length) },
    });
    req.on('error', () => {});
    req.write(blob.subarray(0, 600_000));
    let offset = 0;
    for (let i = 0; i < 300 && offset !== 600_000; i++) {
      await new Promise((r) => setTimeout(r, 20));
      offset = Number((await http(n2.server, 'HEAD', slot.uploadPath, bearer(slot.uploadToken))).headers['upload-offset']);
    }
    expect(offset).toBe(600_000); // node 2 sees what node 1 stored
    req.destroy();
    await new Promise((r) => setTimeout(r, 200));

    const rest = await http(n2.server, 'PATCH', slot.uploadPath, { ...bearer(slot.uploadToken), 'upload-offset': '600000' }, blob.subarray(600_000));
    expect(rest.status).toBe(201);
    for (const n of [n1, n2]) {
      const whole = await http(n.server, 'GET', slot.uploadPath);
      expect(whole.status).toBe(200);
      expect(whole.body.equals(blob)).toBe(true);
      const part = await http(n.server, 'GET', slot.uploadPath, { range: 'bytes=599990-600009' });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 599990-600009/${blob.length}`);
      expect(part.body.equals(blob.subarray(599_990, 600_010))).toBe(true);
    }
    expect(await keys()).toContain(`att/blobs/${id}`);

    await new Promise((r) => setTimeout(r, 2100));
    expect((await http(n1.server, 'GET', slot.uploadPath)).status).toBe(404);
    const swept = await n2.server.sweep();
    expect(swept.attachmentIds.length + swept.orphanBlobs).toBeGreaterThanOrEqual(1);
    expect((await keys()).filter((k) => k.includes(id))).toEqual([]);
  }, 60_000);
});

describe('blobs.backend s3 configuration', () => {
  it('needs an endpoint and a bucket, and credentials; a wrong bucket stops the start with a ConfigError', async () => {
    expect(() => resolveConfig({ env: {}, overrides: { 'blobs.backend': 's3' } })).toThrow(/blobs.s3.endpoint and blobs.s3.bucket/);
    expect(() => resolveConfig({ env: {}, overrides: { 'blobs.backend': 's3', 'blobs.s3.endpoint': 'ftp://x' } })).toThrow(/http/);
    const config = resolveConfig({ env: {}, overrides: { 'blobs.backend': 's3', 'blobs.s3.endpoint': 'http://127.0.0.1:9', 'blobs.s3.bucket': 'b-1' } });
    await expect(openBlobStore(config, '/nonexistent', {})).rejects.toThrow(/accessKeyId/);
    const s3 = await startS3rver();
    try {
      const wrong = resolveConfig({ env: {}, overrides: { 'blobs.backend': 's3', 'blobs.s3.endpoint': s3.endpoint, 'blobs.s3.bucket': 'missing-bucket' } });
      await expect(openBlobStore(wrong, '/nonexistent', { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }))
        .rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/NoSuchBucket/) });
      const right = resolveConfig({ env: {}, overrides: { 'blobs.backend': 's3', 'blobs.s3.endpoint': s3.endpoint, 'blobs.s3.bucket': s3.bucket } });
      const store = await openBlobStore(right, '/nonexistent', { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
      expect(store.name).toBe('s3');
      await store.close?.();
    } finally {
      await s3.stop();
    }
  }, 30_000);
});
