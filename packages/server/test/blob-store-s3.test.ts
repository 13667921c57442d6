/**
 * The S3 blob store (src/blobs/s3.ts) against a real S3-compatible server
 * (s3rver, its own process): the conformance suite every store passes, then
 * what only this store has (pieces, manifests, another node resuming an
 * upload, a wrong key), and the SigV4 signer against AWS's published example.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore, PIECE_BYTES } from '../src/blobs/s3.js';
import { S3Client, signV4 } from '../src/blobs/s3-client.js';
import { bytes, newId, readRange, runBlobStoreConformance, source } from './support/blob-conformance.js';
import { startS3rver, type S3rver } from './support/s3rver.js';

let s3: S3rver;
beforeAll(async () => { s3 = await startS3rver(); }, 30_000);
afterAll(async () => { await s3?.stop(); });

const open = (prefix = `t${randomBytes(4).toString('hex')}/`) => new S3BlobStore({
  endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', prefix,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});

runBlobStoreConformance('s3 (s3rver)', async () => {
  const store = open();
  return {
    store,
    async cleanup() {
      for await (const e of store.list()) await store.delete(e.id);
      store.close();
    },
  };
});

describe('S3 blob store', () => {
  it('keeps a blob as pieces named by offset plus a manifest, and lists nothing else', async () => {
    const prefix = `p${randomBytes(4).toString('hex')}/`;
    const store = open(prefix);
    const id = newId();
    const data = randomBytes(PIECE_BYTES * 2 + 12_345);
    expect(await store.append(id, 0, source(data, 256 * 1024), data.length)).toMatchObject({ status: 'ended', offset: data.length });
    const client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const keys: { key: string; size: number }[] = [];
    for await (const o of client.list(prefix)) keys.push(o);
    // Pieces of at most one PIECE_BYTES plus a chunk; no manifest yet.
    expect(keys.every((k) => k.key.startsWith(`${prefix}parts/${id}/`))).toBe(true);
    expect(keys.reduce((n, k) => n + k.size, 0)).toBe(data.length);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(await store.complete(id)).toBe(data.length);
    const after: string[] = [];
    for await (const o of client.list(prefix)) after.push(o.key);
    expect(after).toContain(`${prefix}blobs/${id}`);
    // A read that starts in one piece and one that spans into the next.
    expect((await readRange(store, id, PIECE_BYTES - 10, PIECE_BYTES + 10)).equals(data.subarray(PIECE_BYTES - 10, PIECE_BYTES + 11))).toBe(true);
    expect((await readRange(store, id, 0, data.length - 1)).equals(data)).toBe(true);
    await store.delete(id);
    const gone: string[] = [];
    for await (const o of client.list(prefix)) gone.push(o.key);
    expect(gone).toEqual([]);
    client.close();
    store.close();
  }, 60_000);

  it('lets another node resume an upload cut on the first, from the offset the bucket holds', async () => {
    const prefix = `r${randomBytes(4).toString('hex')}/`;
    const nodeA = open(prefix);
    const nodeB = open(prefix);
    const id = newId();
    const data = randomBytes(700_000);
    const src = new PassThrough();
    const first = nodeA.append(id, 0, src, data.length);
    src.write(data.subarray(0, 300_000));
    for (let i = 0; i < 300 && (await nodeB.state(id))?.bytes !== 300_000; i++) await new Promise((r) => setTimeout(r, 10));
    src.destroy(new Error('the client went away'));
    expect(await first).toEqual({ status: 'cut', offset: 300_000, written: 300_000 });
    expect(await nodeB.state(id)).toEqual({ complete: false, bytes: 300_000 });
    expect(await nodeB.append(id, 300_000, source(data.subarray(300_000)), 400_000)).toMatchObject({ status: 'ended', offset: 700_000 });
    expect(await nodeB.complete(id)).toBe(700_000);
    expect((await readRange(nodeA, id, 0, data.length - 1)).equals(data)).toBe(true);
    await nodeA.delete(id);
    nodeA.close();
    nodeB.close();
  });

  it('lists a blob whose manifest was deleted but not its pieces (a crash mid-delete) as partial, so the sweeper removes it', async () => {
    const prefix = `c${randomBytes(4).toString('hex')}/`;
    const store = open(prefix);
    const client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const [a, b] = [newId(), newId()].sort();
    for (const id of [a!, b!]) {
      await store.append(id, 0, source(bytes(1000)), 1000);
      await store.complete(id);
    }
    await client.send('DELETE', `${prefix}blobs/${a}`);
    const listed: { id: string; complete: boolean }[] = [];
    for await (const e of store.list()) listed.push(e);
    expect(listed).toEqual([{ id: a, complete: false }, { id: b, complete: true }]);
    expect(await store.openRead(a!)).toBeUndefined();
    for (const id of [a!, b!]) await store.delete(id);
    client.close();
    store.close();
  });

  it('fails with a typed S3 error for an unknown access key, writing nothing', async () => {
    const store = new S3BlobStore({ endpoint: s3.endpoint, bucket: s3.bucket, region: 'us-east-1', credentials: { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' } });
    await expect(store.state(newId())).rejects.toMatchObject({ name: 'S3Error', status: 403, code: 'InvalidAccessKeyId' });
    store.close();
  });

  it('fails with a typed S3 error for a bucket that does not exist', async () => {
    const store = new S3BlobStore({ endpoint: s3.endpoint, bucket: 'no-such-bucket', region: 'us-east-1', credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    await expect(store.append(newId(), 0, source(bytes(10)), 10)).rejects.toMatchObject({ name: 'S3Error', status: 404, code: 'NoSuchBucket' });
    store.close();
  });
});

describe('SigV4 signer', () => {
  it("matches AWS's published example (GET /test.txt with a Range header, S3 documentation)", () => {
    const auth = signV4({
      method: 'GET', path: '/test.txt', query: {},
      headers: {
        host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'x-amz-date': '20130524T000000Z',
      },
      payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', amzDate: '20130524T000000Z', region: 'us-east-1', service: 's3',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    expect(auth).toBe('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });
});
