/**
 * Attachment upload (attachments.md §9.4, client.md §7.3): a file is
 * prepared (type, metadata removed), encrypted with Cobblestone as a stream
 * and uploaded with the offset protocol over Transport.request, resuming an
 * earlier upload of the same file to the same recipient from the server's
 * offset. Nothing holds the whole file: blocks of BLOCK bytes are read,
 * encrypted and sent.
 *
 * A transport that streams request bodies (Node) sends everything the server
 * lacks in one PATCH; others (browsers) send PATCHes of UPLOAD_CHUNK bytes,
 * each from the server's offset, so a cut costs at most one of them.
 */
import {
  ATTACHMENT_CHUNK_SIZE, ATTACHMENT_KEY_LENGTH, AttachmentEncryptor, chunkCiphertextOffset, ciphertextSize, paddedSize,
} from '@sigilo/protocol';
import { fromBase64, toBase64 } from './bytes.js';
import { AttachmentError, MAX_FAILED_ATTEMPTS, prepareFile, THUMBNAIL_MAX_SOURCE, type AttachmentSlotInfo, type PreparedFile, type SendFileOptions, type TransferOptions, type UploadHost } from './attachments.js';
import { plaintextBlocks } from './attachment-plaintext.js';
import { SEALED_BLOCK, aborted, backoffMs, drain, headerNumber, networkError, portableSha256, safeServerText, sleep } from './attachment-transfer.js';
import { ClientError } from './errors.js';
import { probeDurationMs } from './media/duration.js';
import type { Attachment } from './media/pointer.js';
import type { Piece } from './media/source.js';
import type { FileInput, HashStream, HttpResponse } from './ports.js';
import { ServerRequestError } from './connection.js';
import { loadUploadState, saveUploadState, stateAttachment, type UploadState } from './upload-state.js';

/** Ciphertext bytes per PATCH when the transport cannot stream a body. */
export const UPLOAD_CHUNK = 1024 * 1024;
/** The digest's state is kept every this many ciphertext bytes, so a resume re-encrypts little. */
const SNAPSHOT_BYTES = 4 * 1024 * 1024;

/**
 * Encrypts and uploads a file, resuming an upload of the same file to the same
 * recipient that was interrupted earlier (the state is in the store under
 * `stateKey`; it is left there: the caller removes it in the transaction that
 * queues the message). Returns the pointer to send.
 */
export async function uploadAttachment(host: UploadHost, stateKey: string, input: FileInput, options: SendFileOptions = {}): Promise<Attachment> {
  const src = input.source;
  const prepared = await prepareFile(src, input.name, options);
  let state = loadUploadState(host.store, stateKey);
  const stale = state && (state.path !== input.id || state.fileSize !== src.size || state.mtimeMs !== input.mtimeMs || state.keepMetadata !== !!options.keepMetadata
    || state.voiceNote !== !!options.voiceNote || state.size !== prepared.size || state.expires <= host.now() + 60_000);
  if (stale) {
    // The file changed (or the slot is about to expire): the old upload is useless, start over.
    saveUploadState(host.store, stateKey, undefined);
    state = undefined;
  }
  for (let fresh = 0; ; fresh++) {
    if (!state) state = await newUpload(host, stateKey, input, prepared, options);
    try {
      const digest = await sendCiphertext(host, state, input, prepared.pieces, options);
      if (await input.changed?.()) {
        saveUploadState(host.store, stateKey, undefined);
        throw new AttachmentError('FILE_CHANGED', `${input.name} changed while it was being sent; send it again`);
      }
      return stateAttachment(state, digest);
    } catch (e) {
      // The slot is gone (expired, swept, or the server lost it): one fresh start, then give up.
      if (e instanceof AttachmentError && e.reason === 'EXPIRED' && fresh === 0) {
        saveUploadState(host.store, stateKey, undefined);
        state = undefined;
        continue;
      }
      throw e;
    }
  }
}

/** The thumbnail (pictures up to THUMBNAIL_MAX_SOURCE bytes, when the platform draws them) and playing time (audio, video) of a prepared file. */
export async function fileExtras(host: Pick<UploadHost, 'thumbnail'>, input: FileInput, prepared: PreparedFile): Promise<{ thumbnail: Uint8Array | undefined; durationMs: number | undefined }> {
  const src = input.source;
  let thumbnail: Uint8Array | undefined;
  if (host.thumbnail && (prepared.contentType === 'image/jpeg' || prepared.contentType === 'image/png') && src.size <= THUMBNAIL_MAX_SOURCE && prepared.width) {
    thumbnail = await host.thumbnail(src, prepared);
  }
  const durationMs = /^(audio|video)\//.test(prepared.contentType) ? await probeDurationMs(src, prepared.contentType) : undefined;
  return { thumbnail, durationMs };
}

