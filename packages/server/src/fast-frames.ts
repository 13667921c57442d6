/**
 * Hand-written encoders for the two frames on the hot path (Deliver and
 * SendResult), byte-identical to @bufbuild/protobuf's toBinary (checked by
 * test/fast-frames.test.ts), without its reflection and allocations. Proto3
 * rules: fields in number order, default values omitted.
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

/** ServerFrame { request_id: 0, deliver: Deliver {…} } */
export function encodeDeliverFrame(m: DeliverFields): Uint8Array {
  const inner = varintField(m.serverId) + bytesField(m.messageId) + varintField(m.createdAt) + (m.sealed ? 2 : 0)
    + bytesField(m.senderAccountId) + varintField(m.senderDeviceId ?? 0) + bytesField(m.content) + bytesField(m.recipientHeader);
  const out = new Uint8Array(1 + varintLength(inner) + inner);
  let p = 0;
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

/** ServerFrame { request_id, send_result: SendResult {…} } */
export function encodeSendResultFrame(requestId: bigint, messageId: Uint8Array, serverTimestamp: number, duplicate: boolean): Uint8Array {
  const rid = Number(requestId);
  const inner = bytesField(messageId) + varintField(serverTimestamp) + (duplicate ? 2 : 0);
  const out = new Uint8Array(varintField(rid) + 1 + varintLength(inner) + inner);
  let p = putVarint(out, 0, 0x08, rid);
  out[p++] = 0x42; // field 8, length-delimited
  p = writeVarint(out, p, inner);
  p = putBytes(out, p, 0x0a, messageId);
  p = putVarint(out, p, 0x10, serverTimestamp);
  if (duplicate) { out[p++] = 0x18; out[p++] = 1; }
  return out;
}
