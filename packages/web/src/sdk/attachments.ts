/**
 * Attachments on the page (issue 13 point 4): files waiting to be sent (with progress, cancel and retry),
 * downloads (with progress, cancel and retry) and the decrypted bytes as blob: URLs for <img>, <video>,
 * <audio> and "save". The Worker does the work (attachment-port.ts); nothing here is persisted.
 */
import { signal } from '@preact/signals';
import { removeOpfsDownload } from '@sigilo/client-web';
import type { MessageRow } from './types.js';
import { errorCode } from './client.js';
import { fromHex, hex } from './ids.js';
import { refreshConversation, refreshConversations } from './refresh.js';
import { attachmentsAvailable, portCancel, portDownload, portSend } from './attachment-port.js';
import { t } from '../i18n/index.js';
import { forgetThumbnails } from '../media-format.js';

/**
 * Downloads up to this size are read into memory and their decrypted file removed from the origin private file
 * system (which the browser keeps unencrypted on disk); larger ones stay there to be saved without filling memory.
 */
export const IN_MEMORY_BYTES = 64 * 1024 * 1024;

export type MediaKind = 'image' | 'video' | 'voice' | 'audio' | 'file';

/** How a file is shown, from its type (a hint from the sender, never trusted for anything but display). */
export function mediaKind(a: { contentType: string; voiceNote?: boolean }): MediaKind {
  if (a.voiceNote) return 'voice';
  if (/^image\/(jpeg|png|gif|webp)$/.test(a.contentType)) return 'image';
  if (/^video\//.test(a.contentType)) return 'video';
  if (/^audio\//.test(a.contentType)) return 'audio';
  return 'file';
}

export interface Transfer {
  readonly kind: 'upload' | 'download';
  readonly done: number;
  readonly total: number;
  readonly phase: 'running' | 'failed' | 'cancelled';
  /** A sentence for the person when failed. */
  readonly error?: string;
}

/** Transfers in flight or stopped, by key (an upload's id, or a download's `<message hex>.<index>`). */
export const transfers = signal<ReadonlyMap<string, Transfer>>(new Map());

/** A file being sent: shown as an outgoing bubble until its message exists. */
export interface PendingUpload {
  readonly key: string;
  readonly chat: string;
  readonly file: Blob;
  readonly name: string;
  readonly kind: MediaKind;
  readonly voiceNote: boolean;
  /** A blob: URL to preview pictures and videos while they upload. */
  readonly previewUrl: string | undefined;
  readonly durationMs: number | undefined;
  /** Text sent with the file (shown under it). */
  readonly caption: string | undefined;
  readonly createdAt: number;
}

export const pendingUploads = signal<readonly PendingUpload[]>([]);

/** Decrypted attachments: key → blob: URL (revoked when the app forgets them). */
export const mediaUrls = signal<ReadonlyMap<string, string>>(new Map());

/** The Blob behind each blob: URL this module made (read without fetch: the CSP allows no fetch of blob: URLs). */
const blobs = new Map<string, Blob>();
function urlFor(blob: Blob): string {
  const url = URL.createObjectURL(blob);
  blobs.set(url, blob);
  return url;
}
function revoke(url: string): void {
  URL.revokeObjectURL(url);
  blobs.delete(url);
}
export const blobOf = (url: string): Blob | undefined => blobs.get(url);

export const attachmentKey = (messageId: Uint8Array, index: number): string => `${hex(messageId)}.${index}`;

function setTransfer(key: string, v: Transfer | undefined): void {
  const next = new Map(transfers.value);
  if (v) next.set(key, v); else next.delete(key);
  transfers.value = next;
}

/** The Worker cancelled a transfer because the person asked: not an error to show. */
const cancelled = new Set<string>();

function failureText(e: unknown, kind: 'upload' | 'download'): string {
  const d = t();
  const code = errorCode(e);
  // Attachment errors carry their reason from the Worker (TOO_LARGE, QUOTA_EXCEEDED, EXPIRED, TAMPERED, …).
  const reason = (e as { reason?: string }).reason;
  if (code === 'UNKNOWN_METHOD') return d.attachmentsUnavailable;
  if (reason === 'TOO_LARGE') return d.fileTooLarge;
  if (reason === 'QUOTA_EXCEEDED') return d.quotaExceeded;
  if (kind === 'download' && (reason === 'EXPIRED' || code === 'NOT_FOUND')) return d.attachmentExpired;
  if (reason === 'MALFORMED_MEDIA' || reason === 'UNSUPPORTED_METADATA') return d.mediaUnreadable;
  return kind === 'upload' ? d.uploadFailed : d.downloadFailed;
}

let serial = 0;

/** Sends a file (or a recorded voice note) to a chat; the bubble shows its progress at once. */
export function sendAttachment(chat: string, file: Blob, o: { name?: string; voiceNote?: boolean; durationMs?: number; caption?: string } = {}): string {
  const name = o.name ?? (file instanceof File ? file.name : 'file');
  const voiceNote = !!o.voiceNote;
  const kind = mediaKind({ contentType: file.type, voiceNote });
  const key = `up-${Date.now().toString(36)}-${(serial++).toString(36)}`;
  const previewUrl = kind === 'image' || kind === 'video' || kind === 'voice' ? urlFor(file) : undefined;
  pendingUploads.value = [...pendingUploads.value, { key, chat, file, name, kind, voiceNote, previewUrl, durationMs: o.durationMs, caption: o.caption || undefined, createdAt: Date.now() }];
  void runUpload(key);
  return key;
}

async function runUpload(key: string): Promise<void> {
  const p = pendingUploads.value.find((x) => x.key === key);
  if (!p) return;
  cancelled.delete(key);
  setTransfer(key, { kind: 'upload', done: 0, total: p.file.size, phase: 'running' });
  try {
    await portSend(fromHex(p.chat), p.file, { name: p.name, voiceNote: p.voiceNote, transfer: key, ...(p.caption ? { caption: p.caption } : {}) }, (done, total) => {
      const cur = transfers.value.get(key);
      if (cur?.phase === 'running') setTransfer(key, { ...cur, done, total });
    });
    forgetUpload(key);
    await Promise.all([refreshConversation(p.chat), refreshConversations()]).catch(() => undefined);
  } catch (e) {
    const cur = transfers.value.get(key);
    if (cancelled.has(key)) setTransfer(key, { kind: 'upload', done: cur?.done ?? 0, total: cur?.total ?? p.file.size, phase: 'cancelled', error: t().uploadCancelled });
    else setTransfer(key, { kind: 'upload', done: cur?.done ?? 0, total: cur?.total ?? p.file.size, phase: 'failed', error: failureText(e, 'upload') });
  }
}

export function cancelUpload(key: string): void {
  cancelled.add(key);
  void portCancel(key);
}

/** Sends a cancelled or failed file again: the SDK resumes the upload where it stopped. */
export function retryUpload(key: string): void {
  void runUpload(key);
}

/** Drops a file that was not sent (after cancel or failure). */
export function forgetUpload(key: string): void {
  const p = pendingUploads.value.find((x) => x.key === key);
  if (p?.previewUrl) revoke(p.previewUrl);
  pendingUploads.value = pendingUploads.value.filter((x) => x.key !== key);
  setTransfer(key, undefined);
  cancelled.delete(key);
}

/** Downloads and decrypts attachment `index` of a message; its blob: URL (also kept in mediaUrls). */
export async function downloadAttachment(chat: string, m: MessageRow, index: number): Promise<string | undefined> {
  const key = attachmentKey(m.messageId, index);
  const have = mediaUrls.value.get(key);
  if (have) return have;
  if (transfers.value.get(key)?.phase === 'running') return undefined;
  const a = m.attachments?.[index];
  cancelled.delete(key);
  setTransfer(key, { kind: 'download', done: 0, total: a?.size ?? 0, phase: 'running' });
  try {
    const file = await portDownload(fromHex(chat), m.messageId, index, key, (done, total) => {
      const cur = transfers.value.get(key);
      if (cur?.phase === 'running') setTransfer(key, { ...cur, done, total });
    });
    // The sender's type is a hint; a picture is shown as one, anything else is only ever saved (never rendered as HTML).
    const type = a && mediaKind(a) !== 'file' ? a.contentType : 'application/octet-stream';
    let typed: Blob;
    if (a && file.size <= IN_MEMORY_BYTES) {
      // The decrypted copy leaves the disk: OPFS is not encrypted, the page keeps the bytes in memory while it runs.
      typed = new Blob([await file.arrayBuffer()], { type });
      await removeOpfsDownload(hex(a.attachmentId)).catch(() => undefined);
    } else {
      typed = new Blob([file], { type });
    }
    const url = urlFor(typed);
    const next = new Map(mediaUrls.value);
    next.set(key, url);
    mediaUrls.value = next;
    setTransfer(key, undefined);
    return url;
  } catch (e) {
    const cur = transfers.value.get(key);
    const base = { kind: 'download' as const, done: cur?.done ?? 0, total: cur?.total ?? a?.size ?? 0 };
    setTransfer(key, cancelled.has(key) ? { ...base, phase: 'cancelled', error: t().downloadCancelled } : { ...base, phase: 'failed', error: failureText(e, 'download') });
    return undefined;
  }
}

/**
 * Forgets every decrypted copy the page holds of a message (it expired, was deleted or wiped): its blob: URLs
 * (pictures, files, thumbnails) are revoked and its transfers dropped. The OPFS copy is the engine's to delete.
 */
export function forgetMessageMedia(messageHex: string): void {
  const prefix = `${messageHex}.`;
  let changed = false;
  const next = new Map(mediaUrls.value);
  for (const [key, url] of mediaUrls.value) {
    if (!key.startsWith(prefix)) continue;
    revoke(url);
    next.delete(key);
    changed = true;
  }
  if (changed) mediaUrls.value = next;
  for (const key of transfers.value.keys()) if (key.startsWith(prefix)) setTransfer(key, undefined);
  forgetThumbnails(messageHex);
}

/** How many decrypted blob: URLs the page holds (for tests). */
export const liveMediaUrls = (): number => blobs.size;

export function cancelDownload(key: string): void {
  cancelled.add(key);
  void portCancel(key);
}

export { attachmentsAvailable };
