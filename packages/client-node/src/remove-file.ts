/**
 * Deleting a downloaded attachment file when its disappearing message expires (client.md §14): the AttachmentFiles
 * port's `remove` on Node.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';

/** The partial download beside an output file (as attachments.ts names it). */
const partOf = (outPath: string) => `${outPath}.part`;

/**
 * Deletes a downloaded file and its partial download (a disappearing message expired, client.md §14): overwritten
 * with zeros first, then unlinked. On a copy-on-write file system or an SSD the old blocks may survive the overwrite;
 * client.md §14 says so.
 */
export async function removeDownloaded(path: string): Promise<void> {
  for (const p of [path, partOf(path)]) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(p, 'r+');
      const size = (await handle.stat()).size;
      const zeros = new Uint8Array(Math.min(size, 1 << 20));
      for (let at = 0; at < size; at += zeros.length) await handle.write(zeros, 0, Math.min(zeros.length, size - at), at);
      await handle.sync();
    } catch { /* missing, or not writable: unlinked below if it exists */ } finally {
      await handle?.close().catch(() => {});
    }
    await unlink(p).catch(() => {});
  }
}
