import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ServerFrameSchema } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeDeliverFrame, encodeSendResultFrame } from '../src/fast-frames.js';

const u53 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

describe('hand-written frame encoders match protobuf-es', () => {
  it('Deliver', () => {
    fc.assert(fc.property(u53, bytes(20), u53, fc.boolean(), fc.option(bytes(16), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }), bytes(400),
      (serverId, messageId, createdAt, sealed, senderAccountId, senderDeviceId, content) => {
        const fast = encodeDeliverFrame({ serverId, messageId, createdAt, sealed, senderAccountId, senderDeviceId, content });
        const reference = toBinary(ServerFrameSchema, create(ServerFrameSchema, {
          requestId: 0n,
          body: { case: 'deliver', value: { serverId: BigInt(serverId), messageId, serverTimestamp: BigInt(createdAt), sealed, senderAccountId: senderAccountId ?? new Uint8Array(0), senderDeviceId: senderDeviceId ?? 0, content } },
        }));
        expect(Buffer.from(fast).equals(Buffer.from(reference))).toBe(true);
        expect(fromBinary(ServerFrameSchema, fast).body.case).toBe('deliver');
      }));
  });

  it('SendResult', () => {
    fc.assert(fc.property(u53, bytes(20), u53, fc.boolean(), (requestId, messageId, ts, duplicate) => {
      const fast = encodeSendResultFrame(BigInt(requestId), messageId, ts, duplicate);
      const reference = toBinary(ServerFrameSchema, create(ServerFrameSchema, {
        requestId: BigInt(requestId), body: { case: 'sendResult', value: { messageId, serverTimestamp: BigInt(ts), duplicate } },
      }));
      expect(Buffer.from(fast).equals(Buffer.from(reference))).toBe(true);
    }));
  });
});
