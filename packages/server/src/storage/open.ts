/** Opens the configured storage adapter (server start and offline admin commands). */
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { DataDirError } from '../errors.js';
import type { Storage } from './port.js';
import { SqliteStorage } from './sqlite.js';

export const sqlitePath = (dataDir: string) => join(dataDir, 'sigilo.db');

export async function openStorage(config: ServerConfig): Promise<Storage> {
  if (config.storage.backend === 'postgres') {
    // Loaded only here: pg and its adapter are ~5 MiB of memory a SQLite server never uses.
    const { PostgresStorage } = await import('./postgres.js');
    const pg = new PostgresStorage({ connectionString: config.storage.postgresUrl!, schema: config.storage.postgresSchema });
    try {
      await pg.ready();
    } catch (e) {
      await pg.close();
      throw new DataDirError(`cannot use PostgreSQL at storage.postgresUrl (${(e as Error).message}); check that it runs and the URL, user and database are right`);
    }
    return pg;
  }
  return new SqliteStorage({ filename: sqlitePath(config.dataDir), synchronous: config.storage.synchronous, maxPageCount: config.storage.maxPageCount });
}
