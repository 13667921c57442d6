/**
 * A small self-describing binary encoding for store rows (the plaintext inside
 * each encrypted record): undefined, null, booleans, numbers, strings, byte
 * arrays, arrays and plain objects. Nothing else is ever stored, so anything
 * else is a bug and throws.
 */
const T_UNDEFINED = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_NUMBER = 4, T_STRING = 5, T_BYTES = 6, T_ARRAY = 7, T_OBJECT = 8;
/** An object whose key list is new in this value (defines the next shape number), and one whose key list was seen. */
const T_SHAPE_NEW = 9, T_SHAPED = 10;
/** A table of rows (encodeRows): every shape up front, then each row's value behind its length. */
const T_ROWS = 11;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

class Writer {
  /** Set (encodeRows): new shapes are listed here, to be written up front, and named by number where they occur. */
  shapeList: string[][] | undefined;
  constructor(readonly shapes = new Map<string, number>()) {}
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  n = 0;
  reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b: number): void { this.reserve(1); this.buf[this.n++] = b; }
  varint(v: number): void {
    // Non-negative integers below 2^53, 7 bits at a time.
    this.reserve(8);
    while (v >= 0x80) { this.buf[this.n++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
    this.buf[this.n++] = v;
  }
  bytes(b: Uint8Array): void { this.varint(b.length); this.reserve(b.length); this.buf.set(b, this.n); this.n += b.length; }
}

function write(w: Writer, v: unknown): void {
  if (v === undefined) w.byte(T_UNDEFINED);
  else if (v === null) w.byte(T_NULL);
  else if (v === false) w.byte(T_FALSE);
  else if (v === true) w.byte(T_TRUE);
  else if (typeof v === 'number') { w.byte(T_NUMBER); w.reserve(8); w.view.setFloat64(w.n, v); w.n += 8; }
  else if (typeof v === 'string') { w.byte(T_STRING); w.bytes(utf8.encode(v)); }
  else if (v instanceof Uint8Array) { w.byte(T_BYTES); w.bytes(v); }
  else if (Array.isArray(v)) { w.byte(T_ARRAY); w.varint(v.length); for (const x of v) write(w, x); }
  else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    // Rows of one kind share their keys: the key list is written once per value, then named by number.
    const keys = Object.keys(v as Record<string, unknown>);
    const sig = keys.join('\u0000');
    const shape = w.shapes.get(sig);
    if (shape === undefined && w.shapeList) {
      w.shapes.set(sig, w.shapes.size);
      w.shapeList.push(keys);
      w.byte(T_SHAPED); w.varint(w.shapes.size - 1);
    } else if (shape === undefined) {
      w.shapes.set(sig, w.shapes.size);
      w.byte(T_SHAPE_NEW); w.varint(keys.length);
      for (const k of keys) w.bytes(utf8.encode(k));
    } else {
      w.byte(T_SHAPED); w.varint(shape);
    }
    for (const k of keys) write(w, (v as Record<string, unknown>)[k]);
  } else {
    throw new TypeError(`the store cannot encode a ${typeof v}; this is a bug`);
  }
}

export function encodeValue(v: unknown): Uint8Array {
  const w = new Writer();
  write(w, v);
  return w.buf.slice(0, w.n);
}

class Reader {
  n = 0;
  readonly view: DataView;
  /** `fixed`: the shapes were all given up front (a row of encodeRows); a value may not define one. */
  constructor(readonly buf: Uint8Array, readonly shapes: string[][] = [], readonly fixed = false) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  byte(): number {
    if (this.n >= this.buf.length) throw new RangeError('truncated record');
    return this.buf[this.n++]!;
  }
  varint(): number {
    let v = 0, scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
    throw new RangeError('bad length in record');
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.n + len > this.buf.length) throw new RangeError('truncated record');
    const out = this.buf.slice(this.n, this.n + len);
    this.n += len;
    return out;
  }
  /** Short ASCII strings (object keys, statuses, ids) without a TextDecoder call: most of a store's strings. */
  string(): string {
    const len = this.varint();
    const start = this.n, end = start + len;
    if (end > this.buf.length) throw new RangeError('truncated record');
    this.n = end;
    if (len <= 128) {
      let ascii = true;
      for (let i = start; i < end; i++) if (this.buf[i]! > 0x7f) { ascii = false; break; }
      if (ascii) return String.fromCharCode.apply(null, this.buf.subarray(start, end) as unknown as number[]);
    }
    try {
      return fromUtf8.decode(this.buf.subarray(start, end));
    } catch {
      throw new RangeError('bad string in record (not UTF-8)');
    }
  }
}

