/**
 * Every crash the fuzzer found, as a test that failed before its fix
 * (spec/assurance.md §Fuzzing). Add new ones here with the input the fuzzer
 * printed (shrunk) and the typed error expected instead.
 */
import { describe, expect, it } from 'vitest';
import { decodeAttachments } from '../packages/client/src/media/pointer.js';
import { decodeValue, encodeValue } from '../packages/client-web/src/codec.js';
import { judge } from './check.js';
import { targetNamed } from './targets.js';

describe('fuzz regressions', () => {
  it('attachment-pointer: a damaged attachment list is ClientError INVALID_INPUT, not a raw protobuf error', async () => {
    // DataMessage.attachments (field 4) holding a pointer whose first tag is field 0, wire type 7.
    const input = Uint8Array.of(0x22, 0x02, 0x07, 0x00);
    expect(() => decodeAttachments(input)).toThrowError(expect.objectContaining({ name: 'ClientError', code: 'INVALID_INPUT' }));
    expect((await judge(targetNamed('attachment-pointer'), input)).kind).toBe('typed');
  });

  it('web-store-codec: a record string that is not UTF-8 is the codec\'s RangeError (STORE_CORRUPT), not a TypeError', async () => {
    const valid = encodeValue('é');
    const input = valid.slice();
    input[input.length - 1] = 0x28; // the continuation byte of "é" replaced: invalid UTF-8
    expect(decodeValue(valid)).toBe('é');
    expect(() => decodeValue(input)).toThrow(RangeError);
    expect((await judge(targetNamed('web-store-codec'), input)).kind).toBe('typed');
  });
});
