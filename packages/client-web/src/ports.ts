/**
 * The I/O ports the client core needs (client.md §7.3), defined here for the
 * browser adapters; the Node adapters implement the same shapes. Nothing here
 * names a Node or DOM type except the optional Blob fast path.
 */

/** One WebSocket connection carrying binary frames (encoded ClientFrame / ServerFrame). */
export interface FrameConnection {
  /** Queues one frame; throws TransportError CONNECTION_FAILED once the connection is closed. */
  send(frame: Uint8Array): void;
  /** Called for every frame the server sends, in order. Set it before awaiting anything after connect(). */
  onFrame: ((frame: Uint8Array) => void) | undefined;
  /** Bytes queued and not yet handed to the network (backpressure). */
  readonly bufferedAmount: number;
  /** Resolves once, when the connection is closed by either side or fails. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  close(code?: number, reason?: string): void;
}

/** An HTTP request to the server's attachment endpoints (server.md §4.1). */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'PATCH' | 'PUT';
  /** Absolute path on the server, e.g. /v1/attachments/<hex id>. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A bounded body: one chunk of an upload. */
  readonly body?: Uint8Array | Blob;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** A response header (name in any case), or undefined. */
  header(name: string): string | undefined;
  /** The body as a stream (null for HEAD and empty answers). */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Reads a short body (an error message); at most `limit` bytes are kept. */
  text(limit?: number): Promise<string>;
}

/** The connection to one server: frames over WebSocket, attachments over HTTP. */
export interface Transport {
  connect(options?: { readonly signal?: AbortSignal }): Promise<FrameConnection>;
  request(request: HttpRequest): Promise<HttpResponse>;
}

/**
 * Bytes to upload, read a piece at a time (same shape as @sigilo/client's
 * ByteSource): a File/Blob in the browser, a file handle in Node.
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
