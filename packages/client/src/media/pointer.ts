/**
 * The SDK's view of an attachment pointer (content.proto AttachmentPointer,
 * attachments.md §Pointer), and its encoding in the local store: the
 * pointers of one message as the `attachments` field of an otherwise empty
 * DataMessage (no schema of its own, and the store's copy is byte for byte
 * what the wire carries). The key is in here: only ever stored encrypted.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AttachmentPointerSchema, DataMessageSchema, type AttachmentPointer } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { ClientError } from '../errors.js';

export interface Attachment {
  /** 16 bytes: the server's id (GET /v1/attachments/<hex>). */
  readonly attachmentId: Uint8Array;
  /** 32 bytes: the Cobblestone-256 key. */
  readonly key: Uint8Array;
  /** SHA-256 of the whole ciphertext. */
  readonly digest: Uint8Array;
  /** Plaintext size in bytes (before padding). */
  readonly size: number;
  /** Bytes on the server. */
  readonly encryptedSize: number;
  /** MIME type as the sender determined it (a hint for display, never trusted). */
  readonly contentType: string;
  /** As the sender named it: sanitise before use (safeFileName). */
  readonly fileName: string;
  /** A small JPEG preview (images), or undefined. */
  readonly thumbnail: Uint8Array | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly durationMs: number | undefined;
  readonly voiceNote: boolean;
  /** Unix ms: the server deletes the blob then. */
  readonly expires: number;
}

export function attachmentFromPointer(p: AttachmentPointer): Attachment {
  return {
    attachmentId: p.attachmentId,
    key: p.key,
    digest: p.digest,
    size: Number(p.size),
    encryptedSize: Number(p.encryptedSize),
    contentType: p.contentType,
    fileName: p.fileName,
    thumbnail: p.thumbnail.length ? p.thumbnail : undefined,
    width: p.width || undefined,
    height: p.height || undefined,
    durationMs: p.durationMs || undefined,
    voiceNote: p.voiceNote,
    expires: Number(p.expires),
  };
}

export function pointerFromAttachment(a: Attachment): AttachmentPointer {
  return create(AttachmentPointerSchema, {
    attachmentId: a.attachmentId,
    key: a.key,
    digest: a.digest,
    size: BigInt(a.size),
    encryptedSize: BigInt(a.encryptedSize),
    contentType: a.contentType,
    fileName: a.fileName,
    thumbnail: a.thumbnail ?? new Uint8Array(0),
    width: a.width ?? 0,
    height: a.height ?? 0,
    durationMs: a.durationMs ?? 0,
    voiceNote: a.voiceNote,
    expires: BigInt(a.expires),
  });
}

/** Whether a received pointer is usable at all (ids and keys of the right length). */
export function isWellFormedPointer(p: AttachmentPointer): boolean {
  return p.attachmentId.length === 16 && p.key.length === 32 && p.digest.length === 32 && p.encryptedSize > 0n
    && p.size <= p.encryptedSize && p.encryptedSize <= BigInt(Number.MAX_SAFE_INTEGER);
}

/** Most attachments kept from one received message; larger thumbnails are dropped (a thumbnail is a few KB). */
export const MAX_ATTACHMENTS_PER_MESSAGE = 32;
export const MAX_THUMBNAIL_BYTES = 64 * 1024;

/**
 * Control characters and those that reorder or hide text: shown, "invoice\u202Efdp.exe" reads "invoiceexe.pdf".
 * Not the zero-width joiners, which emoji and some scripts need.
 */
// eslint-disable-next-line no-control-regex
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** A file name without UNSHOWABLE characters: as received, and as sent (the sender's own bubble shows it too). */
export const showableFileName = (name: string): string => name.replace(UNSHOWABLE, '');

/**
 * The usable pointers of a received message: malformed ones are left out, the
 * peer's MIME type and file name are bounded, the name without UNSHOWABLE characters
 * (it is still to be sanitised before it names a file: safeFileName).
 */
export function acceptPointers(pointers: readonly AttachmentPointer[]): Attachment[] {
  return pointers.filter(isWellFormedPointer).slice(0, MAX_ATTACHMENTS_PER_MESSAGE).map((p) => {
    const a = attachmentFromPointer(p);
    return {
      ...a,
      contentType: /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$/i.test(a.contentType) ? a.contentType.toLowerCase() : 'application/octet-stream',
      fileName: [...showableFileName(a.fileName)].slice(0, 255).join(''),
      thumbnail: a.thumbnail && a.thumbnail.length <= MAX_THUMBNAIL_BYTES ? a.thumbnail : undefined,
    };
  });
}

export function encodeAttachments(list: readonly Attachment[]): Uint8Array {
  return toBinary(DataMessageSchema, create(DataMessageSchema, { attachments: list.map(pointerFromAttachment) }));
}

export function decodeAttachments(bytes: Uint8Array | undefined): Attachment[] | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  let dm;
  try {
    dm = fromBinary(DataMessageSchema, bytes, { readUnknownFields: false });
  } catch {
    throw new ClientError('INVALID_INPUT', 'a stored message\'s attachment list is damaged: restore the local store from a backup or link this device again');
  }
  return dm.attachments.map(attachmentFromPointer);
}
