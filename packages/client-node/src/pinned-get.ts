/**
 * A GET over a pinned TLS socket, parsed here instead of by node:http (whose
 * per-piece buffers and stream machinery cost a large download more CPU than
 * its decryption): the Node transport's downloads (pinned.ts) go through it.
 * The socket is checked against the pinned certificate before anything is
 * written (pinnedSocket); received bytes land in one reused buffer.
 */
import type { TLSSocket } from 'node:tls';
import { AttachmentError, ClientError, type ServerAddress } from '@sigilo/client';
import { pinnedSocket } from './pinned.js';

const IDLE_TIMEOUT_MS = 30_000;


/** Bytes read from the socket at a time, into one buffer reused for the whole download. */
const READ_BUFFER = 64 * 1024;
/** Largest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Bytes of an error answer kept (it is only shown). */
const MAX_TEXT_BYTES = 4096;

/** A download's answer: its head, and its body read on demand. */
export interface GetResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Passes each piece of the body to `onData`, in order; a piece is only
   * valid during the call (the read buffer is reused). When `onData` returns
   * a promise, reading pauses until it settles (the backpressure). Resolves
   * with whether the body arrived whole (its Content-Length, or a clean end
   * when there is none); rejects with what `onData` threw or the connection's
   * error. Call once.
   */
  pipe(onData: (bytes: Uint8Array) => Promise<void> | undefined): Promise<boolean>;
  /** The body as text, at most MAX_TEXT_BYTES of it (error answers). */
  text(): Promise<string>;
  /** Closes the connection (the body is not read). */
  close(): void;
}

class MalformedAnswerError extends Error {}

/**
 * A GET on a fresh pinned TLS connection, parsed here instead of by node:http
 * (whose per-piece buffers and stream machinery cost a large download more
 * CPU than its decryption): HTTP/1.1, Connection: close, a body framed by
 * Content-Length, chunked transfer coding, or the connection's end.
 */
