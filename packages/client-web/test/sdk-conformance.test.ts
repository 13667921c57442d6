/**
 * The SDK conformance suite (sdk-conformance.ts) on the Node adapters:
 * createNodeClient (SQLCipher files in temp dirs, pinned TLS, node:crypto)
 * against the real server over TLS. The browser run is in browser.test.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { createNodeClient, pinnedTransport } from '../../client-node/src/index.js';
import { runSdkScenario, sdkScenarios, type SdkFiles } from './sdk-conformance.js';

/** Files in a temp dir: deterministic bytes written a MiB at a time. */
function nodeFiles(dir: string): SdkFiles {
  const hashFile = (path: string) => new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
  return {
    async make(name, size) {
      const path = join(dir, `in-${name}`);
      const out = createWriteStream(path);
      let x = 0x12345678;
      for (let done = 0; done < size;) {
        const n = Math.min(1 << 20, size - done);
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
        if (!out.write(b)) await new Promise((r) => out.once('drain', r));
        done += n;
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
      return { file: path, sha256: await hashFile(path) };
    },
    target: async (name) => join(dir, `out-${name}`),
    sha256Of: (name) => hashFile(join(dir, `out-${name}`)),
  };
}

describe('SDK conformance: Node adapters', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startTestServer(); }, 60_000);
  afterAll(async () => { await server?.stop(); });

  for (const [name, scenario] of Object.entries(sdkScenarios)) {
    it(name, async () => {
      const files = mkdtempSync(join(tmpdir(), 'sigilo-sdk-files-'));
      const invites: string[] = [];
      for (let i = 0; i < scenario.invites; i++) invites.push((await server.server.admin.createInvite()).code);
      await runSdkScenario(name, invites, async (label, wrap) => {
        const dir = mkdtempSync(join(tmpdir(), `sigilo-sdk-${label}-`));
        const client = createNodeClient({ dir, passphrase: `passphrase of ${label}`, ...(wrap ? { transport: (a) => wrap(pinnedTransport(a)) } : {}) });
        await client.init(server.server.url, server.server.tls.fingerprint);
        return { client, dispose: async () => { client.store.close(); rmSync(dir, { recursive: true, force: true }); } };
      }, nodeFiles(files)).finally(() => rmSync(files, { recursive: true, force: true }));
    }, 90_000);
  }
});
