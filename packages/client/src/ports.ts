/**
 * The I/O ports of the client core (client.md §7.3, §7.4). The core names no
 * Node or DOM module: the application hands these in (@sigilo/client-node
 * and @sigilo/client-web implement them). The other ports are the
 * ClientStore (store/port.ts), the protocol's CryptoProvider and Random
 * (ProtocolContext), the clock (`now`) and the event listener (events.ts).
 */
/** A server as this device knows it (`init` keeps it in the store). */
export interface ServerAddress {
  /** wss://host:port/v1/ws */
  readonly url: string;
  /** SHA-256 of the server certificate (hex, colons optional), or undefined to use the system CAs. */
  readonly fingerprint: string | undefined;
  /**
   * SHA-256 of the organisation CA that issues the server certificate (`sigilo admin tls-ca`):
   * the server's chain must lead to `caCert`, whose fingerprint this is (client.md §1.1).
   * A leaf that matches `fingerprint` is accepted too.
   */
  readonly caFingerprint?: string | undefined;
  /** That CA certificate (PEM), fetched and checked against caFingerprint at init. */
  readonly caCert?: string | undefined;
}

/** One WebSocket connection carrying binary frames (encoded ClientFrame / ServerFrame). */
export interface FrameConnection {
  /** Queues one frame; throws once the connection is closed. */
  send(frame: Uint8Array): void;
  /** Called for every frame the server sends, in order. Set it before awaiting anything after connect(). */
  onFrame: ((frame: Uint8Array) => void) | undefined;
  /** Bytes queued and not yet handed to the network (backpressure). */
  readonly bufferedAmount: number;
  /** Resolves once, when the connection is closed by either side or fails. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  /** Closes with a handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, without a closing handshake (optional: close() otherwise). */
  terminate?(): void;
}

/** An HTTP request to the server (server-info, attachment endpoints: server.md §4.1). */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'PATCH' | 'PUT';
  /** Absolute path on the server, e.g. /v1/attachments/<hex id>. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A bounded body: one chunk of an upload (a Blob in browsers sends without copying). */
  readonly body?: Uint8Array | Blob;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** A response header (name in any case), or undefined. */
  header(name: string): string | undefined;
  /** The body as a stream (null for HEAD and empty answers). */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Reads a short body (an error message, a JSON document); at most `limit` bytes are kept. */
  text(limit?: number): Promise<string>;
}

/** The connection to one server: frames over WebSocket, other requests over HTTP. */
export interface Transport {
  connect(options?: { readonly signal?: AbortSignal }): Promise<FrameConnection>;
  request(request: HttpRequest): Promise<HttpResponse>;
}

/**
 * Makes the Transport for the server this device was pointed at (`init` keeps
 * the URL and the certificate pin in the store). Node: a pinned-TLS transport;
 * a browser: the page's WebSocket and fetch.
 */
export type TransportFactory = (address: ServerAddress) => Transport;

/**
 * Bytes to upload, read a piece at a time: a File/Blob in a browser, a file
 * handle in Node, a buffer in tests.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `position` (fewer only at the end of the source). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Browser fast path: the same bytes as a Blob slice, sent without copying into memory. */
  slice?(position: number, length: number): Blob;
}

/** Where a download goes, written in order; resumable sinks keep what they got. */
export interface ByteSink {
  /** Bytes already held (a resumed download asks the server for the rest). */
  size(): Promise<number>;
  write(chunk: Uint8Array): Promise<void>;
  /** Drops everything after `size` bytes (resume from a chunk boundary). */
  truncate(size: number): Promise<void>;
  /** Makes what was written durable and ends the writing (the sink may be opened again to resume). */
  close(): Promise<void>;
  /** Ends the writing after a failure: a resumable sink keeps what it has, others drop it. */
  abort(reason?: unknown): Promise<void>;
}
