/**
 * A hand-written decoder for the two ClientFrames on the hot path (SealedSend and Ack), giving
 * the same object @bufbuild/protobuf's fromBinary gives (checked by test/fast-decode.test.ts),
 * without its reflection. Anything else — another frame, an unknown or repeated top-level
 * field, a wire type or value outside the plain encoding — returns undefined, and the caller
 * decodes with fromBinary as before, so malformed input is refused exactly as before.
 */
import type { ClientFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';

const CLIENT_FRAME = 'sigilo.server.v1.ClientFrame';
const SEALED_SEND = 'sigilo.server.v1.SealedSend';
const OUTGOING = 'sigilo.server.v1.OutgoingMessage';
const ACK = 'sigilo.server.v1.Ack';

/** Thrown inside the decoder only: "not the plain case, use fromBinary". */
const FALLBACK = Symbol('fallback');

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) { this.pos = start; }

  /** A varint of at most 53 bits (anything longer falls back). */
  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw FALLBACK;
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (n > Number.MAX_SAFE_INTEGER) throw FALLBACK;
        return n;
      }
      mul *= 128;
    }
    throw FALLBACK;
  }

  /** Bounds of a length-delimited field's contents. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw FALLBACK;
    this.pos = start + len;
    return [start, this.pos];
  }
}

interface Outgoing { $typeName: typeof OUTGOING; deviceId: number; content: Uint8Array }

function outgoing(buf: Uint8Array, start: number, end: number): Outgoing {
  const r = new Reader(buf, start, end);
  let deviceId = 0;
  let content: Uint8Array = new Uint8Array(0);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) {
      const v = r.varint();
      if (v > 0xffffffff) throw FALLBACK;
      deviceId = v;
    } else if (tag === 0x12) {
      const [s, e] = r.span();
      content = buf.subarray(s, e);
    } else throw FALLBACK;
  }
  return { $typeName: OUTGOING, deviceId, content };
}

function sealedSend(buf: Uint8Array, start: number, end: number) {
  const r = new Reader(buf, start, end);
  const empty: Uint8Array = new Uint8Array(0);
  let recipientAccountId = empty;
  let messageId = empty;
  let accessKey = empty;
  let onlineOnly = false;
  let expiresHint = 0n;
  const messages: Outgoing[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) { const [s, e] = r.span(); recipientAccountId = buf.subarray(s, e); }
    else if (tag === 0x12) { const [s, e] = r.span(); messageId = buf.subarray(s, e); }
    else if (tag === 0x1a) { const [s, e] = r.span(); messages.push(outgoing(buf, s, e)); }
    else if (tag === 0x22) { const [s, e] = r.span(); accessKey = buf.subarray(s, e); }
    else if (tag === 0x28) onlineOnly = r.varint() !== 0;
    else if (tag === 0x320) expiresHint = BigInt(r.varint()); // field 100 (expires_hint), varint
    else throw FALLBACK;
  }
  return { $typeName: SEALED_SEND, recipientAccountId, messageId, messages, accessKey, onlineOnly, expiresHint };
}

function ack(buf: Uint8Array, start: number, end: number) {
  const r = new Reader(buf, start, end);
  const serverIds: bigint[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) serverIds.push(BigInt(r.varint()));
    else if (tag === 0x0a) {
      const [s, e] = r.span();
      const packed = new Reader(buf, s, e);
      while (packed.pos < packed.end) serverIds.push(BigInt(packed.varint()));
    } else throw FALLBACK;
  }
  return { $typeName: ACK, serverIds };
}

/** The ClientFrame of a plain SealedSend or Ack, or undefined: decode it with fromBinary. */
export function decodeHotFrame(buf: Uint8Array): ClientFrame | undefined {
  try {
    const r = new Reader(buf, 0, buf.length);
    let requestId = 0n;
    let body: ClientFrame['body'] | undefined;
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag === 0x08) requestId = BigInt(r.varint());
      else if (tag === 0x4a && body === undefined) { const [s, e] = r.span(); body = { case: 'sealedSend', value: sealedSend(buf, s, e) } as ClientFrame['body']; }
      else if (tag === 0x52 && body === undefined) { const [s, e] = r.span(); body = { case: 'ack', value: ack(buf, s, e) } as ClientFrame['body']; }
      else return undefined;
    }
    if (body === undefined) return undefined;
    return { $typeName: CLIENT_FRAME, requestId, body } as ClientFrame;
  } catch (e) {
    if (e === FALLBACK) return undefined;
    throw e;
  }
}
