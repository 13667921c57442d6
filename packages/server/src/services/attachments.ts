/**
 * Attachments: encrypted blobs uploaded over HTTPS beside the WebSocket
 * (spec/server.md §4.1). A device reserves a slot (size, random 16-byte id,
 * upload token whose SHA-256 is stored), counted against its account's quota;
 * the upload streams into the blob store, resumable after a dropped
 * connection (HEAD for the offset, PATCH from there), and becomes readable
 * when complete; anyone holding the id may download it (with Range) until
 * retention.attachments expires it. Uploading needs the device that reserved
 * the slot to still exist: its identity travels encrypted inside the upload
 * token, never in the database, and is checked at every upload request.
 */
import type { AllocateAttachment } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { applyExpiryHint } from './expiry-hint.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AppendResult, BlobId, BlobReader, BlobStore } from '../blobs/port.js';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, ServerError, invalidArgument, isStorageFull } from '../errors.js';
import { DAY_MS, dayOf, fromHexId, toHex } from '../ids.js';
import { ACCOUNT_ID_LENGTH } from '../auth.js';
import type { AttachmentRecord } from '../storage/port.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const attachmentPath = (id: Uint8Array) => `/v1/attachments/${toHex(id)}`;

/** After an error answer during an upload, the rest of the body is read and dropped this long, so the client sees the answer. */
const LINGER_MS = 2000;
const LINGER_BYTES = 64 * 1024 * 1024;
const MAX_RETRY_AFTER_MS = 0xffff_ffff;
/** Bytes per read of a download; two such buffers per download, reused. */
const DOWNLOAD_CHUNK = 256 * 1024;

