/**
 * Attachment bytes over a Transport (attachments.md §9.4–9.5, server.md §4.1),
 * in the form a browser can do it: fetch cannot stream a request body over
 * HTTP/1.1, so an upload is a series of bounded PATCH requests, each starting
 * at the server's `Upload-Offset`; a cut request loses at most its own chunk
 * (the server keeps every byte it received) and the next HEAD says where to go
 * on. A download streams the answer into a sink and resumes with
 * `Range: bytes=<held>-`. These move bytes only: encrypting, hashing and
 * checking them is the core's job (attachments.ts).
 */
import type { ByteSink, ByteSource, HttpResponse, Transport } from './ports.js';
import { TransportError } from './transport.js';

export type TransferErrorReason = 'EXPIRED' | 'TOO_LARGE' | 'SERVER_FULL' | 'UPLOAD_REJECTED' | 'INTERRUPTED' | 'ABORTED' | 'TRUNCATED' | 'EXTENDED';

/** Same reasons as @sigilo/client's AttachmentError. */
export class TransferError extends Error {
  readonly reason: TransferErrorReason;
  readonly resumable: boolean;
  constructor(reason: TransferErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferError';
    this.reason = reason;
    this.resumable = reason === 'INTERRUPTED' || reason === 'ABORTED' || reason === 'SERVER_FULL';
  }
}

/** Attempts in a row without progress before giving up (as the Node client). */
const MAX_FAILED_ATTEMPTS = 4;
/** Default bytes per PATCH: big enough to keep the link busy, small enough that a cut loses little. */
export const UPLOAD_CHUNK = 1024 * 1024;

export interface TransferOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** Pause before retrying, by attempt (default 500 ms · 2^attempt). */
  readonly backoffMs?: (attempt: number) => number;
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) { reject(new TransferError('ABORTED', 'the transfer was cancelled; run it again to resume')); return; }
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(new TransferError('ABORTED', 'the transfer was cancelled; run it again to resume')); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