async function newUpload(host: UploadHost, stateKey: string, input: FileInput, prepared: PreparedFile, options: SendFileOptions): Promise<UploadState> {
  const extras = await fileExtras(host, input, prepared);
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
    v: 1, path: input.id, fileSize: input.source.size, mtimeMs: input.mtimeMs, keepMetadata: !!options.keepMetadata, voiceNote: !!options.voiceNote,
    key: toBase64(key), attachmentId: toBase64(slot.attachmentId), uploadPath: slot.uploadPath, uploadToken: slot.uploadToken, expires: slot.expires,
    size: prepared.size, encryptedSize, contentType: prepared.contentType, fileName: prepared.fileName,
    ...(extras.thumbnail ? { thumbnail: toBase64(extras.thumbnail) } : {}),
    ...(prepared.width ? { width: prepared.width, height: prepared.height } : {}),
    ...(extras.durationMs !== undefined ? { durationMs: extras.durationMs } : {}),
  };
  saveUploadState(host.store, stateKey, state);
  return state;
}

const expired = () => new AttachmentError('EXPIRED', 'the server no longer has this upload (it expired); it is started again');

/** The server's offset for an upload (HEAD), or the whole size when it is complete. */
async function uploadOffset(host: UploadHost, s: UploadState, signal?: AbortSignal): Promise<number> {
  let res: HttpResponse;
  try {
    res = await host.transport.request({ method: 'HEAD', path: s.uploadPath, headers: { authorization: `Bearer ${s.uploadToken}` }, signal });
  } catch (e) {
    throw networkError(e, signal);
  }
  await drain(res);
  if (res.status === 404 || res.status === 401 || res.status === 410) throw expired();
  if (res.status < 200 || res.status >= 300) throw new AttachmentError('INTERRUPTED', `the server answered ${res.status} to an upload status request; try again later`);
  const offset = headerNumber(res, 'upload-offset');
  if (offset !== undefined) return Math.min(offset, s.encryptedSize);
  // A finished upload answers like a download.
  const length = headerNumber(res, 'content-length');
  return length === s.encryptedSize ? length : 0;
}

/**
 * The ciphertext from chunk `startChunk` on, hashed into `hash` as it is made;
 * yields the part at or after `offset` (fresh memory, SEALED_BLOCK at most per
 * piece). `snapshot` is told the hash state at chunk boundaries every
 * SNAPSHOT_BYTES. Resolves its return value with the ciphertext's end position.
 */
async function* ciphertext(host: UploadHost, s: UploadState, input: FileInput, pieces: readonly Piece[], startChunk: number, offset: number, hash: HashStream, snapshot: (chunk: number, h: HashStream) => void): AsyncGenerator<Uint8Array, number> {
  const encryptor = new AttachmentEncryptor(host.ctx.crypto, fromBase64(s.key), { startChunk });
  let position = startChunk > 0 ? chunkCiphertextOffset(startChunk) : 0;
  let lastSnapshot = position;
  const sealed = chunkCiphertextOffset(1) - chunkCiphertextOffset(0);
  function* emit(out: Uint8Array): Generator<Uint8Array> {
    if (out.length === 0) return;
    hash.update(out);
    const end = position + out.length;
    if (end > offset) yield position >= offset ? out : out.subarray(offset - position);
    position = end;
  }
  for await (const block of plaintextBlocks(input.source, pieces, paddedSize(s.size), startChunk * ATTACHMENT_CHUNK_SIZE)) {
    const out = new Uint8Array(SEALED_BLOCK);
    yield* emit(out.subarray(0, encryptor.updateInto(block, out, 0)));
    // After updateInto() the output ends on a chunk boundary: a place to snapshot the digest.
    if (position - lastSnapshot >= SNAPSHOT_BYTES && position >= chunkCiphertextOffset(1)) {
      snapshot((position - chunkCiphertextOffset(0)) / sealed, hash.copy());
      lastSnapshot = position;
    }
  }
  const out = new Uint8Array(SEALED_BLOCK);
  yield* emit(out.subarray(0, encryptor.finishInto(out, 0)));
  return position;
}

/**
 * Sends the ciphertext from the server's offset on, re-encrypting from the
 * chunk that holds it; returns the SHA-256 of the whole ciphertext. What the
 * server already has is re-encrypted locally (never re-sent) from the last
 * hash snapshot at or before its offset — snapshots are taken during this
 * call; after a restart the prefix is re-encrypted from the start.
 */
