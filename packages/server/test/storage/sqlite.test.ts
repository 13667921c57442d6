import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { runStorageConformance } from './conformance.js';

runStorageConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-sqlite-'));
  return {
    storage: new SqliteStorage({ filename: join(dir, 'sigilo.db') }),
    async cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
});
