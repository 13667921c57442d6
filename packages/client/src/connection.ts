/**
 * One WebSocket connection to a Sigilo server over TLS, pinned to the
 * server's certificate fingerprint (client.md §1): request/response by request
 * id, pushes delivered to a callback. The TLS socket is verified before the
 * WebSocket handshake is written, so nothing reaches an impostor.
 */
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ClientFrameSchema, ErrorCode, ServerFrameSchema, type ServerFrame,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import WebSocket from 'ws';
import { ClientError } from './errors.js';

export type ClientBody = MessageInitShape<typeof ClientFrameSchema>['body'];

export interface ServerAddress {
  /** wss://host:port/v1/ws */
  readonly url: string;
  /** SHA-256 of the server certificate (hex, colons optional), or undefined to use the system CAs. */
  readonly fingerprint: string | undefined;
}

export function normaliseFingerprint(fp: string): string {
  const hex = fp.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ClientError('INVALID_INPUT', 'a certificate fingerprint is 64 hex digits (SHA-256), as `sigilo server start` prints it');
  return hex.match(/../g)!.join(':');
}

/** node's `onread` for sockets: received bytes go into one reused buffer (tls.connect accepts it; @types/node does not list it for TLS). */
export interface SocketOnRead {
  readonly buffer: Uint8Array;
  callback(n: number, buf: Uint8Array): boolean;
}

/**
 * Opens a TLS socket and checks the pin before anything is written on it (also
 * used for attachment transfers; a download passes `onread` so every received
 * piece lands in one reused buffer).
 */
export function pinnedSocket(url: URL, fingerprint: string | undefined, timeoutMs = 15_000, onread?: SocketOnRead): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions & { onread?: SocketOnRead } = {
      host: url.hostname,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: fingerprint === undefined,
      ALPNProtocols: ['http/1.1'],
      ...(onread ? { onread } : {}),
    };
    const socket = tlsConnect(options);
    socket.once('error', (e) => reject(new ClientError('CONNECTION_FAILED', connectionFailure(e as NodeJS.ErrnoException))));
    // A stalled TCP or TLS handshake must not leave the caller waiting forever.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClientError('TIMEOUT', 'the server did not complete the TLS handshake in time; check the URL and the network'));
    }, timeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (fingerprint !== undefined) {
        const got = socket.getPeerCertificate().fingerprint256;
        if (got !== fingerprint) {
          socket.destroy();
          reject(new ClientError('FINGERPRINT_MISMATCH', 'the server certificate does not match the pinned fingerprint: this may be an impostor; ask your administrator for the fingerprint and run `sigilo init` again'));
          return;
        }
      }
      resolve(socket);
    });
  });
}

/** Certificate checks that fail when the server is reached but not trusted (no pin, `--ca-trusted`). */
const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function connectionFailure(e: NodeJS.ErrnoException): string {
  const code = e.code ?? e.message;
  if (!UNTRUSTED.has(code)) return `cannot reach the server (${code}); check the URL and that it is running`;
  // Node checks against its own CA list, not the system's: an organisation CA installed on the
  // machine is not enough.
  return `the server answered, but its certificate is not trusted here (${code}); pin it instead: `
    + 'sigilo init URL --fingerprint FP (the fingerprint the server prints), or for an organisation CA '
    + 'set NODE_EXTRA_CA_CERTS to its ca.crt';
}

/** GET over the pinned channel (e.g. /v1/server-info). */
export async function fetchJson(address: ServerAddress, path: string): Promise<unknown> {
  const url = new URL(address.url);
  const socket = await pinnedSocket(url, address.fingerprint);
  return new Promise((resolve, reject) => {
    // An agent whose only connection is the socket verified above.
    const agent = new (class extends HttpsAgent {
      override createConnection() { return socket; }
    })({ keepAlive: false });
    const req = httpsRequest({ host: url.hostname, port: url.port, path, method: 'GET', agent, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new ClientError('SERVER_ERROR', `the server answered ${path} with something that is not JSON; is this a Sigilo server?`));
        }
      });
    });
    req.on('error', (e) => reject(new ClientError('CONNECTION_FAILED', `request failed: ${e.message}`)));
    req.end();
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
  readonly #ws: WebSocket;
  #nextId = 1n;
  readonly #pending = new Map<bigint, { resolve: (f: ServerFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly closed: Promise<{ code: number; reason: string }>;
  #challenge: Promise<ServerFrame>;

  private constructor(ws: WebSocket, onPush: (frame: ServerFrame) => void) {
    this.#ws = ws;
    let gotChallenge!: (f: ServerFrame) => void;
    this.#challenge = new Promise((resolve) => { gotChallenge = resolve; });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new ClientError('CONNECTION_FAILED', `connection closed (${code}) before the server answered; it will be retried`));
      }
      this.#pending.clear();
      resolve({ code, reason: reason.toString() });
    }));
    ws.on('message', (data: Buffer) => {
      let frame: ServerFrame;
      try {
        frame = fromBinary(ServerFrameSchema, data);
      } catch {
        ws.close(1002, 'malformed frame');
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
    });
    ws.on('error', () => { /* reported through 'close' */ });
  }

  static async open(address: ServerAddress, onPush: (frame: ServerFrame) => void, timeoutMs = 15_000): Promise<{ connection: Connection; nonce: Uint8Array; serverTime: number }> {
    const url = new URL(address.url);
    const socket = await pinnedSocket(url, address.fingerprint, timeoutMs);
    const ws = new WebSocket(address.url, { createConnection: () => socket, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
    const connection = new Connection(ws, onPush);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new ClientError('TIMEOUT', 'the server did not answer the WebSocket handshake')); }, timeoutMs);
      ws.once('open', () => { clearTimeout(timer); resolve(); });
      ws.once('error', (e) => { clearTimeout(timer); reject(new ClientError('CONNECTION_FAILED', `WebSocket handshake failed: ${e.message}`)); });
    });
    const challenge = await Promise.race([
      connection.#challenge,
      new Promise<never>((_, reject) => setTimeout(() => reject(new ClientError('TIMEOUT', 'the server sent no challenge')), timeoutMs)),
    ]);
    const c = challenge.body.case === 'challenge' ? challenge.body.value : undefined;
    return { connection, nonce: c!.nonce, serverTime: Number(c!.serverTime) };
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
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
      this.#ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body })));
    });
  }

  /** Sends a frame that wants no answer (request id 0: acks). */
  post(body: ClientBody): void {
    if (this.isOpen) this.#ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 0n, body })));
  }

  close(): void {
    this.#ws.close(1000, 'bye');
  }

  terminate(): void {
    this.#ws.terminate();
  }
}
