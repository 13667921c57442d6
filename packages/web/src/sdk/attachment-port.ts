/**
 * The one place that knows how the Worker moves attachments (issue 13 point 4; client-web
 * worker-methods/attachments.ts). The SDK in the Worker prepares a file (type, metadata removed from pictures,
 * thumbnail, duration), encrypts and uploads it in resumable pieces, and downloads, verifies and decrypts one
 * into the origin private file system; the page hands it a Blob and gets a File back. A transfer is named by
 * the page so it can be cancelled while it runs (its call then rejects; calling again resumes); progress
 * arrives as the Worker's `progress` messages.
 */
import { signal } from '@preact/signals';
import type { MessageRow } from './types.js';
import { errorCode, sdk } from './client.js';

/** False once the Worker answered that it has no attachment methods (an older engine). */
export const attachmentsAvailable = signal(true);

async function guarded<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (errorCode(e) === 'UNKNOWN_METHOD') attachmentsAvailable.value = false;
    throw e;
  }
}

async function withProgress<T>(transfer: string, onProgress: (done: number, total: number) => void, run: () => Promise<T>): Promise<T> {
  const off = sdk().onProgress((p) => { if (p.transfer === transfer) onProgress(p.done, p.total); });
  try { return await guarded(run()); } finally { off(); }
}

export function portSend(to: Uint8Array, file: Blob, o: { name: string; voiceNote?: boolean; caption?: string; transfer: string }, onProgress: (done: number, total: number) => void): Promise<MessageRow> {
  return withProgress(o.transfer, onProgress, () => sdk().call.sendFile(to, file, { transfer: o.transfer, name: o.name, ...(o.voiceNote ? { voiceNote: true } : {}), ...(o.caption ? { caption: o.caption } : {}) }));
}

export async function portDownload(conversation: Uint8Array, messageId: Uint8Array, index: number, transfer: string, onProgress: (done: number, total: number) => void): Promise<Blob> {
  const r = await withProgress(transfer, onProgress, () => sdk().call.downloadAttachment(conversation, messageId, { transfer, index }));
  return r.file;
}

export async function portCancel(transfer: string): Promise<void> {
  await sdk().call.cancelTransfer(transfer).catch(() => undefined);
}
