/**
 * Attachments for Node (the core's AttachmentFiles port, client.md §7.3):
 * files by path. The core (attachment-upload.ts, attachment-download.ts)
 * prepares, encrypts, uploads, downloads and verifies; this file only opens a
 * file to send (a ByteSource over a file handle, its identity for resuming)
 * and a download's `.part` beside the output file, which becomes the output
 * file only once everything checked out. Thumbnails are drawn here
 * (thumbnail.ts) and hashes use node:crypto.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, resolve as resolvePath } from 'node:path';
import {
  AttachmentError, downloadAttachmentTo, fileExtras as coreFileExtras, loadUploadState, uploadAttachment, uploadStateKey as coreUploadStateKey,
  type Attachment, type AttachmentFiles, type ByteSource, type ClientStore, type DownloadOptions, type DownloadSink, type FileInput, type HashStream,
  type PreparedFile, type SendFileOptions, type ServerAddress, type UploadHost,
} from '@sigilo/client';
import type { ProtocolContext } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { BlockFileWriter } from './block-file-writer.js';
import { fileSource } from './file-source.js';
import { PinnedTransport } from './pinned-transport.js';
import { makeThumbnail } from './thumbnail.js';

function fileError(e: unknown, what: string): AttachmentError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory'
    : code === 'ENOSPC' ? 'the disk is full' : code ?? (e as Error).message;
  return new AttachmentError('FILE_ERROR', `cannot ${what} (${why})`);
}

/** SHA-256 from node:crypto, with copies (an upload snapshots it). */
export function nodeSha256(h: Hash = createHash('sha256')): HashStream {
  return { update: (d) => { h.update(d); }, digest: () => new Uint8Array(h.digest()), copy: () => nodeSha256(h.copy()) };
}

async function thumbnail(src: ByteSource, prepared: { contentType: string; orientation: number }): Promise<Uint8Array | undefined> {
  const bytes = await src.read(0, src.size);
  return makeThumbnail(bytes, prepared.contentType, prepared.orientation)?.jpeg;
}

/** The thumbnail (JPEG and PNG pictures up to THUMBNAIL_MAX_SOURCE bytes) and playing time (audio, video) of a prepared file. */
export function fileExtras(src: ByteSource, prepared: PreparedFile): Promise<{ thumbnail: Uint8Array | undefined; durationMs: number | undefined }> {
  return coreFileExtras({ thumbnail }, { source: src, name: prepared.fileName, id: '', mtimeMs: 0 }, prepared);
}

