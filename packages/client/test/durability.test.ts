/**
 * The durability hook of the ClientStore port (client.md §7.2): with a store
 * that writes behind (flush() resolves later), a delivery is acknowledged and
 * an outbox entry's ciphertext leaves only after flush() resolved. Real
 * server, real SQLCipher store wrapped with a held flush(), frames recorded at
 * the Transport port.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ClientFrameSchema } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientStore, SigiloClient, Transport } from '../src/index.js';
import { SqlCipherStore, createNodeClient, pinnedTransport } from '../../client-node/src/index.js';
import { World, introduce } from './support.js';

/** A store whose flush() waits while `held` (the writes are there; durability is what is withheld). */
function heldStore(inner: ClientStore) {
  let release: (() => void) | undefined;
  let gate: Promise<void> = Promise.resolve();
  const ctl = {
    flushes: 0,
    hold() { gate = new Promise<void>((r) => { release = r; }); },
    release() { release?.(); },
  };
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === 'flush') return () => { ctl.flushes++; return gate; };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as ClientStore;
  return { store, ctl };
}

/** The case of every frame the client sends, in order. */
function recording(frames: string[]) {
  return (address: Parameters<typeof pinnedTransport>[0]): Transport => {
    const t = pinnedTransport(address);
    return {
      request: (r) => t.request(r),
      async connect(options) {
        const c = await t.connect(options);
        const send = c.send.bind(c);
        c.send = (frame) => { frames.push(fromBinary(ClientFrameSchema, frame).body.case ?? '?'); send(frame); };
        return c;
      },
    };
  };
}

const until = async (cond: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('durability of a write-behind store', () => {
  let world: World;
  let alice: SigiloClient;
  let bob: SigiloClient;
  const bobFrames: string[] = [];
  let bobStore: ReturnType<typeof heldStore>;

  beforeAll(async () => {
    world = await World.start();
    alice = await world.person('alice');
    bobStore = heldStore(SqlCipherStore.open(world.dir('bob'), 'passphrase of bob'));
    bob = createNodeClient({ store: bobStore.store, transport: recording(bobFrames) });
    await bob.init(world.server.server.url, world.server.server.tls.fingerprint);
    const { code } = await world.server.server.admin.createInvite();
    await bob.register(code);
    await bob.connect({ reconnect: false });
    world.people.set('bob', { name: 'bob', devices: [bob], dirs: [] });
    introduce(alice, 'alice', bob, 'bob');
  }, 60_000);

  afterAll(async () => {
    bobStore?.ctl.release();
    await world?.stop();
  });

  it('acknowledges a delivery only after flush() resolved, and sends outbox ciphertext only after it', async () => {
    const count = (...kinds: string[]) => bobFrames.filter((f) => kinds.includes(f)).length;
    bobStore.ctl.hold();
    const flushesAtHold = bobStore.ctl.flushes;
    const acksAtHold = count('ack');
    void alice.sendText(bob.accountId!, 'kept until durable');
    // Bob stores the message, then waits for durability: no ack while it is withheld.
    await until(() => bob.store.listMessages(alice.accountId!, 10).some((m) => m.text === 'kept until durable') && bobStore.ctl.flushes > flushesAtHold);
    await new Promise((r) => setTimeout(r, 300));
    expect(count('ack')).toBe(acksAtHold);
    // Bob's reply is stored and encrypted, but its ciphertext does not leave while the store is not durable.
    const sendsAtHold = count('send', 'sealedSend');
    const reply = bob.sendText(alice.accountId!, 'reply');
    await new Promise((r) => setTimeout(r, 500));
    expect(count('send', 'sealedSend')).toBe(sendsAtHold);
    bobStore.ctl.release();
    await until(() => count('ack') > acksAtHold);
    expect(['sent', 'delivered']).toContain((await reply).status); // Alice is online: her receipt can come first
    expect(count('send', 'sealedSend')).toBeGreaterThan(sendsAtHold);
  }, 60_000);
});
