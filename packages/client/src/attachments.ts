/**
 * Attachments in the core (spec/attachments.md): the errors, peers' file
 * names made safe, preparing a file (type, metadata removal) from a
 * ByteSource, and the options of transfers. The upload is in
 * attachment-upload.ts, the download in attachment-download.ts; the platform
 * only opens files (the AttachmentFiles port, ports.ts).
 */
import type { ProtocolContext } from '@sigilo/protocol';
import { toHex, utf8Length } from './bytes.js';
import { ClientError, type ClientErrorCode } from './errors.js';
import { stripGif } from './media/gif.js';
import { stripJpeg } from './media/jpeg.js';
import { stripPng } from './media/png.js';
import { type Attachment, showableFileName } from './media/pointer.js';
import { SNIFF_BYTES, sniffMime } from './media/sniff.js';
import { type ByteSource, type Piece, MediaFormatError, piecesSize } from './media/source.js';
import { orientedSize } from './media/orientation.js';
import { stripWebp } from './media/webp.js';
import type { HashStream, Transport } from './ports.js';
import type { ClientStore } from './store/port.js';

export type { Attachment } from './media/pointer.js';

// ------------------------------------------------------------------ errors

/** Why an attachment operation failed; `code` is the ClientError code it maps to. */
export type AttachmentErrorReason =
  /** A chunk failed authentication: the server's copy was altered. */
  | 'TAMPERED'
  /** The server's copy is shorter than the pointer says, or ends before its final chunk. */
  | 'TRUNCATED'
  /** The server's copy is longer than the pointer says. */
  | 'EXTENDED'
  /** The pointer's key does not open the blob (key commitment). */
  | 'WRONG_KEY'
  /** Every chunk decrypted but the ciphertext's SHA-256 is not the pointer's digest. */
  | 'DIGEST_MISMATCH'
  /** A received pointer whose fields cannot belong together (lengths, sizes). */
  | 'BAD_POINTER'
  /** The server no longer has it (retention expired) or never got it. */
  | 'EXPIRED'
  | 'QUOTA_EXCEEDED'
  /** Larger than the server accepts. */
  | 'TOO_LARGE'
  /** The server's disk is full. */
  | 'SERVER_FULL'
  /** The server refused the upload for another reason. */
  | 'UPLOAD_REJECTED'
  /** The file says it is a picture but cannot be parsed, so its metadata cannot be removed. */
  | 'MALFORMED_MEDIA'
  /** A picture format whose metadata this client cannot remove (HEIC, AVIF, TIFF). */
  | 'UNSUPPORTED_METADATA'
  /** A voice note that is not audio. */
  | 'NOT_AUDIO'
  /** The file changed while it was being sent. */
  | 'FILE_CHANGED'
  /** The file cannot be read or written (missing, a directory, no permission). */
  | 'FILE_ERROR'
  /** The output file exists and overwriting was not asked for. */
  | 'EXISTS'
  /** Cancelled through the AbortSignal: resumable. */
  | 'ABORTED'
  /** The connection kept failing: resumable. */
  | 'INTERRUPTED';

const REASON_CODE: Record<AttachmentErrorReason, ClientErrorCode> = {
  TAMPERED: 'INVALID_INPUT', TRUNCATED: 'INVALID_INPUT', EXTENDED: 'INVALID_INPUT', WRONG_KEY: 'INVALID_INPUT', DIGEST_MISMATCH: 'INVALID_INPUT',
  BAD_POINTER: 'INVALID_INPUT', EXPIRED: 'NOT_FOUND', QUOTA_EXCEEDED: 'SERVER_ERROR', TOO_LARGE: 'SERVER_ERROR', SERVER_FULL: 'SERVER_ERROR',
  UPLOAD_REJECTED: 'SERVER_ERROR', MALFORMED_MEDIA: 'INVALID_INPUT', UNSUPPORTED_METADATA: 'INVALID_INPUT', NOT_AUDIO: 'INVALID_INPUT',
  FILE_CHANGED: 'INVALID_INPUT', FILE_ERROR: 'INVALID_INPUT', EXISTS: 'INVALID_INPUT', ABORTED: 'CONNECTION_FAILED', INTERRUPTED: 'CONNECTION_FAILED',
};

export class AttachmentError extends ClientError {
  readonly reason: AttachmentErrorReason;
  /** For ABORTED and INTERRUPTED: the transfer can be resumed by running it again. */
  readonly resumable: boolean;
  constructor(reason: AttachmentErrorReason, message: string, serverCode?: string) {
    super(REASON_CODE[reason], message, serverCode);
    this.name = 'AttachmentError';
    this.reason = reason;
    this.resumable = reason === 'ABORTED' || reason === 'INTERRUPTED';
  }
}

/** Failures after which a partial download is worth nothing (it is deleted). */
export const INTEGRITY: ReadonlySet<AttachmentErrorReason> = new Set(['TAMPERED', 'TRUNCATED', 'EXTENDED', 'WRONG_KEY', 'DIGEST_MISMATCH', 'BAD_POINTER', 'EXPIRED']);

// ------------------------------------------------------------------ file names

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Longest file name kept, in UTF-8 bytes (most file systems allow 255). */
const MAX_NAME_BYTES = 200;

/**
 * A peer's file name made safe to create in a directory: no path separators,
 * no control or bidirectional-override characters, no leading dots (hidden
 * files, "..") or spaces, no trailing dots or spaces, no Windows device names,
 * at most 200 UTF-8 bytes (the extension kept). Empty results become
 * "attachment" (with an extension from the MIME type when one is known).
 */
