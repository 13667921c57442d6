/**
 * The browser Transport: the page's own WebSocket and fetch, to the origin the
 * app was loaded from (wss://<host>/v1/ws and https://<host>/v1/attachments/…).
 * The browser's TLS decides trust: no pinning here, the certificate must be one
 * the browser trusts (DESIGN.md "The client in a browser").
 */
import type { FrameConnection, HttpRequest, HttpResponse, Transport } from './ports.js';

export type TransportErrorCode = 'CONNECTION_FAILED' | 'ABORTED';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** Largest frame accepted from the server (as the Node client: 64 MiB). */
const MAX_FRAME = 64 * 1024 * 1024;

export interface BrowserTransportOptions {
  /** https://host[:port] of the Sigilo server; default: the page's origin. */
  readonly origin?: string;
}

export class BrowserTransport implements Transport {
  readonly origin: string;

  constructor(options: BrowserTransportOptions = {}) {
    const origin = options.origin ?? globalThis.location?.origin;
    if (!origin) throw new TypeError('no origin: pass the server\'s https origin');
    const url = new URL(origin);
    if (url.protocol !== 'https:') throw new TypeError('the Sigilo server must be reached over https');
    this.origin = url.origin;
  }

  get webSocketUrl(): string {
    return `wss://${new URL(this.origin).host}/v1/ws`;
  }

  connect(options: { signal?: AbortSignal } = {}): Promise<FrameConnection> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) { reject(new TransportError('ABORTED', 'the connection attempt was cancelled')); return; }
      const ws = new WebSocket(this.webSocketUrl);
      ws.binaryType = 'arraybuffer';
      let opened = false;
      let resolveClosed!: (v: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((r) => { resolveClosed = r; });
      const onAbort = () => ws.close(1000, 'cancelled');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // Frames that arrive before the caller set onFrame (the server's challenge follows the handshake at once,
      // and in a Worker it can be dispatched before the code awaiting connect() runs) wait here, in order.
      let early: Uint8Array[] | undefined = [];
      let onFrame: ((frame: Uint8Array) => void) | undefined;
      const conn: FrameConnection = {
        get onFrame() { return onFrame; },
        set onFrame(fn) {
          onFrame = fn;
          if (fn && early) {
            const queued = early;
            early = undefined;
            for (const f of queued) fn(f);
          }
        },
        get bufferedAmount() { return ws.bufferedAmount; },
        closed,
        send(frame) {
          if (ws.readyState !== WebSocket.OPEN) throw new TransportError('CONNECTION_FAILED', 'the connection to the server is closed; reconnect');
          ws.send(frame as Uint8Array<ArrayBuffer>);
        },
        close(code = 1000, reason = '') {
          // A page may only send 1000 or 3000–4999 (others throw InvalidAccessError, and the socket would stay
          // open): the core's protocol codes (1002 "malformed frame", 1008, …) go as 4000 + code.
          const sendable = code === 1000 || (code >= 3000 && code <= 4999) ? code : code >= 1000 && code < 2000 ? 4000 + (code - 1000) : 1000;
          if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(sendable, reason);
        },
      };
      ws.onopen = () => {
        opened = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve(conn);
      };
      ws.onmessage = (ev: MessageEvent) => {
        if (!(ev.data instanceof ArrayBuffer) || ev.data.byteLength > MAX_FRAME) {
          // Text frames and oversized frames are not Sigilo frames.
          ws.close(1002, 'malformed frame');
          return;
        }
        const frame = new Uint8Array(ev.data);
        if (onFrame) onFrame(frame);
        else if (early && early.length < 64) early.push(frame);
      };
      ws.onerror = () => { /* reported by onclose */ };
      ws.onclose = (ev: CloseEvent) => {
        options.signal?.removeEventListener('abort', onAbort);
        resolveClosed({ code: ev.code, reason: ev.reason });
        if (!opened) {
          reject(options.signal?.aborted
            ? new TransportError('ABORTED', 'the connection attempt was cancelled')
            : new TransportError('CONNECTION_FAILED', 'cannot reach the Sigilo server (offline, or its certificate is not trusted by this browser)'));
        }
      };
    });
  }

  async request(r: HttpRequest): Promise<HttpResponse> {
    if (!r.path.startsWith('/')) throw new TypeError('request paths are absolute');
    let res: Response;
    try {
      res = await fetch(this.origin + r.path, {
        method: r.method,
        headers: r.headers,
        body: r.body as BodyInit | undefined,
        signal: r.signal,
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
      });
    } catch (e) {
      if (r.signal?.aborted) throw new TransportError('ABORTED', 'the transfer was cancelled', { cause: e });
      throw new TransportError('CONNECTION_FAILED', 'the request to the server failed (connection lost?)', { cause: e });
    }
    return {
      status: res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      body: res.body,
      async text(limit = 4096) {
        if (!res.body) return '';
        const reader = res.body.getReader();
        const parts: Uint8Array[] = [];
        let n = 0;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (n < limit) parts.push(value.subarray(0, limit - n));
            n += value.length;
          }
        } catch { /* a cut error body is still an error */ }
        const all = new Uint8Array(Math.min(n, limit));
        let o = 0;
        for (const p of parts) { all.set(p, o); o += p.length; }
        return new TextDecoder().decode(all);
      },
    };
  }
}
