/**
 * src/fast-decode.ts gives exactly what protobuf-es's fromBinary gives for the hot-path frames
 * (SealedSend, Ack), and undefined (so the caller uses fromBinary) for every other frame and
 * for any byte string it does not decode the same way: random mutations of valid frames and
 * random bytes never produce a frame fromBinary would not.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ClientFrameSchema } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHotFrame } from '../src/fast-decode.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const u64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));

const sealedFrame = fc.record({
  requestId: u64,
  recipientAccountId: bytes(20), messageId: bytes(20), accessKey: bytes(20), onlineOnly: fc.boolean(), expiresHint: u64,
  messages: fc.array(fc.record({ deviceId: fc.integer({ min: 0, max: 0xffffffff }), content: bytes(400) }), { maxLength: 5 }),
}).map(({ requestId, ...value }) => toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body: { case: 'sealedSend', value } })));
const ackFrame = fc.record({ requestId: u64, serverIds: fc.array(u64, { maxLength: 50 }) })
  .map(({ requestId, serverIds }) => toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body: { case: 'ack', value: { serverIds } } })));

function reference(b: Uint8Array) {
  try { return fromBinary(ClientFrameSchema, b, { readUnknownFields: false }); } catch { return 'throws' as const; }
}

describe('hand-written decoder of hot-path ClientFrames', () => {
  it('decodes SealedSend and Ack frames exactly as fromBinary (those with safe-integer numbers)', () => {
    fc.assert(fc.property(fc.oneof(sealedFrame, ackFrame), (b) => {
      const fast = decodeHotFrame(b);
      const ref = reference(b);
      if (fast === undefined) {
        // Only frames with numbers beyond 2^53 fall back.
        const big = (x: bigint) => x > BigInt(Number.MAX_SAFE_INTEGER);
        expect(ref !== 'throws' && (big(ref.requestId) || (ref.body.case === 'ack' && ref.body.value.serverIds.some(big)) || (ref.body.case === 'sealedSend' && big(ref.body.value.expiresHint)))).toBe(true);
        return;
      }
      expect(fast).toEqual(ref);
    }), { numRuns: 500 });
  });

  it('unpacked server ids, repeated scalar fields (last wins) and a Ping decode the same or fall back', () => {
    // Ack { server_ids: 5 (unpacked), 7 (unpacked) } with request id 3
    const unpacked = Uint8Array.from([0x08, 0x03, 0x52, 0x04, 0x08, 0x05, 0x08, 0x07]);
    expect(decodeHotFrame(unpacked)).toEqual(reference(unpacked));
    // SealedSend with message_id given twice
    const twice = Uint8Array.from([0x4a, 0x06, 0x12, 0x01, 0xaa, 0x12, 0x01, 0xbb]);
    expect(decodeHotFrame(twice)).toEqual(reference(twice));
    const ping = toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 9n, body: { case: 'ping', value: {} } }));
    expect(decodeHotFrame(ping)).toBeUndefined();
  });

  it('mutated and random bytes: never a frame fromBinary would not give', () => {
    const mutated = fc.tuple(fc.oneof(sealedFrame, ackFrame), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat())
      .map(([b, edits, cut]) => {
        const out = Uint8Array.from(b);
        for (const [i, v] of edits) if (out.length) out[i % out.length] = v;
        return out.subarray(0, out.length ? out.length - (cut % Math.min(3, out.length)) : 0);
      });
    fc.assert(fc.property(fc.oneof(mutated, bytes(64)), (b) => {
      const fast = decodeHotFrame(b);
      if (fast === undefined) return;
      expect(fast).toEqual(reference(b));
    }), { numRuns: 3000 });
  });
});
