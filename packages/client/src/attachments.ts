/**
 * Attachments in the SDK (spec/attachments.md): preparing a file (type,
 * metadata removal, thumbnail, duration), encrypting and uploading it as a
 * stream with resumption, and downloading, verifying and decrypting it into a
 * file that only appears under its final name once everything checked out.
 *
 * Nothing here holds a whole file in memory (thumbnails aside: pictures up to
 * THUMBNAIL_MAX_SOURCE bytes are decoded whole). Uploads and downloads go over
 * HTTPS to the same host and port as the WebSocket, on a TLS socket checked
 * against the same pinned certificate fingerprint before any byte is written
 * (connection.ts pinnedSocket).
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { basename, resolve as resolvePath } from 'node:path';
import {
  ATTACHMENT_CHUNK_SIZE, ATTACHMENT_KEY_LENGTH, AttachmentCorruptError, AttachmentDecryptor, AttachmentEncryptor, AttachmentKeyMismatchError,
  AttachmentTruncatedError, chunkCiphertextOffset, ciphertextSize, paddedSize, type ProtocolContext,
} from '@sigilo/protocol';
import { pinnedSocket, ServerRequestError, type ServerAddress } from './connection.js';
import { ClientError, type ClientErrorCode } from './errors.js';
import type { ClientStore } from './store/port.js';
import { probeDurationMs } from './media/duration.js';
import { stripGif } from './media/gif.js';
import { stripJpeg } from './media/jpeg.js';
import { stripPng } from './media/png.js';
import type { Attachment } from './media/pointer.js';
import { SNIFF_BYTES, sniffMime } from './media/sniff.js';
import { type ByteSource, type Piece, MediaFormatError, fileSource, piecesSize } from './media/source.js';
import { makeThumbnail, orientedSize } from './media/thumbnail.js';
import { stripWebp } from './media/webp.js';

export type { Attachment } from './media/pointer.js';

// ------------------------------------------------------------------ errors

/** Why an attachment operation failed; `code` is the ClientError code it maps to. */
export type AttachmentErrorReason =
  /** A chunk failed authentication: the server's copy was altered. */
  | 'TAMPERED'
  /** The server's copy is shorter than the pointer says, or ends before its final chunk. */
  | 'TRUNCATED'
  /** The server's copy is longer than the pointer says. */
  | 'EXTENDED'
  /** The pointer's key does not open the blob (key commitment). */
  | 'WRONG_KEY'
  /** Every chunk decrypted but the ciphertext's SHA-256 is not the pointer's digest. */
  | 'DIGEST_MISMATCH'
  /** A received pointer whose fields cannot belong together (lengths, sizes). */
  | 'BAD_POINTER'
  /** The server no longer has it (retention expired) or never got it. */
  | 'EXPIRED'
  | 'QUOTA_EXCEEDED'
  /** Larger than the server accepts. */
  | 'TOO_LARGE'
  /** The server's disk is full. */
  | 'SERVER_FULL'
  /** The server refused the upload for another reason. */
  | 'UPLOAD_REJECTED'
  /** The file says it is a picture but cannot be parsed, so its metadata cannot be removed. */
  | 'MALFORMED_MEDIA'
  /** A picture format whose metadata this client cannot remove (HEIC, AVIF, TIFF). */
  | 'UNSUPPORTED_METADATA'
  /** A voice note that is not audio. */
  | 'NOT_AUDIO'
  /** The file changed while it was being sent. */
  | 'FILE_CHANGED'
  /** The file cannot be read or written (missing, a directory, no permission). */
  | 'FILE_ERROR'
  /** The output file exists and overwriting was not asked for. */
  | 'EXISTS'
  /** Cancelled through the AbortSignal: resumable. */
  | 'ABORTED'
  /** The connection kept failing: resumable. */
  | 'INTERRUPTED';

