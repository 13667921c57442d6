/**
 * Hand-written encoders for the two frames on the hot path (Deliver and
 * SendResult), byte-identical to @bufbuild/protobuf's toBinary (checked by
 * test/fast-frames.test.ts), without its reflection and allocations. Proto3
 * rules: fields in number order, default values omitted. The *WsFrame variants put the
 * WebSocket frame header in front in the same buffer, so that the connection writes one buffer
 * per frame to its socket instead of going through ws's Sender (frame-writer.ts).
 */

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) { n = Math.floor(n / 128); len++; }
  return len;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    out[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Sizes and writers for one field at a time. */
const varintField = (n: number) => (n === 0 ? 0 : 1 + varintLength(n));
const bytesField = (b: Uint8Array | undefined) => (!b || b.length === 0 ? 0 : 1 + varintLength(b.length) + b.length);

function putVarint(out: Uint8Array, pos: number, tag: number, n: number): number {
  if (n === 0) return pos;
  out[pos++] = tag;
  return writeVarint(out, pos, n);
}

function putBytes(out: Uint8Array, pos: number, tag: number, b: Uint8Array | undefined): number {
  if (!b || b.length === 0) return pos;
  out[pos++] = tag;
  pos = writeVarint(out, pos, b.length);
  out.set(b, pos);
  return pos + b.length;
}

export interface DeliverFields {
  readonly serverId: number;
  readonly messageId: Uint8Array;
  readonly createdAt: number;
  readonly sealed: boolean;
  readonly senderAccountId: Uint8Array | undefined;
  readonly senderDeviceId: number | undefined;
  readonly content: Uint8Array;
  /** MultiSealedSend: the recipient account's header (field 8); absent otherwise. */
  readonly recipientHeader?: Uint8Array | undefined;
}

/**
 * Bytes of the header of an unmasked WebSocket frame (FIN, binary) carrying `len` bytes (RFC 6455 §5.2):
 * 2, or 4 with a 16-bit length, or 10 with a 64-bit one.
 */
export function wsHeaderLength(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/** Writes that header at the start of `out` (wsHeaderLength(len) bytes), as ws's Sender.frame does for a server. */
export function writeWsHeader(out: Uint8Array, len: number): void {
  out[0] = 0x82; // FIN, opcode 2 (binary)
  if (len < 126) { out[1] = len; return; }
  if (len < 65536) { out[1] = 126; out[2] = len >>> 8; out[3] = len & 0xff; return; }
  out[1] = 127;
  const high = Math.floor(len / 2 ** 32);
  out[2] = 0; out[3] = 0; out[4] = (high >>> 8) & 0xff; out[5] = high & 0xff;
  out[6] = (len >>> 24) & 0xff; out[7] = (len >>> 16) & 0xff; out[8] = (len >>> 8) & 0xff; out[9] = len & 0xff;
}

/** A protobuf payload of `len` bytes after room for its WebSocket header (`ws`), from Node's buffer pool when small. */
function frameBuffer(len: number, ws: boolean): [Uint8Array, number] {
  const head = ws ? wsHeaderLength(len) : 0;
  const out = ws ? Buffer.allocUnsafe(head + len) : new Uint8Array(len);
  if (ws) writeWsHeader(out, len);
  return [out, head];
}

/** `payload` as one unmasked binary WebSocket frame (header and payload in one buffer). */
export function wsFrame(payload: Uint8Array): Uint8Array {
  const [out, head] = frameBuffer(payload.length, true);
  out.set(payload, head);
  return out;
}

function deliver(m: DeliverFields, ws: boolean): Uint8Array {
  const inner = varintField(m.serverId) + bytesField(m.messageId) + varintField(m.createdAt) + (m.sealed ? 2 : 0)
    + bytesField(m.senderAccountId) + varintField(m.senderDeviceId ?? 0) + bytesField(m.content) + bytesField(m.recipientHeader);
  const [out, head] = frameBuffer(1 + varintLength(inner) + inner, ws);
  let p = head;
  out[p++] = 0x4a; // field 9, length-delimited
  p = writeVarint(out, p, inner);
  p = putVarint(out, p, 0x08, m.serverId);
  p = putBytes(out, p, 0x12, m.messageId);
  p = putVarint(out, p, 0x18, m.createdAt);
  if (m.sealed) { out[p++] = 0x20; out[p++] = 1; }
  p = putBytes(out, p, 0x2a, m.senderAccountId);
  p = putVarint(out, p, 0x30, m.senderDeviceId ?? 0);
  p = putBytes(out, p, 0x3a, m.content);
  putBytes(out, p, 0x42, m.recipientHeader); // field 8, length-delimited
  return out;
}

function sendResult(requestId: bigint, messageId: Uint8Array, serverTimestamp: number, duplicate: boolean, ws: boolean): Uint8Array {
  const rid = Number(requestId);
  const inner = bytesField(messageId) + varintField(serverTimestamp) + (duplicate ? 2 : 0);
  const [out, head] = frameBuffer(varintField(rid) + 1 + varintLength(inner) + inner, ws);
  let p = putVarint(out, head, 0x08, rid);
  out[p++] = 0x42; // field 8, length-delimited
  p = writeVarint(out, p, inner);
  p = putBytes(out, p, 0x0a, messageId);
  p = putVarint(out, p, 0x10, serverTimestamp);
  if (duplicate) { out[p++] = 0x18; out[p++] = 1; }
  return out;
}

/** ServerFrame { request_id: 0, deliver: Deliver {…} } */
export function encodeDeliverFrame(m: DeliverFields): Uint8Array { return deliver(m, false); }

/** The same, as a WebSocket frame ready for the socket (one allocation for header and payload). */
export function encodeDeliverWsFrame(m: DeliverFields): Uint8Array { return deliver(m, true); }

/** ServerFrame { request_id, send_result: SendResult {…} } */
export function encodeSendResultFrame(requestId: bigint, messageId: Uint8Array, serverTimestamp: number, duplicate: boolean): Uint8Array {
  return sendResult(requestId, messageId, serverTimestamp, duplicate, false);
}

/** The same, as a WebSocket frame ready for the socket. */
export function encodeSendResultWsFrame(requestId: bigint, messageId: Uint8Array, serverTimestamp: number, duplicate: boolean): Uint8Array {
  return sendResult(requestId, messageId, serverTimestamp, duplicate, true);
}
