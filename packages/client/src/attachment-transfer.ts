/**
 * What the attachment upload and download share (attachments.md §9.4–9.5):
 * failures of a Transport request turned into AttachmentErrors (resumable ones
 * are INTERRUPTED or ABORTED), pauses between attempts that a cancel ends, the
 * portable SHA-256 stream, and the numbers both directions work in.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ATTACHMENT_CHUNK_SIZE, ATTACHMENT_HEADER_LENGTH, ATTACHMENT_SEALED_CHUNK_SIZE } from '@sigilo/protocol';
import { AttachmentError } from './attachments.js';
import { ClientError } from './errors.js';
import type { HashStream, HttpResponse } from './ports.js';

/**
 * Plaintext bytes read from the source per block (32 chunks). Measured on 512 MiB uploads in Node:
 * 1 MiB blocks cost a little more CPU and memory, 256 KiB ones more CPU.
 */
export const BLOCK = 512 * 1024;
/** Room for the ciphertext of one BLOCK of plaintext (header, the chunks, a partial one completed, or the final chunk). */
export const SEALED_BLOCK = ATTACHMENT_HEADER_LENGTH + (BLOCK / ATTACHMENT_CHUNK_SIZE + 1) * ATTACHMENT_SEALED_CHUNK_SIZE;

export function aborted(): AttachmentError {
  return new AttachmentError('ABORTED', 'cancelled; run the same command again to resume where it stopped');
}

/**
 * A Transport request that failed: cancelled (ABORTED), the server unreachable or
 * the connection lost (INTERRUPTED: retried, then resumable). A refused
 * certificate and other typed failures pass through unchanged.
 */
export function networkError(e: unknown, signal: AbortSignal | undefined): Error {
  if (e instanceof AttachmentError) return e;
  if (signal?.aborted) return aborted();
  if (e instanceof ClientError && e.code !== 'CONNECTION_FAILED' && e.code !== 'TIMEOUT') return e;
  const what = e instanceof ClientError ? e.message.replace(/;.*$/, '') : `the connection to the server failed (${(e as { code?: string }).code ?? (e as Error).message})`;
  return new AttachmentError('INTERRUPTED', `${what}; run it again to resume`);
}

export function headerNumber(res: HttpResponse, name: string): number | undefined {
  const v = res.header(name)?.trim();
  return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined;
}

/** Waits `ms`, or rejects with ABORTED once `signal` fires. */
export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(aborted());
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(aborted()); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

/** Pause before attempt `failures` + 1. */
export const backoffMs = (failures: number) => 500 * 2 ** failures;

/** A server's error body, as one short line of plain text. */
export function safeServerText(text: string): string {
  let msg = text;
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') msg = j.error;
  } catch { /* not JSON */ }
  // eslint-disable-next-line no-control-regex
  return msg.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 200);
}

/** Reads and drops an answer's body (a refusal's text is only shown), at most 4 KiB kept. */
export async function drain(res: HttpResponse): Promise<string> {
  try {
    return await res.text(4096);
  } catch {
    return '';
  }
}

/** The portable SHA-256 stream (@noble/hashes); platforms may hand in a faster one. */
export function portableSha256(): HashStream {
  const wrap = (h: ReturnType<typeof sha256.create>): HashStream => ({
    update: (d) => { h.update(d); },
    digest: () => h.digest(),
    copy: () => wrap(h.clone()),
  });
  return wrap(sha256.create());
}
