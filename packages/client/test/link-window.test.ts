/**
 * The linking window (client.md §6.1, issue 17 soak findings): messages the
 * approving device stores after its history snapshot, before the new device
 * can be addressed, reach the new device; and a new device registered by the
 * server but without keys yet does not stall senders. Real server over TLS,
 * real SQLCipher stores; the new device's frames are held at the Transport
 * port to open the window for as long as the test needs.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ClientFrameSchema } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SigiloClient, Transport } from '../src/index.js';
import { SqlCipherStore, createNodeClient, pinnedTransport } from '../../client-node/src/index.js';
import { World, introduce, nextEvent } from './support.js';

/** A transport whose connections hold every frame of case `held` (and all after it) until release(). */
function holding(held: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  let seen!: () => void;
  const reached = new Promise<void>((r) => { seen = r; });
  const transport = (address: Parameters<typeof pinnedTransport>[0]): Transport => {
    const t = pinnedTransport(address);
    return {
      request: (r) => t.request(r),
      async connect(options) {
        const c = await t.connect(options);
        const send = c.send.bind(c);
        let holding = false;
        c.send = (frame) => {
          if (!holding && fromBinary(ClientFrameSchema, frame).body.case === held) { holding = true; seen(); }
          if (holding) void released.then(() => send(frame));
          else send(frame);
        };
        return c;
      },
    };
  };
  return { transport, reached, release: () => release() };
}

const until = async (cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const texts = (c: SigiloClient) => new Set(c.store.allMessages().map((m) => m.text));

describe('the linking window', () => {
  let world: World;
  let ana: SigiloClient;
  let bruno: SigiloClient;
  let second: SigiloClient | undefined;

  beforeEach(async () => {
    world = await World.start();
    ana = await world.person('ana');
    bruno = await world.person('bruno');
    introduce(ana, 'ana', bruno, 'bruno');
    await bruno.sendText(ana.accountId!, 'before the link');
    await until(() => texts(ana).has('before the link'));
  });
  afterEach(async () => {
    await second?.close().catch(() => {});
    second = undefined;
    await world.stop();
  });

  async function linkHolding(frame: string) {
    const gate = holding(frame);
    second = createNodeClient({ store: SqlCipherStore.open(world.dir('bruno-2'), 'passphrase of bruno 2'), transport: gate.transport });
    await second.init(world.server.server.url, world.server.server.tls.fingerprint);
    const pending = await second.startLink();
    await bruno.approveLink(pending.code); // the history snapshot is taken here
    await gate.reached;
    return { gate, pending, second };
  }

  async function sendInWindow() {
    const toBruno = nextEvent(bruno, 'message', (e) => e.message.text === 'ana, in the window');
    await ana.sendText(bruno.accountId!, 'ana, in the window');
    await toBruno; // stored by the approving device only
    const toAna = nextEvent(ana, 'message', (e) => e.message.text === 'bruno, in the window');
    await bruno.sendText(ana.accountId!, 'bruno, in the window');
    await toAna;
  }

  it('messages stored between the snapshot and the new device\'s registration reach the new device', async () => {
    const { gate, pending, second: device } = await linkHolding('linkDevice');
    await sendInWindow();
    gate.release();
    await pending.completed;
    const shown: string[] = [];
    device.on((e) => { if (e.type === 'message') shown.push(e.message.text); });
    await device.connect({ reconnect: false });
    await until(() => texts(device).has('ana, in the window') && texts(device).has('bruno, in the window'));
    expect(texts(device).has('before the link')).toBe(true);
    // And after the window, directly: exactly once each.
    await ana.sendText(bruno.accountId!, 'ana, after');
    await until(() => texts(device).has('ana, after'));
    await new Promise((r) => setTimeout(r, 500));
    const ids = device.store.allMessages().map((m) => m.text);
    expect(ids.filter((t) => t === 'ana, in the window')).toHaveLength(1);
    expect(shown.filter((t) => t === 'ana, in the window')).toHaveLength(1);
  });

  it('a new device registered without keys yet does not stall senders, and gets what they sent meanwhile', async () => {
    const { gate, pending, second: device } = await linkHolding('uploadPreKeys');
    // The server lists bruno's second device now, and has no keys for it: the send goes to bruno's first device.
    await sendInWindow();
    expect(await bruno.listDevices().then((l) => l.length)).toBe(2);
    gate.release();
    await pending.completed;
    await device.connect({ reconnect: false });
    await until(() => texts(device).has('ana, in the window') && texts(device).has('bruno, in the window'));
    // Once its keys are there, senders address it.
    await ana.sendText(bruno.accountId!, 'ana, after');
    await until(() => texts(device).has('ana, after') && texts(bruno).has('ana, after'));
  });
});
