/**
 * Attachment download (attachments.md §9.5, client.md §7.3): the ciphertext is
 * fetched over Transport.request (a Range request when resuming), hashed and
 * decrypted as it arrives, and only authenticated plaintext is written to the
 * DownloadSink; the sink is closed (the file appears) only once the whole
 * ciphertext arrived, its length and SHA-256 match the pointer and the final
 * chunk checked out.
 *
 * Resuming: what the sink holds, rounded down to a chunk, says where to go on;
 * the digest over that prefix is recomputed by re-encrypting it locally (the
 * ciphertext is a function of the key and the plaintext), and the rest is
 * fetched from that chunk's ciphertext offset.
 *
 * Any integrity failure (TAMPERED, TRUNCATED, EXTENDED, WRONG_KEY,
 * DIGEST_MISMATCH), BAD_POINTER or EXPIRED empties the sink before aborting it;
 * ABORTED and INTERRUPTED keep what it holds for a resume.
 */
import {
  ATTACHMENT_CHUNK_SIZE, ATTACHMENT_KEY_LENGTH, AttachmentCorruptError, AttachmentDecryptor, AttachmentEncryptor, AttachmentKeyMismatchError, AttachmentTruncatedError,
  bytesEqual, chunkCiphertextOffset, ciphertextSize, paddedSize, type ProtocolContext,
} from '@sigilo/protocol';
import { AttachmentError, INTEGRITY, MAX_FAILED_ATTEMPTS, attachmentUrlPath, type TransferOptions } from './attachments.js';
import { BLOCK, SEALED_BLOCK, aborted, backoffMs, drain, headerNumber, networkError, portableSha256, sleep } from './attachment-transfer.js';
import type { Attachment } from './media/pointer.js';
import type { DownloadSink, HashStream, HttpResponse, Transport } from './ports.js';

export interface DownloadHost {
  readonly transport: Transport;
  readonly ctx: ProtocolContext;
  /** The platform's SHA-256; the portable one otherwise. */
  sha256?(): HashStream;
}

const truncated = () => new AttachmentError('TRUNCATED', 'the server\'s copy of this attachment is shorter than it should be: it was damaged; ask the sender to send it again');
const extended = () => new AttachmentError('EXTENDED', 'the server\'s copy of this attachment is longer than it should be: it was altered; ask the sender to send it again');

/** Throws BAD_POINTER for a pointer whose fields cannot belong together. */
export function checkPointer(a: Attachment): void {
  const ok = a.attachmentId.length === 16 && a.key.length === ATTACHMENT_KEY_LENGTH && a.digest.length === 32
    && Number.isSafeInteger(a.size) && a.size >= 0 && a.encryptedSize === ciphertextSize(paddedSize(a.size));
  if (!ok) throw new AttachmentError('BAD_POINTER', 'this attachment\'s description is malformed (sizes or key lengths do not fit): ask the sender to send it again');
}

/** Downloads, verifies and decrypts attachment `a` into `sink` (closed on success, aborted on failure); resolves with its size. */
export async function downloadAttachmentTo(host: DownloadHost, a: Attachment, sink: DownloadSink, options: TransferOptions = {}): Promise<number> {
  try {
    checkPointer(a);
    let failures = 0;
    for (;;) {
      const have = await sink.size();
      try {
        await downloadOnce(host, a, sink, have, options);
        break;
      } catch (e) {
        if (e instanceof AttachmentError && e.reason === 'INTERRUPTED') {
          const now = await sink.size();
          failures = now > have ? 1 : failures + 1;
          if (failures >= MAX_FAILED_ATTEMPTS) throw new AttachmentError('INTERRUPTED', 'the download kept failing; check the connection and run it again to resume');
          await sleep(backoffMs(failures), options.signal);
          continue;
        }
        throw e;
      }
    }
    await sink.close();
    return a.size;
  } catch (e) {
    if (e instanceof AttachmentError && INTEGRITY.has(e.reason)) await sink.truncate(0).catch(() => {});
    await sink.abort(e).catch(() => {});
    throw e;
  }
}

