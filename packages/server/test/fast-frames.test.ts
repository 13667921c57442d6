import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ServerFrameSchema } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sender } from 'ws';
import { encodeDeliverFrame, encodeDeliverWsFrame, encodeSendResultFrame, encodeSendResultWsFrame, wsFrame, wsHeaderLength } from '../src/fast-frames.js';

const u53 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

describe('hand-written frame encoders match protobuf-es', () => {
  it('Deliver', () => {
    fc.assert(fc.property(u53, bytes(20), u53, fc.boolean(), fc.option(bytes(16), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }), bytes(400),
      fc.option(bytes(64), { nil: undefined }),
      (serverId, messageId, createdAt, sealed, senderAccountId, senderDeviceId, content, recipientHeader) => {
        const fast = encodeDeliverFrame({ serverId, messageId, createdAt, sealed, senderAccountId, senderDeviceId, content, recipientHeader });
        const reference = toBinary(ServerFrameSchema, create(ServerFrameSchema, {
          requestId: 0n,
          body: {
            case: 'deliver',
            value: {
              serverId: BigInt(serverId), messageId, serverTimestamp: BigInt(createdAt), sealed, senderAccountId: senderAccountId ?? new Uint8Array(0),
              senderDeviceId: senderDeviceId ?? 0, content, recipientHeader: recipientHeader ?? new Uint8Array(0),
            },
          },
        }));
        expect(Buffer.from(fast).equals(Buffer.from(reference))).toBe(true);
        expect(fromBinary(ServerFrameSchema, fast).body.case).toBe('deliver');
      }));
  });

  it('Deliver of a multi-recipient send carries the header as field 8 after the shared payload', () => {
    const payload = new Uint8Array(300).fill(7);
    const header = new Uint8Array(64).fill(9);
    const fast = encodeDeliverFrame({ serverId: 5, messageId: new Uint8Array(16).fill(1), createdAt: 1_700_000_000_000, sealed: true, senderAccountId: undefined, senderDeviceId: undefined, content: payload, recipientHeader: header });
    const frame = fromBinary(ServerFrameSchema, fast);
    expect(frame.body.case).toBe('deliver');
    const d = frame.body.value as { content: Uint8Array; recipientHeader: Uint8Array; sealed: boolean; senderAccountId: Uint8Array };
    expect(d.content).toEqual(payload);
    expect(d.recipientHeader).toEqual(header);
    expect(d.sealed).toBe(true);
    expect(d.senderAccountId).toHaveLength(0);
    // The header is the last field: tag 0x42, length 64, then the bytes.
    expect([...fast.subarray(fast.length - 66, fast.length - 64)]).toEqual([0x42, 64]);
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

describe('WebSocket frames for the socket (frame-writer.ts)', () => {
  const sizes = [0, 1, 125, 126, 300, 65535, 65536, 70000];
  it('header and payload as ws frames them for a server (unmasked, binary, FIN)', () => {
    for (const n of sizes) {
      const payload = new Uint8Array(n).fill(n & 0xff);
      const reference = Buffer.concat(Sender.frame(Buffer.from(payload), { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }) as Buffer[]);
      expect(Buffer.from(wsFrame(payload)).equals(reference)).toBe(true);
      expect(wsHeaderLength(n)).toBe(reference.length - n);
    }
  });

  it('Deliver and SendResult ws frames are the header and the protobuf encoding', () => {
    fc.assert(fc.property(u53, bytes(20), u53, fc.boolean(), bytes(400), fc.boolean(), (id, messageId, ts, sealed, content, duplicate) => {
      const m = { serverId: id, messageId, createdAt: ts, sealed, senderAccountId: undefined, senderDeviceId: undefined, content };
      expect(Buffer.from(encodeDeliverWsFrame(m)).equals(Buffer.from(wsFrame(encodeDeliverFrame(m))))).toBe(true);
      expect(Buffer.from(encodeSendResultWsFrame(BigInt(id), messageId, ts, duplicate)).equals(Buffer.from(wsFrame(encodeSendResultFrame(BigInt(id), messageId, ts, duplicate))))).toBe(true);
    }));
  });
});
