/**
 * The Worker's attachment methods (worker-protocol.ts): sending a File/Blob
 * with progress and cancel, downloading a message's attachment into OPFS with
 * progress and cancel, both resumable by calling them again (the upload state
 * is in the store, the download's verified part in OPFS). Registered into the
 * Worker's method table by `attachmentMethods` (worker-host.ts).
 *
 * A transfer is named by the page (`transfer`), so that it can be cancelled
 * before it answers: `cancelTransfer(transfer)` fires its AbortSignal in the
 * Worker, and the call rejects with ABORTED (resumable).
 */
import { ClientError, toHex, type MessageRow, type SigiloClient } from '@sigilo/client';
import { blobInput, opfsDownload } from '../attachment-files.js';

/** The attachment methods, as the page calls them. */
export interface AttachmentWorkerMethods {
  /** Sends `file` to a contact (16-byte id) or a group (32-byte id); progress comes as `progress` messages for `transfer`. */
  sendFile(to: Uint8Array, file: Blob, o: { transfer: string; caption?: string; voiceNote?: boolean; keepMetadata?: boolean; name?: string }): MessageRow;
  /** Downloads attachment `index` (default 0) of a message into OPFS; answers the finished File (show it with URL.createObjectURL). */
  downloadAttachment(conversation: Uint8Array, messageId: Uint8Array, o: { transfer: string; index?: number }): { file: File; size: number };
  /** Cancels a running transfer (its call rejects with ABORTED; calling it again resumes). False if none runs under that name. */
  cancelTransfer(transfer: string): boolean;
}

/** A transfer's progress, posted by the Worker while it runs. */
export interface TransferProgress {
  readonly kind: 'progress';
  readonly transfer: string;
  readonly done: number;
  readonly total: number;
}

/** Progress messages at most this often per transfer (the last one always goes). */
const PROGRESS_EVERY_MS = 100;

export function attachmentMethods(need: () => SigiloClient, post: (m: TransferProgress) => void): { [M in keyof AttachmentWorkerMethods]: (...a: Parameters<AttachmentWorkerMethods[M]>) => Promise<ReturnType<AttachmentWorkerMethods[M]>> | ReturnType<AttachmentWorkerMethods[M]> } {
  const running = new Map<string, AbortController>();
  const start = (transfer: string) => {
    if (typeof transfer !== 'string' || transfer === '' || running.has(transfer)) throw Object.assign(new Error('each transfer needs a new name'), { code: 'INVALID_INPUT' });
    const ac = new AbortController();
    running.set(transfer, ac);
    let last = 0;
    const onProgress = (done: number, total: number) => {
      const now = Date.now();
      if (done < total && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      post({ kind: 'progress', transfer, done, total });
    };
    return { signal: ac.signal, onProgress, end: () => running.delete(transfer) };
  };
  return {
    async sendFile(to, file, o) {
      const t = start(o.transfer);
      try {
        return await need().sendFile(to, blobInput(file, o.name), {
          signal: t.signal, onProgress: t.onProgress, ...(o.caption !== undefined ? { caption: o.caption } : {}),
          ...(o.voiceNote ? { voiceNote: true } : {}), ...(o.keepMetadata ? { keepMetadata: true } : {}),
        });
      } finally {
        t.end();
      }
    },
    async downloadAttachment(conversation, messageId, o) {
      const t = start(o.transfer);
      try {
        const c = need();
        const index = o.index ?? 0;
        const a = c.store.getMessage(conversation, messageId)?.attachments?.[index];
        if (!a) throw new ClientError('NOT_FOUND', 'no such attachment (the message may have been deleted)');
        // Named by the attachment: the same download resumes whichever page asks again.
        const sink = await opfsDownload(toHex(a.attachmentId));
        const { size } = await c.downloadAttachment(conversation, messageId, index, sink, { signal: t.signal, onProgress: t.onProgress });
        return { file: await sink.file(), size };
      } finally {
        t.end();
      }
    },
    cancelTransfer(transfer) {
      const ac = running.get(transfer);
      ac?.abort();
      return ac !== undefined;
    },
  };
}
