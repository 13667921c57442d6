/**
 * Attachments for Node (spec/attachments.md; the core's AttachmentFiles port):
 * a file is read with a file handle, prepared by the core (prepareFile), its
 * thumbnail drawn here, then encrypted and uploaded as a stream with
 * resumption; a download is verified and decrypted into a file that only
 * appears under its final name once everything checked out.
 *
 * Nothing here holds a whole file in memory (thumbnails aside: pictures up to
 * THUMBNAIL_MAX_SOURCE bytes are decoded whole). Uploads and downloads go over
 * HTTPS to the same host and port as the WebSocket, on a TLS socket checked
 * against the same pinned certificate fingerprint before any byte is written
 * (pinned.ts pinnedSocket).
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { basename, resolve as resolvePath } from 'node:path';
import {
  ATTACHMENT_CHUNK_SIZE, ATTACHMENT_HEADER_LENGTH, ATTACHMENT_KEY_LENGTH, ATTACHMENT_SEALED_CHUNK_SIZE, AttachmentCorruptError, AttachmentDecryptor, AttachmentEncryptor, AttachmentKeyMismatchError,
  AttachmentTruncatedError, bytesEqual, chunkCiphertextOffset, ciphertextSize, paddedSize, type ProtocolContext,
} from '@sigilo/protocol';
import {
  AttachmentError, ClientError, INTEGRITY, MAX_FAILED_ATTEMPTS, ServerRequestError, THUMBNAIL_MAX_SOURCE, attachmentUrlPath, prepareFile, probeDurationMs,
  type Attachment, type AttachmentFiles, type AttachmentSlotInfo, type ByteSource, type ClientStore, type DownloadOptions, type Piece, type PreparedFile,
  type SendFileOptions, type ServerAddress, type TransferOptions, type UploadHost,
} from '@sigilo/client';
import { fileSource } from './file-source.js';
import { removeDownloaded } from './remove-file.js';
import { pinnedSocket } from './pinned.js';
import { makeThumbnail } from './thumbnail.js';

function fileError(e: unknown, what: string): AttachmentError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory'
    : code === 'ENOSPC' ? 'the disk is full' : code ?? (e as Error).message;
  return new AttachmentError('FILE_ERROR', `cannot ${what} (${why})`);
}

/** The thumbnail (JPEG and PNG pictures up to THUMBNAIL_MAX_SOURCE bytes) and playing time (audio, video) of a prepared file. */
export async function fileExtras(src: ByteSource, prepared: PreparedFile): Promise<{ thumbnail: Uint8Array | undefined; durationMs: number | undefined }> {
  let thumbnail: Uint8Array | undefined;
  if ((prepared.contentType === 'image/jpeg' || prepared.contentType === 'image/png') && src.size <= THUMBNAIL_MAX_SOURCE && prepared.width) {
    const bytes = await src.read(0, src.size);
    thumbnail = makeThumbnail(bytes, prepared.contentType, prepared.orientation)?.jpeg;
  }
  const durationMs = /^(audio|video)\//.test(prepared.contentType) ? await probeDurationMs(src, prepared.contentType) : undefined;
  return { thumbnail, durationMs };
}

/**
 * Plaintext bytes read from the file per block (32 chunks); an upload sends each block's
 * ciphertext with one socket write. Measured on 512 MiB uploads: 1 MiB blocks cost a little
 * more CPU and memory (larger TLS writes buffered at once), 256 KiB ones more CPU.
 */
const BLOCK = 512 * 1024;
/** Room for the ciphertext of one BLOCK of plaintext (header, 64 chunks and a partial one completed, or the final chunk). */
const SEALED_BLOCK = ATTACHMENT_HEADER_LENGTH + (BLOCK / ATTACHMENT_CHUNK_SIZE + 1) * ATTACHMENT_SEALED_CHUNK_SIZE;
/** Zeros for the padding (never written to). */
let zeroBlock: Uint8Array | undefined;

/**
 * The prepared plaintext from byte `from` on, then zeros up to `padded`, in
 * blocks of at most BLOCK bytes. File ranges are read into `into` (at least
 * BLOCK bytes), so a block is only valid until the next one is asked for.
 */
async function* plaintextBlocks(file: FileHandle, pieces: readonly Piece[], padded: number, from: number, into: Uint8Array): AsyncGenerator<Uint8Array> {
  let at = 0; // plaintext offset of the current piece
  for (const p of pieces) {
    const length = 'bytes' in p ? p.bytes.length : p.to - p.from;
    const start = Math.max(from, at);
    if (start < at + length) {
      if ('bytes' in p) {
        yield p.bytes.subarray(start - at);
      } else {
        for (let pos = p.from + (start - at); pos < p.to;) {
          const n = Math.min(BLOCK, p.to - pos);
          const { bytesRead } = await file.read(into, 0, n, pos);
          if (bytesRead !== n) throw new AttachmentError('FILE_CHANGED', 'the file became shorter while it was being sent; send it again');
          yield into.subarray(0, n);
          pos += n;
        }
      }
    }
    at += length;
  }
  for (let pos = Math.max(from, at); pos < padded;) {
    const n = Math.min(BLOCK, padded - pos);
    zeroBlock ??= new Uint8Array(BLOCK);
    yield zeroBlock.subarray(0, n);
    pos += n;
  }
}


const IDLE_TIMEOUT_MS = 30_000;

interface BlobResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
}

/**
 * One request on a fresh TLS connection that was checked against the pinned
 * fingerprint before anything was written. `body` is streamed with
 * backpressure; the response resolves as soon as its head arrives (possibly
 * before the body was all sent: the server refused it early).
 */
/** Where a request body is written. */
interface BodySink {
  /**
   * Writes `chunk` (no copy is made). Resolves once its bytes were handed to
   * the socket, so the buffer may be filled again, or as soon as the request
   * is over. Backpressure is the caller's: it reuses a few buffers and waits
   * for one before refilling it.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** The server answered (possibly early), the request failed or was cancelled: stop writing. */
  readonly stopped: boolean;
}

/** Writes a request body into the sink and resolves when all of it was written (or the sink stopped). */
type RequestBody = (sink: BodySink) => Promise<void>;