/** The account's attachment quota is used up; `retryAfterMs` says when enough of it frees (0: never, the attachment is larger than the quota). */
export class QuotaExceededError extends ServerError {
  constructor(readonly retryAfterMs: number, message: string) {
    super('QUOTA_EXCEEDED', message);
  }
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

// ---------------------------------------------------------------- upload tokens

/**
 * An upload token names the device that reserved the slot, encrypted so that
 * only this server can read it: version (1) || nonce (12) ||
 * AES-256-GCM(account_id (16) || u32be(device_id)) with the attachment id as
 * associated data, under a key derived from the certificate key (HKDF, its own
 * label). The database keeps only SHA-256(token), as before, so it still
 * links no attachment to an account; the server learns the uploader only
 * when the uploader presents the token, to check that the device still exists.
 */
const TOKEN_VERSION = 1;
const TOKEN_NONCE = 12;
const TOKEN_KEY_INFO = new TextEncoder().encode('Sigilo-UploadToken-v1');
const tokenKeys = new WeakMap<ServerContext, Uint8Array>();

function tokenKey(ctx: ServerContext): Uint8Array {
  let key = tokenKeys.get(ctx);
  if (!key) tokenKeys.set(ctx, (key = ctx.crypto.hkdfSha256(ctx.certificateKey.privateKey, new Uint8Array(32), TOKEN_KEY_INFO, 32)));
  return key;
}

function issueUploadToken(ctx: ServerContext, attachmentId: Uint8Array, s: Session): Uint8Array {
  const owner = new Uint8Array(ACCOUNT_ID_LENGTH + 4);
  owner.set(s.accountId, 0);
  new DataView(owner.buffer).setUint32(ACCOUNT_ID_LENGTH, s.deviceId);
  const nonce = ctx.random(TOKEN_NONCE);
  const sealed = ctx.crypto.aes256GcmEncrypt(tokenKey(ctx), nonce, owner, attachmentId);
  const token = new Uint8Array(1 + TOKEN_NONCE + sealed.length);
  token[0] = TOKEN_VERSION;
  token.set(nonce, 1);
  token.set(sealed, 1 + TOKEN_NONCE);
  return token;
}

interface Uploader { readonly accountId: Uint8Array; readonly accountHex: string; readonly deviceId: number }

/** The device named inside a token, or undefined (a token of an older server, which names none). */
function uploaderOf(ctx: ServerContext, attachmentId: Uint8Array, token: Uint8Array): Uploader | undefined {
  if (token[0] !== TOKEN_VERSION || token.length !== 1 + TOKEN_NONCE + ACCOUNT_ID_LENGTH + 4 + 16) return undefined;
  let owner: Uint8Array;
  try {
    owner = ctx.crypto.aes256GcmDecrypt(tokenKey(ctx), token.subarray(1, 1 + TOKEN_NONCE), token.subarray(1 + TOKEN_NONCE), attachmentId);
  } catch {
    return undefined;
  }
  const accountId = owner.slice(0, ACCOUNT_ID_LENGTH);
  return { accountId, accountHex: toHex(accountId), deviceId: new DataView(owner.buffer, owner.byteOffset).getUint32(ACCOUNT_ID_LENGTH) };
}

export async function allocateAttachment(ctx: ServerContext, s: Session, m: AllocateAttachment): Promise<Reply> {
  const { maxAttachmentBytes: max, attachmentQuotaBytes: quota } = ctx.config.limits;
  if (m.size <= 0n || m.size > BigInt(max)) throw invalidArgument(`an attachment must be between 1 and ${max} bytes (${formatBytes(max)})`);
  const size = Number(m.size);
  let wait = ctx.sendBuckets.take(s.accountHex, ctx.now());
  if (typeof wait !== 'number') wait = await wait;
  if (wait > 0) throw new RateLimitedError(wait, 'uploads from this account', 'attachment_allocations');
  const now = ctx.now();
  const ttl = ctx.config.retention.attachmentsMs;
  // A disappearing message's file: deleted at the sender's hint when that is earlier (server.md §8.3); checked before the quota is charged.
  const expiresAt = applyExpiryHint(ctx, m.expiresHint, now, now + ttl);
  const day = dayOf(now);
  // The counter of a day stops counting when the last attachment allocated that day has expired.
  const charge = await ctx.storage.chargeAttachmentUsage({ accountId: s.accountId, day, bytes: size, expiresAt: (day + 1) * DAY_MS + ttl, now, quota });
  if (charge.status === 'exceeded') {
    let freed = 0;
    let freesAt = now;
    for (const c of charge.counters) {
      freed += c.bytes;
      freesAt = c.expiresAt;
      if (charge.used - freed + size <= quota) break;
    }
    throw new QuotaExceededError(Math.min(MAX_RETRY_AFTER_MS, Math.max(1, freesAt - now)),
      `this account's attachment quota (${formatBytes(quota)} per ${Math.round(ttl / DAY_MS)} days) is used up: ${formatBytes(charge.used)} allocated; `
      + `room for ${formatBytes(size)} frees up at ${new Date(freesAt).toISOString()} as older attachments expire; try again then or send a smaller file`);
  }
  const attachmentId = ctx.random(16);
  const token = issueUploadToken(ctx, attachmentId, s);
  await ctx.storage.createAttachment({ attachmentId, size, uploadTokenHash: sha256(token), createdAt: now, expiresAt, complete: false });
  return {
    body: {
      case: 'attachmentSlot',
      value: { attachmentId, uploadPath: attachmentPath(attachmentId), uploadToken: Buffer.from(token).toString('base64url'), expires: BigInt(expiresAt) },
    },
  };
}

// ---------------------------------------------------------------- HTTP

const PATH = /^\/v1\/attachments\/([0-9a-f]{32})$/;
const OFFSET = /^\d{1,16}$/;

interface Writer {
  readonly req: IncomingMessage;
  readonly done: Promise<void>;
  readonly uploader: Uploader;
}

function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, error?: string): void {
  const body = error === undefined ? '' : JSON.stringify({ error });
  res.writeHead(status, {
    'cache-control': 'no-store',
    ...(error === undefined ? {} : { 'content-type': 'application/json' }),
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * Answers while the request body may still be arriving: the answer goes out
 * at once, the rest of the body is read and dropped for up to LINGER_MS (a
 * client that is still sending then reads the answer instead of a reset); if
 * the body is still coming after that, the connection is closed.
 */
function answerUpload(req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders, error?: string): void {
  if (res.headersSent || res.destroyed) return;
  send(res, status, headers, error);
  if (req.complete || req.destroyed) return;
  let dropped = 0;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) req.socket.destroy();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Writes bytes start..end of the blob to the response with two reused
 * buffers: one is read into while the other is being written, and a buffer is
 * read into again only after its write completed (that is the backpressure).
 * Nothing is allocated per chunk (a stream of fresh 256 KiB buffers left
 * ~38 MiB of garbage in the process during a 1 GiB download; this, ~13 MiB).
 */
async function pump(res: ServerResponse, reader: BlobReader, start: number, end: number): Promise<void> {
  const buffers = [Buffer.allocUnsafeSlow(DOWNLOAD_CHUNK), Buffer.allocUnsafeSlow(DOWNLOAD_CHUNK)];
  const writing = [false, false];
  let gone = res.destroyed;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onClose = () => {
    gone = true;
    wakeUp();
  };
  res.once('close', onClose);
  try {
    let position = start;
    let i = 0;
    while (position <= end) {
      while (writing[i] && !gone) await new Promise<void>((resolve) => { wake = resolve; });
      if (gone) return;
      const buffer = buffers[i]!;
      const n = await reader.read(buffer, Math.min(DOWNLOAD_CHUNK, end + 1 - position), position);
      if (n <= 0) throw new Error('the blob is shorter than its size');
      if (gone) return;
      writing[i] = true;
      const index = i;
      res.write(buffer.subarray(0, n), () => {
        writing[index] = false;
        wakeUp();
      });
      position += n;
      i ^= 1;
    }
    res.end();
  } finally {
    res.off('close', onClose);
  }
}

/** The attachment HTTP endpoints (spec/server.md §4.1) over a blob store. */
export class AttachmentHttp {
  readonly #ctx: ServerContext;
  readonly #blobs: BlobStore;
  /** One writer per blob: a new upload request cuts the previous one (the client reconnected). */
  readonly #writers = new Map<BlobId, Writer>();

  constructor(ctx: ServerContext, blobs: BlobStore) {
    this.#ctx = ctx;
    this.#blobs = blobs;
    // A revoked device's (or removed account's) uploads in progress stop at once; its next request is refused.
    ctx.hub.onRemoved((accountHex, deviceId) => {
      for (const w of this.#writers.values()) {
        if (w.uploader.accountHex === accountHex && (deviceId === undefined || w.uploader.deviceId === deviceId)) w.req.socket?.destroy();
      }
    });
  }

  /** Handles /v1/attachments/<id>; returns false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const m = PATH.exec(path);
    if (!m) return false;
    const hex = m[1]!;
    this.#route(req, res, hex, fromHexId(hex, 16)!).catch((e: unknown) => {
      const full = isStorageFull(e);
      if (full) this.#ctx.metrics.errors.inc({ code: 'STORAGE_FULL' });
      else this.#ctx.log.error('attachment request failed', { method: req.method, code: (e as { code?: string } | null)?.code });
      if (!res.headersSent) {
        answerUpload(req, res, full ? 507 : 500, {}, full
          ? 'the server is out of disk space; try again later and tell the administrator'
          : 'the attachment request failed; try again, and tell the administrator if it persists');
      } else {
        res.destroy();
      }
    });
    return true;
  }

  async #route(req: IncomingMessage, res: ServerResponse, hex: BlobId, id: Uint8Array): Promise<void> {
    const method = req.method ?? 'GET';
    if (!['GET', 'HEAD', 'PUT', 'PATCH'].includes(method)) {
      return answerUpload(req, res, 405, { allow: 'GET, HEAD, PUT, PATCH' }, 'use GET to download, PATCH (or PUT) to upload and HEAD with the upload token for the upload offset');
    }
    const record = await this.#ctx.storage.getAttachment(id);
    if (!record || record.expiresAt <= this.#ctx.now()) return answerUpload(req, res, 404, {}, 'no such attachment (it may have expired)');
    const upload = method === 'PUT' || method === 'PATCH' || (method === 'HEAD' && req.headers.authorization !== undefined);
    if (!upload) return this.#download(req, res, hex, record);
    const token = this.#authorised(req, record);
    if (!token) return answerUpload(req, res, 401, {}, 'wrong or missing upload token; allocate a new attachment slot');
    const uploader = uploaderOf(this.#ctx, id, token);
    if (!uploader) return answerUpload(req, res, 410, {}, 'this upload slot was reserved before a server upgrade and can no longer be used; allocate a new attachment slot');
    if (method === 'HEAD') {
      if (!(await this.#uploaderExists(uploader))) return this.#refuseRemoved(req, res);
      const { offset } = await this.#reconcile(hex, record, !this.#writers.has(hex));
      return send(res, 200, { 'upload-offset': offset, 'upload-length': record.size });
    }
    return this.#upload(req, res, hex, record, method === 'PUT', uploader);
  }

  /** The presented token when its SHA-256 is the stored one (constant time), else undefined. */
  #authorised(req: IncomingMessage, record: AttachmentRecord): Uint8Array | undefined {
    const auth = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(req.headers.authorization ?? '');
    const token = auth ? new Uint8Array(Buffer.from(auth[1]!, 'base64url')) : undefined;
    const ok = timingSafeEqual(token ? sha256(token) : new Uint8Array(32), record.uploadTokenHash);
    return ok ? token : undefined;
  }

  async #uploaderExists(u: Uploader): Promise<boolean> {
    return (await this.#ctx.storage.getDevice(u.accountId, u.deviceId)) !== undefined;
  }

  #refuseRemoved(req: IncomingMessage, res: ServerResponse): void {
    answerUpload(req, res, 403, {}, 'the device that reserved this upload slot was revoked or its account removed; the upload is refused');
  }

  /**
   * The stored offset, after repairing what a crash may leave between the
   * blob store and the metadata: a complete blob whose row is not marked
   * complete, or (with `finish`, when no upload is running) a partial blob
   * that already holds every byte.
   */
  async #reconcile(hex: BlobId, record: AttachmentRecord, finish: boolean): Promise<{ offset: number; complete: boolean }> {
    const state = await this.#blobs.state(hex);
    if (state?.complete) {
      if (!record.complete) await this.#ctx.storage.completeAttachment(record.attachmentId);
      return { offset: state.bytes, complete: true };
    }
    if (state && finish && state.bytes === record.size) {
      await this.#finish(hex, record);
      return { offset: record.size, complete: true };
    }
    return { offset: state?.bytes ?? 0, complete: false };
  }

  /** Makes the blob complete and durable first, then marks the row complete: a crash in between is repaired by #reconcile. */
  async #finish(hex: BlobId, record: AttachmentRecord): Promise<void> {
    await this.#blobs.complete(hex);
    await this.#ctx.storage.completeAttachment(record.attachmentId);
  }

  async #takeWriter(hex: BlobId, req: IncomingMessage, uploader: Uploader): Promise<() => void> {
    // Another request may take the slot while this one waits; it is cut in turn.
    for (let w = this.#writers.get(hex); w; w = this.#writers.get(hex)) {
      w.req.socket?.destroy();
      await w.done;
    }
    let release!: () => void;
    const done = new Promise<void>((resolve) => { release = resolve; });
    const writer: Writer = { req, done, uploader };
    this.#writers.set(hex, writer);
    return () => {
      if (this.#writers.get(hex) === writer) this.#writers.delete(hex);
      release();
    };
  }

  async #upload(req: IncomingMessage, res: ServerResponse, hex: BlobId, record: AttachmentRecord, whole: boolean, uploader: Uploader): Promise<void> {
    const size = record.size;
    const lengthHeader = req.headers['content-length'];
    const length = lengthHeader === undefined ? undefined : OFFSET.test(lengthHeader) ? Number(lengthHeader) : NaN;
    if (Number.isNaN(length)) return answerUpload(req, res, 400, {}, 'the Content-Length header is not a number');
    let offset = 0;
    if (whole) {
      if (length !== size) return answerUpload(req, res, 413, {}, `send exactly ${size} bytes with a Content-Length header (or PATCH in parts)`);
    } else {
      const header = req.headers['upload-offset'];
      if (typeof header !== 'string' || !OFFSET.test(header) || !Number.isSafeInteger(Number(header))) {
        return answerUpload(req, res, 400, {}, 'send the Upload-Offset header: the number of bytes already stored (HEAD with the upload token tells it)');
      }
      offset = Number(header);
    }
    const release = await this.#takeWriter(hex, req, uploader);
    try {
      // Checked once this request is registered as the writer: a revocation committed after this
      // lookup reaches the writer through the hub (constructor), one committed before it is seen here.
      if (!(await this.#uploaderExists(uploader))) return this.#refuseRemoved(req, res);
      const { offset: stored, complete } = await this.#reconcile(hex, record, false);
      if (complete) {
        return answerUpload(req, res, 409, { 'upload-offset': stored }, 'this attachment is already uploaded');
      }
      if (!whole && offset !== stored) {
        return answerUpload(req, res, 409, { 'upload-offset': stored }, `the upload is at byte ${stored}, not ${offset}: continue from Upload-Offset`);
      }
      if (length !== undefined && offset + length > size) {
        return answerUpload(req, res, 413, { 'upload-offset': stored }, `the attachment is ${size} bytes: at most ${size - offset} more may be sent from byte ${offset}`);
      }
      if (whole) await this.#blobs.create(hex);
      req.socket.setTimeout(this.#ctx.config.limits.attachmentIdleTimeoutMs);
      const result = await this.#blobs.append(hex, offset, req, size - offset);
      await this.#answerAppend(req, res, hex, record, result);
    } finally {
      release();
    }
  }

  async #answerAppend(req: IncomingMessage, res: ServerResponse, hex: BlobId, record: AttachmentRecord, r: AppendResult): Promise<void> {
    const size = record.size;
    switch (r.status) {
      case 'ended':
        if (r.offset < size) return send(res, 204, { 'upload-offset': r.offset });
        await this.#finish(hex, record);
        return send(res, 201, { 'upload-offset': size });
      case 'cut':
        // The client went away (or another request for this upload replaced it): what arrived is stored.
        res.destroy();
        return;
      case 'too-long':
        return answerUpload(req, res, 413, { 'upload-offset': r.offset },
          `the attachment is ${size} bytes: this request sent more than the ${size - (r.offset)} bytes left, and none of it was kept`);
      case 'no-space':
        this.#ctx.log.warn('attachment upload stopped: the disk is full');
        this.#ctx.metrics.errors.inc({ code: 'STORAGE_FULL' });
        return answerUpload(req, res, 507, { 'upload-offset': r.offset, 'retry-after': '60' },
          `the server is out of disk space; ${r.offset} bytes are stored: resume from Upload-Offset later, and tell the administrator`);
      case 'conflict':
        return answerUpload(req, res, 409, { 'upload-offset': r.offset }, `the upload is at byte ${r.offset}: continue from Upload-Offset`);
    }
  }

  async #download(req: IncomingMessage, res: ServerResponse, hex: BlobId, record: AttachmentRecord): Promise<void> {
    // Also repairs an upload whose row a crash left incomplete.
    if (!record.complete && !(await this.#reconcile(hex, record, false)).complete) return send(res, 404, {}, 'this attachment has not been uploaded yet');
    const reader = await this.#blobs.openRead(hex);
    if (!reader) return send(res, 404, {}, 'no such attachment');
    try {
      await this.#sendRange(req, res, reader);
    } finally {
      await reader.close();
    }
  }

  async #sendRange(req: IncomingMessage, res: ServerResponse, reader: BlobReader): Promise<void> {
    const size = reader.size;
    let start = 0;
    let end = size - 1;
    const rangeHeader = req.headers.range;
    if (rangeHeader !== undefined) {
      const range = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(rangeHeader);
      if (!range || (range[1] === '' && range[2] === '')) return send(res, 416, { 'content-range': `bytes */${size}` }, 'only a single byte range (bytes=a-b, a- or -n) is supported');
      if (range[1] === '') {
        start = Math.max(0, size - Number(range[2]));
      } else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= size) return send(res, 416, { 'content-range': `bytes */${size}` }, `the range is outside the ${size} bytes of this attachment`);
    }
    res.writeHead(rangeHeader !== undefined ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-store',
      ...(rangeHeader !== undefined ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    res.socket?.setTimeout(this.#ctx.config.limits.attachmentIdleTimeoutMs);
    await pump(res, reader, start, end);
  }
}
