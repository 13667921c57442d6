/**
 * The real server for the web app's browser tests: the app built and signed into a temporary directory,
 * the organisation's CA issuing the server's TLS certificate (trusted by Chromium through NSS, see
 * chromium.ts), the server listening on a free port. `close()` removes everything.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOrganisationCa, startServer, silentLogger, type RunningServer } from '@sigilo/server';
import { createNodeClient, type SigiloClient } from '@sigilo/client-node';
import { generateReleaseKey } from '../../scripts/release.mjs';
import { launchTrusting, type TestBrowser } from './chromium.js';

const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WebServer {
  readonly server: RunningServer;
  readonly origin: string;
  readonly tb: TestBrowser;
  /** The server's data directory (for `sigilo admin … --data DIR`). */
  readonly dataDir: string;
  invite(): Promise<string>;
  close(): Promise<void>;
}

/** A person on the Node SDK beside the browser: its store in `dir`, registered at `ws` with an invite, connected, named `name`. */
export type NodePerson = SigiloClient & { store: { close(): void } };
export async function nodePerson(ws: WebServer, dir: string, name: string): Promise<NodePerson> {
  const p = createNodeClient({ dir, passphrase: `${dir} node store` }) as NodePerson;
  await p.init(ws.server.url, ws.server.tls.fingerprint);
  await p.register(await ws.invite());
  await p.connect({ reconnect: true });
  await p.profiles.set({ name });
  return p;
}

/** `args`: Chromium flags; `overrides`: server settings (e.g. 'retention.maxDisappearingTimer': '1w'); `adminSocket`: listen on DATA/admin.sock, so that `sigilo admin` commands reach the running server. */
export async function startWebServer(prefix: string, args: string[] = [], options: { adminSocket?: boolean; overrides?: Record<string, unknown> } = {}): Promise<WebServer> {
  // Web tests are not type-checked: a server setting passed here directly (not under `overrides`) would be ignored silently.
  for (const k of Object.keys(options)) if (k !== 'adminSocket' && k !== 'overrides') throw new Error(`startWebServer: unknown option ${k} (server settings go under overrides)`);
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const key = join(tmp, 'keys', 'release.pem');
  generateReleaseKey(key);
  const web = join(tmp, 'web');
  execFileSync(process.execPath, [join(webRoot, 'scripts', 'build.mjs')], { env: { ...process.env, SIGILO_RELEASE_KEY: key, SIGILO_WEB_OUT: web }, stdio: 'pipe' });
  const dataDir = join(tmp, 'data');
  const ca = await createOrganisationCa(dataDir, { organisation: 'Test', dns: ['localhost'], ips: ['127.0.0.1'] });
  const server = await startServer({ overrides: { ...options.overrides, host: '127.0.0.1', port: 0, dataDir, webDir: web, adminSocket: options.adminSocket === true }, logger: silentLogger });
  const tb = await launchTrusting(ca.caCert, args);
  return {
    server, tb, dataDir, origin: `https://localhost:${server.port}`,
    invite: async () => (await server.admin.createInvite()).code,
    async close() {
      await tb.close();
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