const REASON_CODE: Record<AttachmentErrorReason, ClientErrorCode> = {
  TAMPERED: 'INVALID_INPUT', TRUNCATED: 'INVALID_INPUT', EXTENDED: 'INVALID_INPUT', WRONG_KEY: 'INVALID_INPUT', DIGEST_MISMATCH: 'INVALID_INPUT',
  BAD_POINTER: 'INVALID_INPUT', EXPIRED: 'NOT_FOUND', QUOTA_EXCEEDED: 'SERVER_ERROR', TOO_LARGE: 'SERVER_ERROR', SERVER_FULL: 'SERVER_ERROR',
  UPLOAD_REJECTED: 'SERVER_ERROR', MALFORMED_MEDIA: 'INVALID_INPUT', UNSUPPORTED_METADATA: 'INVALID_INPUT', NOT_AUDIO: 'INVALID_INPUT',
  FILE_CHANGED: 'INVALID_INPUT', FILE_ERROR: 'INVALID_INPUT', EXISTS: 'INVALID_INPUT', ABORTED: 'CONNECTION_FAILED', INTERRUPTED: 'CONNECTION_FAILED',
};

export class AttachmentError extends ClientError {
  readonly reason: AttachmentErrorReason;
  /** For ABORTED and INTERRUPTED: the transfer can be resumed by running it again. */
  readonly resumable: boolean;
  constructor(reason: AttachmentErrorReason, message: string, serverCode?: string) {
    super(REASON_CODE[reason], message, serverCode);
    this.name = 'AttachmentError';
    this.reason = reason;
    this.resumable = reason === 'ABORTED' || reason === 'INTERRUPTED';
  }
}

const INTEGRITY: ReadonlySet<AttachmentErrorReason> = new Set(['TAMPERED', 'TRUNCATED', 'EXTENDED', 'WRONG_KEY', 'DIGEST_MISMATCH', 'BAD_POINTER', 'EXPIRED']);

function fileError(e: unknown, what: string): AttachmentError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory'
    : code === 'ENOSPC' ? 'the disk is full' : code ?? (e as Error).message;
  return new AttachmentError('FILE_ERROR', `cannot ${what} (${why})`);
}

// ------------------------------------------------------------------ file names

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Longest file name kept, in UTF-8 bytes (most file systems allow 255). */
const MAX_NAME_BYTES = 200;

/**
 * A peer's file name made safe to create in a directory: no path separators,
 * no control or bidirectional-override characters, no leading dots (hidden
 * files, "..") or spaces, no trailing dots or spaces, no Windows device names,
 * at most 200 UTF-8 bytes (the extension kept). Empty results become
 * "attachment" (with an extension from the MIME type when one is known).
 */
export function safeFileName(name: string, contentType = ''): string {
  let s = name.normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (Buffer.byteLength(s) > MAX_NAME_BYTES) {
    const ext = /\.[^.]{1,16}$/.exec(s)?.[0] ?? '';
    let stem = s.slice(0, s.length - ext.length);
    while (Buffer.byteLength(stem + ext) > MAX_NAME_BYTES) stem = [...stem].slice(0, -1).join('');
    s = stem + ext;
  }
  if (s === '' || s === '_') {
    const sub = /^[a-z]+\/([a-z0-9]+)$/.exec(contentType)?.[1];
    s = sub && sub !== 'octet' ? `attachment.${sub === 'jpeg' ? 'jpg' : sub}` : 'attachment';
  }
  return s;
}

// ------------------------------------------------------------------ preparing a file

/** Pictures larger than this get no thumbnail (decoding reads them whole). */
export const THUMBNAIL_MAX_SOURCE = 32 * 1024 * 1024;

export interface PreparedFile {
  /** What is encrypted (before padding): ranges of the file and replacement bytes. */
  readonly pieces: Piece[];
  readonly size: number;
  readonly contentType: string;
  readonly fileName: string;
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** Exif orientation of a JPEG (1 when none). */
  readonly orientation: number;
  /** Kinds of metadata removed ("Exif", "XMP", "tEXt", …); empty when none or kept. */
  readonly removed: string[];
}