function read(r: Reader, depth: number): unknown {
  if (depth > 16) throw new RangeError('record nested too deeply');
  const t = r.byte();
  switch (t) {
    case T_UNDEFINED: return undefined;
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_NUMBER: {
      if (r.n + 8 > r.buf.length) throw new RangeError('truncated record');
      const v = r.view.getFloat64(r.n);
      r.n += 8;
      return v;
    }
    case T_STRING: return r.string();
    case T_BYTES: return r.bytes();
    case T_ARRAY: {
      const len = r.varint();
      if (len > r.buf.length) throw new RangeError('bad array length in record');
      const out: unknown[] = [];
      for (let i = 0; i < len; i++) out.push(read(r, depth + 1));
      return out;
    }
    case T_OBJECT: {
      const len = r.varint();
      if (len > r.buf.length) throw new RangeError('bad object size in record');
      const out: Record<string, unknown> = {};
      for (let i = 0; i < len; i++) {
        const k = r.string();
        if (k === '__proto__') throw new RangeError('bad key in record');
        out[k] = read(r, depth + 1);
      }
      return out;
    }
    case T_SHAPE_NEW: {
      if (r.fixed) throw new RangeError('a shape defined inside a row');
      const len = r.varint();
      if (len > r.buf.length) throw new RangeError('bad object size in record');
      const keys: string[] = [];
      for (let i = 0; i < len; i++) {
        const k = r.string();
        if (k === '__proto__') throw new RangeError('bad key in record');
        keys.push(k);
      }
      r.shapes.push(keys);
      return readShaped(r, keys, depth);
    }
    case T_SHAPED: {
      const keys = r.shapes[r.varint()];
      if (!keys) throw new RangeError('unknown shape in record');
      return readShaped(r, keys, depth);
    }
    default: throw new RangeError(`unknown tag ${t} in record`);
  }
}

function readShaped(r: Reader, keys: readonly string[], depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = read(r, depth + 1);
  return out;
}

export function decodeValue(b: Uint8Array): unknown {
  const r = new Reader(b);
  const v = read(r, 0);
  if (r.n !== b.length) throw new RangeError('trailing bytes in record');
  return v;
}

/** A row of encodeRows: its table (a number), key and order, and its value. */
export interface EncodedRow { readonly t: number; readonly k: string; readonly o: number; readonly r: unknown }

/**
 * Rows (a store bucket, client.md §7.1): tag, the shapes of every object in the rows' values, then per row its
 * table number, key and order and its value's length before the value. So the rows can be listed without
 * reading any value (decodeRows), and each value decoded on its own later (decodeRowValue).
 */
export function encodeRows(rows: readonly EncodedRow[]): Uint8Array {
  const body = new Writer();
  body.shapeList = [];
  const value = new Writer(body.shapes);
  value.shapeList = body.shapeList;
  body.varint(rows.length);
  for (const row of rows) {
    body.varint(row.t);
    body.bytes(utf8.encode(row.k));
    body.reserve(8); body.view.setFloat64(body.n, row.o); body.n += 8;
    value.n = 0;
    write(value, row.r);
    body.bytes(value.buf.subarray(0, value.n));
  }
  const head = new Writer();
  head.byte(T_ROWS);
  head.varint(body.shapeList.length);
  for (const keys of body.shapeList) {
    head.varint(keys.length);
    for (const k of keys) head.bytes(utf8.encode(k));
  }
  const out = new Uint8Array(head.n + body.n);
  out.set(head.buf.subarray(0, head.n));
  out.set(body.buf.subarray(0, body.n), head.n);
  return out;
}

/** Where rows' values lie in their encoding, for decodeRowValue. */
export interface RowSource { readonly buf: Uint8Array; readonly shapes: string[][] }

/** Whether `b` is an encodeRows encoding (else an older store's plain value). */
export const isRows = (b: Uint8Array) => b[0] === T_ROWS;

/**
 * The rows of an encodeRows encoding, their values not decoded: `row` is called for each, in order (its value
 * is at [at, end) of source.buf). A damaged encoding throws, possibly after some rows were given: the caller
 * then drops them all (the store is not opened).
 */
export function decodeRows(b: Uint8Array, row: (t: number, k: string, o: number, at: number, end: number, source: RowSource) => void): void {
  const r = new Reader(b);
  if (r.byte() !== T_ROWS) throw new RangeError('not a table of rows');
  const nShapes = r.varint();
  if (nShapes > b.length) throw new RangeError('bad shape count in record');
  for (let i = 0; i < nShapes; i++) {
    const len = r.varint();
    if (len > b.length) throw new RangeError('bad object size in record');
    const keys: string[] = [];
    for (let j = 0; j < len; j++) {
      const k = r.string();
      if (k === '__proto__') throw new RangeError('bad key in record');
      keys.push(k);
    }
    r.shapes.push(keys);
  }
  const source: RowSource = { buf: b, shapes: r.shapes };
  const n = r.varint();
  if (n > b.length) throw new RangeError('bad row count in record');
  for (let i = 0; i < n; i++) {
    const t = r.varint();
    const k = r.string();
    if (r.n + 8 > b.length) throw new RangeError('truncated record');
    const o = r.view.getFloat64(r.n);
    r.n += 8;
    const len = r.varint();
    const at = r.n, end = at + len;
    if (len === 0 || end > b.length) throw new RangeError('truncated record');
    r.n = end;
    row(t, k, o, at, end, source);
  }
  if (r.n !== b.length) throw new RangeError('trailing bytes in record');
}

/** The value of a row decodeRows listed. */
export function decodeRowValue(source: RowSource, at: number, end: number): unknown {
  const r = new Reader(source.buf, source.shapes, true);
  r.n = at;
  const v = read(r, 1);
  if (r.n !== end) throw new RangeError('a row value of the wrong length');
  return v;
}
