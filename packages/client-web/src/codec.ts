/**
 * A small self-describing binary encoding for store rows (the plaintext inside
 * each encrypted record): undefined, null, booleans, numbers, strings, byte
 * arrays, arrays and plain objects. Nothing else is ever stored, so anything
 * else is a bug and throws.
 */
const T_UNDEFINED = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_NUMBER = 4, T_STRING = 5, T_BYTES = 6, T_ARRAY = 7, T_OBJECT = 8;
/** An object whose key list is new in this value (defines the next shape number), and one whose key list was seen. */
const T_SHAPE_NEW = 9, T_SHAPED = 10;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

class Writer {
  readonly shapes = new Map<string, number>();
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
    if (shape === undefined) {
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
  readonly shapes: string[][] = [];
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) { this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
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
