/**
 * The default blob store: one file per blob in DATA/attachments (mode 0600).
 * A partial upload is `<id>.part`; completing it fsyncs the file, renames it
 * to `<id>` and fsyncs the directory, so a complete blob survives a crash or
 * power loss from the moment `complete` returns. Files are opened with
 * O_NOFOLLOW: a symlink planted in the directory is never followed.
 *
 * Writes stream straight from the request: chunks that arrive while a write is
 * in flight are gathered and written with one positional writev, the source
 * is paused above WRITE_HIGH_WATER bytes waiting for the disk (so memory per
 * upload stays bounded) and resumed when the write returns.
 */
import { constants, fdatasync, ftruncate, mkdirSync, writev } from 'node:fs';
import { open, opendir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SourceIntake } from './intake.js';
import {
  checkBlobId, BLOB_ID_PATTERN, type AppendResult, type BlobId, type BlobListEntry, type BlobReader, type BlobState, type BlobStore,
} from './port.js';

/** Bytes received but not yet written above which the source is paused. */
export const WRITE_HIGH_WATER = 1024 * 1024;

const PART = '.part';
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

const isCode = (e: unknown, code: string) => (e as NodeJS.ErrnoException | null)?.code === code;

/** Writes every buffer at `position`, continuing after short writes; calls back with the bytes written and the error that stopped it, if any. */
function writeAll(fd: number, bufs: Buffer[], position: number, done: (err: NodeJS.ErrnoException | null, written: number) => void): void {
  let written = 0;
  const step = (list: Buffer[]) => {
    writev(fd, list, position + written, (err, n) => {
      written += n ?? 0;
      if (err) return done(err, written);
      let rest = n;
      let i = 0;
      while (i < list.length && rest >= list[i]!.length) rest -= list[i++]!.length;
      if (i === list.length) return done(null, written);
      if (n === 0) return done(Object.assign(new Error('the disk accepted no bytes'), { code: 'ENOSPC' }), written);
      const remaining = list.slice(i);
      remaining[0] = remaining[0]!.subarray(rest);
      step(remaining);
    });
  };
  step(bufs);
}

export class FsBlobStore implements BlobStore {
  readonly name = 'fs';
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  #final(id: BlobId): string { return join(this.dir, checkBlobId(id)); }
  #part(id: BlobId): string { return join(this.dir, checkBlobId(id) + PART); }

  async #size(path: string): Promise<number | undefined> {
    try {
      const st = await stat(path);
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  async state(id: BlobId): Promise<BlobState | undefined> {
    const complete = await this.#size(this.#final(id));
    if (complete !== undefined) return { complete: true, bytes: complete };
    const partial = await this.#size(this.#part(id));
    return partial === undefined ? undefined : { complete: false, bytes: partial };
  }

  async create(id: BlobId): Promise<void> {
    if ((await this.#size(this.#final(id))) !== undefined) throw new Error('the blob is already complete');
    const h = await open(this.#part(id), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW, 0o600);
    await h.close();
  }

  async append(id: BlobId, offset: number, source: Readable, maxBytes: number): Promise<AppendResult> {
    const complete = await this.#size(this.#final(id));
    if (complete !== undefined) return { status: 'conflict', offset: complete, written: 0 };
    let handle;
    try {
      handle = await open(this.#part(id), constants.O_WRONLY | NOFOLLOW | (offset === 0 ? constants.O_CREAT : 0), 0o600);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return { status: 'conflict', offset: 0, written: 0 };
      if (isCode(e, 'ENOSPC')) return { status: 'no-space', offset: 0, written: 0 };
      throw e;
    }
    const size = (await handle.stat()).size;
    if (size !== offset) {
      await handle.close();
      return { status: 'conflict', offset: size, written: 0 };
    }
    const fd = handle.fd;
    return new Promise<AppendResult>((resolve, reject) => {
      let position = offset;
      let writing = false;
      let failure: NodeJS.ErrnoException | undefined;

      const finish = () => {
        const settle = () => {
          fdatasync(fd, (syncErr) => {
            handle.close().then(() => {
              const err = failure ?? syncErr ?? undefined;
              if (err && !isCode(err, 'ENOSPC')) return reject(err);
              resolve({ status: intake.outcome!, offset: position, written: position - offset });
            }, reject);
          });
        };
        if (intake.outcome === 'too-long') {
          position = offset;
          ftruncate(fd, offset, (err) => {
            if (err) failure = err;
            settle();
          });
        } else {
          settle();
        }
      };
      const pump = () => {
        if (writing) return;
        if (intake.pendingBytes === 0 || failure) {
          if (intake.outcome) finish();
          return;
        }
        writing = true;
        writeAll(fd, intake.take(), position, (err, written) => {
          writing = false;
          position += written;
          if (err) {
            failure = err;
            intake.drop();
            if (!intake.outcome) {
              intake.stop(isCode(err, 'ENOSPC') ? 'no-space' : 'cut');
              return;
            }
            if (intake.outcome !== 'too-long' && isCode(err, 'ENOSPC')) intake.outcome = 'no-space';
          } else {
            intake.resumeIfRoom();
          }
          pump();
        });
      };
      const intake = new SourceIntake(source, { maxBytes, highWater: WRITE_HIGH_WATER, changed: pump });
      intake.start();
    });
  }

  async complete(id: BlobId): Promise<number> {
    const final = this.#final(id);
    let handle;
    try {
      handle = await open(this.#part(id), constants.O_RDONLY | NOFOLLOW);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
      const size = await this.#size(final);
      if (size === undefined) throw Object.assign(new Error('no such blob'), { code: 'ENOENT' });
      return size;
    }
    let size: number;
    try {
      await handle.sync();
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    await rename(this.#part(id), final);
    const dir = await open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return size;
  }

  async openRead(id: BlobId): Promise<BlobReader | undefined> {
    let handle;
    try {
      handle = await open(this.#final(id), constants.O_RDONLY | NOFOLLOW);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
    const h = handle;
    try {
      const st = await h.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a blob file'), { code: 'EINVAL' });
      return {
        size: st.size,
        read: async (into, length, position) => (await h.read(into, 0, length, position)).bytesRead,
        close: () => h.close(),
      };
    } catch (e) {
      await h.close();
      throw e;
    }
  }

  async delete(id: BlobId): Promise<void> {
    await rm(this.#final(id), { force: true });
    await rm(this.#part(id), { force: true });
  }

  async *list(): AsyncIterable<BlobListEntry> {
    const dir = await opendir(this.dir);
    for await (const entry of dir) {
      if (!entry.isFile()) continue;
      const partial = entry.name.endsWith(PART);
      const id = partial ? entry.name.slice(0, -PART.length) : entry.name;
      if (BLOB_ID_PATTERN.test(id)) yield { id, complete: !partial };
    }
  }
}
