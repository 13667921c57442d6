/**
 * The browser's side of attachments (client.md §7.3): a File or Blob to send
 * as the core's FileInput (read a slice at a time, never whole), and a
 * download into a file of the origin private file system (OPFS), which keeps
 * what was verified across reloads so that a download resumes; the finished
 * file is a File the page can show or save (URL.createObjectURL) without
 * holding it in memory.
 */
import type { DownloadSink, FileInput } from '@sigilo/client';
import { blobSource, opfsSink } from './sources.js';

/** A Blob or File to send; its identity for resuming is its name, size and modification time. */
export function blobInput(blob: Blob, name = (blob as File).name || 'attachment'): FileInput {
  const mtimeMs = (blob as File).lastModified ?? 0;
  return { source: blobSource(blob), name, id: `blob:${name}:${blob.size}:${mtimeMs}`, mtimeMs };
}

/** Where downloads are kept in OPFS (one directory, files named by attachment). */
const DOWNLOADS = 'sigilo-downloads';

async function downloadsDirectory(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DOWNLOADS, { create: true });
}

/**
 * A resumable download sink: the OPFS file `<name>.part` (read back to resume);
 * close() gives it its final name `<name>`, abort() keeps it. `file()` is the
 * finished File.
 */
export async function opfsDownload(name: string): Promise<DownloadSink & { readonly path: string; file(): Promise<File> }> {
  const dir = await downloadsDirectory();
  const part = await opfsSink(`${name}.part`, dir);
  return {
    path: name,
    size: () => part.size(),
    write: (c) => part.write(c),
    truncate: (n) => part.truncate(n),
    abort: (r) => part.abort(r),
    async read(position, length) {
      await part.close(); // commit what was written so the file shows it
      const f = await part.handle.getFile();
      return new Uint8Array(await f.slice(position, position + length).arrayBuffer());
    },
    async close() {
      await part.close();
      const done = await dir.getFileHandle(name, { create: true });
      const w = await done.createWritable({ keepExistingData: false });
      // A stream copy inside OPFS: the file is never whole in memory.
      await (await part.handle.getFile()).stream().pipeTo(w);
      await dir.removeEntry(`${name}.part`);
    },
    async file() {
      return (await dir.getFileHandle(name)).getFile();
    },
  };
}

/** Forgets a finished or partial download kept in OPFS. */
export async function removeOpfsDownload(name: string): Promise<void> {
  const dir = await downloadsDirectory();
  for (const n of [name, `${name}.part`]) await dir.removeEntry(n).catch(() => {});
}