/** Opens a regular file to send: its handle as a ByteSource, its absolute path as its identity. */
export async function openFileInput(path: string): Promise<FileInput> {
  const abs = resolvePath(path);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO or device must not hang the open (it is refused below as not a regular file).
    handle = await open(abs, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e, `read ${basename(abs)}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AttachmentError('FILE_ERROR', `${basename(abs)} is not a regular file`);
    return {
      source: fileSource(handle, st.size), name: basename(abs), id: abs, mtimeMs: st.mtimeMs,
      async changed() {
        const after = await handle.stat();
        return after.size !== st.size || after.mtimeMs !== st.mtimeMs;
      },
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
}

/** The partial download beside the output file: the verified plaintext received so far. */
export const partPath = (outPath: string) => `${outPath}.part`;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A download's sink: `<out>.part`, written through a BlockFileWriter, read back
 * to resume; close() syncs it and gives it the output name (refusing to replace
 * a file that appeared meanwhile unless `overwrite`); abort() keeps it for a
 * resume unless it is empty.
 */
export async function openPartFile(outPath: string, options: { readonly overwrite?: boolean } = {}): Promise<DownloadSink & { readonly path: string }> {
  const out = resolvePath(outPath);
  const existsError = () => new AttachmentError('EXISTS', `${basename(out)} already exists; choose another name or allow overwriting (--force)`);
  if (!options.overwrite && await exists(out)) throw existsError();
  const part = partPath(out);
  let handle: FileHandle;
  try {
    handle = await open(part, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
  } catch (e) {
    throw fileError(e, `write ${basename(part)}`);
  }
  const wrapError = (e: unknown) => fileError(e, 'write the downloaded file');
  let writer: BlockFileWriter | undefined;
  let open_ = true;
  const settle = async () => {
    const w = writer;
    writer = undefined;
    await w?.flush();
  };
  const finish = async () => {
    if (!open_) return;
    open_ = false;
    await handle.close().catch(() => {});
  };
  return {
    path: out,
    async size() {
      await settle().catch(() => {});
      return (await handle.stat()).size;
    },
    async read(position, length) {
      await settle();
      const buf = new Uint8Array(length);
      const { bytesRead } = await handle.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    },
    async write(chunk) {
      writer ??= new BlockFileWriter(handle, (await handle.stat()).size, { wrapError });
      const w = writer.push(chunk);
      if (w) await w;
    },
    async truncate(n) {
      await settle().catch(() => {});
      await handle.truncate(n);
    },
    async close() {
      try {
        await settle();
        await handle.sync();
      } catch (e) {
        throw e instanceof AttachmentError ? e : fileError(e, `write ${basename(part)}`);
      }
      await finish();
      try {
        if (options.overwrite) {
          await rename(part, out);
        } else {
          // link() refuses to replace a file that appeared meanwhile; rename() would not.
          await link(part, out);
          await unlink(part);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existsError();
        throw fileError(e, `create ${basename(out)}`);
      }
    },
    async abort() {
      // What was verified is kept for a resume; an empty .part (nothing verified yet) is not worth keeping.
      await settle().catch(() => {});
      const empty = open_ ? await handle.stat().then((st) => st.size === 0, () => false) : await stat(part).then((st) => st.size === 0, () => false);
      await finish();
      if (empty) await unlink(part).catch(() => {});
    },
  };
}

/** The AttachmentFiles port of the Node client: files by path. */
export const nodeAttachmentFiles: AttachmentFiles = {
  openFile: openFileInput,
  openDownload: openPartFile,
  thumbnail,
  sha256: () => nodeSha256(),
};

// ------------------------------------------------------------------ by path, outside a SigiloClient

/** The store key of the upload state of `path` to `to` (SHA-256 of the recipient and the absolute path). */
export function uploadStateKey(to: Uint8Array, path: string): string {
  return coreUploadStateKey(nodeCrypto, to, resolvePath(path));
}

/** Whether an unfinished upload of this file to `to` is kept (sendFile would resume it). */
export function hasPendingUpload(store: ClientStore, to: Uint8Array, path: string): boolean {
  return loadUploadState(store, uploadStateKey(to, path)) !== undefined;
}

/** Encrypts and uploads the file at `path` to the server `host.server` over a pinned transport (the core's uploadAttachment). */
export async function uploadFile(host: Omit<UploadHost, 'transport'> & { readonly server: ServerAddress }, stateKey: string, path: string, options: SendFileOptions = {}): Promise<Attachment> {
  const input = await openFileInput(path);
  try {
    return await uploadAttachment({ ...host, transport: new PinnedTransport(host.server), thumbnail, sha256: () => nodeSha256() }, stateKey, input, options);
  } finally {
    await input.close?.().catch(() => {});
  }
}

/** Downloads, verifies and decrypts an attachment to `outPath` from the server `server` (the core's downloadAttachmentTo into a .part file). */
export async function downloadFile(server: ServerAddress, ctx: ProtocolContext, a: Attachment, outPath: string, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
  const sink = await openPartFile(outPath, options);
  const size = await downloadAttachmentTo({ transport: new PinnedTransport(server), ctx, sha256: () => nodeSha256() }, a, sink, options);
  return { path: sink.path, size };
}

export { BlockFileWriter } from './block-file-writer.js';
export { pinnedGet, type GetResponse } from './pinned-get.js';
