/**
 * The resumable state of an upload (attachments.md §9.4), kept in the
 * encrypted store's meta table from the slot's allocation until the message
 * carrying the attachment is queued (that transaction removes it). A later
 * sendFile of the same file to the same recipient finds it and resumes.
 *
 * Stored format (JSON, version 1; unchanged from the Node-only client): the
 * file's identity (`path`: FileInput.id), size and modification time, the
 * options it was prepared with, the key, the server slot, and the pointer's
 * fields other than the digest (which needs every ciphertext byte).
 */
import type { CryptoProvider } from '@sigilo/protocol';
import { fromBase64, toHex } from './bytes.js';
import type { Attachment } from './media/pointer.js';
import type { ClientStore } from './store/port.js';

export interface UploadState {
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

/** The store key of the upload state of file `id` to `to`: SHA-256(to ‖ UTF-8(id)) in hex, so the key names neither. */
export function uploadStateKey(crypto: CryptoProvider, to: Uint8Array, id: string): string {
  const name = new TextEncoder().encode(id);
  const input = new Uint8Array(to.length + name.length);
  input.set(to);
  input.set(name, to.length);
  return `attachment.upload.${toHex(crypto.sha256(input))}`;
}

export function loadUploadState(store: ClientStore, key: string): UploadState | undefined {
  const b = store.getMeta(key);
  if (!b) return undefined;
  try {
    const s = JSON.parse(new TextDecoder().decode(b)) as UploadState;
    return s.v === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveUploadState(store: ClientStore, key: string, s: UploadState | undefined): void {
  store.setMeta(key, s ? new TextEncoder().encode(JSON.stringify(s)) : undefined);
}

/** The pointer of a finished upload. */
export function stateAttachment(s: UploadState, digest: Uint8Array): Attachment {
  return {
    attachmentId: fromBase64(s.attachmentId), key: fromBase64(s.key), digest, size: s.size, encryptedSize: s.encryptedSize, contentType: s.contentType,
    fileName: s.fileName, thumbnail: s.thumbnail ? fromBase64(s.thumbnail) : undefined, width: s.width, height: s.height, durationMs: s.durationMs,
    voiceNote: s.voiceNote, expires: s.expires,
  };
}
