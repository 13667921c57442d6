/**
 * The Node Transport (client.md §1, §7.3): the WebSocket (ws) and HTTPS
 * requests, each on its own TLS socket pinned to the server's certificate or
 * organisation CA (pinned.ts). Request bodies may be streams (an upload is one
 * PATCH, written as the core encrypts it, with backpressure); a GET is read by
 * pinnedGet's own parser into one reused buffer.
 */
import { once } from 'node:events';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { AttachmentError, ClientError, type FrameConnection, type HttpRequest, type HttpResponse, type ServerAddress, type Transport } from '@sigilo/client';
import { pinnedSocket } from './pinned.js';
import { pinnedGet, type GetResponse } from './pinned-get.js';

/** A request that moved no byte for this long fails (the core retries it, then reports INTERRUPTED). */
const IDLE_TIMEOUT_MS = 30_000;

/** Frames over a WebSocket on a pinned socket, as the core's FrameConnection. */
function frameConnection(ws: WebSocket): FrameConnection {
  const conn: FrameConnection = {
    onFrame: undefined,
    get bufferedAmount() { return ws.bufferedAmount; },
    closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    send(frame) {
      if (ws.readyState !== WebSocket.OPEN) throw new ClientError('CONNECTION_FAILED', 'not connected');
      ws.send(frame);
    },
    close(code = 1000, reason = '') {
      ws.close(code, reason);
    },
    terminate() {
      ws.terminate();
    },
  };
  ws.on('message', (data: Buffer) => conn.onFrame?.(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  ws.on('error', () => { /* reported through 'close' */ });
  return conn;
}

/** A pinnedGet answer as the core's HttpResponse: the body a stream of copies, read as the consumer pulls. */
function getResponse(res: GetResponse): HttpResponse {
  let body: ReadableStream<Uint8Array> | undefined;
  return {
    status: res.status,
    header: (name) => res.headers[name.toLowerCase()],
    get body() {
      body ??= (() => {
        let wake: (() => void) | undefined;
        let cancelled = false;
        return new ReadableStream<Uint8Array>({
          start(c) {
            res.pipe((bytes) => {
              if (cancelled) throw new Error('cancelled');
              c.enqueue(new Uint8Array(bytes)); // a copy: a piece is only valid during this call (and Buffer#slice would not copy)
              if ((c.desiredSize ?? 1) > 0) return undefined;
              return new Promise<void>((resolve) => { wake = resolve; });
            }).then((complete) => {
              if (cancelled) return;
              if (complete) c.close();
              else c.error(new AttachmentError('INTERRUPTED', 'the download was cut off; it resumes where it stopped'));
            }, (e: unknown) => { if (!cancelled) c.error(e); });
          },
          pull() {
            const w = wake;
            wake = undefined;
            w?.();
          },
          cancel() {
            cancelled = true;
            res.close();
            const w = wake;
            wake = undefined;
            w?.();
          },
        }, { highWaterMark: 4 });
      })();
      return body;
    },
    text: () => res.text(),
  };
}

/** The Transport of the Node client: every connection a TLS socket pinned to `address.fingerprint` and/or its organisation CA (or the system CAs without either). */
export class PinnedTransport implements Transport {
  readonly streamsRequestBodies = true;

  constructor(readonly address: ServerAddress, readonly timeoutMs = 15_000) {}

  async connect(): Promise<FrameConnection> {
    const socket = await pinnedSocket(new URL(this.address.url), this.address, this.timeoutMs);
    const ws = new WebSocket(this.address.url, { createConnection: () => socket, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
    const conn = frameConnection(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new ClientError('TIMEOUT', 'the server did not answer the WebSocket handshake')); }, this.timeoutMs);
      ws.once('open', () => { clearTimeout(timer); resolve(); });
      ws.once('error', (e) => { clearTimeout(timer); reject(new ClientError('CONNECTION_FAILED', `WebSocket handshake failed: ${e.message}`)); });
    });
    return conn;
  }

  /**
   * One HTTPS request on its own pinned socket. The answer resolves as soon as
   * its head arrives (possibly before a streamed body was all sent: the server
   * refused it early; the body then stops).
   */
  async request(r: HttpRequest): Promise<HttpResponse> {
    if (r.method === 'GET' && !r.body) return getResponse(await pinnedGet(this.address, r.path, { ...r.headers }, r.signal, { rawConnectErrors: true }));
    if (r.signal?.aborted) throw new ClientError('CONNECTION_FAILED', 'cancelled');
    const url = new URL(this.address.url);
    const socket = await pinnedSocket(url, this.address, this.timeoutMs);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      // An agent whose only connection is the socket verified above.
      const agent = new (class extends HttpsAgent {
        override createConnection() { return socket; }
      })({ keepAlive: false });
      const req = httpsRequest({ host: url.hostname, port: url.port, path: r.path, method: r.method, agent, headers: { ...r.headers, connection: 'close' }, signal: r.signal }, (res) => {
        if (settled) { res.destroy(); return; }
        settled = true;
        res.on('error', () => { /* reported by the reader */ });
        res.once('close', () => socket.destroy());
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          get body() {
            return r.method === 'HEAD' ? null : (ReadableStream as unknown as { from(i: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> }).from(res);
          },
          async text(limit = 4096) {
            const chunks: Buffer[] = [];
            let n = 0;
            for await (const c of res as AsyncIterable<Buffer>) {
              if (n < limit) chunks.push(c.subarray(0, limit - n));
              n += c.length;
            }
            return Buffer.concat(chunks).toString('utf8');
          },
        });
      });
      socket.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error('no data for 30 s')));
      req.on('error', (e) => fail(e instanceof AttachmentError ? e : new ClientError('CONNECTION_FAILED', `request failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      if (r.body instanceof ReadableStream) {
        pump(r.body, req).catch((e: unknown) => {
          req.destroy();
          fail(e instanceof Error ? e : new Error(String(e)));
        });
      } else if (r.body instanceof Uint8Array) {
        req.end(r.body);
      } else if (r.body) {
        r.body.arrayBuffer().then((b) => req.end(new Uint8Array(b)), reject);
      } else {
        req.end();
      }
    });
  }
}

/** Writes a streamed body with backpressure; stops (cancelling the stream) once the request is over. */
async function pump(body: ReadableStream<Uint8Array>, req: ReturnType<typeof httpsRequest>): Promise<void> {
  const reader = body.getReader();
  const over = once(req, 'close').then(() => 'over' as const, () => 'over' as const);
  try {
    for (;;) {
      if (req.destroyed) return;
      const { done, value } = await reader.read();
      if (done) break;
      if (req.destroyed) return;
      if (!req.write(value) && await Promise.race([once(req, 'drain').then(() => 'drained' as const, () => 'over' as const), over]) === 'over') return;
    }
    if (!req.destroyed) req.end();
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The TransportFactory of the Node client. */
export const pinnedTransport = (address: ServerAddress): Transport => new PinnedTransport(address);
