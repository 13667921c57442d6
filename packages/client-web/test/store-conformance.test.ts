/** The store conformance suite on the Node adapter: SQLCipher files in temp dirs (the browser run is in browser.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { SqlCipherStore } from '../../client-node/src/store/sqlcipher.js';
import type { ClientStore } from '../../client/src/store/port.js';
import { storeScenarios, type StoreFactory, type StoreHandle } from './store-conformance.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const sqlcipher: StoreFactory = {
  async fresh(passphrase) {
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-conformance-'));
    dirs.push(dir);
    let current: ClientStore | undefined = SqlCipherStore.open(dir, passphrase);
    const handle: StoreHandle = {
      get store() { return current!; },
      async reopen(p = passphrase) {
        current?.close();
        current = undefined;
        current = SqlCipherStore.open(dir, p);
        return current;
      },
      async close() { current?.close(); current = undefined; },
    };
    return handle;
  },
};

describe('ClientStore conformance: SQLCipher (Node)', () => {
  for (const [name, run] of Object.entries(storeScenarios)) it(name, () => run(sqlcipher));
});
