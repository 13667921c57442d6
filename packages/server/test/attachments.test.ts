/**
 * Attachments over the real TLS server: slots and quota over the WebSocket,
 * uploads (whole PUT, resumable PATCH) and ranged downloads over HTTPS, the
 * blob files on disk, expiry and orphan sweeping, a full disk, kill -9.
 */
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../src/admin-socket.js';
import { resolveConfig } from '../src/config.js';
import type { InviteInfo } from '../src/services/admin.js';
import { spawnServer, type SpawnedServer } from './support/spawn.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';
import { TestClient, newDevice, type Target } from './support/test-client.js';

const MiB = 1024 * 1024;
const DAY = 86_400_000;

interface Endpoint { readonly httpsUrl: string; readonly tls: { readonly cert: string } }
interface Res { status: number; headers: IncomingHttpHeaders; body: Buffer }

/** One HTTPS request on its own connection. `chunked` sends the body without Content-Length. */
function http(to: Endpoint, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array, chunked = false): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(`${to.httpsUrl}${path}`, { method, headers, ca: to.tls.cert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body && chunked) {
      req.write(body);
      req.end();
    } else {
      req.end(body);
    }
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const patch = (to: Endpoint, path: string, token: string, offset: number, body: Uint8Array, chunked = false) =>
  http(to, 'PATCH', path, { ...bearer(token), 'upload-offset': String(offset) }, body, chunked);
const uploadOffset = async (to: Endpoint, path: string, token: string) => {
  const r = await http(to, 'HEAD', path, bearer(token));
  expect(r.status).toBe(200);
  return Number(r.headers['upload-offset']);
};

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts a PATCH of `rest` (declaring its whole length), sends its first
 * `cutAt` bytes, waits until the server stored them, then cuts the connection.
 */
async function patchThenCut(to: Endpoint, path: string, token: string, offset: number, rest: Uint8Array, cutAt: number): Promise<void> {
  const req = request(`${to.httpsUrl}${path}`, {
    method: 'PATCH', ca: to.tls.cert, agent: false,
    headers: { ...bearer(token), 'upload-offset': String(offset), 'content-length': String(rest.length) },
  });
  req.on('error', () => {});
  req.write(rest.subarray(0, cutAt));
  await until(async () => (await uploadOffset(to, path, token)) === offset + cutAt, 'the sent bytes to be stored');
  req.destroy();
}

async function allocate(client: TestClient, size: number | bigint) {
  return client.expectOk({ case: 'allocateAttachment', value: { size: BigInt(size) } }, 'attachmentSlot');
}

const fileOf = (dataDir: string, path: string) => join(dataDir, 'attachments', path.split('/').pop()!);

describe('attachments', () => {
  let t: TestServer;
  let clock = Date.now();
  beforeAll(async () => {
    t = await startTestServer({ 'retention.attachments': '1d', 'limits.maxAttachmentBytes': '1MiB', 'limits.attachmentIdleTimeout': '1s' }, { now: () => clock });
  });
  afterAll(async () => { await t.stop(); });

  it('uploads with the slot token, downloads whole and by range, expires with its TTL', async () => {
    const { client } = await t.account();
    const blob = new Uint8Array(200_000).map((_, i) => i % 251);
    const slot = await allocate(client, blob.length);
    expect(slot.uploadPath).toMatch(/^\/v1\/attachments\/[0-9a-f]{32}$/);
    expect((await http(t.server, 'GET', slot.uploadPath)).status).toBe(404); // not uploaded yet
    expect((await http(t.server, 'PUT', slot.uploadPath, { authorization: 'Bearer wrong' }, blob)).status).toBe(401);
    expect((await http(t.server, 'PUT', slot.uploadPath, bearer(slot.uploadToken), blob.subarray(1))).status).toBe(413);
    expect((await http(t.server, 'PUT', slot.uploadPath, bearer(slot.uploadToken), blob)).status).toBe(201);
    expect((await http(t.server, 'PUT', slot.uploadPath, bearer(slot.uploadToken), blob)).status).toBe(409);
    const whole = await http(t.server, 'GET', slot.uploadPath);
    expect(whole.status).toBe(200);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.equals(Buffer.from(blob))).toBe(true);
    const part = await http(t.server, 'GET', slot.uploadPath, { range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${blob.length}`);
    expect(part.body.equals(Buffer.from(blob.subarray(1000, 2000)))).toBe(true);
    expect((await http(t.server, 'GET', slot.uploadPath, { range: `bytes=${blob.length}-` })).status).toBe(416);

    const file = fileOf(t.dataDir, slot.uploadPath);
    expect(existsSync(file)).toBe(true);
    clock += DAY + 1;
    expect((await http(t.server, 'GET', slot.uploadPath)).status).toBe(404);
    expect((await t.server.sweep()).attachmentIds).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses slots above the size limit and without authentication', async () => {
    const { client } = await t.account();
    const f = await client.request({ case: 'allocateAttachment', value: { size: 2n * 1024n * 1024n } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    const zero = await client.request({ case: 'allocateAttachment', value: { size: 0n } });
    expect(zero.body.case === 'error' && zero.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
    const anon = await t.connect();
    const g = await anon.request({ case: 'allocateAttachment', value: { size: 10n } });
    expect(g.body.case === 'error' && g.body.value.code).toBe(ErrorCode.NOT_AUTHENTICATED);
    expect((await http(t.server, 'GET', `/v1/attachments/${'0'.repeat(32)}`)).status).toBe(404);
  });

  it('resumes an upload cut mid-way: HEAD gives the offset, PATCH sends the rest, the blob is byte-identical', async () => {
    const { client } = await t.account();
    const blob = randomBytes(MiB);
    const slot = await allocate(client, blob.length);
    const token = slot.uploadToken;
    const head0 = await http(t.server, 'HEAD', slot.uploadPath, bearer(token));
    expect(head0.status).toBe(200);
    expect(head0.headers['upload-offset']).toBe('0');
    expect(head0.headers['upload-length']).toBe(String(MiB));

    await patchThenCut(t.server, slot.uploadPath, token, 0, blob, 300_000);
    expect(await uploadOffset(t.server, slot.uploadPath, token)).toBe(300_000);
    expect((await http(t.server, 'GET', slot.uploadPath)).status).toBe(404); // still incomplete
    expect(existsSync(`${fileOf(t.dataDir, slot.uploadPath)}.part`)).toBe(true);

    const stale = await patch(t.server, slot.uploadPath, token, 0, blob.subarray(0, 10));
    expect(stale.status).toBe(409);
    expect(stale.headers['upload-offset']).toBe('300000');
    expect((await http(t.server, 'PATCH', slot.uploadPath, bearer(token), blob.subarray(0, 10))).status).toBe(400); // no Upload-Offset

    const mid = await patch(t.server, slot.uploadPath, token, 300_000, blob.subarray(300_000, 700_000), true);
    expect(mid.status).toBe(204);
    expect(mid.headers['upload-offset']).toBe('700000');
    const last = await patch(t.server, slot.uploadPath, token, 700_000, blob.subarray(700_000));
    expect(last.status).toBe(201);
    expect(last.headers['upload-offset']).toBe(String(MiB));
    expect(await uploadOffset(t.server, slot.uploadPath, token)).toBe(MiB);
    const again = await patch(t.server, slot.uploadPath, token, MiB, new Uint8Array(0));
    expect(again.status).toBe(409);

    const got = await http(t.server, 'GET', slot.uploadPath);
    expect(got.status).toBe(200);
    expect(got.body.equals(blob)).toBe(true);
    expect(existsSync(`${fileOf(t.dataDir, slot.uploadPath)}.part`)).toBe(false);
    expect(statSync(fileOf(t.dataDir, slot.uploadPath)).mode & 0o777).toBe(0o600);
  });

  it('a new upload request for the same attachment ends a stale one that is still open', async () => {
    const { client } = await t.account();
    const blob = randomBytes(400_000);
    const slot = await allocate(client, blob.length);
    const first = request(`${t.server.httpsUrl}${slot.uploadPath}`, {
      method: 'PATCH', ca: t.server.tls.cert, agent: false,
      headers: { ...bearer(slot.uploadToken), 'upload-offset': '0', 'content-length': String(blob.length) },
    });
    const firstClosed = new Promise<void>((resolve) => { first.on('error', () => resolve()); first.on('close', () => resolve()); });
    first.write(blob.subarray(0, 100_000));
    await until(async () => (await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)) === 100_000, 'the first part');
    const rest = await patch(t.server, slot.uploadPath, slot.uploadToken, 100_000, blob.subarray(100_000));
    expect(rest.status).toBe(201);
    await firstClosed;
    expect((await http(t.server, 'GET', slot.uploadPath)).body.equals(blob)).toBe(true);
  });

  it('cuts an upload that stalls for limits.attachmentIdleTimeout and keeps what arrived', async () => {
    const { client } = await t.account();
    const blob = randomBytes(200_000);
    const slot = await allocate(client, blob.length);
    const req = request(`${t.server.httpsUrl}${slot.uploadPath}`, {
      method: 'PATCH', ca: t.server.tls.cert, agent: false,
      headers: { ...bearer(slot.uploadToken), 'upload-offset': '0', 'content-length': String(blob.length) },
    });
    const closed = new Promise<number>((resolve) => {
      req.on('error', () => resolve(Date.now()));
      req.on('close', () => resolve(Date.now()));
    });
    // The stall starts when the last byte left this side (the server's idle clock cannot start earlier), not when the
    // poll below saw the offset: that came up to a poll (a TLS request) later, which a loaded machine stretched toward
    // the 1 s timeout, and the cut then looked too early.
    const written = new Promise<number>((resolve) => req.write(blob.subarray(0, 50_000), () => resolve(Date.now())));
    await until(async () => (await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)) === 50_000, 'the first part');
    const stalled = await written;
    const at = await closed;
    expect(at - stalled).toBeGreaterThan(500);
    expect(at - stalled).toBeLessThan(5000);
    expect(await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)).toBe(50_000);
  });

  it('refuses a wrong or missing upload token with 401 on HEAD, PATCH and PUT, and changes nothing', async () => {
    const { client } = await t.account();
    const slot = await allocate(client, 1000);
    const other = await allocate(client, 1000);
    for (const headers of [{ authorization: 'Bearer wrong' }, bearer(other.uploadToken), { authorization: slot.uploadToken }, {}]) {
      expect((await http(t.server, 'PATCH', slot.uploadPath, { ...headers, 'upload-offset': '0' }, randomBytes(1000))).status).toBe(401);
      expect((await http(t.server, 'PUT', slot.uploadPath, headers, randomBytes(1000))).status).toBe(401);
    }
    expect((await http(t.server, 'HEAD', slot.uploadPath, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await http(t.server, 'HEAD', slot.uploadPath)).status).toBe(404); // a download HEAD: not uploaded yet
    expect(existsSync(`${fileOf(t.dataDir, slot.uploadPath)}.part`)).toBe(false);
    expect(await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)).toBe(0);
  });

  it('refuses more than the declared size with 413 and keeps nothing past it', async () => {
    const { client } = await t.account();
    const size = 100_000;
    const blob = randomBytes(size);
    const slot = await allocate(client, size);
    const token = slot.uploadToken;
    expect((await patch(t.server, slot.uploadPath, token, 0, blob.subarray(0, 1000))).status).toBe(204);
    const declared = await patch(t.server, slot.uploadPath, token, 1000, randomBytes(size - 1000 + 1));
    expect(declared.status).toBe(413);
    expect(declared.headers['upload-offset']).toBe('1000');
    const streamed = await patch(t.server, slot.uploadPath, token, 1000, randomBytes(size), true);
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body.toString()).error).toMatch(/none of it was kept/);
    expect(await uploadOffset(t.server, slot.uploadPath, token)).toBe(1000);
    expect(statSync(`${fileOf(t.dataDir, slot.uploadPath)}.part`).size).toBe(1000);
    expect((await patch(t.server, slot.uploadPath, token, 1000, blob.subarray(1000), true)).status).toBe(201);
    expect(statSync(fileOf(t.dataDir, slot.uploadPath)).size).toBe(size);
    expect((await http(t.server, 'GET', slot.uploadPath)).body.equals(blob)).toBe(true);
  });

  it('resumes a download cut mid-way with a Range request', async () => {
    const { client } = await t.account();
    const blob = randomBytes(MiB);
    const slot = await allocate(client, blob.length);
    expect((await patch(t.server, slot.uploadPath, slot.uploadToken, 0, blob)).status).toBe(201);
    const head = await new Promise<Buffer>((resolve, reject) => {
      const req = request(`${t.server.httpsUrl}${slot.uploadPath}`, { ca: t.server.tls.cert, agent: false }, (res) => {
        expect(res.headers['accept-ranges']).toBe('bytes');
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (d: Buffer) => {
          chunks.push(d);
          n += d.length;
          if (n >= 250_000) {
            req.destroy();
            resolve(Buffer.concat(chunks));
          }
        });
        res.on('end', () => reject(new Error('the download was not cut')));
      });
      req.on('error', () => {});
      req.end();
    });
    expect(head.length).toBeLessThan(blob.length);
    const rest = await http(t.server, 'GET', slot.uploadPath, { range: `bytes=${head.length}-` });
    expect(rest.status).toBe(206);
    expect(rest.headers['content-range']).toBe(`bytes ${head.length}-${blob.length - 1}/${blob.length}`);
    expect(Buffer.concat([head, rest.body]).equals(blob)).toBe(true);
    // The cut download's file is closed (no descriptor leaks per dropped client).
    const file = fileOf(t.dataDir, slot.uploadPath);
    const openOnBlob = () => readdirSync('/proc/self/fd').filter((fd) => {
      try { return readlinkSync(`/proc/self/fd/${fd}`) === file; } catch { return false; }
    }).length;
    await until(async () => openOnBlob() === 0, 'the blob file to be closed');
  });

  it('TTL expiry deletes complete and partial blobs from disk; orphan files are swept, other files kept', async () => {
    const { client } = await t.account();
    const partial = await allocate(client, 5000);
    const complete = await allocate(client, 5000);
    expect((await patch(t.server, partial.uploadPath, partial.uploadToken, 0, randomBytes(2000))).status).toBe(204);
    expect((await patch(t.server, complete.uploadPath, complete.uploadToken, 0, randomBytes(5000))).status).toBe(201);
    const dir = join(t.dataDir, 'attachments');
    const orphan = 'ab'.repeat(16);
    writeFileSync(join(dir, orphan), 'left by a crash');
    writeFileSync(join(dir, `${'cd'.repeat(16)}.part`), 'left by a crash');
    writeFileSync(join(dir, 'not-a-blob.txt'), 'someone else');
    const r1 = await t.server.sweep();
    expect(r1.orphanBlobs).toBe(2);
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining([`${partial.uploadPath.slice(-32)}.part`, complete.uploadPath.slice(-32), 'not-a-blob.txt']));
    expect(files).not.toContain(orphan);
    expect(files).not.toContain(`${'cd'.repeat(16)}.part`);

    clock += DAY + 1;
    expect((await patch(t.server, partial.uploadPath, partial.uploadToken, 2000, randomBytes(3000))).status).toBe(404);
    expect((await http(t.server, 'GET', complete.uploadPath)).status).toBe(404);
    await t.server.sweep(); // (the server's own first sweep, 5 s after start, may have run already)
    expect(await t.server.storage.getAttachment(partial.attachmentId)).toBeUndefined();
    expect(await t.server.storage.getAttachment(complete.attachmentId)).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['not-a-blob.txt']);
  });

  it('repairs what a crash between storing the bytes and marking the row complete leaves behind', async () => {
    const { client } = await t.account();
    const blob = randomBytes(3000);
    // Crashed after the rename, before the row update: the blob is complete, the row is not.
    const renamed = await allocate(client, blob.length);
    writeFileSync(fileOf(t.dataDir, renamed.uploadPath), blob, { mode: 0o600 });
    const got = await http(t.server, 'GET', renamed.uploadPath);
    expect(got.status).toBe(200);
    expect(got.body.equals(blob)).toBe(true);
    expect((await t.server.storage.getAttachment(renamed.attachmentId))?.complete).toBe(true);
    // Crashed after the last byte, before completing: HEAD finishes it.
    const written = await allocate(client, blob.length);
    writeFileSync(`${fileOf(t.dataDir, written.uploadPath)}.part`, blob, { mode: 0o600 });
    expect(await uploadOffset(t.server, written.uploadPath, written.uploadToken)).toBe(blob.length);
    expect(existsSync(`${fileOf(t.dataDir, written.uploadPath)}.part`)).toBe(false);
    expect((await http(t.server, 'GET', written.uploadPath)).body.equals(blob)).toBe(true);
  });

  it('stores neither an account nor a file name beside an attachment', async () => {
    const { client } = await t.account();
    await allocate(client, 4096);
    const db = new Database(join(t.dataDir, 'sigilo.db'), { readonly: true });
    try {
      const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name).sort();
      expect(columns('attachments')).toEqual(['attachment_id', 'complete', 'created_at', 'expires_at', 'size', 'upload_token_hash']);
      expect(columns('attachment_usage')).toEqual(['account_id', 'bytes', 'day', 'expires_at']);
    } finally {
      db.close();
    }
  });
});

describe('attachment limits and quota', () => {
  it('accepts the 2 GiB default maximum and refuses one byte more; offsets and lengths above 2^31 are handled', async () => {
    const t = await startTestServer();
    try {
      expect(t.server.config.limits.maxAttachmentBytes).toBe(2 ** 31);
      const { client } = await t.account();
      const slot = await allocate(client, 2 ** 31);
      const over = await client.request({ case: 'allocateAttachment', value: { size: 2n ** 31n + 1n } });
      expect(over.body.case === 'error' && over.body.value.code).toBe(ErrorCode.INVALID_ARGUMENT);
      const head = await http(t.server, 'HEAD', slot.uploadPath, bearer(slot.uploadToken));
      expect(head.headers['upload-length']).toBe('2147483648');
      expect(head.headers['upload-offset']).toBe('0');
      const far = await patch(t.server, slot.uploadPath, slot.uploadToken, 3_000_000_000, randomBytes(10));
      expect(far.status).toBe(409);
      expect(far.headers['upload-offset']).toBe('0');
      const tooLong = await new Promise<number>((resolve, reject) => {
        const req = request(`${t.server.httpsUrl}${slot.uploadPath}`, {
          method: 'PATCH', ca: t.server.tls.cert, agent: false,
          headers: { ...bearer(slot.uploadToken), 'upload-offset': '0', 'content-length': String(2 ** 31 + 1) },
        }, (res) => { resolve(res.statusCode!); req.destroy(); });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(tooLong).toBe(413);
      expect(await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)).toBe(0);
    } finally {
      await t.stop();
    }
  });

  it('refuses allocations past the per-account quota with QUOTA_EXCEEDED until the window frees them', async () => {
    let clock = Date.now();
    // Counted on today's date, so free once today and the 2-day TTL are over.
    const frees = (Math.floor(clock / DAY) + 3) * DAY;
    const t = await startTestServer({ 'limits.maxAttachmentBytes': '1MiB', 'limits.attachmentQuotaBytes': '3MiB', 'retention.attachments': '2d' }, { now: () => clock });
    try {
      const alice = await t.account();
      const bob = await t.account();
      const results = await Promise.all(Array.from({ length: 5 }, () => alice.client.request({ case: 'allocateAttachment', value: { size: BigInt(MiB) } })));
      expect(results.filter((f) => f.body.case === 'attachmentSlot')).toHaveLength(3);
      const refused = results.find((f) => f.body.case === 'error')!;
      expect(refused.body.case === 'error' && refused.body.value.code).toBe(ErrorCode.QUOTA_EXCEEDED);
      const error = refused.body.case === 'error' ? refused.body.value : undefined;
      expect(error?.message).toContain('quota (3 MiB per 2 days) is used up: 3 MiB allocated');
      expect(error?.message).toContain(`frees up at ${new Date(frees).toISOString()}`);
      expect(error?.retryAfterMs).toBe(frees - clock);
      expect((await alice.client.request({ case: 'allocateAttachment', value: { size: 1n } })).body.case).toBe('error');
      await allocate(bob.client, MiB); // per account

      clock = frees - 1;
      expect((await alice.client.request({ case: 'allocateAttachment', value: { size: 1n } })).body.case).toBe('error');
      expect((await t.server.sweep()).attachmentUsage).toBe(0);
      clock = frees;
      await allocate(alice.client, MiB);
      expect((await t.server.sweep()).attachmentUsage).toBe(2); // alice's and bob's counters of the first day
      await allocate(alice.client, MiB);
      await allocate(alice.client, MiB);
      const full = await alice.client.request({ case: 'allocateAttachment', value: { size: 1n } });
      expect(full.body.case === 'error' && full.body.value.code).toBe(ErrorCode.QUOTA_EXCEEDED);
    } finally {
      await t.stop();
    }
  });

  it('rate limits slot allocation per account', async () => {
    const t = await startTestServer({ 'limits.accountSendsPerSecond': 1, 'limits.accountBurst': 2 });
    try {
      const alice = await t.account();
      const bob = await t.account();
      await allocate(alice.client, 10);
      await allocate(alice.client, 10);
      const third = await alice.client.request({ case: 'allocateAttachment', value: { size: 10n } });
      expect(third.body.case === 'error' && third.body.value.code).toBe(ErrorCode.RATE_LIMITED);
      expect(third.body.case === 'error' && third.body.value.retryAfterMs).toBeGreaterThan(0);
      await allocate(bob.client, 10);
    } finally {
      await t.stop();
    }
  });

  it('validates the quota setting', () => {
    const cwd = tempDir('config');
    try {
      const resolve = (overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => resolveConfig({ env, overrides, cwd });
      expect(resolve({}).limits.attachmentQuotaBytes).toBe(10 * 1024 * MiB);
      expect(resolve({ 'limits.attachmentQuotaBytes': '1024GiB' }).limits.attachmentQuotaBytes).toBe(2 ** 40);
      expect(() => resolve({ 'limits.maxAttachmentBytes': '2GiB', 'limits.attachmentQuotaBytes': '1GiB' })).toThrow(/attachmentQuotaBytes must be at least/);
      expect(() => resolve({}, { SIGILO_ATTACHMENT_QUOTA: 'lots' })).toThrow(/environment variable SIGILO_ATTACHMENT_QUOTA: limits.attachmentQuotaBytes must be a size/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('attachments on a full disk', () => {
  const dataDir = tempDir('enospc');
  const mnt = join(dataDir, 'attachments');
  let reason: string | undefined;
  beforeAll(() => {
    mkdirSync(mnt, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      reason = `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); run as root to test a full disk`;
    }
  });
  afterAll(() => {
    if (!reason) execFileSync('umount', [mnt]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 507 with the stored offset, never completes, and resumes once space frees', async (ctx) => {
    if (reason) return ctx.skip(reason);
    const t = await startTestServer({ 'limits.maxAttachmentBytes': '1MiB' }, {}, dataDir);
    try {
      const { client } = await t.account();
      const blob = randomBytes(MiB);
      const slot = await allocate(client, blob.length);
      const r = await patch(t.server, slot.uploadPath, slot.uploadToken, 0, blob);
      expect(r.status).toBe(507);
      expect(JSON.parse(r.body.toString()).error).toMatch(/out of disk space/);
      const stored = Number(r.headers['upload-offset']);
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(blob.length);
      expect(await uploadOffset(t.server, slot.uploadPath, slot.uploadToken)).toBe(stored);
      expect((await http(t.server, 'GET', slot.uploadPath)).status).toBe(404);
      execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
      expect((await patch(t.server, slot.uploadPath, slot.uploadToken, stored, blob.subarray(stored))).status).toBe(201);
      expect((await http(t.server, 'GET', slot.uploadPath)).body.equals(blob)).toBe(true);
    } finally {
      await t.server.close();
    }
  });
});

describe('attachments across kill -9', () => {
  const dataDir = tempDir('kill9-blob');
  let server: SpawnedServer | undefined;
  afterAll(() => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a completed upload survives kill -9 of the server, and so does a partial one', async () => {
    server = await spawnServer(dataDir);
    const { code } = await adminRequest(dataDir, { op: 'invite' }) as InviteInfo;
    const c = await TestClient.connect(server as Target);
    expect((await c.register(newDevice(), code)).body.case).toBe('registered');
    const blob = randomBytes(3 * MiB);
    const done = await allocate(c, blob.length);
    const half = await allocate(c, blob.length);
    expect((await patch(server, done.uploadPath, done.uploadToken, 0, blob)).status).toBe(201);
    expect((await patch(server, half.uploadPath, half.uploadToken, 0, blob.subarray(0, MiB))).status).toBe(204);
    c.ws.terminate();
    server.child.kill('SIGKILL');
    await server.exited;

    server = await spawnServer(dataDir);
    const got = await http(server, 'GET', done.uploadPath);
    expect(got.status).toBe(200);
    expect(got.body.equals(blob)).toBe(true);
    expect(await uploadOffset(server, half.uploadPath, half.uploadToken)).toBe(MiB);
    expect((await patch(server, half.uploadPath, half.uploadToken, MiB, blob.subarray(MiB))).status).toBe(201);
    expect((await http(server, 'GET', half.uploadPath)).body.equals(blob)).toBe(true);
  }, 60_000);
});
