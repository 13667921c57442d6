/**
 * The file-system blob store: the conformance suite (support/blob-conformance.ts),
 * plus the checks only a file system has (modes, symlinks, a full disk).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/blobs/fs.js';
import { bytes, newId, readRange, runBlobStoreConformance, source } from './support/blob-conformance.js';
import { tempDir } from './support/server.js';

// ---------------------------------------------------------------- the file-system store

runBlobStoreConformance('fs', async () => {
  const dir = tempDir('blobs');
  return { store: new FsBlobStore(join(dir, 'attachments')), async cleanup() { rmSync(dir, { recursive: true, force: true }); } };
});

describe('file-system blob store', () => {
  let dir: string;
  let store: FsBlobStore;
  beforeEach(() => {
    dir = tempDir('blobs');
    store = new FsBlobStore(join(dir, 'attachments'));
  });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('keeps a partial upload as <id>.part and a complete one as <id>, owner-only', async () => {
    const id = newId();
    await store.append(id, 0, source(bytes(10)), 20);
    expect(readdirSync(store.dir)).toEqual([`${id}.part`]);
    expect(statSync(join(store.dir, `${id}.part`)).mode & 0o777).toBe(0o600);
    await store.append(id, 10, source(bytes(10)), 10);
    await store.complete(id);
    expect(readdirSync(store.dir)).toEqual([id]);
    expect(statSync(join(store.dir, id)).mode & 0o777).toBe(0o600);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
  });

  it('keeps serving an open reader after the blob is deleted (a download running into the sweep)', async () => {
    const id = newId();
    const data = bytes(5000);
    await store.append(id, 0, source(data), data.length);
    await store.complete(id);
    const reader = (await store.openRead(id))!;
    await store.delete(id);
    expect(await store.openRead(id)).toBeUndefined();
    const five = Buffer.alloc(5);
    expect(await reader.read(five, 5, 1000)).toBe(5);
    expect(five.equals(data.subarray(1000, 1005))).toBe(true);
    await reader.close();
  });

  it('never follows a symlink planted in its directory', async () => {
    const id = newId();
    const outside = join(dir, 'outside');
    writeFileSync(outside, 'precious');
    symlinkSync(outside, join(store.dir, `${id}.part`));
    await expect(store.append(id, 0, source(bytes(10)), 10)).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(store.complete(id)).rejects.toMatchObject({ code: 'ELOOP' });
    symlinkSync(outside, join(store.dir, id));
    await expect(store.openRead(id)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(outside, 'utf8')).toBe('precious');
  });

  it('lists only its own files', async () => {
    writeFileSync(join(store.dir, 'README'), 'x');
    writeFileSync(join(store.dir, `${'a'.repeat(32)}.tmp`), 'x');
    mkdirSync(join(store.dir, 'b'.repeat(32)));
    const id = newId();
    await store.append(id, 0, source(bytes(3)), 3);
    const listed: string[] = [];
    for await (const e of store.list()) listed.push(e.id);
    expect(listed).toEqual([id]);
  });

  describe('on a full disk (a 256 KiB tmpfs)', () => {
    let mounted: string | undefined;
    let reason: string | undefined;
    beforeEach(() => {
      const mnt = join(dir, 'small');
      mkdirSync(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
        mounted = mnt;
      } catch (e) {
        reason = `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); run as root to test ENOSPC`;
      }
    });
    afterEach(() => {
      if (mounted) execFileSync('umount', [mounted]);
      mounted = undefined;
    });

    it('answers no-space, keeps what was written, and resumes once space frees', async (t) => {
      if (!mounted) return t.skip(reason);
      const small = new FsBlobStore(mounted);
      const id = newId();
      const data = randomBytes(1024 * 1024);
      const r = await small.append(id, 0, source(data), data.length);
      expect(r.status).toBe('no-space');
      expect(r.offset).toBeGreaterThan(0);
      expect(r.offset).toBeLessThan(data.length);
      expect(await small.state(id)).toEqual({ complete: false, bytes: r.offset });
      expect(existsSync(join(mounted, id))).toBe(false);
      execFileSync('mount', ['-o', 'remount,size=4m', mounted]);
      expect(await small.append(id, r.offset, source(data.subarray(r.offset)), data.length - r.offset)).toMatchObject({ status: 'ended', offset: data.length });
      await small.complete(id);
      expect((await readRange(small, id, 0, data.length - 1)).equals(data)).toBe(true);
    });
  });
});