/** One GET from what the sink holds; throws AttachmentError (INTERRUPTED when the connection broke). */
async function downloadOnce(host: DownloadHost, a: Attachment, sink: DownloadSink, have: number, options: TransferOptions): Promise<void> {
  const total = a.encryptedSize;
  // Resume at the last whole chunk the sink holds (one longer than the file is not ours: start over).
  let chunk = have <= a.size ? Math.floor(have / ATTACHMENT_CHUNK_SIZE) : 0;
  let hash = (host.sha256 ?? portableSha256)();
  if (chunk > 0 && !(await rehashPrefix(host.ctx, a.key, sink, chunk * ATTACHMENT_CHUNK_SIZE, hash))) {
    // Not resumable (no read-back, or it could not be read): start over.
    chunk = 0;
    hash = (host.sha256 ?? portableSha256)();
  }
  let written = chunk * ATTACHMENT_CHUNK_SIZE;
  await sink.truncate(written);
  const from = chunk > 0 ? chunkCiphertextOffset(chunk) : 0;
  let res: HttpResponse;
  try {
    res = await host.transport.request({ method: 'GET', path: attachmentUrlPath(a.attachmentId), headers: from > 0 ? { range: `bytes=${from}-` } : {}, signal: options.signal });
  } catch (e) {
    throw networkError(e, options.signal);
  }
  if (res.status === 404 || res.status === 410) {
    await drain(res);
    throw new AttachmentError('EXPIRED', 'the server no longer has this attachment (it expired or was never uploaded completely); ask the sender to send it again');
  }
  if (res.status === 416) {
    await drain(res);
    throw truncated();
  }
  if (res.status >= 500 || res.status === 429) {
    await drain(res);
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status}; try again later (the download resumes)`);
  }
  // The server's idea of the blob's size: from Content-Range on a 206, Content-Length on a 200.
  let serverTotal: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.header('content-range') ?? '');
    if (!m || Number(m[1]) !== from) {
      await drain(res);
      throw new AttachmentError('INTERRUPTED', 'the server answered the resume request with another range; run it again');
    }
    serverTotal = Number(m[3]);
  } else if (res.status === 200) {
    if (from > 0) {
      // The range was ignored: start over from the beginning.
      await res.body?.cancel().catch(() => {});
      await sink.truncate(0);
      return downloadOnce(host, a, sink, 0, options);
    }
    serverTotal = headerNumber(res, 'content-length');
  } else {
    await drain(res);
    throw new AttachmentError('INTERRUPTED', `the server answered ${res.status} to a download; try again later`);
  }
  if (serverTotal !== undefined && serverTotal !== total) {
    await res.body?.cancel().catch(() => {});
    throw serverTotal < total ? truncated() : extended();
  }
  const dec = new AttachmentDecryptor(host.ctx.crypto, a.key, { startChunk: chunk });
  let received = from;
  /** Writes decrypted chunks, the padding cut off (authenticated, not written). */
  const write = async (parts: Uint8Array[]) => {
    for (const p of parts) {
      const room = a.size - written;
      if (room <= 0) break;
      const piece = p.length > room ? p.subarray(0, room) : p;
      await sink.write(piece);
      written += piece.length;
    }
  };
  const reader = res.body?.getReader();
  try {
    if (!reader) throw truncated();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (received + value.length > total) throw new AttachmentError('EXTENDED', 'the server sent more bytes than this attachment has: it was altered; ask the sender to send it again');
      received += value.length;
      hash.update(value);
      await write(dec.update(value));
      options.onProgress?.(received, total);
    }
    if (received < total) {
      // The answer ended early and cleanly: without a length to say so, the server's copy is short.
      if (options.signal?.aborted) throw aborted();
      if (serverTotal === undefined) throw truncated();
      throw new AttachmentError('INTERRUPTED', 'the download was cut off; it resumes where it stopped');
    }
    await write(dec.finish());
  } catch (e) {
    await reader?.cancel().catch(() => {});
    throw translate(e, options.signal);
  }
  if (!bytesEqual(hash.digest(), a.digest)) throw new AttachmentError('DIGEST_MISMATCH', 'the attachment decrypted but its digest is not the one its sender gave: it was altered; ask the sender to send it again');
  if (written !== a.size) throw new AttachmentError('TRUNCATED', 'the attachment is shorter than its sender said; ask the sender to send it again');
  options.onProgress?.(total, total);
}

/**
 * Feeds `hash` the ciphertext of the first `length` plaintext bytes the sink
 * holds (a whole number of chunks), re-encrypted. False if it cannot be read back.
 */
async function rehashPrefix(ctx: ProtocolContext, key: Uint8Array, sink: DownloadSink, length: number, hash: HashStream): Promise<boolean> {
  if (!sink.read) return false;
  const enc = new AttachmentEncryptor(ctx.crypto, key);
  const out = new Uint8Array(SEALED_BLOCK);
  let emitted = 0;
  try {
    for (let pos = 0; pos < length;) {
      const n = Math.min(BLOCK, length - pos);
      const b = await sink.read(pos, n);
      if (b.length !== n) return false;
      const w = enc.updateInto(b, out, 0);
      hash.update(out.subarray(0, w));
      emitted += w;
      pos += n;
    }
  } catch {
    return false;
  }
  return emitted === chunkCiphertextOffset(length / ATTACHMENT_CHUNK_SIZE);
}

function translate(e: unknown, signal: AbortSignal | undefined): Error {
  if (e instanceof AttachmentError) return e;
  if (e instanceof AttachmentKeyMismatchError) return new AttachmentError('WRONG_KEY', 'the attachment does not open with the key its sender gave (or its header was altered); ask the sender to send it again');
  if (e instanceof AttachmentCorruptError) return new AttachmentError('TAMPERED', `part of the attachment (chunk ${e.chunkIndex}) was altered on the way or on the server; nothing of it was kept; ask the sender to send it again`);
  if (e instanceof AttachmentTruncatedError) return new AttachmentError('TRUNCATED', 'the attachment ends before its last part: the server\'s copy is damaged; ask the sender to send it again');
  if (signal?.aborted) return aborted();
  if (e instanceof Error && 'code' in e && (e as { code: unknown }).code === 'FINGERPRINT_MISMATCH') return e;
  return new AttachmentError('INTERRUPTED', `the download was cut off (${(e as { code?: string }).code ?? (e as Error).message}); it resumes where it stopped`);
}
