/** A ByteSource over an open file handle (the Node side of the core's ByteSource port). */
import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from '@sigilo/client';

export function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(position, length) {
      const n = Math.max(0, Math.min(length, size - position));
      const buf = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const { bytesRead } = await handle.read(buf, done, n - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === n ? buf : buf.subarray(0, done);
    },
  };
}
