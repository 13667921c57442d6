/**
 * The one place that knows how the Worker moves attachments (issue 13 point 4). The SDK in the Worker
 * prepares a file (type, metadata removed from pictures, thumbnail, duration), encrypts and uploads it in
 * resumable pieces, and downloads, verifies and decrypts one; the page only hands it a Blob and gets one back.
 *
 * Worker methods this expects (client-web worker-methods/attachments.ts):
 *   sendFile(to, blob, { name, voiceNote?, transfer }) → MessageRow   (the message once sent)
 *   downloadAttachment(conversation, messageId, index, { transfer }) → Blob
 *   cancelTransfer(transfer) → void     (the call in flight rejects with code ABORTED; calling again resumes)
 *   transferProgress(transfer) → { done, total } | undefined
 * Progress is polled (a call every PROGRESS_MS while a transfer runs) so the Worker protocol needs no new message kind.
 * Until the Worker has them, `attachmentsAvailable` turns false on the first UNKNOWN_METHOD and the UI says so.
 */
import { signal } from '@preact/signals';
import type { MessageRow } from './types.js';
import { errorCode, sdk } from './client.js';

export const PROGRESS_MS = 250;

/** False once the Worker answered that it has no attachment methods. */
export const attachmentsAvailable = signal(true);

interface AttachmentCalls {
  sendFile(to: Uint8Array, file: Blob, o: { name: string; voiceNote?: boolean; transfer: string }): Promise<MessageRow>;
  downloadAttachment(conversation: Uint8Array, messageId: Uint8Array, index: number, o: { transfer: string }): Promise<Blob>;
  cancelTransfer(transfer: string): Promise<void>;
  transferProgress(transfer: string): Promise<{ done: number; total: number } | undefined>;
}

// The Worker's method table is typed from worker-methods/; these four are looked up by name so this file
// compiles before the attachment methods exist there.
const calls = (): AttachmentCalls => sdk().call as unknown as AttachmentCalls;

async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (errorCode(e) === 'UNKNOWN_METHOD') attachmentsAvailable.value = false;
    throw e;
  }
}

/** Runs `work` while polling its progress into `onProgress`. */
async function withProgress<T>(transfer: string, onProgress: (done: number, total: number) => void, work: Promise<T>): Promise<T> {
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, PROGRESS_MS));
      if (stopped) break;
      const p = await calls().transferProgress(transfer).catch(() => undefined);
      if (p && !stopped) onProgress(p.done, p.total);
    }
  };
  void poll();
  try { return await work; } finally { stopped = true; }
}

export function portSend(to: Uint8Array, file: Blob, o: { name: string; voiceNote?: boolean; transfer: string }, onProgress: (done: number, total: number) => void): Promise<MessageRow> {
  return withProgress(o.transfer, onProgress, guarded(calls().sendFile(to, file, o)));
}

export function portDownload(conversation: Uint8Array, messageId: Uint8Array, index: number, transfer: string, onProgress: (done: number, total: number) => void): Promise<Blob> {
  return withProgress(transfer, onProgress, guarded(calls().downloadAttachment(conversation, messageId, index, { transfer })));
}

export async function portCancel(transfer: string): Promise<void> {
  await calls().cancelTransfer(transfer).catch(() => undefined);
}
