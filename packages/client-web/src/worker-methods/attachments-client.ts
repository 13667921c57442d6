/**
 * The page's side of the Worker's attachment methods: a send or a download
 * with an AbortSignal and a progress callback, as the SDK offers them outside
 * a Worker. Cancelling asks the Worker to abort the transfer; the call then
 * rejects with ABORTED, and calling it again resumes.
 */
import type { MessageRow } from '@sigilo/client';
import type { SigiloWorkerClient } from '../worker-client.js';

export interface WorkerTransferOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

let counter = 0;
const newTransfer = () => `t${Date.now().toString(36)}-${(++counter).toString(36)}`;

async function withTransfer<T>(w: SigiloWorkerClient, options: WorkerTransferOptions, run: (transfer: string) => Promise<T>): Promise<T> {
  const transfer = newTransfer();
  const off = w.onProgress((p) => { if (p.transfer === transfer) options.onProgress?.(p.done, p.total); });
  const cancel = () => { void w.call.cancelTransfer(transfer).catch(() => {}); };
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    const running = run(transfer);
    if (options.signal?.aborted) cancel();
    return await running;
  } finally {
    off();
    options.signal?.removeEventListener('abort', cancel);
  }
}

/** Sends a File/Blob to a contact or a group through the engine in the Worker. */
export function sendFileInWorker(w: SigiloWorkerClient, to: Uint8Array, file: Blob, options: WorkerTransferOptions & { caption?: string; voiceNote?: boolean; keepMetadata?: boolean; name?: string } = {}): Promise<MessageRow> {
  const { signal: _s, onProgress: _p, ...rest } = options;
  return withTransfer(w, options, (transfer) => w.call.sendFile(to, file, { ...rest, transfer }));
}

/** Downloads a message's attachment through the engine in the Worker; resolves with the finished File. */
export function downloadInWorker(w: SigiloWorkerClient, conversation: Uint8Array, messageId: Uint8Array, options: WorkerTransferOptions & { index?: number } = {}): Promise<{ file: File; size: number }> {
  return withTransfer(w, options, (transfer) => w.call.downloadAttachment(conversation, messageId, { transfer, ...(options.index !== undefined ? { index: options.index } : {}) }));
}
