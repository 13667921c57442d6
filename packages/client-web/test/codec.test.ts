/** The browser store's row encoding (pure code: runs under Node too). */
import { describe, expect, it } from 'vitest';
import { decodeRowValue, decodeRows, decodeValue, encodeRows, encodeValue, type RowSource } from '../src/codec.js';

/** decodeRows' rows as a list. */
function listRows(b: Uint8Array) {
  const rows: { t: number; k: string; o: number; at: number; end: number }[] = [];
  let source: RowSource | undefined;
  decodeRows(b, (t, k, o, at, end, s) => { rows.push({ t, k, o, at, end }); source = s; });
  return { rows, source: source! };
}

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

  it('a table of rows (store format 2): listed without reading any value, each value decoded on its own, in any order', () => {
    const rows = [
      { t: 4, k: 'ab:cd', o: 7, r: { text: 'héllo ✓', at: 1.5, id: new Uint8Array([0, 255, 7]), nested: { x: 1, y: [{ x: 2, y: [] }] } } },
      { t: 2, k: 'ab:01', o: 8, r: new Uint8Array(1500).fill(9) },
      { t: 4, k: 'x'.repeat(300), o: 9, r: { text: '', at: 0, id: new Uint8Array(0), nested: { x: 3, y: [] } } },
      { t: 0, k: 'gone', o: 10, r: undefined },
    ];
    const b = encodeRows(rows);
    const { rows: listed, source } = listRows(b);
    expect(listed.map(({ t, k, o }) => ({ t, k, o }))).toEqual(rows.map(({ t, k, o }) => ({ t, k, o })));
    for (const i of [2, 0, 3, 1]) expect(decodeRowValue(source, listed[i]!.at, listed[i]!.end)).toEqual(rows[i]!.r);
    // Shapes are written once, up front, however many rows use them.
    const text = new TextDecoder('latin1').decode(encodeRows([rows[0]!, { ...rows[0]!, k: 'ab:ce' }, rows[2]!]));
    expect(text.split('nested').length - 1).toBe(1);
  });

  it('rejects a damaged table of rows when it is listed, and a value read at the wrong place', () => {
    const b = encodeRows([{ t: 4, k: 'ab:cd', o: 7, r: { text: 'x', id: new Uint8Array([1]) } }, { t: 2, k: 'ab:01', o: 8, r: { text: 'y', id: new Uint8Array(0) } }]);
    for (let cut = 1; cut < b.length; cut++) expect(() => listRows(b.subarray(0, cut))).toThrow(RangeError);
    expect(() => listRows(new Uint8Array([...b, 0]))).toThrow(/trailing/);
    const { rows, source } = listRows(b);
    expect(() => decodeRowValue(source, rows[0]!.at, rows[0]!.end - 1)).toThrow(/wrong length/);
    expect(() => decodeRowValue(source, rows[0]!.at + 1, rows[0]!.end)).toThrow(RangeError);
  });
});