function headerNumber(res: HttpResponse, name: string): number | undefined {
  const v = res.header(name);
  return v !== undefined && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

function wrapNetwork(e: unknown, signal?: AbortSignal): TransferError {
  if (e instanceof TransferError) return e;
  if (signal?.aborted || (e instanceof TransportError && e.code === 'ABORTED')) return new TransferError('ABORTED', 'the transfer was cancelled; run it again to resume', { cause: e });
  return new TransferError('INTERRUPTED', 'the connection was lost during the transfer; it resumes where it stopped', { cause: e });
}

export interface UploadSlot {
  /** /v1/attachments/<hex id> */
  readonly path: string;
  readonly token: string;
}

/** The server's offset for an upload (HEAD). */
export async function uploadOffset(t: Transport, slot: UploadSlot, total: number, signal?: AbortSignal): Promise<number> {
  let res: HttpResponse;
  try {
    res = await t.request({ method: 'HEAD', path: slot.path, headers: { authorization: `Bearer ${slot.token}` }, signal });
  } catch (e) {
    throw wrapNetwork(e, signal);
  }
  if (res.status === 404 || res.status === 401 || res.status === 410) throw new TransferError('EXPIRED', 'the server no longer has this upload (it expired); start it again');
  if (res.status < 200 || res.status >= 300) throw new TransferError('INTERRUPTED', `the server answered ${res.status} to an upload status request; try again later`);
  const offset = headerNumber(res, 'upload-offset');
  if (offset !== undefined) return Math.min(offset, total);
  return headerNumber(res, 'content-length') === total ? total : 0;
}

/**
 * Uploads `source` (the ciphertext) to a slot from wherever the server is,
 * in PATCH requests of `chunkBytes`. Resolves when the server has every byte.
 */
export async function uploadResumable(t: Transport, slot: UploadSlot, source: ByteSource, options: TransferOptions & { chunkBytes?: number } = {}): Promise<void> {
  const total = source.size;
  const chunk = options.chunkBytes ?? UPLOAD_CHUNK;
  const backoff = options.backoffMs ?? ((n) => 500 * 2 ** n);
  let failures = 0;
  /** 409 answers in a row without progress: the offset moved under us; a server that keeps saying so is broken. */
  let conflicts = 0;
  let best = -1;
  const fail = async (e: TransferError) => {
    if (e.reason !== 'INTERRUPTED' || ++failures >= MAX_FAILED_ATTEMPTS) throw e;
    await sleep(backoff(failures), options.signal);
  };
  for (;;) {
    let offset: number;
    try {
      offset = await uploadOffset(t, slot, total, options.signal);
    } catch (e) {
      await fail(wrapNetwork(e, options.signal));
      continue;
    }
    if (offset > best) { best = offset; failures = 0; conflicts = 0; }
    options.onProgress?.(offset, total);
    if (offset >= total) return;
    const n = Math.min(chunk, total - offset);
    const body = source.slice ? source.slice(offset, n) : await source.read(offset, n);
    let res: HttpResponse;
    try {
      res = await t.request({
        method: 'PATCH', path: slot.path, body, signal: options.signal,
        headers: { authorization: `Bearer ${slot.token}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      });
    } catch (e) {
      await fail(wrapNetwork(e, options.signal));
      continue;
    }
    const status = res.status;
    const text = status >= 300 ? await res.text(512) : '';
    if (status === 200 || status === 201 || status === 204) continue; // HEAD says where the server is now
    if (status === 409) {
      if (++conflicts >= MAX_FAILED_ATTEMPTS) throw new TransferError('INTERRUPTED', 'the server keeps refusing the upload offset; try again later');
      continue;
    }
    if (status === 404 || status === 401 || status === 410) throw new TransferError('EXPIRED', 'the server no longer has this upload (it expired); start it again');
    if (status === 413) throw new TransferError('TOO_LARGE', 'the server refused the upload as too large');
    if (status === 507) throw new TransferError('SERVER_FULL', 'the server is out of disk space; try again later (the upload resumes where it stopped)');
    if (status >= 500 || status === 429) {
      await fail(new TransferError('INTERRUPTED', `the server answered ${status}; the upload resumes where it stopped`));
      continue;
    }
    throw new TransferError('UPLOAD_REJECTED', `the server refused the upload (${status}${text ? `: ${text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 200)}` : ''})`);
  }
}

/**
 * Downloads `path` into `sink`, from the bytes the sink already holds on
 * (Range), until `expectedSize` bytes: a cut resumes, more or fewer bytes than
 * expected are EXTENDED / TRUNCATED. The sink is closed on success and aborted
 * (a resumable one keeps its bytes) on failure.
 */
export async function downloadResumable(t: Transport, path: string, sink: ByteSink, expectedSize: number, options: TransferOptions = {}): Promise<void> {
  const backoff = options.backoffMs ?? ((n) => 500 * 2 ** n);
  let failures = 0;
  try {
    for (;;) {
      let held = await sink.size();
      if (held > expectedSize) throw new TransferError('EXTENDED', 'the download holds more bytes than the attachment has');
      options.onProgress?.(held, expectedSize);
      if (held === expectedSize && expectedSize > 0) break;
      let res: HttpResponse;
      try {
        res = await t.request({ method: 'GET', path, headers: held > 0 ? { range: `bytes=${held}-` } : {}, signal: options.signal });
      } catch (e) {
        const err = wrapNetwork(e, options.signal);
        if (err.reason !== 'INTERRUPTED' || ++failures >= MAX_FAILED_ATTEMPTS) throw err;
        await sleep(backoff(failures), options.signal);
        continue;
      }
      if (res.status === 404 || res.status === 410) throw new TransferError('EXPIRED', 'the server no longer has this attachment');
      if (res.status === 416) throw new TransferError('EXTENDED', 'the server has fewer bytes than were already downloaded');
      if (res.status === 200 && held > 0) {
        // The server ignored the range: start over.
        await sink.truncate(0);
        held = 0;
      } else if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.header('content-range') ?? '');
        if (!m || Number(m[1]) !== held) throw new TransferError('INTERRUPTED', 'the server answered another range than asked');
        if (Number(m[3]) !== expectedSize) throw new TransferError(Number(m[3]) < expectedSize ? 'TRUNCATED' : 'EXTENDED', 'the server\'s copy is not the attachment\'s size');
      } else if (res.status !== 200) {
        if (++failures >= MAX_FAILED_ATTEMPTS) throw new TransferError('INTERRUPTED', `the server kept answering ${res.status}; try again later`);
        await sleep(backoff(failures), options.signal);
        continue;
      }
      const length = headerNumber(res, 'content-length');
      if (length !== undefined && held + length !== expectedSize) throw new TransferError(held + length < expectedSize ? 'TRUNCATED' : 'EXTENDED', 'the server\'s copy is not the attachment\'s size');
      if (!res.body) throw new TransferError('TRUNCATED', 'the server sent no body');
      const reader = res.body.getReader();
      let got = held;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (got + value.length > expectedSize) throw new TransferError('EXTENDED', 'the server sent more bytes than the attachment has');
          await sink.write(value);
          got += value.length;
          options.onProgress?.(got, expectedSize);
        }
      } catch (e) {
        if (e instanceof TransferError) throw e;
        const err = wrapNetwork(e, options.signal);
        if (err.reason !== 'INTERRUPTED') throw err;
        if (got === held && ++failures >= MAX_FAILED_ATTEMPTS) throw err;
        if (got > held) failures = 0;
        await sleep(backoff(failures), options.signal);
        continue;
      }
      if (got !== expectedSize) throw new TransferError('TRUNCATED', 'the server\'s copy ends early');
      break;
    }
    await sink.close();
  } catch (e) {
    await sink.abort(e).catch(() => {});
    throw e;
  }
}