export function safeFileName(name: string, contentType = ''): string {
  let s = name.normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (utf8Length(s) > MAX_NAME_BYTES) {
    const ext = /\.[^.]{1,16}$/.exec(s)?.[0] ?? '';
    let stem = s.slice(0, s.length - ext.length);
    while (utf8Length(stem + ext) > MAX_NAME_BYTES) stem = [...stem].slice(0, -1).join('');
    s = stem + ext;
  }
  if (s === '' || s === '_') {
    const sub = /^[a-z]+\/([a-z0-9]+)$/.exec(contentType)?.[1];
    s = sub && sub !== 'octet' ? `attachment.${sub === 'jpeg' ? 'jpg' : sub}` : 'attachment';
  }
  return s;
}

// ------------------------------------------------------------------ preparing a file

/** Pictures larger than this get no thumbnail (decoding reads them whole). */
export const THUMBNAIL_MAX_SOURCE = 32 * 1024 * 1024;

export interface PreparedFile {
  /** What is encrypted (before padding): ranges of the file and replacement bytes. */
  readonly pieces: Piece[];
  readonly size: number;
  readonly contentType: string;
  readonly fileName: string;
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** Exif orientation of a JPEG (1 when none). */
  readonly orientation: number;
  /** Kinds of metadata removed ("Exif", "XMP", "tEXt", …); empty when none or kept. */
  readonly removed: string[];
}

interface StripResult { readonly pieces: Piece[]; readonly width: number; readonly height: number; readonly removed: string[]; readonly orientation?: number }
const STRIPPERS: Record<string, ((src: ByteSource) => Promise<StripResult>) | undefined> = {
  'image/jpeg': stripJpeg, 'image/png': stripPng, 'image/webp': stripWebp, 'image/gif': stripGif,
};

/**
 * Works out what to send for a file: its MIME type (magic bytes, then the
 * extension), and for JPEG, PNG, WebP and GIF pictures the pieces that make the
 * same picture without its metadata (unless `keepMetadata`). A file that says it
 * is such a picture but cannot be parsed is refused (MALFORMED_MEDIA) rather
 * than sent with its metadata; so are HEIC/HEIF, AVIF and TIFF pictures
 * (UNSUPPORTED_METADATA), whose metadata this client cannot remove.
 */
export async function prepareFile(src: ByteSource, name: string, options: { keepMetadata?: boolean; voiceNote?: boolean } = {}): Promise<PreparedFile> {
  const fileName = showableFileName(name);
  const head = await src.read(0, SNIFF_BYTES);
  const contentType = sniffMime(head, fileName);
  if (options.voiceNote && !contentType.startsWith('audio/')) {
    throw new AttachmentError('NOT_AUDIO', `a voice note must be an audio file; this one looks like ${contentType}`);
  }
  const whole: Piece[] = src.size > 0 ? [{ from: 0, to: src.size }] : [];
  const base = { pieces: whole, size: src.size, contentType, fileName, width: undefined, height: undefined, orientation: 1, removed: [] };
  const strip = STRIPPERS[contentType];
  if (!strip) {
    if (!options.keepMetadata && /^image\/(heic|heif|avif|tiff)$/.test(contentType)) {
      throw new AttachmentError('UNSUPPORTED_METADATA', `${contentType} pictures can carry location and camera metadata that this client cannot remove: convert it to JPEG or PNG, or send it unchanged with --keep-metadata`);
    }
    return base;
  }
  let r: StripResult;
  try {
    r = await strip(src);
  } catch (e) {
    if (!(e instanceof MediaFormatError)) throw e;
    if (options.keepMetadata) return base; // sent unchanged as asked: no dimensions
    throw new AttachmentError('MALFORMED_MEDIA', `the file looks like ${contentType} but cannot be read (${e.message}), so its metadata cannot be removed: repair it, or send it unchanged with --keep-metadata`);
  }
  const orientation = r.orientation ?? 1;
  const shown = orientedSize(orientation, r.width, r.height);
  if (options.keepMetadata) return { ...base, width: shown.width, height: shown.height, orientation };
  return { pieces: r.pieces, size: piecesSize(r.pieces), contentType, fileName, width: shown.width, height: shown.height, orientation, removed: r.removed };
}

// ------------------------------------------------------------------ transfers

export const attachmentUrlPath = (id: Uint8Array) => `/v1/attachments/${toHex(id)}`;

/** Attempts in a row without progress before a transfer gives up. */
export const MAX_FAILED_ATTEMPTS = 4;

// ------------------------------------------------------------------ upload

export interface AttachmentSlotInfo {
  readonly attachmentId: Uint8Array;
  readonly uploadPath: string;
  readonly uploadToken: string;
  readonly expires: number;
}

/** What the SDK gives the uploader: the store (for the resumable state), crypto, the transport, and a way to reserve a slot. */
export interface UploadHost {
  readonly store: ClientStore;
  readonly ctx: ProtocolContext;
  readonly now: () => number;
  readonly transport: Transport;
  /** AllocateAttachment over the authenticated WebSocket. */
  allocate(encryptedSize: number): Promise<AttachmentSlotInfo>;
  /** The platform's thumbnails (AttachmentFiles.thumbnail). */
  thumbnail?(source: ByteSource, prepared: PreparedFile): Promise<Uint8Array | undefined>;
  /** The platform's SHA-256 (AttachmentFiles.sha256); the portable one otherwise. */
  sha256?(): HashStream;
}

export interface TransferOptions {
  /** Bytes of ciphertext transferred so far, of the total: called for every block (throttle drawing in the caller). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface SendFileOptions extends TransferOptions {
  readonly keepMetadata?: boolean;
  readonly voiceNote?: boolean;
}

// ------------------------------------------------------------------ download

export interface DownloadOptions extends TransferOptions {
  /** Replace an existing file at the output path (default: refuse with EXISTS). */
  readonly overwrite?: boolean;
}
