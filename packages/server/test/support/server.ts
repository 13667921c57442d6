/** Starts a real server (TLS, random loopback port, SQLite in a fresh temp dir) for a test, capturing its logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server.js';
import { TestClient, newDevice, type Device } from './test-client.js';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  logs: string[];
  /** Registers a fresh account (one device) with a new invite and returns its authenticated client. */
  account(options?: { preKeys?: boolean }): Promise<{ client: TestClient; device: Device }>;
  connect(): Promise<TestClient>;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sigilo-${prefix}-`));
}

export async function startTestServer(overrides: Record<string, unknown> = {}, options: Omit<StartServerOptions, 'overrides'> = {}, dataDir = tempDir('server')): Promise<TestServer> {
  const logs: string[] = [];
  const server = await startServer({
    overrides: { host: '127.0.0.1', port: 0, dataDir, ...overrides },
    logger: createLogger('info', (line) => logs.push(line)),
    ...options,
  });
  const clients: TestClient[] = [];
  const connect = async () => {
    const c = await TestClient.connect(server);
    clients.push(c);
    return c;
  };
  return {
    server, dataDir, logs, connect,
    async account({ preKeys = false } = {}) {
      const { code } = await server.admin.createInvite();
      const client = await connect();
      const device = newDevice();
      const f = await client.register(device, code);
      if (f.body.case !== 'registered') throw new Error(`registration failed: ${JSON.stringify(f.body.value)}`);
      if (preKeys) await client.uploadPreKeys(device);
      return { client, device };
    },
    async stop() {
      for (const c of clients) c.ws.terminate();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
