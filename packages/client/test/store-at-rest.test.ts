/**
 * The local store: nothing readable on disk, the passphrase required, and an
 * outbox that survives a restart (a message written offline is sent later).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';

import { SqlCipherStore, createNodeClient, deriveStoreKey } from '../../client-node/src/index.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function occurs(haystack: Buffer, needle: Uint8Array): boolean {
  return haystack.indexOf(Buffer.from(needle)) >= 0;
}

describe('the client store at rest', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('no plaintext, no key bytes in any file the clients wrote', async () => {
    const aliceDir = world.dir('alice-disk'), bobDir = world.dir('bob-disk');
    const alice = await world.newClient('alice', aliceDir);
    const bob = await world.newClient('bob', bobDir);
    for (const [c, n] of [[alice, 'alice'], [bob, 'bob']] as const) {
      await c.register((await world.server.server.admin.createInvite()).code);
      await c.connect({ reconnect: false });
      void n;
    }
    introduce(alice, 'alice', bob, 'bob');
    const secrets = ['Operación Cóndor: punto de encuentro 14:30', 'CANARY-7f3a9c-plaintext', 'contraseña del depósito: 91827364'];
    for (const s of secrets) {
      const got = nextEvent(bob, 'message', (e) => e.message.text === s);
      await alice.sendText(bob.accountId!, s);
      await got;
    }
    await bob.sendText(alice.accountId!, 'recibido CANARY-reply');
    await new Promise((r) => setTimeout(r, 300));
    const keyBytes = [
      alice.identity.signing.privateKey, alice.identity.agreement.privateKey, bob.identity.signing.privateKey, bob.identity.agreement.privateKey,
      deriveStoreKey('passphrase of alice', readFileSync(join(aliceDir, 'store.salt'))),
      deriveStoreKey('passphrase of bob', readFileSync(join(bobDir, 'store.salt'))),
    ];
    await alice.close(); await bob.close();
    alice.store.close(); bob.store.close();
    const files = [...filesUnder(aliceDir), ...filesUnder(bobDir)];
    expect(files.length).toBeGreaterThanOrEqual(4);
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const utf16 = (s: string) => Buffer.from(s, 'utf16le');
    for (const f of files) {
      const content = readFileSync(f);
      for (const s of [...secrets, 'recibido CANARY-reply']) {
        expect(occurs(content, utf8(s)), `${f} contains a plaintext`).toBe(false);
        expect(occurs(content, utf16(s)), `${f} contains a plaintext (UTF-16)`).toBe(false);
      }
      for (const k of keyBytes) expect(occurs(content, k), `${f} contains key bytes`).toBe(false);
      expect(occurs(content, utf8('SQLite format 3')), `${f} is a plain SQLite file`).toBe(false);
    }
    // And the stores still open with the right passphrase, holding the messages.
    const reopened = SqlCipherStore.open(aliceDir, 'passphrase of alice');
    expect(reopened.listMessages(undefined, 100).map((m) => m.text)).toEqual(expect.arrayContaining(secrets));
    reopened.close();
  }, 60_000);

  it('a wrong passphrase is refused with BAD_PASSPHRASE', () => {
    const dir = world.dir('pass');
    SqlCipherStore.open(dir, 'right one').close();
    expect(() => SqlCipherStore.open(dir, 'wrong one')).toThrow(expect.objectContaining({ code: 'BAD_PASSPHRASE' }));
    expect(() => SqlCipherStore.open(dir, '')).toThrow(expect.objectContaining({ code: 'BAD_PASSPHRASE' }));
  });

  it('a message written offline survives a restart and is sent on the next connect', async () => {
    const aliceDir = world.dir('alice-outbox');
    let alice = await world.newClient('alice', aliceDir);
    const bob = await world.person('bob-outbox');
    await alice.register((await world.server.server.admin.createInvite()).code);
    introduce(alice, 'alice', bob, 'bob');
    // Not connected: the message is stored as pending in the outbox.
    const pending = await alice.sendText(bob.accountId!, 'written on the train');
    expect(pending.status).toBe('pending');
    alice.store.close();
    alice = createNodeClient({ store: SqlCipherStore.open(aliceDir, 'passphrase of alice') });
    expect(alice.store.listOutbox()).toHaveLength(1);
    const arrived = nextEvent(bob, 'message', (e) => e.message.text === 'written on the train');
    // 'sent', or straight 'delivered' when Bob's receipt beats the end of the flush (no 'sent' event is emitted then).
    const sent = nextEvent(alice, 'status', (e) => e.status === 'sent' || e.status === 'delivered');
    await alice.connect({ reconnect: false });
    await arrived;
    await sent;
    expect(alice.store.listOutbox()).toHaveLength(0);
    await alice.close();
    alice.store.close();
  }, 60_000);
});
