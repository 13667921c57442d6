/**
 * Attachments: encrypted blobs uploaded over HTTPS beside the WebSocket
 * (spec/server.md §4.1). A device reserves a slot (size, random 16-byte id,
 * upload token whose SHA-256 is stored); the upload streams to disk and
 * becomes readable when complete; anyone holding the id may download it
 * (with Range support) until retention.attachments expires it.
 */
import type { AllocateAttachment } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Reply } from '../connection.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, invalidArgument } from '../errors.js';
import { fromHexId, toHex } from '../ids.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
export const attachmentPath = (id: Uint8Array) => `/v1/attachments/${toHex(id)}`;

export async function allocateAttachment(ctx: ServerContext, s: Session, m: AllocateAttachment): Promise<Reply> {
  const max = ctx.config.limits.maxAttachmentBytes;
  if (m.size <= 0n || m.size > BigInt(max)) throw invalidArgument(`an attachment must be between 1 and ${max} bytes`);
  const wait = ctx.sendBuckets.take(s.accountHex, ctx.now());
  if (wait > 0) throw new RateLimitedError(wait, 'uploads from this account');
  const now = ctx.now();
  const attachmentId = ctx.random(16);
  const token = ctx.random(32);
  const expiresAt = now + ctx.config.retention.attachmentsMs;
  await ctx.storage.createAttachment({ attachmentId, size: Number(m.size), uploadTokenHash: sha256(token), createdAt: now, expiresAt, complete: false });
  return {
    body: {
      case: 'attachmentSlot',
      value: { attachmentId, uploadPath: attachmentPath(attachmentId), uploadToken: Buffer.from(token).toString('base64url'), expires: BigInt(expiresAt) },
    },
  };
}

function fail(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** Handles /v1/attachments/<id>; returns false for other paths. */
export function handleAttachment(ctx: ServerContext, dir: string, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const m = /^\/v1\/attachments\/([0-9a-f]{32})$/.exec(path);
  if (!m) return false;
  const id = fromHexId(m[1]!, 16)!;
  const file = join(dir, m[1]!);
  const run = async () => {
    const record = await ctx.storage.getAttachment(id);
    const now = ctx.now();
    if (!record || record.expiresAt <= now) return fail(res, 404, 'no such attachment (it may have expired)');
    if (req.method === 'PUT') {
      const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      const given = auth ? sha256(Buffer.from(auth[1]!, 'base64url')) : new Uint8Array(32);
      if (!timingSafeEqual(given, record.uploadTokenHash)) return fail(res, 401, 'wrong or missing upload token; allocate a new attachment slot');
      if (record.complete) return fail(res, 409, 'this attachment was already uploaded');
      if (Number(req.headers['content-length'] ?? -1) !== record.size) return fail(res, 413, `send exactly ${record.size} bytes with a Content-Length header`);
      const part = `${file}.part`;
      const out = createWriteStream(part, { mode: 0o600 });
      let received = 0;
      let failed = false;
      const abort = (status: number, message: string) => {
        if (failed) return;
        failed = true;
        out.destroy();
        rmSync(part, { force: true });
        fail(res, status, message);
      };
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > record.size) abort(413, `send exactly ${record.size} bytes`);
      });
      req.on('aborted', () => abort(400, 'upload interrupted; upload again'));
      out.on('error', (e: NodeJS.ErrnoException) => abort(e.code === 'ENOSPC' ? 507 : 500, e.code === 'ENOSPC' ? 'the server is out of disk space; try again later' : 'could not store the upload'));
      req.pipe(out);
      out.on('finish', () => {
        if (failed) return;
        if (received !== record.size) return abort(400, `received ${received} of ${record.size} bytes; upload again`);
        renameSync(part, file);
        ctx.storage.completeAttachment(id).then(() => {
          res.writeHead(201, { 'content-length': 0 });
          res.end();
        }, () => abort(500, 'could not record the upload'));
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'use GET to download or PUT to upload');
    if (!record.complete) return fail(res, 404, 'this attachment has not been uploaded yet');
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return fail(res, 404, 'no such attachment');
    }
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range) {
      if (!range || (range[1] === '' && range[2] === '')) return fail(res, 416, 'only single byte ranges are supported');
      if (range[1] === '') start = Math.max(0, size - Number(range[2]));
      else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        return res.end();
      }
    }
    res.writeHead(req.headers.range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-store',
      ...(req.headers.range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
  };
  run().catch(() => fail(res, 500, 'attachment request failed'));
  return true;
}
