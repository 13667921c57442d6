/**
 * The data directory's secret files are owner-only whatever the umask and the
 * directory's own mode (spec/server.md §Data directory): a real server started
 * under umask 0 in a 0777 directory.
 */
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestServer, tempDir } from './support/server.js';

/** path relative to `root` -> permission bits, for every file and folder under it. */
function modes(root: string, dir = root): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    out[relative(root, path)] = st.mode & 0o777;
    if (st.isDirectory()) Object.assign(out, modes(root, path));
  }
  return out;
}

describe('data directory file modes', () => {
  it('creates sigilo.db, -wal, -shm, the keys and the admin socket 0600 under umask 0 in a 0777 directory', async () => {
    const dir = tempDir('modes');
    chmodSync(dir, 0o777);
    const previous = process.umask(0);
    let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      server = await startTestServer({}, {}, dir);
      await server.account({ preKeys: true }); // writes through the WAL
      const found = modes(dir);
      for (const secret of ['sigilo.db', 'sigilo.db-wal', 'sigilo.db-shm', 'certificate-key.json', join('tls', 'self-signed.key')]) {
        expect([secret, found[secret]]).toEqual([secret, 0o600]);
      }
      for (const [path, mode] of Object.entries(found)) {
        if (path === join('tls', 'self-signed.crt')) continue; // the public certificate
        const isDir = statSync(join(dir, path)).isDirectory();
        expect([path, mode & 0o077]).toEqual([path, 0]);
        if (!isDir) expect([path, mode]).toEqual([path, 0o600]);
      }
    } finally {
      process.umask(previous);
      await server?.stop();
    }
  });
});