interface StripResult { readonly pieces: Piece[]; readonly width: number; readonly height: number; readonly removed: string[]; readonly orientation?: number }
const STRIPPERS: Record<string, ((src: ByteSource) => Promise<StripResult>) | undefined> = {
  'image/jpeg': stripJpeg, 'image/png': stripPng, 'image/webp': stripWebp, 'image/gif': stripGif,
};

/**
 * Works out what to send for a file: its MIME type (magic bytes, then the
 * extension), and for JPEG, PNG, WebP and GIF pictures the pieces that make the
 * same picture without its metadata (unless `keepMetadata`). A file that says it
 * is such a picture but cannot be parsed is refused (MALFORMED_MEDIA) rather
 * than sent with its metadata; so are HEIC/HEIF, AVIF and TIFF pictures
 * (UNSUPPORTED_METADATA), whose metadata this client cannot remove.
 */
export async function prepareFile(src: ByteSource, fileName: string, options: { keepMetadata?: boolean; voiceNote?: boolean } = {}): Promise<PreparedFile> {
  const head = await src.read(0, SNIFF_BYTES);
  const contentType = sniffMime(head, fileName);
  if (options.voiceNote && !contentType.startsWith('audio/')) {
    throw new AttachmentError('NOT_AUDIO', `a voice note must be an audio file; this one looks like ${contentType}`);
  }
  const whole: Piece[] = src.size > 0 ? [{ from: 0, to: src.size }] : [];
  const base = { pieces: whole, size: src.size, contentType, fileName, width: undefined, height: undefined, orientation: 1, removed: [] };
  const strip = STRIPPERS[contentType];
  if (!strip) {
    if (!options.keepMetadata && /^image\/(heic|heif|avif|tiff)$/.test(contentType)) {
      throw new AttachmentError('UNSUPPORTED_METADATA', `${contentType} pictures can carry location and camera metadata that this client cannot remove: convert it to JPEG or PNG, or send it unchanged with --keep-metadata`);
    }
    return base;
  }
  let r: StripResult;
  try {
    r = await strip(src);
  } catch (e) {
    if (!(e instanceof MediaFormatError)) throw e;
    if (options.keepMetadata) return base; // sent unchanged as asked: no dimensions
    throw new AttachmentError('MALFORMED_MEDIA', `the file looks like ${contentType} but cannot be read (${e.message}), so its metadata cannot be removed: repair it, or send it unchanged with --keep-metadata`);
  }
  const orientation = r.orientation ?? 1;
  const shown = orientedSize(orientation, r.width, r.height);
  if (options.keepMetadata) return { ...base, width: shown.width, height: shown.height, orientation };
  return { pieces: r.pieces, size: piecesSize(r.pieces), contentType, fileName, width: shown.width, height: shown.height, orientation, removed: r.removed };
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

/** The prepared plaintext from byte `from` on, then zeros up to `padded`, in blocks of at most BLOCK bytes (fresh buffers). */
const BLOCK = 1024 * 1024;
async function* plaintextBlocks(file: FileHandle, pieces: readonly Piece[], padded: number, from: number): AsyncGenerator<Uint8Array> {
  let at = 0; // plaintext offset of the current piece
  for (const p of pieces) {
    const length = 'bytes' in p ? p.bytes.length : p.to - p.from;
    const start = Math.max(from, at);
    if (start < at + length) {
      if ('bytes' in p) {
        yield p.bytes.slice(start - at);
      } else {
        for (let pos = p.from + (start - at); pos < p.to;) {
          const n = Math.min(BLOCK, p.to - pos);
          const buf = new Uint8Array(n);
          const { bytesRead } = await file.read(buf, 0, n, pos);
          if (bytesRead !== n) throw new AttachmentError('FILE_CHANGED', 'the file became shorter while it was being sent; send it again');
          yield buf;
          pos += n;
        }
      }
    }
    at += length;
  }
  for (let pos = Math.max(from, at); pos < padded;) {
    const n = Math.min(BLOCK, padded - pos);
    yield new Uint8Array(n);
    pos += n;
  }
}

// ------------------------------------------------------------------ HTTPS to the server, pinned

const IDLE_TIMEOUT_MS = 30_000;
export const attachmentUrlPath = (id: Uint8Array) => `/v1/attachments/${Buffer.from(id).toString('hex')}`;

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
async function blobRequest(server: ServerAddress, method: string, path: string, headers: Record<string, string | number>, body?: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<BlobResponse> {
  if (signal?.aborted) throw aborted();
  const url = new URL(server.url);
  let socket: Awaited<ReturnType<typeof pinnedSocket>>;
  try {
    socket = await pinnedSocket(url, server.fingerprint);
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
    (async () => {
      for await (const chunk of body) {
        if (settled || req.destroyed) return;
        if (!req.write(chunk)) await new Promise<void>((r) => { req.once('drain', r); req.once('close', r); });
      }
      if (!req.destroyed) req.end();
    })().catch((e: unknown) => {
      req.destroy();
      fail(e instanceof Error ? e : new Error(String(e)));
    });
  });
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
const MAX_FAILED_ATTEMPTS = 4;

// ------------------------------------------------------------------ upload

export interface AttachmentSlotInfo {
  readonly attachmentId: Uint8Array;
  readonly uploadPath: string;
  readonly uploadToken: string;
  readonly expires: number;
}

/** What the SDK gives the uploader: the store (for the resumable state), crypto, the server, and a way to reserve a slot. */
export interface UploadHost {
  readonly store: ClientStore;
  readonly ctx: ProtocolContext;
  readonly now: () => number;
  readonly server: ServerAddress;
  /** AllocateAttachment over the authenticated WebSocket. */
  allocate(encryptedSize: number): Promise<AttachmentSlotInfo>;
}

export interface TransferOptions {
  /** Bytes of ciphertext transferred so far, of the total: called for every block (throttle drawing in the caller). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface SendFileOptions extends TransferOptions {
  readonly keepMetadata?: boolean;
  readonly voiceNote?: boolean;
}

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
    const take = (parts: Uint8Array[]): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (const p of parts) {
        hash.update(p);
        const end = position + p.length;
        if (end > offset) out.push(position >= offset ? p : p.subarray(offset - position));
        position = end;
      }
      return out;
    };
    async function* body(): AsyncGenerator<Uint8Array> {
      for await (const block of plaintextBlocks(file, pieces, padded, startChunk * ATTACHMENT_CHUNK_SIZE)) {
        const out = take(encryptor.update(block));
        // After update() the output ends on a chunk boundary: a place to snapshot the digest.
        if (position - lastSnapshot >= SNAPSHOT_BYTES && position >= chunkCiphertextOffset(1)) {
          snapshots.set((position - chunkCiphertextOffset(0)) / (chunkCiphertextOffset(1) - chunkCiphertextOffset(0)), hash.copy());
          lastSnapshot = position;
        }
        if (out.length) {
          const buf = Buffer.concat(out);
          sent += buf.length;
          yield buf;
          options.onProgress?.(sent, total);
        }
      }
      const out = take(encryptor.finish());
      if (out.length) {
        const buf = Buffer.concat(out);
        sent += buf.length;
        yield buf;
      }
    }
    if (offset >= total) {
      // Complete on the server (an earlier run finished it): only the digest is needed.
      for await (const _ of body()) { /* hashed, not sent */ }
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
      }, body(), options.signal);
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

