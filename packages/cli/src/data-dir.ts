/**
 * Where admin commands act: the running server's admin socket when a server
 * is up on the data directory (so revocations close live connections), else
 * the database files directly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemRandom } from '@sigilo/protocol/node';
import { AdminService, DataDirError, adminRequest, openStorage, resolveConfig, sqlitePath, type AdminOp, type ServerConfig } from '@sigilo/server';
import { str, type Parsed } from './args.js';
import type { Io } from './command.js';

export const dataOptions = {
  data: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export function adminConfig(io: Io, values: Parsed['values']): ServerConfig {
  const data = str(values.data);
  return resolveConfig({ env: io.env, cwd: io.cwd, configFile: str(values.config), flags: data ? { dataDir: data } : {} });
}

/** Runs an admin operation on the running server, or directly on the data directory when none runs. */
export async function runAdmin<T>(config: ServerConfig, op: AdminOp, offline: (admin: AdminService) => Promise<T>): Promise<{ result: T; live: boolean }> {
  const viaSocket = await adminRequest(config.dataDir, op);
  if (viaSocket !== undefined) return { result: viaSocket as T, live: true };
  if (config.storage.backend === 'sqlite' && !existsSync(sqlitePath(config.dataDir))) {
    throw new DataDirError(`no Sigilo database in ${config.dataDir}; start the server once (sigilo server start --data ${config.dataDir}) or give the right --data`);
  }
  const storage = await openStorage(config);
  try {
    const { readdirSync, statSync } = await import('node:fs');
    const files = () => readdirSync(config.dataDir).flatMap((name) => {
      const st = statSync(join(config.dataDir, name));
      return st.isFile() ? [{ name, bytes: st.size }] : [];
    });
    return { result: await offline(new AdminService(storage, config, systemRandom, Date.now, undefined, files)), live: false };
  } finally {
    await storage.close();
  }
}
