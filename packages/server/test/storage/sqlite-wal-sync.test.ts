/**
 * storage/sqlite-wal-sync.ts under strace (a real SQLite file, real system calls): hot-path
 * writes (enqueue, enqueueMulti, ack) are answered only after an fdatasync of the WAL that runs
 * on a thread-pool thread, never on the main thread; writes outside the hot path (registration)
 * still fsync inside their commit, before and after hot-path writes (synchronous is back to FULL).
 * Skipped only where strace is missing (CI installs it: .ci/run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WalSync } from '../../src/storage/sqlite-wal-sync.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;
const child = fileURLToPath(new URL('../support/wal-sync-child.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../support/tsconfig.spawn.json', import.meta.url));

interface Call { tid: number; name: string; fd: number; path?: string; ret: string }

function parse(trace: string): Call[] {
  const out: Call[] = [];
  for (const line of trace.split('\n')) {
    const m = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, tid, name, args, ret] = m;
    if (name === 'openat') out.push({ tid: Number(tid), name, fd: Number.parseInt(ret!, 10), path: /"([^"]*)"/.exec(args!)?.[1], ret: ret! });
    else out.push({ tid: Number(tid), name: name!, fd: Number.parseInt(args!, 10), ret: ret! });
  }
  return out;
}

describe.skipIf(!hasStrace)('sqlite hot-path commits: fdatasync of the WAL off the main thread', () => {
  it('enqueue, enqueueMulti and ack resolve after a thread-pool fdatasync of the WAL; registrations fsync in the commit, before and after', () => {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-walsync-'));
    try {
      const traceFile = join(dir, 'trace');
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fdatasync,fsync', '-o', traceFile,
        process.execPath, '--import', 'tsx', child, dir], { env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig }, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ stored: 'stored', multi: 'stored', acked: 1 });
      const calls = parse(readFileSync(traceFile, 'utf8'));
      const markAt = (step: string) => calls.findIndex((c) => c.name === 'openat' && c.path === join(dir, `mark-${step}`));
      const steps = ['register', 'enqueue', 'multi', 'ack', 'register-again', 'end'];
      const at = steps.map(markAt);
      for (const i of at) expect(i).toBeGreaterThanOrEqual(0);
      const main = calls[at[0]!]!.tid;
      // Descriptors open on the WAL file (SQLite's own and WalSync's).
      const walFds = new Set(calls.filter((c) => c.name === 'openat' && c.path === join(dir, 'sigilo.db-wal') && c.fd >= 0).map((c) => c.fd));
      const syncs = (from: number, to: number) => calls.slice(from, to).filter((c) => c.name === 'fdatasync' || c.name === 'fsync');
      // Registration (outside the hot path): synced on the main thread, inside the commit.
      expect(syncs(at[0]!, at[1]!).some((c) => c.tid === main && walFds.has(c.fd))).toBe(true);
      for (const [from, to] of [[1, 2], [2, 3], [3, 4]] as const) {
        const s = syncs(at[from]!, at[to]!);
        // Hot path: no fsync on the main thread; one fdatasync of the WAL on another thread before the call resolved.
        expect(s.filter((c) => c.tid === main), steps[from]).toEqual([]);
        expect(s.some((c) => c.tid !== main && c.name === 'fdatasync' && walFds.has(c.fd) && c.ret.startsWith('0')), steps[from]).toBe(true);
      }
      // After hot-path writes a registration syncs in its commit again (synchronous back to FULL).
      expect(syncs(at[4]!, at[5]!).some((c) => c.tid === main && walFds.has(c.fd))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('WalSync', () => {
  it('calls of one turn share one fdatasync; after close() a call is refused (the caller reports failure, never success)', async () => {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-walsync-'));
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'db-wal'), 'x');
      const wal = new WalSync(join(dir, 'db'));
      await Promise.all([wal.sync(), wal.sync(), wal.sync()]);
      expect(wal.rounds).toBe(1);
      await wal.sync();
      expect(wal.rounds).toBe(2);
      await wal.close();
      await expect(wal.sync()).rejects.toThrow(/closed/);
      const missing = new WalSync(join(dir, 'nothing'));
      await expect(missing.sync()).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
