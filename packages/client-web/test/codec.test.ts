/** The browser store's row encoding (pure code: runs under Node too). */
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../src/codec.js';

describe('store row codec', () => {
  it('round-trips every kind of value a row holds', () => {
    const rows = [
      { t: 'message', k: 'ab:cd', o: 7, r: { text: 'héllo ✓ 😀', n: -1.5, big: 2 ** 52, yes: true, no: false, none: undefined, nil: null, id: new Uint8Array([0, 255, 7]) } },
      { t: 'message', k: 'x'.repeat(300), o: 8, r: { text: '', n: 0, big: 0, yes: false, no: true, none: undefined, nil: null, id: new Uint8Array(0) } },
      { t: 'gentries', k: 'g', o: 9, r: [new Uint8Array([1]), new Uint8Array(70_000)] },
    ];
    const back = decodeValue(encodeValue(rows)) as typeof rows;
    expect(back).toEqual(rows);
    expect(back[0]!.r).toHaveProperty('none', undefined);
  });

  it('writes an object key list once per value', () => {
    const one = encodeValue([{ alpha: 1, beta: 2 }]).length;
    const two = encodeValue([{ alpha: 1, beta: 2 }, { alpha: 3, beta: 4 }]).length;
    expect(two - one).toBeLessThan(one - 2);
  });

  it('refuses values it cannot store', () => {
    expect(() => encodeValue(new Map())).toThrow(TypeError);
    expect(() => encodeValue(() => 1)).toThrow(TypeError);
    expect(() => encodeValue(1n)).toThrow(TypeError);
  });

  it('rejects damaged input with an error, never a partial value', () => {
    const good = encodeValue({ a: 'text', b: new Uint8Array([1, 2, 3]) });
    for (let cut = 0; cut < good.length; cut++) expect(() => decodeValue(good.subarray(0, cut))).toThrow(RangeError);
    expect(() => decodeValue(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    expect(() => decodeValue(new Uint8Array([42]))).toThrow(/unknown tag/);
    expect(() => decodeValue(new Uint8Array([10, 0]))).toThrow(/unknown shape/);
    // A key that would reach the prototype.
    const proto = new Uint8Array([9, 1, 9, ...new TextEncoder().encode('__proto__'), 3]);
    expect(() => decodeValue(proto)).toThrow(/bad key/);
    // Deep nesting is bounded.
    expect(() => decodeValue(new Uint8Array([...Array(40).fill([7, 1]).flat(), 0]))).toThrow(/deeply/);
    // Invalid UTF-8 in a long string.
    expect(() => decodeValue(new Uint8Array([5, 2, 0xc3, 0x28]))).toThrow();
  });
});
