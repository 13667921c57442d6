/**
 * One frame connection to a Sigilo server (client.md §1): request/response by
 * request id, pushes delivered to a callback, over whatever FrameConnection
 * the Transport port opened (a pinned TLS WebSocket in Node, the browser's
 * WebSocket in a page). Also the server's address as the store keeps it, and
 * small JSON reads over the Transport (server-info).
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ClientFrameSchema, ErrorCode, ServerFrameSchema, type ServerFrame,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { ClientError } from './errors.js';
import type { FrameConnection, Transport } from './ports.js';

export type ClientBody = MessageInitShape<typeof ClientFrameSchema>['body'];

export type { ServerAddress } from './ports.js';

export function normaliseFingerprint(fp: string): string {
  const hex = fp.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ClientError('INVALID_INPUT', 'a certificate fingerprint is 64 hex digits (SHA-256), as `sigilo server start` prints it');
  return hex.match(/../g)!.join(':');
}

/** GET of a small JSON document over the Transport (e.g. /v1/server-info). */
export async function fetchJson(transport: Transport, path: string): Promise<unknown> {
  const res = await transport.request({ method: 'GET', path });
  const body = await res.text(1024 * 1024);
  try {
    return JSON.parse(body);
  } catch {
    throw new ClientError('SERVER_ERROR', `the server answered ${path} with something that is not JSON; is this a Sigilo server?`);
  }
}

/** `p`, or a TIMEOUT ClientError after `ms`; what `p` gives after that is handed to `discard`. */
function withTimeout<T>(p: Promise<T>, ms: number, message: string, discard: (late: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new ClientError('TIMEOUT', message));
    }, ms);
    p.then((v) => {
      clearTimeout(timer);
      if (done) discard(v);
      else resolve(v);
    }, (e: unknown) => {
      clearTimeout(timer);
      if (!done) reject(e);
    });
  });
}

export class ServerRequestError extends ClientError {
  readonly frame: ServerFrame;
  constructor(frame: ServerFrame & { body: { case: 'error' } }) {
    const name = ErrorCode[frame.body.value.code]?.replace(/^ERROR_CODE_/, '') ?? 'UNKNOWN';
    super('SERVER_ERROR', `server: ${frame.body.value.message || name}`, name);
    this.frame = frame;
  }
}

export class Connection {
  readonly #frames: FrameConnection;
  #open = true;
  #nextId = 1n;
  readonly #pending = new Map<bigint, { resolve: (f: ServerFrame) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  readonly closed: Promise<{ code: number; reason: string }>;
  #challenge: Promise<ServerFrame>;

  private constructor(frames: FrameConnection, onPush: (frame: ServerFrame) => void) {
    this.#frames = frames;
    let gotChallenge!: (f: ServerFrame) => void;
    this.#challenge = new Promise((resolve) => { gotChallenge = resolve; });
    this.closed = frames.closed.then(({ code, reason }) => {
      this.#open = false;
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new ClientError('CONNECTION_FAILED', `connection closed (${code}) before the server answered; it will be retried`));
      }
      this.#pending.clear();
      return { code, reason };
    });
    frames.onFrame = (data) => {
      let frame: ServerFrame;
      try {
        frame = fromBinary(ServerFrameSchema, data);
      } catch {
        this.#open = false;
        frames.close(1002, 'malformed frame');
        return;
      }
      if (frame.body.case === 'challenge') {
        gotChallenge(frame);
        return;
      }
      const pending = frame.requestId !== 0n ? this.#pending.get(frame.requestId) : undefined;
      if (pending) {
        this.#pending.delete(frame.requestId);
        clearTimeout(pending.timer);
        if (frame.body.case === 'error') pending.reject(new ServerRequestError(frame as ServerFrame & { body: { case: 'error' } }));
        else pending.resolve(frame);
        return;
      }
      onPush(frame);
    };
  }

  /** Opens a frame connection through `transport` and waits for the server's challenge. */
  static async open(transport: Transport, onPush: (frame: ServerFrame) => void, timeoutMs = 15_000): Promise<{ connection: Connection; nonce: Uint8Array; serverTime: number }> {
    const frames = await withTimeout(transport.connect(), timeoutMs, 'the server did not complete the connection in time; check the URL and the network', (late) => late.close());
    const connection = new Connection(frames, onPush);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const challenge = await Promise.race([
        connection.#challenge,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ClientError('TIMEOUT', 'the server sent no challenge')), timeoutMs); }),
        connection.closed.then((c) => { throw new ClientError('CONNECTION_FAILED', `the server closed the connection (${c.code}) before its challenge`); }),
      ]);
      const c = challenge.body.case === 'challenge' ? challenge.body.value : undefined;
      return { connection, nonce: c!.nonce, serverTime: Number(c!.serverTime) };
    } catch (e) {
      connection.terminate();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Sends a request and resolves with the server's answer; an Error frame rejects with ServerRequestError. */
  request(body: ClientBody, timeoutMs = 30_000): Promise<ServerFrame> {
    if (!this.isOpen) return Promise.reject(new ClientError('CONNECTION_FAILED', 'not connected'));
    const requestId = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new ClientError('TIMEOUT', 'the server did not answer in time; it will be retried'));
      }, timeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
      try {
        this.#frames.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body })));
      } catch {
        clearTimeout(timer);
        this.#pending.delete(requestId);
        reject(new ClientError('CONNECTION_FAILED', 'not connected'));
      }
    });
  }

  /** Sends a frame that wants no answer (request id 0: acks). */
  post(body: ClientBody): void {
    if (!this.isOpen) return;
    try {
      this.#frames.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 0n, body })));
    } catch { /* closed meanwhile: the server sends it again */ }
  }

  close(): void {
    this.#open = false;
    this.#frames.close(1000, 'bye');
  }

  terminate(): void {
    this.#open = false;
    if (this.#frames.terminate) this.#frames.terminate();
    else this.#frames.close(1000, 'bye');
  }
}
