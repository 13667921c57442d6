/** A client whose copy of the server's certificate keys is stale refreshes it instead of losing sealed messages. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';

import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';

describe('server certificate keys', () => {
  let world: World;
  beforeAll(async () => { world = await World.start(); }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('a sealed message signed by a key the client does not know is kept, the keys are refreshed, and it is read', async () => {
    const alice = await world.person('alice');
    const dir = world.dir('bob-stale');
    let bob = await world.newClient('bob', dir);
    await bob.register((await world.server.server.admin.createInvite()).code);
    introduce(alice, 'alice', bob, 'bob');
    bob.store.close();
    // As if the server had rotated its certificate key after this device's `init`.
    const store = SqlCipherStore.open(dir, 'passphrase of bob');
    store.setMeta('server.certificate-keys', new TextEncoder().encode(JSON.stringify([{ keyId: 99, publicKey: Buffer.alloc(32, 1).toString('base64') }])));
    bob = createNodeClient({ store });
    const undecryptable: string[] = [];
    bob.on((e) => { if (e.type === 'undecryptable') undecryptable.push(e.reason); });
    await bob.connect({ reconnect: false });
    const got = nextEvent(bob, 'message', (e) => e.message.text === 'after the rotation');
    await alice.sendText(bob.accountId!, 'after the rotation');
    await got;
    expect(undecryptable).toEqual([]);
    const keys = JSON.parse(new TextDecoder().decode(store.getMeta('server.certificate-keys')!)) as { keyId: number }[];
    expect(keys.map((k) => k.keyId)).not.toContain(99);
    await bob.close();
    store.close();
  }, 60_000);
});