async function sendCiphertext(host: UploadHost, s: UploadState, input: FileInput, pieces: readonly Piece[], options: TransferOptions): Promise<Uint8Array> {
  const total = s.encryptedSize;
  const newHash = host.sha256 ?? portableSha256;
  /** Chunk index → SHA-256 state over the ciphertext before that chunk. */
  const snapshots = new Map<number, HashStream>();
  let failures = 0;
  let lastOffset = -1;
  const retry = async (e: AttachmentError) => {
    if (++failures >= MAX_FAILED_ATTEMPTS) throw e;
    await sleep(backoffMs(failures), options.signal);
  };
  for (;;) {
    let offset: number;
    try {
      offset = await uploadOffset(host, s, options.signal);
    } catch (e) {
      if (!(e instanceof AttachmentError) || e.reason !== 'INTERRUPTED') throw e;
      await retry(e);
      continue;
    }
    if (offset > lastOffset) failures = 0;
    lastOffset = offset;
    options.onProgress?.(offset, total);
    // Where to start encrypting: the latest snapshot at or before the server's offset, else chunk 0.
    let startChunk = 0;
    for (const c of snapshots.keys()) if (c > startChunk && chunkCiphertextOffset(c) <= offset) startChunk = c;
    const hash = startChunk > 0 ? snapshots.get(startChunk)!.copy() : newHash();
    const pieces$ = ciphertext(host, s, input, pieces, startChunk, offset, hash, (c, h) => snapshots.set(c, h));
    let outcome: 'done' | 'again';
    try {
      outcome = offset >= total ? await hashOnly(pieces$, total) : await send(host, s, pieces$, offset, options);
    } catch (e) {
      if (e instanceof AttachmentError && e.reason === 'INTERRUPTED') {
        await retry(new AttachmentError('INTERRUPTED', 'the upload kept failing; check the connection and run it again to resume'));
        continue;
      }
      throw e;
    } finally {
      await pieces$.return(0).catch(() => {});
    }
    if (outcome === 'done') {
      options.onProgress?.(total, total);
      return hash.digest();
    }
  }
}

/** Complete on the server (an earlier run finished it): only the digest is needed. */
async function hashOnly(pieces: AsyncGenerator<Uint8Array, number>, total: number): Promise<'done'> {
  let r = await pieces.next();
  while (!r.done) r = await pieces.next();
  if (r.value !== total) throw new ClientError('SERVER_ERROR', 'the attachment size does not match its encryption; this is a bug');
  return 'done';
}

/** PATCHes the ciphertext from `offset`: 'done' when the server has all of it, 'again' to ask its offset anew. */
async function send(host: UploadHost, s: UploadState, pieces: AsyncGenerator<Uint8Array, number>, offset: number, options: TransferOptions): Promise<'done' | 'again'> {
  const total = s.encryptedSize;
  const { signal } = options;
  let sent = offset;
  let finished = false;
  const next = async (): Promise<Uint8Array | undefined> => {
    const r = await pieces.next();
    if (r.done) { finished = true; return undefined; }
    return r.value;
  };
  const patch = async (at: number, length: number, body: Uint8Array | ReadableStream<Uint8Array>): Promise<HttpResponse> => {
    try {
      return await host.transport.request({
        method: 'PATCH', path: s.uploadPath, body, signal,
        headers: { authorization: `Bearer ${s.uploadToken}`, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(at), 'content-length': String(length) },
      });
    } catch (e) {
      throw networkError(e, signal);
    }
  };
  for (;;) {
    let res: HttpResponse;
    const at = sent;
    if (host.transport.streamsRequestBodies) {
      // Everything the server lacks in one request; pulled as the socket takes it (the backpressure).
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (signal?.aborted) { c.error(aborted()); return; }
          const piece = await next();
          if (!piece) { c.close(); return; }
          sent += piece.length;
          c.enqueue(piece);
          options.onProgress?.(sent, total);
        },
      }, { highWaterMark: 0 });
      res = await patch(at, total - at, stream);
    } else {
      // One bounded request: UPLOAD_CHUNK bytes gathered from the pieces.
      const body = new Uint8Array(Math.min(UPLOAD_CHUNK, total - at));
      let n = 0;
      while (n < body.length) {
        const piece = await next();
        if (!piece) break;
        if (n + piece.length > body.length) throw new ClientError('SERVER_ERROR', 'the attachment size does not match its encryption; this is a bug');
        body.set(piece, n);
        n += piece.length;
        // Pieces end on whole blocks: stop before one would not fit.
        if (body.length - n < SEALED_BLOCK && at + n < total) break;
      }
      res = await patch(at, n, body.subarray(0, n));
      sent = at + n;
    }
    const text = await drain(res);
    if (res.status === 200 || res.status === 201 || res.status === 204) {
      const now = headerNumber(res, 'upload-offset') ?? (res.status === 204 ? undefined : total);
      if (now === total && sent === total) {
        if (!finished) await next(); // the generator's end: the final hash update happened already
        return 'done';
      }
      if (!host.transport.streamsRequestBodies && now === sent && sent < total) {
        options.onProgress?.(sent, total);
        continue; // the next bounded request from where this one ended
      }
      return 'again'; // partial: ask where the server is and go on
    }
    if (res.status === 409) return 'again'; // our offset was wrong: HEAD tells the right one
    if (res.status === 404 || res.status === 401 || res.status === 410) throw expired();
    if (res.status === 413) throw new AttachmentError('TOO_LARGE', 'the server refused the upload as too large', 'MESSAGE_TOO_LARGE');
    if (res.status === 507) throw new AttachmentError('SERVER_FULL', 'the server is out of disk space; try again later (the upload resumes where it stopped)', 'UNAVAILABLE');
    if (res.status >= 500 || res.status === 429) throw new AttachmentError('INTERRUPTED', `the server kept failing (${res.status}); run it again later to resume`);
    throw new AttachmentError('UPLOAD_REJECTED', `the server refused the upload (${res.status}${text ? `: ${safeServerText(text)}` : ''})`);
  }
}
