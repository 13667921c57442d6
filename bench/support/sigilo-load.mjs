// The Sigilo side of the server benchmark's load generator: a minimal WebSocket-over-TLS client
// (RFC 6455 client framing, masked, frames of one event-loop turn written as one TLS write) and
// devices that register with an invite, set an unidentified-access key, authenticate by signing
// the challenge, send SealedSend frames and acknowledge what they receive — the frames of
// spec/sigilo/server/v1/frames.proto encoded by hand, so that the generator costs far less CPU
// per message than the server it measures.
import { connect as tlsConnect } from 'node:tls';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomFillSync, sign } from 'node:crypto';
import { authPayload, registerDevicePayload, registerIdentityPayload } from '../../packages/protocol/dist/device-auth.js';

// ------------------------------------------------------------------------------------ protobuf

function varintLength(n) {
  let len = 1;
  while (n >= 128) { n = Math.floor(n / 128); len++; }
  return len;
}

function writeVarint(out, pos, n) {
  while (n >= 128) { out[pos++] = (n % 128) | 128; n = Math.floor(n / 128); }
  out[pos++] = n;
  return pos;
}

/** One field: varint (number) or length-delimited (Buffer / Uint8Array / string / array of encoded fields). */
export function pb(field, value) {
  if (typeof value === 'number') {
    if (value === 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(varintLength(field << 3) + varintLength(value));
    writeVarint(out, writeVarint(out, 0, field << 3), value);
    return out;
  }
  const body = Array.isArray(value) ? Buffer.concat(value) : typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.length);
  const head = Buffer.allocUnsafe(varintLength((field << 3) | 2) + varintLength(body.length));
  writeVarint(head, writeVarint(head, 0, (field << 3) | 2), body.length);
  return Buffer.concat([head, body]);
}

