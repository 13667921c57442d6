/**
 * A hand-written decoder for the two ClientFrames on the hot path (SealedSend and Ack), giving
 * the same object @bufbuild/protobuf's fromBinary gives (checked by test/fast-decode.test.ts),
 * without its reflection. Anything else — another frame, an unknown or repeated top-level
 * field, a wire type or value outside the plain encoding — returns undefined, and the caller
 * decodes with fromBinary as before, so malformed input is refused exactly as before.
 */
import { AckSchema, ClientFrameSchema, OutgoingMessageSchema, SealedSendSchema, type ClientFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';

const CLIENT_FRAME = 'sigilo.server.v1.ClientFrame';
const SEALED_SEND = 'sigilo.server.v1.SealedSend';
const OUTGOING = 'sigilo.server.v1.OutgoingMessage';
const ACK = 'sigilo.server.v1.Ack';

/** Thrown inside the decoder only: "not the plain case, use fromBinary". */
const FALLBACK = Symbol('fallback');

/**
 * The decoder's cursor: the frame, the position and the end of the message being read. One frame is
 * decoded at a time (synchronously), so module state replaces a reader object per nested message.
 */
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;

/** A varint of at most 53 bits (anything longer falls back). */
function varint(): number {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw FALLBACK;
    const b = buf[pos++]!;
    n += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      if (n > Number.MAX_SAFE_INTEGER) throw FALLBACK;
      return n;
    }
    mul *= 128;
  }
  throw FALLBACK;
}

/** The end of a length-delimited field's contents (they start at pos). */
function fieldEnd(): number {
  const len = varint();
  if (len > end - pos) throw FALLBACK;
  return pos + len;
}

interface Outgoing { $typeName: typeof OUTGOING; deviceId: number; content: Uint8Array }

/** An OutgoingMessage from pos to `stop`; leaves pos at `stop`. */
function outgoing(stop: number): Outgoing {
  const outer = end;
  end = stop;
  let deviceId = 0;
  let content: Uint8Array | undefined;
  while (pos < end) {
    const tag = varint();
    if (tag === 0x08) {
      const v = varint();
      if (v > 0xffffffff) throw FALLBACK;
      deviceId = v;
    } else if (tag === 0x12) {
      const e = fieldEnd();
      content = buf.subarray(pos, e);
      pos = e;
    } else throw FALLBACK;
  }
  end = outer;
  return { $typeName: OUTGOING, deviceId, content: content ?? new Uint8Array(0) };
}

function sealedSend(stop: number) {
  const outer = end;
  end = stop;
  let recipientAccountId: Uint8Array | undefined;
  let messageId: Uint8Array | undefined;
  let accessKey: Uint8Array | undefined;
  let onlineOnly = false;
  let expiresHint = 0n;
  const messages: Outgoing[] = [];
  while (pos < end) {
    const tag = varint();
    if (tag === 0x1a) messages.push(outgoing(fieldEnd()));
    else if (tag === 0x0a) { const e = fieldEnd(); recipientAccountId = buf.subarray(pos, e); pos = e; }
    else if (tag === 0x12) { const e = fieldEnd(); messageId = buf.subarray(pos, e); pos = e; }
    else if (tag === 0x22) { const e = fieldEnd(); accessKey = buf.subarray(pos, e); pos = e; }
    else if (tag === 0x28) onlineOnly = varint() !== 0;
    else if (tag === 800) expiresHint = BigInt(varint()); // field 100, varint
    else throw FALLBACK;
  }
  end = outer;
  return {
    $typeName: SEALED_SEND, recipientAccountId: recipientAccountId ?? new Uint8Array(0), messageId: messageId ?? new Uint8Array(0),
    messages, accessKey: accessKey ?? new Uint8Array(0), onlineOnly, expiresHint,
  };
}

function ack(stop: number) {
  const outer = end;
  end = stop;
  const serverIds: bigint[] = [];
  while (pos < end) {
    const tag = varint();
    if (tag === 0x08) serverIds.push(BigInt(varint()));
    else if (tag === 0x0a) {
      const packed = fieldEnd();
      const fieldOuter = end;
      end = packed;
      while (pos < end) serverIds.push(BigInt(varint()));
      end = fieldOuter;
    } else throw FALLBACK;
  }
  end = outer;
  return { $typeName: ACK, serverIds };
}

/**
 * The field numbers this decoder knows, per message. A field added to the schema and not here
 * turns the fast path off (everything goes to fromBinary) instead of decoding frames without it.
 */
const KNOWN: readonly [{ fields: readonly { number: number }[] }, readonly number[]][] = [
  [SealedSendSchema, [1, 2, 3, 4, 5, 100]], [OutgoingMessageSchema, [1, 2]], [AckSchema, [1]],
];
export const FAST_DECODE_CURRENT = KNOWN.every(([schema, numbers]) => schema.fields.length === numbers.length && schema.fields.every((f) => numbers.includes(f.number)))
  && ClientFrameSchema.fields.some((f) => f.number === 1) && ClientFrameSchema.fields.some((f) => f.number === 9 && f.localName === 'sealedSend')
  && ClientFrameSchema.fields.some((f) => f.number === 10 && f.localName === 'ack');

/** The ClientFrame of a plain SealedSend or Ack, or undefined: decode it with fromBinary. */
export function decodeHotFrame(frame: Uint8Array): ClientFrame | undefined {
  if (!FAST_DECODE_CURRENT) return undefined;
  buf = frame;
  pos = 0;
  end = frame.length;
  try {
    let requestId = 0n;
    let body: ClientFrame['body'] | undefined;
    while (pos < end) {
      const tag = varint();
      if (tag === 0x08) requestId = BigInt(varint());
      else if (tag === 0x4a && body === undefined) body = { case: 'sealedSend', value: sealedSend(fieldEnd()) } as ClientFrame['body'];
      else if (tag === 0x52 && body === undefined) body = { case: 'ack', value: ack(fieldEnd()) } as ClientFrame['body'];
      else return undefined;
    }
    if (body === undefined) return undefined;
    return { $typeName: CLIENT_FRAME, requestId, body } as ClientFrame;
  } catch (e) {
    if (e === FALLBACK) return undefined;
    throw e;
  } finally {
    buf = EMPTY; // the frame is not kept alive by the decoder
  }
}

const EMPTY = new Uint8Array(0);