export async function pinnedGet(server: ServerAddress, path: string, headers: Record<string, string>, signal?: AbortSignal, options: { rawConnectErrors?: boolean } = {}): Promise<GetResponse> {
  if (signal?.aborted) throw aborted();
  const url = new URL(server.url);
  for (const v of [path, ...Object.keys(headers), ...Object.values(headers)]) {
    if (/[\r\n]/.test(v)) throw new AttachmentError('BAD_POINTER', 'a request line or header contains a line break');
  }
  // ---- state shared by the socket's read callback and the caller
  let head: Buffer | undefined = Buffer.alloc(0);
  let onHead!: (r: GetResponse) => void;
  let onHeadError!: (e: Error) => void;
  const headPromise = new Promise<GetResponse>((resolve, reject) => { onHead = resolve; onHeadError = reject; });
  let failure: Error | undefined;
  let ended = false; // the connection ended cleanly ('end')
  let closed = false;
  let bodyDone = false; // the framing says the body is complete
  let framing: BodyFraming | undefined;
  let consumer: ((bytes: Uint8Array) => Promise<void> | undefined) | undefined;
  /** Body bytes received while the consumer was absent or busy (copies; bounded by the pause). */
  const backlog: Buffer[] = [];
  let busy = false;
  let settle: ((complete: boolean) => void) | undefined;
  let settleError: ((e: Error) => void) | undefined;
  let socket: TLSSocket | undefined;

  const fail = (e: Error) => {
    if (failure) return;
    failure = e instanceof MalformedAnswerError
      ? new AttachmentError('INTERRUPTED', `the server's answer could not be read (${e.message}); run it again, and tell the administrator if it persists`)
      : e;
    socket?.destroy();
    if (head) onHeadError(failure);
    finish();
  };
  /** Resolves pipe() once nothing is left to deliver (at once after a failure). */
  const finish = () => {
    if (!settle || busy) return;
    if (failure) {
      backlog.length = 0;
      settleError!(failure);
    } else if (backlog.length > 0) {
      return;
    } else if (bodyDone) {
      socket?.destroy();
      settle(true);
    } else if (closed) {
      settle(framing?.untilEnd === true && ended);
    } else {
      return;
    }
    settle = undefined;
  };
  /** Gives body bytes to the consumer; false: pause reading. */
  const deliver = (bytes: Uint8Array): boolean => {
    if (!consumer || busy || backlog.length > 0) {
      backlog.push(Buffer.from(bytes));
      return false;
    }
    let wait: Promise<void> | undefined;
    try {
      wait = consumer(bytes);
    } catch (e) {
      fail(e as Error);
      return false;
    }
    if (!wait) return true;
    busy = true;
    wait.then(drainBacklog, (e: Error) => fail(e));
    return false;
  };
  const drainBacklog = async () => {
    busy = true;
    try {
      while (backlog.length > 0 && !failure) {
        const w = consumer!(backlog.shift()!);
        if (w) await w;
      }
    } catch (e) {
      busy = false;
      fail(e as Error);
      return;
    }
    busy = false;
    if (!failure && !bodyDone && !closed) socket?.resume();
    finish();
  };
  /** Body bytes as they come off the wire, framing removed. */
  const onBody = (bytes: Uint8Array): boolean => {
    let go = true;
    try {
      framing!.take(bytes, (piece) => { if (!deliver(piece)) go = false; });
    } catch (e) {
      fail(e as Error);
      return false;
    }
    if (framing!.done) {
      bodyDone = true;
      finish();
      return false;
    }
    return go;
  };
  const onRead = (n: number, buf: Uint8Array): boolean => {
    if (failure || bodyDone) return false;
    const bytes = buf.subarray(0, n);
    if (!head) return onBody(bytes);
    const joined = head.length ? Buffer.concat([head, bytes]) : Buffer.from(bytes);
    const end = joined.indexOf('\r\n\r\n');
    if (end < 0) {
      if (joined.length > MAX_HEAD_BYTES) fail(new MalformedAnswerError('its head is too long'));
      else head = joined;
      return true;
    }
    let parsed: { status: number; headers: Record<string, string> };
    try {
      parsed = parseHead(joined.subarray(0, end).toString('latin1'));
      framing = new BodyFraming(parsed.headers);
    } catch (e) {
      fail(e as Error); // rejects the head
      return false;
    }
    head = undefined;
    onHead({
      status: parsed.status,
      headers: parsed.headers,
      pipe(onData) {
        return new Promise<boolean>((resolve, reject) => {
          settle = resolve;
          settleError = reject;
          consumer = onData;
          if (backlog.length > 0) void drainBacklog();
          else {
            if (!bodyDone && !closed && !failure) socket?.resume();
            finish();
          }
        });
      },
      async text() {
        const parts: Buffer[] = [];
        let kept = 0;
        await this.pipe((b) => {
          if (kept < MAX_TEXT_BYTES) {
            const piece = Buffer.from(b.subarray(0, MAX_TEXT_BYTES - kept));
            parts.push(piece);
            kept += piece.length;
          }
          return undefined;
        }).catch(() => false);
        return Buffer.concat(parts).toString('utf8');
      },
      close() {
        socket?.destroy();
      },
    });
    // Whatever followed the head waits for pipe(); reading pauses until then.
    if (framing!.done) {
      bodyDone = true;
      return false;
    }
    const rest = joined.subarray(end + 4);
    if (rest.length > 0) onBody(rest);
    return false;
  };

  try {
    // Read into one buffer reused for the whole download (node's onread): nothing per piece to collect.
    socket = await pinnedSocket(url, server, undefined, { buffer: Buffer.allocUnsafeSlow(READ_BUFFER), callback: onRead });
  } catch (e) {
    // Unreachable for now: retried like a dropped connection. A wrong certificate is not retried.
    // Through the Transport port (rawConnectErrors) the caller decides: the core's attachment loop makes it INTERRUPTED,
    // other requests (server-info at init) keep the connection's own message, which says what to do.
    if (!options.rawConnectErrors && e instanceof ClientError && (e.code === 'CONNECTION_FAILED' || e.code === 'TIMEOUT')) throw new AttachmentError('INTERRUPTED', `${e.message.replace(/;.*$/, '')}; run it again to resume`);
    throw e;
  }
  const s = socket;
  const onAbort = () => fail(aborted());
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  s.setTimeout(IDLE_TIMEOUT_MS, () => fail(new AttachmentError('INTERRUPTED', 'the server sent nothing for 30 s; run it again to resume')));
  s.on('error', (e) => fail(e));
  s.on('end', () => { ended = true; });
  s.once('close', () => {
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    if (head) fail(new AttachmentError('INTERRUPTED', 'the connection closed before the server answered; run it again to resume'));
    finish();
  });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  s.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\n${extra}connection: close\r\n\r\n`);
  try {
    return await headPromise;
  } catch (e) {
    s.destroy();
    throw e instanceof AttachmentError ? e : translate(e, signal);
  }
}


const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Status and headers of an HTTP/1.x response head (without its final empty line). */
function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?$/.exec(lines[0]!);
  if (!m) throw new MalformedAnswerError('not an HTTP/1.1 status line');
  const status = Number(m[1]);
  if (status < 200) throw new MalformedAnswerError(`an unexpected ${status} answer`);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new MalformedAnswerError('a malformed header line');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key in headers) {
      if (key === 'content-length' && headers[key] !== value) throw new MalformedAnswerError('two different Content-Length headers');
      headers[key] = `${headers[key]}, ${value}`;
      if (key === 'content-length') headers[key] = value;
    } else {
      headers[key] = value;
    }
  }
  return { status, headers };
}

/** Removes a body's framing: Content-Length, chunked transfer coding, or until the connection ends. */
class BodyFraming {
  /** The body is delimited by the end of the connection. */
  readonly untilEnd: boolean;
  done = false;
  readonly #chunked: boolean;
  /** Content-Length: bytes left; chunked: bytes left in the current chunk. */
  #left: number;
  /** Chunked: the size or trailer line being read, or the CRLF after a chunk's data. */
  #line = '';
  #state: 'size' | 'data' | 'data-end' | 'trailer' = 'size';

  constructor(headers: Record<string, string>) {
    const te = headers['transfer-encoding']?.toLowerCase();
    this.#chunked = te !== undefined && te !== 'identity';
    if (this.#chunked && te !== 'chunked') throw new MalformedAnswerError(`an unsupported transfer coding (${te})`);
    const length = headers['content-length'];
    if (!this.#chunked && length !== undefined) {
      if (!/^\d{1,16}$/.test(length)) throw new MalformedAnswerError('a malformed Content-Length');
      this.#left = Number(length);
      this.done = this.#left === 0;
      this.untilEnd = false;
    } else {
      this.#left = 0;
      this.untilEnd = !this.#chunked;
    }
  }

  /** Passes the body bytes in `bytes` to `out` (views of `bytes`); bytes after the body's end are ignored. */
  take(bytes: Uint8Array, out: (piece: Uint8Array) => void): void {
    if (this.done) return;
    if (this.untilEnd) {
      out(bytes);
      return;
    }
    if (!this.#chunked) {
      const n = Math.min(this.#left, bytes.length);
      if (n > 0) out(n === bytes.length ? bytes : bytes.subarray(0, n));
      this.#left -= n;
      if (this.#left === 0) this.done = true;
      return;
    }
    let at = 0;
    while (at < bytes.length && !this.done) {
      if (this.#state === 'data') {
        const n = Math.min(this.#left, bytes.length - at);
        out(bytes.subarray(at, at + n));
        at += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = 'data-end';
        continue;
      }
      // A line: the chunk size, the CRLF after the data, or a trailer line.
      const nl = bytes.indexOf(0x0a, at);
      const end = nl < 0 ? bytes.length : nl;
      this.#line += Buffer.from(bytes.subarray(at, end)).toString('latin1');
      at = end;
      if (this.#line.length > 4096) throw new MalformedAnswerError('a chunk line is too long');
      if (nl < 0) continue;
      at += 1;
      const line = this.#line.replace(/\r$/, '');
      this.#line = '';
      if (this.#state === 'data-end') {
        if (line !== '') throw new MalformedAnswerError('a chunk longer than its size');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const m = /^([0-9a-fA-F]{1,12})(?:\s*;.*)?$/.exec(line);
        if (!m) throw new MalformedAnswerError('a malformed chunk size');
        this.#left = parseInt(m[1]!, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.done = true;
      }
    }
  }
}


function aborted(): AttachmentError {
  return new AttachmentError('ABORTED', 'cancelled; run the same command again to resume where it stopped');
}

function translate(e: unknown, signal: AbortSignal | undefined): Error {
  if (e instanceof AttachmentError) return e;
  if (signal?.aborted) return aborted();
  const code = (e as NodeJS.ErrnoException).code;
  return new AttachmentError('INTERRUPTED', `the download was cut off (${code ?? (e as Error).message}); it resumes where it stopped`);
}
