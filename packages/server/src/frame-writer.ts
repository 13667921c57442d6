/**
 * Outgoing WebSocket frames, one socket write per connection per turn (spec/server.md §13.3).
 *
 * A connection's frames of one turn (the SendResults and Delivers of a committed batch) are
 * already framed (fast-frames.ts: header and payload in one buffer) and wait here; once the turn's
 * synchronous work and promise callbacks ran (process.nextTick), each connection's frames go to its
 * socket as one buffer: one write, one TLS record, one system call, and none of ws's per-send
 * objects (option objects, a header buffer, two corked writes).
 *
 * ws still writes its own frames (close, ping, pong) through its Sender; each connection's Sender
 * writes what waits here first (see `attach`), so frames keep the order in which they were sent.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Frames larger than this together are written one by one (corked) rather than copied into one buffer. */
const COPY_LIMIT = 64 * 1024;

let dirty: FrameWriter[] = [];

function flushAll(): void {
  const list = dirty;
  dirty = [];
  for (let i = 0; i < list.length; i++) list[i]!.flush();
}

export class FrameWriter {
  /** Bytes waiting for the end of the turn (counted in the connection's unsent output). */
  bytes = 0;
  #frames: Uint8Array[] = [];
  readonly #socket: Socket | undefined;

  constructor(socket: Socket | undefined) {
    this.#socket = socket;
  }

  /**
   * Makes `ws`'s own writes (close, ping, pong frames: ws's Sender.sendFrame, the one place it writes a frame)
   * go after the frames waiting here. Returns the writer for that WebSocket's socket.
   */
  static attach(ws: WebSocket): FrameWriter {
    const writer = new FrameWriter((ws as unknown as { _socket?: Socket })._socket);
    const sender = (ws as unknown as { _sender?: { sendFrame: (list: unknown[], cb?: unknown) => void } })._sender;
    if (sender) {
      const base = sender.sendFrame;
      sender.sendFrame = function sendFrameAfterQueued(list, cb) {
        writer.flush();
        base.call(this, list, cb);
      };
    }
    return writer;
  }

  /** Queues a complete WebSocket frame for the end of this turn. */
  write(frame: Uint8Array): void {
    if (this.bytes === 0 && dirty.push(this) === 1) process.nextTick(flushAll);
    this.#frames.push(frame);
    this.bytes += frame.length;
  }

  /** Writes what waits (also called early, before ws writes a frame of its own). */
  flush(): void {
    const frames = this.#frames;
    const n = frames.length;
    if (n === 0) return;
    const bytes = this.bytes;
    this.bytes = 0;
    const socket = this.#socket;
    if (!socket || socket.destroyed || !socket.writable) {
      frames.length = 0;
      return;
    }
    // The list is emptied before the write: a write may call back into this writer (an error closing the connection).
    if (n === 1) {
      const frame = frames[0]!;
      frames.length = 0;
      socket.write(frame);
    } else if (bytes <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(bytes);
      let p = 0;
      for (let i = 0; i < n; i++) { out.set(frames[i]!, p); p += frames[i]!.length; }
      frames.length = 0;
      socket.write(out);
    } else {
      this.#frames = [];
      socket.cork();
      for (let i = 0; i < n; i++) socket.write(frames[i]!);
      socket.uncork();
    }
  }
}
