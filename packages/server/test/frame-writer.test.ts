/**
 * src/frame-writer.ts: a connection's frames of one turn leave in one socket write, and frames
 * `ws` writes itself (close, ping) never overtake frames queued before them.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { wsFrame } from '../src/fast-frames.js';
import { FrameWriter } from '../src/frame-writer.js';

let wss: WebSocketServer | undefined;
afterEach(async () => {
  if (wss) await new Promise((r) => wss!.close(r));
  wss = undefined;
});

/** A ws server on loopback and a client connected to it; resolves with both ends. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; events: string[] }> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, autoPong: false });
  await once(wss, 'listening');
  const serverSide = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const events: string[] = [];
  client.on('message', (data) => events.push(`message ${Buffer.from(data as Buffer).toString()}`));
  client.on('ping', () => events.push('ping'));
  client.on('close', (code) => events.push(`close ${code}`));
  await once(client, 'open');
  const [server] = (await serverSide) as [WebSocket];
  return { server, client, events };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('frame writer', () => {
  it('writes the frames of a turn as one buffer, in order', async () => {
    const { server, client, events } = await pair();
    const out = FrameWriter.attach(server);
    const socket = (server as unknown as { _socket: import('node:net').Socket })._socket;
    const writes: number[] = [];
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Uint8Array, ...rest: never[]) => { writes.push(chunk.length); return write(chunk, ...rest); }) as typeof socket.write;
    for (const m of ['a', 'bb', 'ccc']) out.write(wsFrame(Buffer.from(m)));
    expect(out.bytes).toBe(3 + 4 + 5);
    expect(writes).toEqual([]); // nothing before the end of the turn
    await until(() => events.length === 3);
    expect(events).toEqual(['message a', 'message bb', 'message ccc']);
    expect(writes).toEqual([12]);
    expect(out.bytes).toBe(0);
    client.close();
  });

  it('a close or ping frame from ws goes after the frames queued before it', async () => {
    const { server, events } = await pair();
    const out = FrameWriter.attach(server);
    out.write(wsFrame(Buffer.from('first')));
    server.ping();
    out.write(wsFrame(Buffer.from('second')));
    server.close(4005, 'replaced');
    await until(() => events.some((e) => e.startsWith('close')));
    expect(events).toEqual(['message first', 'ping', 'message second', 'close 4005']);
  });
});