// ------------------------------------------------------------------ download

export interface DownloadOptions extends TransferOptions {
  /** Replace an existing file at the output path (default: refuse with EXISTS). */
  readonly overwrite?: boolean;
}

/** Bytes of verified plaintext gathered before one write to the .part. */
const WRITE_BATCH = 1024 * 1024;

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
  const res = await blobRequest(server, 'GET', attachmentUrlPath(a.attachmentId), from > 0 ? { range: `bytes=${from}-` } : {}, undefined, options.signal);
  if (res.status === 404 || res.status === 410) {
    await drain(res);
    throw new AttachmentError('EXPIRED', 'the server no longer has this attachment (it expired or was never uploaded completely); ask the sender to send it again');
  }
  if (res.status === 416) {
    await drain(res);
    throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
  }
  if (res.status >= 500 || res.status === 429) {
    await drain(res);
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status}; try again later (the download resumes)`);
  }
  // The server's idea of the blob's size: from Content-Range on a 206, Content-Length on a 200.
  let serverTotal: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== from) {
      await drain(res);
      throw new AttachmentError('INTERRUPTED', 'the server answered the resume request with another range; run it again');
    }
    serverTotal = Number(m[3]);
  } else if (res.status === 200) {
    if (from > 0) {
      // The range was ignored: start over from the beginning.
      res.body.destroy();
      await file.truncate(0);
      return downloadOnce(server, ctx, a, file, 0, options);
    }
    serverTotal = headerNumber(res.headers, 'content-length');
  } else {
    await drain(res);
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status} to a download; try again later`);
  }
  return downloadFromResponse();

  async function downloadFromResponse(): Promise<void> {
    if (serverTotal !== undefined && serverTotal < total) {
      res.body.destroy();
      throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
    }
    if (serverTotal !== undefined && serverTotal > total) {
      res.body.destroy();
      throw new AttachmentError('EXTENDED', 'the server\'s copy of this attachment is longer than it should be: it was altered; ask the sender to send it again');
    }
    const dec = new AttachmentDecryptor(ctx.crypto, a.key, { startChunk: chunk });
    let received = from;
    // Verified plaintext is gathered and written in batches of WRITE_BATCH bytes (one positional writev each).
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const bufs = pending, n = pendingBytes;
      pending = [];
      pendingBytes = 0;
      let r: { bytesWritten: number };
      try {
        r = await file.writev(bufs, written - n);
      } catch (e) {
        throw fileError(e, 'write the downloaded file');
      }
      if (r.bytesWritten !== n) throw fileError(Object.assign(new Error('short write'), { code: 'ENOSPC' }), 'write the downloaded file');
    };
    const write = async (parts: Uint8Array[]) => {
      for (const p of parts) {
        const room = a.size - written;
        if (room <= 0) break; // padding: authenticated, not written
        const keep = p.length > room ? p.subarray(0, room) : p;
        pending.push(keep);
        pendingBytes += keep.length;
        written += keep.length;
      }
      if (pendingBytes >= WRITE_BATCH) await flush();
    };
    try {
      for await (const data of res.body as AsyncIterable<Buffer>) {
        if (received + data.length > total) throw new AttachmentError('EXTENDED', 'the server sent more bytes than this attachment has: it was altered; ask the sender to send it again');
        received += data.length;
        hash.update(data);
        await write(dec.update(data));
        options.onProgress?.(received, total);
      }
    } catch (e) {
      res.body.destroy();
      await flush().catch(() => {}); // what was verified is kept for a resume
      throw translate(e, options.signal);
    }
    await flush();
    if (!res.body.complete || received < total) {
      // The connection closed early: what was verified so far stays in the .part.
      if (options.signal?.aborted) throw aborted();
      if (serverTotal === undefined && res.body.complete) throw new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
      throw new AttachmentError('INTERRUPTED', 'the download was cut off; it resumes where it stopped');
    }
    try {
      await write(dec.finish());
      await flush();
    } catch (e) {
      throw translate(e, options.signal);
    }
    const digest = new Uint8Array(hash.digest());
    if (!timingSafeEq(digest, a.digest)) throw new AttachmentError('DIGEST_MISMATCH', 'the attachment decrypted but its digest is not the one its sender gave: it was altered; ask the sender to send it again');
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
  let emitted = 0;
  for (let pos = 0; pos < length;) {
    const n = Math.min(BLOCK, length - pos);
    const buf = new Uint8Array(n);
    const { bytesRead } = await file.read(buf, 0, n, pos);
    if (bytesRead !== n) return false;
    for (const c of enc.update(buf)) {
      hash.update(c);
      emitted += c.length;
    }
    pos += n;
  }
  return emitted === chunkCiphertextOffset(length / ATTACHMENT_CHUNK_SIZE);
}

function timingSafeEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
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
