/**
 * Attack: a peer's plain message lands in the store of a device whose conversation is in confidential mode
 * (client.md §15: "a 1:1 conversation in confidential mode keeps its messages in the client's memory only").
 * Iris queued a text while offline, before she heard that Hugo switched the mode on; a peer running an older or
 * modified client does the same on purpose. Against the real server over TLS with real SQLCipher stores: Hugo's
 * device must keep that text in memory, not on disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';
import type { SigiloClient } from '../src/index.js';
import { introduce, nextEvent } from './support.js';

let t: TestServer;
const dirs: string[] = [];
const clients: SigiloClient[] = [];
beforeAll(async () => { t = await startTestServer(); }, 60_000);
afterAll(async () => {
  for (const c of clients) {
    await c.close().catch(() => {});
    try { c.store.close(); } catch { /* closed */ }
  }
  await t?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function person(name: string): Promise<SigiloClient> {
  const dir = mkdtempSync(join(tmpdir(), `sigilo-attack-conf-${name}-`));
  dirs.push(dir);
  const c = createNodeClient({ store: SqlCipherStore.open(dir, `pass ${name}`) });
  await c.init(t.server.url, t.server.tls.fingerprint);
  clients.push(c);
  await c.register((await t.server.admin.createInvite()).code);
  await c.connect({ reconnect: false });
  return c;
}

it('a plain message received in a conversation this device holds confidential stays in memory', async () => {
  const hugo = await person('hugo');
  const iris = await person('iris');
  introduce(hugo, 'hugo', iris, 'iris');
  // Sessions first, so the later exchange is an ordinary one.
  const hello = nextEvent(iris, 'message', (e) => e.message.text === 'hello', 20_000);
  await hugo.sendText(iris.accountId!, 'hello');
  await hello;
  // Iris goes offline and writes; her client does not know about the mode, so the text is queued in plain.
  await iris.close();
  const secret = `RACE-${Math.random().toString(36).slice(2)}`;
  await iris.sendText(hugo.accountId!, secret);
  await hugo.setConfidential(iris.accountId!, true);
  expect(hugo.confidential(iris.accountId!)).toBe(true);
  const got = nextEvent(hugo, 'message', (e) => e.message.text === secret, 20_000);
  await iris.connect({ reconnect: false });
  await got;
  expect(hugo.listMessages(iris.accountId!).map((m) => m.text)).toContain(secret);
  expect(hugo.store.listMessages(iris.accountId!, 100).some((m) => m.text === secret)).toBe(false);
}, 120_000);
