/**
 * The blob store conformance suite (src/blobs/port.ts): every store must pass
 * runBlobStoreConformance (the file-system store in blob-store.test.ts, the
 * S3 store in blob-store-s3.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidBlobIdError, type BlobStore } from '../../src/blobs/port.js';

export interface BlobStoreTarget {
  readonly store: BlobStore;
  cleanup(): Promise<void>;
}

export const newId = () => randomBytes(16).toString('hex');
export const bytes = (n: number, seed = 7) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

/** Bytes start..end (inclusive) of a complete blob, read in odd-sized pieces; throws when it is not there. */
export async function readRange(store: BlobStore, id: string, start: number, end: number): Promise<Buffer> {
  const reader = await store.openRead(id);
  if (!reader) throw new Error('no complete blob');
  try {
    const out = Buffer.alloc(end + 1 - start);
    const piece = Buffer.alloc(70_001);
    let at = 0;
    while (at < out.length) {
      const n = await reader.read(piece, Math.min(piece.length, out.length - at), start + at);
      if (n === 0) throw new Error('the blob ended early');
      piece.copy(out, at, 0, n);
      at += n;
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** A source that yields `data` in `chunk`-sized pieces, asynchronously, then ends. */
export function source(data: Buffer, chunk = 64 * 1024): Readable {
  let at = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (at >= data.length) return this.push(null);
        this.push(data.subarray(at, at + chunk));
        at += chunk;
      });
    },
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function runBlobStoreConformance(name: string, open: () => Promise<BlobStoreTarget>): void {
  describe(`blob store conformance: ${name}`, () => {
    let target: BlobStoreTarget;
    let store: BlobStore;
    beforeEach(async () => {
      target = await open();
      store = target.store;
    });
    afterEach(async () => { await target.cleanup(); });

    it('refuses ids that are not 32 lower-case hex digits before touching storage', async () => {
      for (const bad of ['../../etc/passwd', 'A'.repeat(32), 'a'.repeat(31), `${'a'.repeat(32)}.part`, '']) {
        await expect(store.state(bad)).rejects.toBeInstanceOf(InvalidBlobIdError);
        await expect(store.append(bad, 0, source(bytes(1)), 1)).rejects.toBeInstanceOf(InvalidBlobIdError);
        await expect(store.delete(bad)).rejects.toBeInstanceOf(InvalidBlobIdError);
        await expect(store.openRead(bad)).rejects.toBeInstanceOf(InvalidBlobIdError);
      }
    });

    it('appends in parts, completes, and reads any byte range', async () => {
      const id = newId();
      const data = bytes(300_000);
      expect(await store.state(id)).toBeUndefined();
      expect(await store.append(id, 0, source(data.subarray(0, 100_000)), data.length)).toEqual({ status: 'ended', offset: 100_000, written: 100_000 });
      expect(await store.state(id)).toEqual({ complete: false, bytes: 100_000 });
      expect(await store.openRead(id)).toBeUndefined(); // partial blobs are not readable
      expect(await store.append(id, 100_000, source(data.subarray(100_000)), 200_000)).toEqual({ status: 'ended', offset: 300_000, written: 200_000 });
      expect(await store.complete(id)).toBe(300_000);
      expect(await store.complete(id)).toBe(300_000);
      expect(await store.state(id)).toEqual({ complete: true, bytes: 300_000 });
      expect((await readRange(store, id, 0, 299_999)).equals(data)).toBe(true);
      expect((await readRange(store, id, 123_456, 200_000)).equals(data.subarray(123_456, 200_001))).toBe(true);
      expect((await readRange(store, id, 299_999, 299_999)).equals(data.subarray(299_999))).toBe(true);
      const reader = (await store.openRead(id))!;
      expect(reader.size).toBe(300_000);
      expect(await reader.read(Buffer.alloc(10), 10, 300_000)).toBe(0);
      await reader.close();
    });

    it('writes only at the current offset, and never to a complete blob', async () => {
      const id = newId();
      expect(await store.append(id, 5, source(bytes(10)), 100)).toMatchObject({ status: 'conflict', offset: 0, written: 0 });
      expect(await store.state(id)).toBeUndefined();
      await store.append(id, 0, source(bytes(10)), 100);
      for (const wrong of [0, 9, 11, 5_000_000_000]) {
        expect(await store.append(id, wrong, source(bytes(10, 1)), 100)).toMatchObject({ status: 'conflict', offset: 10, written: 0 });
      }
      expect(await store.state(id)).toEqual({ complete: false, bytes: 10 });
      await store.complete(id);
      expect(await store.append(id, 10, source(bytes(10)), 100)).toMatchObject({ status: 'conflict', offset: 10 });
      await expect(store.create(id)).rejects.toThrow();
      expect((await readRange(store, id, 0, 9)).equals(bytes(10))).toBe(true);
    });

    it('keeps every byte received before the source is cut', async () => {
      const id = newId();
      const data = bytes(200_000);
      const src = new PassThrough();
      const appending = store.append(id, 0, src, data.length);
      src.write(data.subarray(0, 50_000));
      src.write(data.subarray(50_000, 120_000));
      await until(async () => (await store.state(id))?.bytes === 120_000, 'the first bytes to be stored');
      src.destroy(new Error('connection reset'));
      expect(await appending).toEqual({ status: 'cut', offset: 120_000, written: 120_000 });
      expect(await store.state(id)).toEqual({ complete: false, bytes: 120_000 });
      expect(await store.append(id, 120_000, source(data.subarray(120_000)), 80_000)).toMatchObject({ status: 'ended', offset: 200_000 });
      await store.complete(id);
      expect((await readRange(store, id, 0, data.length - 1)).equals(data)).toBe(true);
    });

    it('keeps nothing of an append that brings more than maxBytes', async () => {
      const id = newId();
      await store.append(id, 0, source(bytes(1000)), 5000);
      // Small pieces: the first 4000 bytes are written before the excess shows.
      expect(await store.append(id, 1000, source(bytes(300_000, 3), 1000), 4000)).toEqual({ status: 'too-long', offset: 1000, written: 0 });
      expect(await store.append(id, 1000, source(bytes(300_000, 3)), 4000)).toEqual({ status: 'too-long', offset: 1000, written: 0 });
      expect(await store.state(id)).toEqual({ complete: false, bytes: 1000 });
      expect(await store.append(id, 1000, source(bytes(4000, 3)), 4000)).toMatchObject({ status: 'ended', offset: 5000 });
      await store.complete(id);
      expect((await readRange(store, id, 0, 4999)).equals(Buffer.concat([bytes(1000), bytes(4000, 3)]))).toBe(true);
    });

    it('streams a large body from a slow source without loss (backpressure)', async () => {
      const id = newId();
      const data = randomBytes(12 * 1024 * 1024);
      expect(await store.append(id, 0, source(data, 16 * 1024 + 3), data.length)).toMatchObject({ status: 'ended', offset: data.length });
      await store.complete(id);
      expect((await readRange(store, id, 0, data.length - 1)).equals(data)).toBe(true);
    });

    it('starts over with create, deletes partial and complete blobs, lists what is stored', async () => {
      const a = newId();
      const b = newId();
      await store.append(a, 0, source(bytes(100)), 100);
      await store.create(a);
      expect(await store.state(a)).toEqual({ complete: false, bytes: 0 });
      await store.append(b, 0, source(bytes(100)), 100);
      await store.complete(b);
      const listed: { id: string; complete: boolean }[] = [];
      for await (const e of store.list()) listed.push(e);
      expect(listed).toEqual(expect.arrayContaining([{ id: a, complete: false }, { id: b, complete: true }]));
      await store.delete(a);
      await store.delete(b);
      await store.delete(newId());
      expect(await store.state(a)).toBeUndefined();
      expect(await store.state(b)).toBeUndefined();
      expect(await store.openRead(b)).toBeUndefined();
      await expect(store.complete(a)).rejects.toThrow();
    });
  });
}