async function blobRequest(server: ServerAddress, method: string, path: string, headers: Record<string, string | number>, body?: RequestBody, signal?: AbortSignal): Promise<BlobResponse> {
  if (signal?.aborted) throw aborted();
  const url = new URL(server.url);
  let socket: Awaited<ReturnType<typeof pinnedSocket>>;
  try {
    socket = await pinnedSocket(url, server);
  } catch (e) {
    // Unreachable for now: retried like a dropped connection. A wrong certificate is not retried.
    if (e instanceof ClientError && (e.code === 'CONNECTION_FAILED' || e.code === 'TIMEOUT')) throw new AttachmentError('INTERRUPTED', `${e.message.replace(/;.*$/, '')}; run it again to resume`);
    throw e;
  }
  if (signal?.aborted) {
    socket.destroy();
    throw aborted();
  }
  return new Promise<BlobResponse>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    const agent = new (class extends HttpsAgent {
      override createConnection() { return socket; }
    })({ keepAlive: false });
    const req = httpsRequest({ host: url.hostname, port: url.port, path, method, agent, headers: { ...headers, connection: 'close' } });
    const onAbort = () => {
      req.destroy(aborted());
      fail(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error('no data for 30 s')));
    req.on('error', (e) => fail(e instanceof AttachmentError ? e : new AttachmentError('INTERRUPTED', `the connection to the server failed (${(e as NodeJS.ErrnoException).code ?? e.message}); run it again to resume`)));
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('response', (res) => {
      if (settled) { res.destroy(); return; }
      settled = true;
      res.on('error', () => { /* reported by the reader */ });
      res.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    if (!body) {
      req.end();
      return;
    }
    // Writes not yet handed to the socket: released when the request closes (a destroyed
    // request may never call them back). One 'close' listener for the whole body.
    const unreleased = new Set<() => void>();
    req.once('close', () => {
      for (const release of unreleased) release();
      unreleased.clear();
    });
    const sink: BodySink = {
      get stopped() { return settled || req.destroyed; },
      write(chunk) {
        if (settled || req.destroyed) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const release = () => {
            unreleased.delete(release);
            resolve();
          };
          unreleased.add(release);
          req.write(chunk, release);
        });
      },
    };
    body(sink).then(() => {
      if (!req.destroyed) req.end();
    }).catch((e: unknown) => {
      req.destroy();
      fail(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

// ------------------------------------------------------------------ downloads: GET over a pinned socket read into one buffer

/** Bytes read from the socket at a time, into one buffer reused for the whole download. */
const READ_BUFFER = 64 * 1024;
/** Largest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Bytes of an error answer kept (it is only shown). */
const MAX_TEXT_BYTES = 4096;

/** A download's answer: its head, and its body read on demand. */
export interface GetResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Passes each piece of the body to `onData`, in order; a piece is only
   * valid during the call (the read buffer is reused). When `onData` returns
   * a promise, reading pauses until it settles (the backpressure). Resolves
   * with whether the body arrived whole (its Content-Length, or a clean end
   * when there is none); rejects with what `onData` threw or the connection's
   * error. Call once.
   */
  pipe(onData: (bytes: Uint8Array) => Promise<void> | undefined): Promise<boolean>;
  /** The body as text, at most MAX_TEXT_BYTES of it (error answers). */
  text(): Promise<string>;
  /** Closes the connection (the body is not read). */
  close(): void;
}

class MalformedAnswerError extends Error {}

/**
 * A GET on a fresh pinned TLS connection, parsed here instead of by node:http
 * (whose per-piece buffers and stream machinery cost a large download more
 * CPU than its decryption): HTTP/1.1, Connection: close, a body framed by
 * Content-Length, chunked transfer coding, or the connection's end.
 */
export async function pinnedGet(server: ServerAddress, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<GetResponse> {
  if (signal?.aborted) throw aborted();
  const url = new URL(server.url);
  for (const v of [path, ...Object.keys(headers), ...Object.values(headers)]) {
    if (/[\r\n]/.test(v)) throw new AttachmentError('BAD_POINTER', 'a request line or header contains a line break');
  }
  // ---- state shared by the socket's read callback and the caller
  let head: Buffer | undefined = Buffer.alloc(0);
  let onHead!: (r: GetResponse) => void;
  let onHeadError!: (e: Error) => void;
  const headPromise = new Promise<GetResponse>((resolve, reject) => { onHead = resolve; onHeadError = reject; });
  let failure: Error | undefined;
  let ended = false; // the connection ended cleanly ('end')
  let closed = false;
  let bodyDone = false; // the framing says the body is complete
  let framing: BodyFraming | undefined;
  let consumer: ((bytes: Uint8Array) => Promise<void> | undefined) | undefined;
  /** Body bytes received while the consumer was absent or busy (copies; bounded by the pause). */
  const backlog: Buffer[] = [];
  let busy = false;
  let settle: ((complete: boolean) => void) | undefined;
  let settleError: ((e: Error) => void) | undefined;
  let socket: TLSSocket | undefined;

  const fail = (e: Error) => {
    if (failure) return;
    failure = e instanceof MalformedAnswerError
      ? new AttachmentError('INTERRUPTED', `the server's answer could not be read (${e.message}); run it again, and tell the administrator if it persists`)
      : e;
    socket?.destroy();
    if (head) onHeadError(failure);
    finish();
  };
  /** Resolves pipe() once nothing is left to deliver (at once after a failure). */
  const finish = () => {
    if (!settle || busy) return;
    if (failure) {
      backlog.length = 0;
      settleError!(failure);
    } else if (backlog.length > 0) {
      return;
    } else if (bodyDone) {
      socket?.destroy();
      settle(true);
    } else if (closed) {
      settle(framing?.untilEnd === true && ended);
    } else {
      return;
    }
    settle = undefined;
  };
  /** Gives body bytes to the consumer; false: pause reading. */
  const deliver = (bytes: Uint8Array): boolean => {
    if (!consumer || busy || backlog.length > 0) {
      backlog.push(Buffer.from(bytes));
      return false;
    }
    let wait: Promise<void> | undefined;
    try {
      wait = consumer(bytes);
    } catch (e) {
      fail(e as Error);
      return false;
    }
    if (!wait) return true;
    busy = true;
    wait.then(drainBacklog, (e: Error) => fail(e));
    return false;
  };
  const drainBacklog = async () => {
    busy = true;
    try {
      while (backlog.length > 0 && !failure) {
        const w = consumer!(backlog.shift()!);
        if (w) await w;
      }
    } catch (e) {
      busy = false;
      fail(e as Error);
      return;
    }
    busy = false;
    if (!failure && !bodyDone && !closed) socket?.resume();
    finish();
  };
  /** Body bytes as they come off the wire, framing removed. */
  const onBody = (bytes: Uint8Array): boolean => {
    let go = true;
    try {
      framing!.take(bytes, (piece) => { if (!deliver(piece)) go = false; });
    } catch (e) {
      fail(e as Error);
      return false;
    }
    if (framing!.done) {
      bodyDone = true;
      finish();
      return false;
    }
    return go;
  };
  const onRead = (n: number, buf: Uint8Array): boolean => {
    if (failure || bodyDone) return false;
    const bytes = buf.subarray(0, n);
    if (!head) return onBody(bytes);
    const joined = head.length ? Buffer.concat([head, bytes]) : Buffer.from(bytes);
    const end = joined.indexOf('\r\n\r\n');
    if (end < 0) {
      if (joined.length > MAX_HEAD_BYTES) fail(new MalformedAnswerError('its head is too long'));
      else head = joined;
      return true;
    }
    let parsed: { status: number; headers: Record<string, string> };
    try {
      parsed = parseHead(joined.subarray(0, end).toString('latin1'));
      framing = new BodyFraming(parsed.headers);
    } catch (e) {
      fail(e as Error); // rejects the head
      return false;
    }
    head = undefined;
    onHead({
      status: parsed.status,
      headers: parsed.headers,
      pipe(onData) {
        return new Promise<boolean>((resolve, reject) => {
          settle = resolve;
          settleError = reject;
          consumer = onData;
          if (backlog.length > 0) void drainBacklog();
          else {
            if (!bodyDone && !closed && !failure) socket?.resume();
            finish();
          }
        });
      },
      async text() {
        const parts: Buffer[] = [];
        let kept = 0;
        await this.pipe((b) => {
          if (kept < MAX_TEXT_BYTES) {
            const piece = Buffer.from(b.subarray(0, MAX_TEXT_BYTES - kept));
            parts.push(piece);
            kept += piece.length;
          }
          return undefined;
        }).catch(() => false);
        return Buffer.concat(parts).toString('utf8');
      },
      close() {
        socket?.destroy();
      },
    });
    // Whatever followed the head waits for pipe(); reading pauses until then.
    if (framing!.done) {
      bodyDone = true;
      return false;
    }
    const rest = joined.subarray(end + 4);
    if (rest.length > 0) onBody(rest);
    return false;
  };

  try {
    // Read into one buffer reused for the whole download (node's onread): nothing per piece to collect.
    socket = await pinnedSocket(url, server, undefined, { buffer: Buffer.allocUnsafeSlow(READ_BUFFER), callback: onRead });
  } catch (e) {
    // Unreachable for now: retried like a dropped connection. A wrong certificate is not retried.
    if (e instanceof ClientError && (e.code === 'CONNECTION_FAILED' || e.code === 'TIMEOUT')) throw new AttachmentError('INTERRUPTED', `${e.message.replace(/;.*$/, '')}; run it again to resume`);
    throw e;
  }
  const s = socket;
  const onAbort = () => fail(aborted());
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  s.setTimeout(IDLE_TIMEOUT_MS, () => fail(new AttachmentError('INTERRUPTED', 'the server sent nothing for 30 s; run it again to resume')));
  s.on('error', (e) => fail(e));
  s.on('end', () => { ended = true; });
  s.once('close', () => {
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    if (head) fail(new AttachmentError('INTERRUPTED', 'the connection closed before the server answered; run it again to resume'));
    finish();
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  s.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\n${extra}connection: close\r\n\r\n`);
  try {
    return await headPromise;
  } catch (e) {
    s.destroy();
    throw e instanceof AttachmentError ? e : translate(e, signal);
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Status and headers of an HTTP/1.x response head (without its final empty line). */
function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?$/.exec(lines[0]!);
  if (!m) throw new MalformedAnswerError('not an HTTP/1.1 status line');
  const status = Number(m[1]);
  if (status < 200) throw new MalformedAnswerError(`an unexpected ${status} answer`);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new MalformedAnswerError('a malformed header line');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key in headers) {
      if (key === 'content-length' && headers[key] !== value) throw new MalformedAnswerError('two different Content-Length headers');
      headers[key] = `${headers[key]}, ${value}`;
      if (key === 'content-length') headers[key] = value;
    } else {
      headers[key] = value;
    }
  }
  return { status, headers };
}

/** Removes a body's framing: Content-Length, chunked transfer coding, or until the connection ends. */
class BodyFraming {
  /** The body is delimited by the end of the connection. */
  readonly untilEnd: boolean;
  done = false;
  readonly #chunked: boolean;
  /** Content-Length: bytes left; chunked: bytes left in the current chunk. */
  #left: number;
  /** Chunked: the size or trailer line being read, or the CRLF after a chunk's data. */
  #line = '';
  #state: 'size' | 'data' | 'data-end' | 'trailer' = 'size';

  constructor(headers: Record<string, string>) {
    const te = headers['transfer-encoding']?.toLowerCase();
    this.#chunked = te !== undefined && te !== 'identity';
    if (this.#chunked && te !== 'chunked') throw new MalformedAnswerError(`an unsupported transfer coding (${te})`);
    const length = headers['content-length'];
    if (!this.#chunked && length !== undefined) {
      if (!/^\d{1,16}$/.test(length)) throw new MalformedAnswerError('a malformed Content-Length');
      this.#left = Number(length);
      this.done = this.#left === 0;
      this.untilEnd = false;
    } else {
      this.#left = 0;
      this.untilEnd = !this.#chunked;
    }
  }

  /** Passes the body bytes in `bytes` to `out` (views of `bytes`); bytes after the body's end are ignored. */
  take(bytes: Uint8Array, out: (piece: Uint8Array) => void): void {
    if (this.done) return;
    if (this.untilEnd) {
      out(bytes);
      return;
    }
    if (!this.#chunked) {
      const n = Math.min(this.#left, bytes.length);
      if (n > 0) out(n === bytes.length ? bytes : bytes.subarray(0, n));
      this.#left -= n;
      if (this.#left === 0) this.done = true;
      return;
    }
    let at = 0;
    while (at < bytes.length && !this.done) {
      if (this.#state === 'data') {
        const n = Math.min(this.#left, bytes.length - at);
        out(bytes.subarray(at, at + n));
        at += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = 'data-end';
        continue;
      }
      // A line: the chunk size, the CRLF after the data, or a trailer line.
      const nl = bytes.indexOf(0x0a, at);
      const end = nl < 0 ? bytes.length : nl;
      this.#line += Buffer.from(bytes.subarray(at, end)).toString('latin1');
      at = end;
      if (this.#line.length > 4096) throw new MalformedAnswerError('a chunk line is too long');
      if (nl < 0) continue;
      at += 1;
      const line = this.#line.replace(/\r$/, '');
      this.#line = '';
      if (this.#state === 'data-end') {
        if (line !== '') throw new MalformedAnswerError('a chunk longer than its size');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const m = /^([0-9a-fA-F]{1,12})(?:\s*;.*)?$/.exec(line);
        if (!m) throw new MalformedAnswerError('a malformed chunk size');
        this.#left = parseInt(m[1]!, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.done = true;
      }
    }
  }
}

function aborted(): AttachmentError {
  return new AttachmentError('ABORTED', 'cancelled; run the same command again to resume where it stopped');
}

async function drain(res: BlobResponse): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      if (n < 4096) chunks.push(c);
      n += c.length;
    }
  } catch { /* the body is only informative */ }
  return Buffer.concat(chunks).toString('utf8').slice(0, 4096);
}

function headerNumber(h: IncomingHttpHeaders, name: string): number | undefined {
  const v = h[name];
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined;
  return Number(v);
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(aborted());
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(aborted()); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

/** Attempts without progress before a transfer gives up (resumable: INTERRUPTED). */
/** The resumable state of one upload, in the encrypted store (meta) until its message is queued. */
interface UploadState {
  v: 1;
  path: string;
  fileSize: number;
  mtimeMs: number;
  keepMetadata: boolean;
  voiceNote: boolean;
  key: string;
  attachmentId: string;
  uploadPath: string;
  uploadToken: string;
  expires: number;
  size: number;
  encryptedSize: number;
  contentType: string;
  fileName: string;
  thumbnail?: string;
  width?: number;
  height?: number;
  durationMs?: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** The store key of the upload state of `path` to `to`. */
export function uploadStateKey(to: Uint8Array, path: string): string {
  return `attachment.upload.${createHash('sha256').update(to).update(resolvePath(path)).digest('hex')}`;
}

function loadState(store: ClientStore, key: string): UploadState | undefined {
  const b = store.getMeta(key);
  if (!b) return undefined;
  try {
    const s = JSON.parse(new TextDecoder().decode(b)) as UploadState;
    return s.v === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

function saveState(store: ClientStore, key: string, s: UploadState | undefined): void {
  store.setMeta(key, s ? new TextEncoder().encode(JSON.stringify(s)) : undefined);
}

/** Whether an unfinished upload of this file to `to` is kept (sendFile would resume it). */
export function hasPendingUpload(store: ClientStore, to: Uint8Array, path: string): boolean {
  return loadState(store, uploadStateKey(to, path)) !== undefined;
}

function stateAttachment(s: UploadState, digest: Uint8Array): Attachment {
  return {
    attachmentId: unb64(s.attachmentId), key: unb64(s.key), digest, size: s.size, encryptedSize: s.encryptedSize, contentType: s.contentType,
    fileName: s.fileName, thumbnail: s.thumbnail ? unb64(s.thumbnail) : undefined, width: s.width, height: s.height, durationMs: s.durationMs,
    voiceNote: s.voiceNote, expires: s.expires,
  };
}

/**
 * Encrypts and uploads a file, resuming an upload of the same file to the same
 * recipient that was interrupted earlier (the state is in the store under
 * `stateKey`; it is left there: the caller removes it in the transaction that
 * queues the message). Returns the pointer to send.
 */
export async function uploadFile(host: UploadHost, stateKey: string, path: string, options: SendFileOptions = {}): Promise<Attachment> {
  const abs = resolvePath(path);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO or device must not hang the open (it is refused below as not a regular file).
    handle = await open(abs, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e, `read ${basename(abs)}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AttachmentError('FILE_ERROR', `${basename(abs)} is not a regular file`);
    const src = fileSource(handle, st.size);
    const prepared = await prepareFile(src, basename(abs), options);
    let state = loadState(host.store, stateKey);
    const stale = state && (state.path !== abs || state.fileSize !== st.size || state.mtimeMs !== st.mtimeMs || state.keepMetadata !== !!options.keepMetadata
      || state.voiceNote !== !!options.voiceNote || state.size !== prepared.size || state.expires <= host.now() + 60_000);
    if (stale) {
      // The file changed (or the slot is about to expire): the old upload is useless, start over.
      saveState(host.store, stateKey, undefined);
      state = undefined;
    }
    for (let fresh = 0; ; fresh++) {
      if (!state) state = await newUpload(host, stateKey, src, abs, st, prepared, options);
      try {
        const digest = await sendCiphertext(host, state, handle, prepared.pieces, options);
        const after = await handle.stat();
        if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
          saveState(host.store, stateKey, undefined);
          throw new AttachmentError('FILE_CHANGED', `${basename(abs)} changed while it was being sent; send it again`);
        }
        return stateAttachment(state, digest);
      } catch (e) {
        // The slot is gone (expired, swept, or the server lost it): one fresh start, then give up.
        if (e instanceof AttachmentError && e.reason === 'EXPIRED' && fresh === 0) {
          saveState(host.store, stateKey, undefined);
          state = undefined;
          continue;
        }
        throw e;
      }
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

async function newUpload(host: UploadHost, stateKey: string, src: ByteSource, abs: string, st: { size: number; mtimeMs: number }, prepared: PreparedFile, options: SendFileOptions): Promise<UploadState> {
  const extras = await fileExtras(src, prepared);
  const key = host.ctx.random(ATTACHMENT_KEY_LENGTH);
  const encryptedSize = ciphertextSize(paddedSize(prepared.size));
  let slot: AttachmentSlotInfo;
  try {
    slot = await host.allocate(encryptedSize);
  } catch (e) {
    if (e instanceof ServerRequestError && e.serverCode === 'QUOTA_EXCEEDED') {
      throw new AttachmentError('QUOTA_EXCEEDED', 'your attachment quota on the server is used up; try again after older attachments expire, or ask the administrator', 'QUOTA_EXCEEDED');
    }
    if (e instanceof ServerRequestError && e.serverCode === 'INVALID_ARGUMENT') {
      throw new AttachmentError('TOO_LARGE', `the file is too large for this server (${e.message.replace(/^server: /, '')})`, 'INVALID_ARGUMENT');
    }
    throw e;
  }
  if (!/^\/v1\/attachments\/[0-9a-f]{32}$/.test(slot.uploadPath) || slot.attachmentId.length !== 16) {
    throw new ClientError('SERVER_ERROR', 'the server answered with a malformed attachment slot');
  }
  const state: UploadState = {
    v: 1, path: abs, fileSize: st.size, mtimeMs: st.mtimeMs, keepMetadata: !!options.keepMetadata, voiceNote: !!options.voiceNote,
    key: b64(key), attachmentId: b64(slot.attachmentId), uploadPath: slot.uploadPath, uploadToken: slot.uploadToken, expires: slot.expires,
    size: prepared.size, encryptedSize, contentType: prepared.contentType, fileName: prepared.fileName,
    ...(extras.thumbnail ? { thumbnail: b64(extras.thumbnail) } : {}),
    ...(prepared.width ? { width: prepared.width, height: prepared.height } : {}),
    ...(extras.durationMs !== undefined ? { durationMs: extras.durationMs } : {}),
  };
  saveState(host.store, stateKey, state);
  return state;
}

/** The server's offset for an upload (HEAD), or the whole size when it is complete. */
async function uploadOffset(server: ServerAddress, s: UploadState, signal?: AbortSignal): Promise<number> {
  const res = await blobRequest(server, 'HEAD', s.uploadPath, { authorization: `Bearer ${s.uploadToken}` }, undefined, signal);
  await drain(res);
  if (res.status === 404 || res.status === 401 || res.status === 410) {
    throw new AttachmentError('EXPIRED', 'the server no longer has this upload (it expired); it is started again');
  }
  if (res.status < 200 || res.status >= 300) throw new AttachmentError('INTERRUPTED', `the server answered ${res.status} to an upload status request; try again later`);
  const offset = headerNumber(res.headers, 'upload-offset');
  if (offset !== undefined) return Math.min(offset, s.encryptedSize);
  // A finished upload answers like a download.
  const length = headerNumber(res.headers, 'content-length');
  return length === s.encryptedSize ? length : 0;
}

/**
 * Sends the ciphertext from the server's offset on, re-encrypting from the
 * chunk that holds it; returns the SHA-256 of the whole ciphertext. The digest
 * needs every ciphertext byte: what the server already has is re-encrypted
 * locally (never re-sent) from the last hash snapshot at or before the server's
 * offset — snapshots are taken every SNAPSHOT_BYTES during this call; after a
 * restart the prefix is re-encrypted from the start (local work only).
 */
const SNAPSHOT_BYTES = 4 * 1024 * 1024;
/** Ciphertext buffers per upload (SEALED_BLOCK each): one being sent, one queued in the socket, one being filled. */
const OUT_BUFFERS = 3;
async function sendCiphertext(host: UploadHost, s: UploadState, file: FileHandle, pieces: readonly Piece[], options: TransferOptions): Promise<Uint8Array> {
  const key = unb64(s.key);
  const padded = paddedSize(s.size);
  const total = s.encryptedSize;
  /** Chunk index → SHA-256 state over the ciphertext before that chunk. */
  const snapshots = new Map<number, Hash>();
  let failures = 0;
  let lastOffset = -1;
  for (;;) {
    let offset: number;
    try {
      offset = await uploadOffset(host.server, s, options.signal);
    } catch (e) {
      if (!(e instanceof AttachmentError) || e.reason !== 'INTERRUPTED' || ++failures >= MAX_FAILED_ATTEMPTS) throw e;
      await sleep(500 * 2 ** failures, options.signal);
      continue;
    }
    if (offset > lastOffset) failures = 0;
    lastOffset = offset;
    options.onProgress?.(offset, total);
    // Where to start encrypting: the latest snapshot at or before the server's offset, else chunk 0.
    let startChunk = 0;
    for (const c of snapshots.keys()) if (c > startChunk && chunkCiphertextOffset(c) <= offset) startChunk = c;
    const hash = startChunk > 0 ? snapshots.get(startChunk)!.copy() : createHash('sha256');
    let position = startChunk > 0 ? chunkCiphertextOffset(startChunk) : 0;
    let lastSnapshot = position;
    const encryptor = new AttachmentEncryptor(host.ctx.crypto, key, { startChunk });
    let sent = offset;
    /**
     * The body, encrypted into OUT_BUFFERS reused buffers of SEALED_BLOCK bytes
     * (one BLOCK of plaintext each): a buffer is filled again only once the
     * socket took its previous contents, which bounds the memory and is the
     * backpressure. What the server already has is hashed but not sent.
     */
    const body: RequestBody = async (sink) => {
      const read = Buffer.allocUnsafeSlow(BLOCK);
      const outs = Array.from({ length: OUT_BUFFERS }, () => Buffer.allocUnsafeSlow(SEALED_BLOCK));
      const free: Promise<void>[] = outs.map(() => Promise.resolve());
      let k = 0;
      const emit = (n: number) => {
        if (n === 0) return;
        const out = outs[k]!.subarray(0, n);
        hash.update(out);
        const end = position + n;
        if (end > offset) {
          const piece = position >= offset ? out : out.subarray(offset - position);
          sent += piece.length;
          free[k] = sink.write(piece);
          k = (k + 1) % OUT_BUFFERS;
          options.onProgress?.(sent, total);
        }
        position = end;
      };
      for await (const block of plaintextBlocks(file, pieces, padded, startChunk * ATTACHMENT_CHUNK_SIZE, read)) {
        if (sink.stopped) return;
        await free[k];
        emit(encryptor.updateInto(block, outs[k]!, 0));
        // After updateInto() the output ends on a chunk boundary: a place to snapshot the digest.
        if (position - lastSnapshot >= SNAPSHOT_BYTES && position >= chunkCiphertextOffset(1)) {
          snapshots.set((position - chunkCiphertextOffset(0)) / (chunkCiphertextOffset(1) - chunkCiphertextOffset(0)), hash.copy());
          lastSnapshot = position;
        }
      }
      if (sink.stopped) return;
      await free[k];
      emit(encryptor.finishInto(outs[k]!, 0));
      await Promise.all(free);
    };
    if (offset >= total) {
      // Complete on the server (an earlier run finished it): only the digest is needed.
      await body({ stopped: false, write: () => Promise.resolve() }); // hashed, not sent
      if (position !== total) throw new ClientError('SERVER_ERROR', 'the attachment size does not match its encryption; this is a bug');
      options.onProgress?.(total, total);
      return new Uint8Array(hash.digest());
    }
    let res: BlobResponse;
    try {
      res = await blobRequest(host.server, 'PATCH', s.uploadPath, {
        authorization: `Bearer ${s.uploadToken}`,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': offset,
        'content-length': total - offset,
      }, body, options.signal);
    } catch (e) {
      if (e instanceof AttachmentError && e.reason === 'INTERRUPTED') {
        if (++failures >= MAX_FAILED_ATTEMPTS) throw new AttachmentError('INTERRUPTED', 'the upload kept failing; check the connection and run it again to resume');
        await sleep(500 * 2 ** failures, options.signal);
        continue;
      }
      throw e;
    }
    const text = await drain(res);
    if (res.status === 200 || res.status === 201 || res.status === 204) {
      const now = headerNumber(res.headers, 'upload-offset') ?? (res.status === 204 ? undefined : total);
      if (now === total && position === total) {
        options.onProgress?.(total, total);
        return new Uint8Array(hash.digest());
      }
      continue; // partial: ask where the server is and go on
    }
    if (res.status === 409) continue; // our offset was wrong: HEAD tells the right one
    if (res.status === 404 || res.status === 401 || res.status === 410) throw new AttachmentError('EXPIRED', 'the server no longer has this upload (it expired); it is started again');
    if (res.status === 413) throw new AttachmentError('TOO_LARGE', 'the server refused the upload as too large', 'MESSAGE_TOO_LARGE');
    if (res.status === 507) throw new AttachmentError('SERVER_FULL', 'the server is out of disk space; try again later (the upload resumes where it stopped)', 'UNAVAILABLE');
    if (res.status >= 500 || res.status === 429) {
      if (++failures >= MAX_FAILED_ATTEMPTS) throw new AttachmentError('INTERRUPTED', `the server kept failing (${res.status}); run it again later to resume`);
      await sleep(500 * 2 ** failures, options.signal);
      continue;
    }
    throw new AttachmentError('UPLOAD_REJECTED', `the server refused the upload (${res.status}${text ? `: ${safeServerText(text)}` : ''})`);
  }
}

/** A server's error body, as one short line of plain text. */
function safeServerText(text: string): string {
  let msg = text;
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') msg = j.error;
  } catch { /* not JSON */ }
  // eslint-disable-next-line no-control-regex
  return msg.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 200);
}

/**
 * Bytes of verified plaintext gathered before one write to the .part. Measured on a 1 GiB
 * download: 1 MiB writes cost the kernel about twice the CPU of 256 KiB ones (copying a block
 * that no longer sits in the CPU cache into the page cache), 64 KiB ones more switches.
 */
const WRITE_BATCH = 256 * 1024;
/** Blocks per download writer: one being written, the others filling or queued (the socket pauses only when all are taken). */
const WRITE_BLOCKS = 4;

/**
 * Writes a stream of bytes to a file at consecutive positions, in whole blocks
 * from a few reused buffers (`blocks`, 4 by default): push() copies into the
 * block being filled; full blocks are written in order, one write at a time,
 * while the next ones fill, and push() waits only when the next block to fill
 * is still waiting for its write (the backpressure: `blocks` × `blockSize` of
 * memory, whatever the input's piece sizes).
 * flush() writes what is gathered and waits. The file always holds a prefix
 * of what was pushed: after a failed write no later one starts, and the
 * failure (mapped by `wrapError`) is thrown by the next push() or flush().
 */
export class BlockFileWriter {
  readonly #file: FileHandle;
  readonly #blocks: Buffer[];
  readonly #wrapError: (e: unknown) => unknown;
  /** Whether a block waits for (or is in) its write; such a block is not filled. */
  readonly #pending: boolean[];
  /** Settles once the block's last write finished. */
  readonly #done: Promise<void>[];
  /** The last write queued: writes run one at a time, in order. */
  #tail: Promise<void> = Promise.resolve();
  #current = 0;
  #filled = 0;
  /** File position of the block being filled. */
  #position: number;
  #written: number;
  #failure: { error: unknown } | undefined;

  constructor(file: FileHandle, position: number, options: { blockSize?: number; blocks?: number; wrapError?: (e: unknown) => unknown } = {}) {
    const size = options.blockSize ?? WRITE_BATCH;
    const count = options.blocks ?? WRITE_BLOCKS;
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('blockSize must be a positive integer');
    if (!Number.isSafeInteger(count) || count < 2) throw new RangeError('blocks must be an integer of 2 or more');
    this.#file = file;
    this.#blocks = Array.from({ length: count }, () => Buffer.allocUnsafeSlow(size));
    this.#pending = this.#blocks.map(() => false);
    this.#done = this.#blocks.map(() => Promise.resolve());
    this.#wrapError = options.wrapError ?? ((e) => e);
    this.#position = position;
    this.#written = position;
  }

  /** File position after the last byte pushed. */
  get pushed(): number { return this.#position + this.#filled; }
  /** File position after the last byte written (the file's verified length). */
  get written(): number { return this.#written; }

  /**
   * Takes a copy of `bytes`. Returns a promise only when it had to wait for a write: then
   * `bytes` must stay as they are, and nothing else be pushed, until it settles.
   */
  push(bytes: Uint8Array): Promise<void> | undefined {
    this.#check();
    for (let at = 0; at < bytes.length;) {
      if (this.#pending[this.#current]) return this.#pushAfterWrite(bytes.subarray(at));
      const block = this.#blocks[this.#current]!;
      const n = Math.min(block.length - this.#filled, bytes.length - at);
      block.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === block.length) this.#startWrite();
    }
    return undefined;
  }

  /** Writes every byte pushed and waits for it. */
  async flush(): Promise<void> {
    if (this.#filled > 0 && !this.#failure) this.#startWrite();
    await this.#tail;
    this.#check();
  }

  async #pushAfterWrite(rest: Uint8Array): Promise<void> {
    await this.#done[this.#current];
    this.#check();
    await this.push(rest);
  }

  #check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #startWrite(): void {
    const i = this.#current;
    const block = this.#blocks[i]!;
    const length = this.#filled;
    const position = this.#position;
    this.#current = (i + 1) % this.#blocks.length;
    this.#filled = 0;
    this.#position += length;
    this.#pending[i] = true;
    const write = async () => {
      try {
        if (this.#failure) return; // nothing after a failed write: the file stays a prefix
        for (let done = 0; done < length;) {
          const { bytesWritten } = await this.#file.write(block, done, length - done, position + done);
          if (bytesWritten === 0) throw Object.assign(new Error('the disk accepted no bytes'), { code: 'ENOSPC' });
          done += bytesWritten;
          this.#written = position + done;
        }
      } catch (e) {
        this.#failure ??= { error: this.#wrapError(e) };
      } finally {
        this.#pending[i] = false;
      }
    };
    this.#tail = this.#done[i] = this.#tail.then(write);
  }
}

/** The partial download beside the output file: the verified plaintext received so far. */
export const partPath = (outPath: string) => `${outPath}.part`;

/**
 * Downloads, verifies and decrypts an attachment to `outPath`.
 *
 * The plaintext is decrypted as it arrives into `<outPath>.part` (every chunk
 * authenticated before it is written); only when the whole ciphertext has
 * arrived, its length and SHA-256 match the pointer and the final chunk
 * checked out, is the file synced and renamed to `outPath`. Decrypting as it
 * arrives writes the file once (no ciphertext copy on disk), and the .part
 * holds only authenticated plaintext. A later call resumes from the .part:
 * its length, rounded down to a chunk, says where; the digest over the prefix
 * is recomputed by re-encrypting the .part locally (the ciphertext is a
 * function of the key and plaintext), and the rest is fetched with a Range
 * request and decrypted from that chunk on.
 *
 * Any integrity failure (TAMPERED, TRUNCATED, EXTENDED, WRONG_KEY,
 * DIGEST_MISMATCH) or EXPIRED deletes the .part: `outPath` never exists unless
 * the file is complete and verified. ABORTED and INTERRUPTED keep it for a resume.
 */
export async function downloadFile(server: ServerAddress, ctx: ProtocolContext, a: Attachment, outPath: string, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
  checkPointer(a);
  const out = resolvePath(outPath);
  if (!options.overwrite && await exists(out)) throw new AttachmentError('EXISTS', `${basename(out)} already exists; choose another name or allow overwriting (--force)`);
  const part = partPath(out);
  let handle: FileHandle;
  try {
    handle = await open(part, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
  } catch (e) {
    throw fileError(e, `write ${basename(part)}`);
  }
  let keepPart = true;
  try {
    let failures = 0;
    for (;;) {
      const have = (await handle.stat()).size;
      try {
        await downloadOnce(server, ctx, a, handle, have, options);
        break;
      } catch (e) {
        if (e instanceof AttachmentError && e.reason === 'INTERRUPTED') {
          const now = (await handle.stat()).size;
          failures = now > have ? 1 : failures + 1;
          if (failures >= MAX_FAILED_ATTEMPTS) throw new AttachmentError('INTERRUPTED', 'the download kept failing; check the connection and run it again to resume');
          await sleep(500 * 2 ** failures, options.signal);
          continue;
        }
        if (e instanceof AttachmentError && INTEGRITY.has(e.reason)) keepPart = false;
        throw e;
      }
    }
    try {
      await handle.sync();
    } catch (e) {
      throw fileError(e, `write ${basename(part)}`);
    }
    await handle.close();
    try {
      if (options.overwrite) {
        await rename(part, out);
      } else {
        // link() refuses to replace a file that appeared meanwhile; rename() would not.
        await link(part, out);
        await unlink(part);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AttachmentError('EXISTS', `${basename(out)} already exists; choose another name or allow overwriting (--force)`);
      throw fileError(e, `create ${basename(out)}`);
    }
    keepPart = false;
    return { path: out, size: a.size };
  } finally {
    // An empty .part (nothing verified yet) is not worth keeping either.
    const empty = keepPart && await handle.stat().then((st) => st.size === 0, () => false);
    await handle.close().catch(() => {});
    if (!keepPart || empty) await unlink(part).catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function checkPointer(a: Attachment): void {
  const ok = a.attachmentId.length === 16 && a.key.length === ATTACHMENT_KEY_LENGTH && a.digest.length === 32
    && Number.isSafeInteger(a.size) && a.size >= 0 && a.encryptedSize === ciphertextSize(paddedSize(a.size));
  if (!ok) throw new AttachmentError('BAD_POINTER', 'this attachment\'s description is malformed (sizes or key lengths do not fit): ask the sender to send it again');
}

/** One GET from what the .part holds; throws AttachmentError (INTERRUPTED when the connection broke). */
async function downloadOnce(server: ServerAddress, ctx: ProtocolContext, a: Attachment, file: FileHandle, have: number, options: TransferOptions): Promise<void> {
  const padded = paddedSize(a.size);
  const total = a.encryptedSize;
  // Resume at the last whole chunk the .part holds (a .part longer than the file is not ours: start over).
  const chunk = have <= a.size ? Math.floor(have / ATTACHMENT_CHUNK_SIZE) : 0;
  let written = chunk * ATTACHMENT_CHUNK_SIZE;
  await file.truncate(written);
  const hash = createHash('sha256');
  if (chunk > 0 && !(await rehashPrefix(ctx, a.key, file, written, hash))) {
    // The .part could not be read back: start over.
    await file.truncate(0);
    return downloadOnce(server, ctx, a, file, 0, options);
  }
  const from = chunk > 0 ? chunkCiphertextOffset(chunk) : 0;
  const res = await pinnedGet(server, attachmentUrlPath(a.attachmentId), from > 0 ? { range: `bytes=${from}-` } : {}, options.signal);
  if (res.status === 404 || res.status === 410) {
    await res.text();
    throw new AttachmentError('EXPIRED', 'the server no longer has this attachment (it expired or was never uploaded completely); ask the sender to send it again');
  }
  if (res.status === 416) {
    await res.text();
    throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
  }
  if (res.status >= 500 || res.status === 429) {
    await res.text();
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status}; try again later (the download resumes)`);
  }
  // The server's idea of the blob's size: from Content-Range on a 206, Content-Length on a 200.
  let serverTotal: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== from) {
      await res.text();
      throw new AttachmentError('INTERRUPTED', 'the server answered the resume request with another range; run it again');
    }
    serverTotal = Number(m[3]);
  } else if (res.status === 200) {
    if (from > 0) {
      // The range was ignored: start over from the beginning.
      res.close();
      await file.truncate(0);
      return downloadOnce(server, ctx, a, file, 0, options);
    }
    serverTotal = headerNumber(res.headers, 'content-length');
  } else {
    await res.text();
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status} to a download; try again later`);
  }
  return downloadFromResponse();

  async function downloadFromResponse(): Promise<void> {
    if (serverTotal !== undefined && serverTotal < total) {
      res.close();
      throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
    }
    if (serverTotal !== undefined && serverTotal > total) {
      res.close();
      throw new AttachmentError('EXTENDED', 'the server\'s copy of this attachment is longer than it should be: it was altered; ask the sender to send it again');
    }
    const dec = new AttachmentDecryptor(ctx.crypto, a.key, { startChunk: chunk });
    let received = from;
    // Verified plaintext goes to the .part in WRITE_BATCH blocks, written in order while the next ones fill.
    const writer = new BlockFileWriter(file, written, { wrapError: (e) => fileError(e, 'write the downloaded file') });
    /** Takes decrypted chunks, the padding cut off (authenticated, not written). */
    const write = (parts: Uint8Array[]): Promise<void> | undefined => {
      let wait: Promise<void> | undefined;
      for (let i = 0; i < parts.length; i++) {
        const room = a.size - writer.pushed;
        if (room <= 0) break;
        const p = parts[i]!;
        const w = writer.push(p.length > room ? p.subarray(0, room) : p);
        if (w) {
          // Rare (a full block behind a slow write): the rest waits its turn.
          const rest = parts.slice(i + 1);
          wait = w.then(() => write(rest));
          break;
        }
      }
      return wait;
    };
    let complete: boolean;
    try {
      // Each piece is only valid during this call: hashed, decrypted (the plaintext is new
      // memory) and handed to the writer (a copy) before it returns.
      complete = await res.pipe((data) => {
        if (received + data.length > total) throw new AttachmentError('EXTENDED', 'the server sent more bytes than this attachment has: it was altered; ask the sender to send it again');
        received += data.length;
        hash.update(data);
        const w = write(dec.update(data));
        options.onProgress?.(received, total);
        return w;
      });
    } catch (e) {
      res.close();
      await writer.flush().catch(() => {}); // what was verified is kept for a resume
      throw translate(e, options.signal);
    }
    await writer.flush();
    if (!complete || received < total) {
      // The connection closed early: what was verified so far stays in the .part.
      if (options.signal?.aborted) throw aborted();
      if (serverTotal === undefined && complete) throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
      throw new AttachmentError('INTERRUPTED', 'the download was cut off; it resumes where it stopped');
    }
    try {
      await write(dec.finish());
      await writer.flush();
    } catch (e) {
      throw translate(e, options.signal);
    }
    written = writer.written;
    const digest = new Uint8Array(hash.digest());
    if (!bytesEqual(digest, a.digest)) throw new AttachmentError('DIGEST_MISMATCH', 'the attachment decrypted but its digest is not the one its sender gave: it was altered; ask the sender to send it again');
    if (written !== a.size || padded < a.size) throw new AttachmentError('TRUNCATED', 'the attachment is shorter than its sender said; ask the sender to send it again');
    options.onProgress?.(total, total);
  }
}

/**
 * Feeds `hash` the ciphertext of the first `length` plaintext bytes of `file`
 * (a whole number of chunks), re-encrypted: the ciphertext is a function of
 * the key and the plaintext. False if the file cannot be read back.
 */
async function rehashPrefix(ctx: ProtocolContext, key: Uint8Array, file: FileHandle, length: number, hash: Hash): Promise<boolean> {
  const enc = new AttachmentEncryptor(ctx.crypto, key);
  const buf = Buffer.allocUnsafeSlow(BLOCK);
  const out = Buffer.allocUnsafeSlow(SEALED_BLOCK);
  let emitted = 0;
  for (let pos = 0; pos < length;) {
    const n = Math.min(BLOCK, length - pos);
    const { bytesRead } = await file.read(buf, 0, n, pos);
    if (bytesRead !== n) return false;
    const w = enc.updateInto(buf.subarray(0, n), out, 0);
    hash.update(out.subarray(0, w));
    emitted += w;
    pos += n;
  }
  return emitted === chunkCiphertextOffset(length / ATTACHMENT_CHUNK_SIZE);
}

function translate(e: unknown, signal: AbortSignal | undefined): Error {
  if (e instanceof AttachmentError) return e;
  if (e instanceof AttachmentKeyMismatchError) return new AttachmentError('WRONG_KEY', 'the attachment does not open with the key its sender gave (or its header was altered); ask the sender to send it again');
  if (e instanceof AttachmentCorruptError) return new AttachmentError('TAMPERED', `part of the attachment (chunk ${e.chunkIndex}) was altered on the way or on the server; nothing of it was kept; ask the sender to send it again`);
  if (e instanceof AttachmentTruncatedError) return new AttachmentError('TRUNCATED', 'the attachment ends before its last part: the server\'s copy is damaged; ask the sender to send it again');
  if (signal?.aborted) return aborted();
  const code = (e as NodeJS.ErrnoException).code;
  return new AttachmentError('INTERRUPTED', `the download was cut off (${code ?? (e as Error).message}); it resumes where it stopped`);
}


/** The AttachmentFiles port of the Node client: files by path. */
export const nodeAttachmentFiles: AttachmentFiles = {
  uploadStateKey,
  upload: uploadFile,
  download: downloadFile,
  remove: removeDownloaded,
};