/** Reads a message's fields into a Map(field number -> last value): varints as numbers, the rest as Buffers. */
export function readPb(buf) {
  const out = new Map();
  let p = 0;
  const varint = () => {
    let n = 0, mul = 1, b;
    do { b = buf[p++]; n += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return n;
  };
  while (p < buf.length) {
    const tag = varint();
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (wire === 0) out.set(field, varint());
    else if (wire === 2) { const len = varint(); out.set(field, buf.subarray(p, p + len)); p += len; }
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** ServerFrame: {requestId, body field number, body bytes}. */
export function readServerFrame(buf) {
  let p = 0, requestId = 0;
  if (buf[0] === 0x08) {
    p = 1;
    let mul = 1, b;
    do { b = buf[p++]; requestId += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
  }
  let tag = 0, mul = 1, b;
  do { b = buf[p++]; tag += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
  let len = 0; mul = 1;
  do { b = buf[p++]; len += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
  return { requestId, field: tag >>> 3, start: p, end: p + len };
}

// ServerFrame body fields.
export const S = { challenge: 2, error: 3, registered: 4, authenticated: 5, preKeyCount: 6, sendResult: 8, deliver: 9, queueEmpty: 10, preKeysLow: 13, ok: 14, pong: 15, closing: 16 };
// ErrorCode names, for printing.
export const ERROR_NAMES = ['UNSPECIFIED', 'MALFORMED_FRAME', 'UNKNOWN_FRAME', 'NOT_AUTHENTICATED', 'AUTH_FAILED', 'INVITE_INVALID', 'INVITE_EXPIRED',
  'DEVICE_LIMIT', 'INVALID_ARGUMENT', 'INVALID_SIGNATURE', 'NOT_FOUND', 'STALE_DEVICES', 'UNAUTHORIZED', 'MESSAGE_TOO_LARGE', 'RATE_LIMITED',
  'STORAGE_FULL', 'INTERNAL', 'ALREADY_AUTHENTICATED', 'UNAVAILABLE'];

// ------------------------------------------------------------------------------------ WebSocket

const maskPool = Buffer.allocUnsafe(64 * 1024);
let maskPos = maskPool.length;

/** A masked client frame (FIN set) carrying `payload`. */
function clientFrame(opcode, payload) {
  const len = payload.length;
  const h = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const out = Buffer.allocUnsafe(h + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(len, 2); }
  else { out[1] = 0x80 | 127; out.writeUInt32BE(Math.floor(len / 2 ** 32), 2); out.writeUInt32BE(len >>> 0, 6); }
  if (maskPos + 4 > maskPool.length) { randomFillSync(maskPool); maskPos = 0; }
  const m0 = maskPool[maskPos], m1 = maskPool[maskPos + 1], m2 = maskPool[maskPos + 2], m3 = maskPool[maskPos + 3];
  maskPos += 4;
  out[h - 4] = m0; out[h - 3] = m1; out[h - 2] = m2; out[h - 1] = m3;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    out[h + i] = payload[i] ^ m0; out[h + i + 1] = payload[i + 1] ^ m1;
    out[h + i + 2] = payload[i + 2] ^ m2; out[h + i + 3] = payload[i + 3] ^ m3;
  }
  for (; i < len; i++) out[h + i] = payload[i] ^ maskPool[maskPos - 4 + (i & 3)];
  return out;
}

// Connections with frames waiting: written once per event-loop turn (one TLS record each).
const dirty = [];
let flushScheduled = false;
function flushAll() {
  flushScheduled = false;
  const list = dirty.splice(0);
  for (const c of list) c.flush();
}

export class WsConn {
  socket;
  /** (payload: Buffer) => void; the Buffer is only valid during the call. */
  onMessage = () => {};
  /** Called just before this connection's frames of this turn are written. */
  beforeFlush = undefined;
  onClose = () => {};
  /** Called with performance.now() when a ping arrives (latency trace). */
  static onPing = undefined;
  closed = false;
  #rx = null;
  #started = false;
  #out = [];
  #dirty = false;

  /**
   * TLS to 127.0.0.1:port (the server's certificate as the only CA: pass `secureContext` from
   * tls.createSecureContext({ca}) to share it between connections), then the WebSocket upgrade.
   */
  static open({ port, ca, secureContext, localAddress, path = '/v1/ws', timeoutMs = 30_000 }) {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ...(secureContext ? { secureContext } : { ca }), localAddress });
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('connect timed out')); }, timeoutMs);
      let head = Buffer.alloc(0);
      const key = randomBytes(16).toString('base64');
      const fail = (err) => { clearTimeout(timer); socket.destroy(); reject(err); };
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const onHead = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        const text = head.subarray(0, end).toString('latin1');
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (!/^HTTP\/1\.1 101 /.test(text) || !text.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
          fail(new Error(`upgrade refused: ${text.split('\r\n')[0]}`));
          return;
        }
        clearTimeout(timer);
        socket.off('error', fail);
        const conn = new WsConn(socket);
        const rest = head.subarray(end + 4);
        if (rest.length) conn.#onData(Buffer.from(rest));
        resolve(conn);
      };
      socket.on('data', onHead);
    });
  }

  constructor(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => { this.closed = true; this.onClose(); });
  }

  /** Starts delivering messages to `onMessage` (bytes that came earlier are kept until then). */
  start(onMessage) {
    this.onMessage = onMessage;
    this.#started = true;
    if (this.#rx) { const rx = this.#rx; this.#rx = null; this.#onData(rx); }
  }

  #onData(chunk) {
    if (!this.#started) { this.#rx = this.#rx ? Buffer.concat([this.#rx, chunk]) : chunk; return; }
    const buf = this.#rx ? Buffer.concat([this.#rx, chunk]) : chunk;
    this.#rx = null;
    const n = buf.length;
    let p = 0;
    while (n - p >= 2) {
      const b0 = buf[p];
      let len = buf[p + 1] & 0x7f, h = 2;
      if (len === 126) { if (n - p < 4) break; len = buf.readUInt16BE(p + 2); h = 4; }
      else if (len === 127) { if (n - p < 10) break; len = buf.readUInt32BE(p + 2) * 2 ** 32 + buf.readUInt32BE(p + 6); h = 10; }
      if (n - p < h + len) break;
      const opcode = b0 & 0x0f;
      const payload = buf.subarray(p + h, p + h + len);
      p += h + len;
      if (opcode === 2) this.onMessage(payload);
      else if (opcode === 9) { WsConn.onPing?.(performance.now()); this.sendFrame(0x0a, Buffer.from(payload)); }
      else if (opcode === 8) { this.closed = true; this.socket.end(); return; }
    }
    if (p < n) this.#rx = Buffer.from(buf.subarray(p));
  }

  /** Queues a binary message; written at the end of this event-loop turn. */
  send(payload) { this.sendFrame(0x02, payload); }

  sendFrame(opcode, payload) {
    if (this.closed) return;
    this.#out.push(clientFrame(opcode, payload));
    this.requestFlush();
  }

  /** Makes sure flush() (and so beforeFlush) runs at the end of this turn. */
  requestFlush() {
    if (!this.#dirty) {
      this.#dirty = true;
      dirty.push(this);
      if (!flushScheduled) { flushScheduled = true; setImmediate(flushAll); }
    }
  }

  flush() {
    this.#dirty = false;
    if (this.beforeFlush) this.beforeFlush();
    const out = this.#out;
    if (out.length === 0 || this.closed) { this.#out = []; return; }
    this.#out = [];
    this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

// ------------------------------------------------------------------------------------ devices

/**
 * A key pair with its raw 32-byte public key. The keys come back DER-encoded from the generation itself and
 * no KeyObject of the generation is ever exported: Node 20's KeyObjectHandle.export (JWK) holds the key's
 * mutex while it allocates, a GC at that moment may run the finaliser of the generation job that shares
 * the key, and that finaliser takes the same mutex: the process deadlocks (seen as registrations that
 * hang for ever on a loaded machine; gdb: ~KeyGenJob -> uv_mutex_lock under ExportJWKEdKey).
 */
function keyPair(type) {
  const { publicKey, privateKey } = generateKeyPairSync(type, {
    publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  // SPKI of Ed25519/X25519: a 12-byte header, then the raw key.
  return { raw: Buffer.from(publicKey.subarray(publicKey.length - 32)), privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }) };
}

/** Content layout (300 bytes, opaque to the server): magic, sender index, sequence, send time. */
export const CONTENT_BYTES = 300;
const MAGIC = 0x53494731; // "SIG1"

/**
 * One device of one account. `engine` (load-engine.mjs) receives onDelivered / onStored /
 * onSendError calls from the hot path.
 */
export class SigiloDevice {
  index;
  accountId;
  deviceId;
  #deviceKey;
  accessKey;
  /** The partner's account id and access key (set by the benchmark). */
  peer;
  conn;
  engine;
  #nextRequest = 1;
  #pending = new Map();
  #acks = [];
  #queueEmpty;
  #runNonce = randomBytes(8);
  #fill = randomBytes(CONTENT_BYTES);
  /** Latency trace (engine.trace set): sends queued this turn [requestId, seq, scheduled time], and those written, by request id. */
  #unwritten = [];
  #written = new Map();

  constructor(index) { this.index = index; }

  /** What a later run needs to authenticate as this registered device (bench/server-steady.mjs keeps it in a file). */
  credentials() {
    return { index: this.index, accountId: this.accountId.toString('hex'), deviceId: this.deviceId,
      deviceKey: this.#deviceKey.export({ format: 'pem', type: 'pkcs8' }), accessKey: this.accessKey.toString('hex') };
  }

  static fromCredentials(c) {
    const d = new SigiloDevice(c.index);
    d.accountId = Buffer.from(c.accountId, 'hex');
    d.deviceId = c.deviceId;
    d.#deviceKey = createPrivateKey(c.deviceKey);
    d.accessKey = Buffer.from(c.accessKey, 'hex');
    return d;
  }

  /** Registers a new account with an invite and sets its access key; the connection is closed afterwards. */
  async register(target, invite, localAddress) {
    const identity = keyPair('ed25519');
    const identityKey = Buffer.concat([identity.raw, keyPair('x25519').raw]);
    const device = keyPair('ed25519');
    const deviceKey = device.raw;
    const nonce = await this.#open(target, localAddress);
    const registered = await this.#request(2, [
      pb(1, invite), pb(2, identityKey), pb(3, deviceKey),
      pb(4, sign(null, registerIdentityPayload(nonce, deviceKey), identity.privateKey)),
      pb(5, sign(null, registerDevicePayload(nonce, identityKey), device.privateKey)),
    ], S.registered);
    this.accountId = Buffer.from(registered.get(1));
    this.deviceId = registered.get(2);
    this.#deviceKey = device.privateKey;
    this.accessKey = randomBytes(16);
    await this.#request(12, [pb(1, this.accessKey)], S.ok);
    this.conn.close();
    this.conn = undefined;
  }

  /** Connects, authenticates and waits for QueueEmpty. */
  async connect(target, localAddress) {
    this.#runNonce = randomBytes(8); // message ids of this connection's run never repeat earlier ones
    const nonce = await this.#open(target, localAddress);
    const queueEmpty = new Promise((resolve) => { this.#queueEmpty = resolve; });
    await this.#request(4, [
      pb(1, this.accountId), pb(2, this.deviceId), pb(3, sign(null, authPayload(nonce, this.accountId, this.deviceId), this.#deviceKey)),
    ], S.authenticated);
    await queueEmpty;
  }

  async #open(target, localAddress) {
    this.conn = await WsConn.open({ port: target.port, ca: target.cert, secureContext: target.secureContext, localAddress });
    let gotNonce, noNonce;
    const nonce = new Promise((resolve, reject) => { gotNonce = resolve; noNonce = reject; });
    this.conn.start((payload) => this.#onMessage(payload, gotNonce));
    this.conn.beforeFlush = () => { this.#flushAcks(); if (this.#unwritten.length) this.#noteWritten(); };
    const conn = this.conn;
    conn.onClose = () => {
      if (this.conn !== conn) return; // an earlier connection of this device
      noNonce(new Error('connection closed before the challenge')); // (a TLS handshake timed out on a loaded machine)
      for (const p of this.#pending.values()) p.reject(new Error('connection closed'));
      this.#pending.clear();
      if (this.engine) this.engine.onClosed(this);
    };
    return nonce;
  }

  #request(field, body, expect) {
    const requestId = this.#nextRequest++;
    this.conn.send(Buffer.concat([pb(1, requestId), pb(field, body)]));
    return new Promise((resolve, reject) => {
      this.#pending.set(requestId, {
        reject,
        resolve: (f, payload) => {
          if (f.field === expect) return resolve(readPb(payload.subarray(f.start, f.end)));
          if (f.field === S.error) {
            const e = readPb(payload.subarray(f.start, f.end));
            return reject(new Error(`${ERROR_NAMES[e.get(1) ?? 0]}: ${e.get(2)?.toString() ?? ''}`));
          }
          reject(new Error(`unexpected server frame ${f.field}`));
        },
      });
    });
  }

  #onMessage(payload, gotNonce) {
    const f = readServerFrame(payload);
    if (f.field === S.deliver) return this.#onDeliver(payload, f.start, f.end);
    if (f.field === S.sendResult) {
      if (this.#written.size) this.#noteAnswered(f.requestId);
      // SendResult {message_id=1, server_timestamp=2, duplicate=3}: duplicate is encoded last.
      if (payload[f.end - 2] === 0x18 && payload[f.end - 1] === 1) return this.engine.onSendError(this, 'DUPLICATE');
      return this.engine.onStored(this);
    }
    if (f.requestId !== 0) {
      const p = this.#pending.get(f.requestId);
      if (p) { this.#pending.delete(f.requestId); p.resolve(f, payload); return; }
      if (f.field === S.error) {
        const e = readPb(payload.subarray(f.start, f.end));
        return this.engine.onSendError(this, ERROR_NAMES[e.get(1) ?? 0] ?? String(e.get(1)));
      }
      return;
    }
    if (f.field === S.challenge) gotNonce(Buffer.from(readPb(payload.subarray(f.start, f.end)).get(1)));
    else if (f.field === S.queueEmpty) this.#queueEmpty?.();
    else if (f.field === S.error && this.engine) {
      const e = readPb(payload.subarray(f.start, f.end));
      this.engine.onPushError?.(this, ERROR_NAMES[e.get(1) ?? 0] ?? String(e.get(1)));
    }
  }

  /** Deliver {server_id=1, message_id=2, server_timestamp=3, sealed=4, ..., content=7}: note the id to ack, check the content. */
  #onDeliver(buf, start, end) {
    let p = start, serverId = 0, content = -1, contentLen = 0;
    while (p < end) {
      const tag = buf[p++];
      const wire = tag & 7;
      let v = 0, mul = 1, b;
      do { b = buf[p++]; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
      if (wire === 0) { if (tag === 0x08) serverId = v; }
      else { if (tag === 0x3a) { content = p; contentLen = v; } p += v; }
    }
    if (serverId !== 0) this.#acks.push(serverId);
    if (content < 0 || contentLen !== CONTENT_BYTES || buf.readUInt32BE(content) !== MAGIC) {
      this.engine.onCorrupt(this);
      return;
    }
    this.engine.onDelivered(this, buf.readUInt32BE(content + 4), buf.readUInt32BE(content + 8), buf.readDoubleLE(content + 12));
    this.conn.requestFlush(); // the ack goes out at the end of this turn
  }

  /** Ack {server_ids} with request_id 0 (no response), once per turn, as a client does after storing. */
  #flushAcks() {
    if (this.#acks.length === 0) return;
    const ids = this.#acks;
    this.#acks = [];
    let len = 0;
    for (const id of ids) len += varintLength(id);
    const inner = Buffer.allocUnsafe(1 + varintLength(len) + len);
    let p = writeVarint(inner, 1, len);
    inner[0] = 0x0a;
    for (const id of ids) p = writeVarint(inner, p, id);
    const frame = Buffer.allocUnsafe(1 + varintLength(inner.length) + inner.length);
    frame[0] = 0x52; // ClientFrame.ack = 10
    inner.copy(frame, writeVarint(frame, 1, inner.length));
    this.conn.sendFrame(0x02, frame);
  }

  /** SealedSend to the partner: one 300-byte opaque content for its device 1, with its access key. */
  sendSealed(seq, timeMs) {
    const requestId = this.#nextRequest++;
    const content = this.#fill;
    content.writeUInt32BE(MAGIC, 0);
    content.writeUInt32BE(this.index, 4);
    content.writeUInt32BE(seq, 8);
    content.writeDoubleLE(timeMs, 12);
    const messageId = Buffer.allocUnsafe(16);
    messageId.writeUInt32BE(this.index, 0);
    messageId.writeUInt32BE(seq, 4);
    this.#runNonce.copy(messageId, 8);
    const peer = this.peer;
    // OutgoingMessage {device_id=1: 1, content=2}
    const outgoing = 2 + 1 + varintLength(CONTENT_BYTES) + CONTENT_BYTES;
    const sealedLen = 18 + 18 + 1 + varintLength(outgoing) + outgoing + 18;
    const total = 1 + varintLength(requestId) + 1 + varintLength(sealedLen) + sealedLen;
    const f = Buffer.allocUnsafe(total);
    let p = 0;
    f[p++] = 0x08; p = writeVarint(f, p, requestId);
    f[p++] = 0x4a; p = writeVarint(f, p, sealedLen); // ClientFrame.sealed_send = 9
    f[p++] = 0x0a; f[p++] = 16; peer.accountId.copy(f, p); p += 16;
    f[p++] = 0x12; f[p++] = 16; messageId.copy(f, p); p += 16;
    f[p++] = 0x1a; p = writeVarint(f, p, outgoing);
    f[p++] = 0x08; f[p++] = peer.deviceId;
    f[p++] = 0x12; p = writeVarint(f, p, CONTENT_BYTES); content.copy(f, p); p += CONTENT_BYTES;
    f[p++] = 0x22; f[p++] = 16; peer.accessKey.copy(f, p); p += 16;
    this.conn.sendFrame(0x02, f);
  }

  sendMessage(seq, timeMs) {
    if (this.engine?.trace?.armed) this.#unwritten.push(this.#nextRequest, seq, timeMs);
    this.sendSealed(seq, timeMs);
  }

  /** Trace: this turn's sends are about to be written to the socket (beforeFlush). */
  #noteWritten() {
    const now = performance.now();
    const u = this.#unwritten;
    const trace = this.engine?.trace;
    for (let i = 0; i < u.length; i += 3) {
      this.#written.set(u[i], [u[i + 2], now]);
      trace?.written(this.index, u[i + 1], u[i + 2], now);
    }
    this.#unwritten = [];
  }

  /** Trace: the SendResult of a traced send arrived. */
  #noteAnswered(requestId) {
    const w = this.#written.get(requestId);
    if (w === undefined) return;
    this.#written.delete(requestId);
    this.engine?.trace?.answered(w[0], w[1], performance.now());
  }

  close() { this.conn?.close(); }
}
