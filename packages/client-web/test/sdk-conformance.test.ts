/**
 * The SDK conformance suite (sdk-conformance.ts) on the Node adapters:
 * createNodeClient (SQLCipher files in temp dirs, pinned TLS, node:crypto)
 * against the real server over TLS. The browser run is in browser.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { createNodeClient } from '../../client-node/src/index.js';
import { runSdkScenario, sdkScenarios } from './sdk-conformance.js';

describe('SDK conformance: Node adapters', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startTestServer(); }, 60_000);
  afterAll(async () => { await server?.stop(); });

  for (const [name, scenario] of Object.entries(sdkScenarios)) {
    it(name, async () => {
      const invites: string[] = [];
      for (let i = 0; i < scenario.invites; i++) invites.push((await server.server.admin.createInvite()).code);
      await runSdkScenario(name, invites, async (label) => {
        const dir = mkdtempSync(join(tmpdir(), `sigilo-sdk-${label}-`));
        const client = createNodeClient({ dir, passphrase: `passphrase of ${label}` });
        await client.init(server.server.url, server.server.tls.fingerprint);
        return { client, dispose: async () => { client.store.close(); rmSync(dir, { recursive: true, force: true }); } };
      });
    }, 90_000);
  }
});
