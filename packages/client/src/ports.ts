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
  /**
   * A bounded body (one chunk of an upload; a Blob in browsers sends without
   * copying), or a stream for transports that stream request bodies
   * (`Transport.streamsRequestBodies`; its length is in `content-length`).
   */
  readonly body?: Uint8Array | Blob | ReadableStream<Uint8Array>;
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
  /**
   * Whether request bodies may be streams (Node over HTTP/1.1): an upload is
   * then one PATCH for everything the server lacks. Browsers' fetch cannot
   * stream a body over HTTP/1.1: uploads go in bounded PATCH requests.
   */
  readonly streamsRequestBodies?: boolean;
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

/** An incremental SHA-256 whose state can be copied (an upload snapshots it to resume). */
export interface HashStream {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
  copy(): HashStream;
}

/** A file to send, opened by the platform (client.md §7.3). */
export interface FileInput {
  readonly source: ByteSource;
  /** The name the recipient sees (a file name, no directory). */
  readonly name: string;
  /**
   * What identifies this file across runs, for resuming its upload (Node: the
   * absolute path; a browser: name, size and modification time of the File).
   */
  readonly id: string;
  /** Modification time when opened (ms): a saved upload of another version is started again. */
  readonly mtimeMs: number;
  /** Whether the file changed since it was opened (checked once the upload is complete). */
  changed?(): Promise<boolean>;
  close?(): Promise<void>;
}

/**
 * Where a download's verified plaintext goes. Resumable when `read` is given:
 * a later download keeps what the sink holds and re-hashes it (the digest
 * covers the whole ciphertext); without `read` a resume starts over.
 * close() makes the file appear complete (and may fail, e.g. EXISTS); after an
 * integrity failure the core truncates the sink to 0 before abort().
 */
export interface DownloadSink extends ByteSink {
  read?(position: number, length: number): Promise<Uint8Array>;
}

/**
 * The platform's files for attachments (client.md §7.3): the core reads a file
 * through a ByteSource, encrypts and uploads it, downloads, verifies and
 * decrypts into a DownloadSink; the platform only opens them. `file` and `out`
 * are the platform's names (paths in Node).
 */
export interface AttachmentFiles {
  openFile(file: string): Promise<FileInput>;
  openDownload(out: string, options: { readonly overwrite?: boolean }): Promise<DownloadSink & { readonly path: string }>;
  /** A small JPEG preview of a prepared picture, when the platform can draw one. */
  thumbnail?(source: ByteSource, prepared: { readonly contentType: string; readonly orientation: number; readonly width: number | undefined }): Promise<Uint8Array | undefined>;
  /** A faster SHA-256 than the portable one (node:crypto). */
  sha256?(): HashStream;
}
