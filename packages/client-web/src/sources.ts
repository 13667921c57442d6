/**
 * Attachment byte sources and sinks in the browser: a File or Blob is read a
 * slice at a time (never whole); a download goes to a file in the origin
 * private file system (OPFS, kept across reloads so it can resume) or to any
 * WritableStream (a save dialog's stream, a Response for a download link).
 */
import type { ByteSink, ByteSource } from './ports.js';

export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    async read(position, length) {
      const end = Math.min(blob.size, position + length);
      return new Uint8Array(await blob.slice(Math.min(position, end), end).arrayBuffer());
    },
    slice: (position, length) => blob.slice(position, Math.min(blob.size, position + length)),
  };
}

/** Bytes written to an OPFS file are committed (made visible and kept) at least every this many bytes. */
const OPFS_CHECKPOINT = 8 * 1024 * 1024;

/**
 * A resumable sink: a file in the origin private file system. Chromium's
 * FileSystemWritableFileStream writes into a swap file and commits on close,
 * so the sink commits every OPFS_CHECKPOINT bytes: after a reload at most
 * that much is downloaded again.
 */
export async function opfsSink(fileName: string, directory?: FileSystemDirectoryHandle): Promise<ByteSink & { readonly handle: FileSystemFileHandle }> {
  const dir = directory ?? await navigator.storage.getDirectory();
  const handle = await dir.getFileHandle(fileName, { create: true });
  let writable: FileSystemWritableFileStream | undefined;
  let size = (await handle.getFile()).size;
  let sinceCommit = 0;
  const open = async () => {
    if (!writable) {
      writable = await handle.createWritable({ keepExistingData: true });
      await writable.seek(size);
    }
    return writable;
  };
  const commit = async () => {
    if (writable) { const w = writable; writable = undefined; await w.close(); }
    sinceCommit = 0;
  };
  return {
    handle,
    size: async () => size,
    async write(chunk) {
      const w = await open();
      await w.write(chunk as Uint8Array<ArrayBuffer>);
      size += chunk.length;
      sinceCommit += chunk.length;
      if (sinceCommit >= OPFS_CHECKPOINT) await commit();
    },
    async truncate(n) {
      const w = await open();
      await w.truncate(n);
      size = Math.min(size, n);
      await commit();
    },
    close: commit,
    // What was written stays (committed): the next attempt resumes from it.
    abort: commit,
  };
}

/** A non-resumable sink over a WritableStream; an abort aborts the stream. */
export function streamSink(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  let size = 0;
  return {
    size: async () => size,
    async write(chunk) { await writer.ready; await writer.write(chunk); size += chunk.length; },
    async truncate(n) { if (n !== size) throw new TypeError('a stream sink cannot go back; download again from the start'); },
    async close() { await writer.close(); },
    async abort(reason) { await writer.abort(reason); },
  };
}
