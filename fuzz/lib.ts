/**
 * The fuzzing engine's inputs (spec/assurance.md §Fuzzing): protobuf-aware
 * generators built from the generated schemas by reflection, and byte
 * mutations (flip, insert, delete, splice, truncate, overwrite) of valid
 * corpus items. Both are fast-check arbitraries so that the short CI runs
 * shrink a failure to a small input and print a seed that replays it.
 */
import { create, toBinary, ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FUZZ_DIR = fileURLToPath(new URL('.', import.meta.url));
export const CORPUS_DIR = join(FUZZ_DIR, 'corpus');
export const REPO_DIR = join(FUZZ_DIR, '..');

/** Largest input any target is fed: a bound on the work one input can cause. */
export const MAX_INPUT = 64 * 1024;

/** Corpus items of one target (fuzz/corpus/<target>/*), sorted by name. */
export function loadCorpus(target: string): Uint8Array[] {
  const dir = join(CORPUS_DIR, target);
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch { return []; }
  return names.map((n) => new Uint8Array(readFileSync(join(dir, n))));
}

// ------------------------------------------------------------------ byte mutations

/** One byte-level edit; positions are taken modulo the current length. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; from: number; start: number; len: number }
  | { op: 'varint'; at: number; value: number };

/** Bytes that make parsers take their edge paths: length and varint extremes. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20, 0x40];

function varintBytes(n: number): Uint8Array {
  const out: number[] = [];
  let v = Math.floor(n);
  while (v >= 128) { out.push((v % 128) | 128); v = Math.floor(v / 128); }
  out.push(v);
  return Uint8Array.from(out);
}

export function applyMutations(base: Uint8Array, mutations: readonly Mutation[], pool: readonly Uint8Array[]): Uint8Array {
  let b = base;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (b.length > 0) { b = b.slice(); b[at % b.length]! ^= 1 << m.bit; }
        break;
      case 'set':
        if (b.length > 0) { b = b.slice(); b[at % b.length] = m.byte; }
        break;
      case 'insert':
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + m.len));
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice': {
        const other = pool.length > 0 ? pool[m.from % pool.length]! : new Uint8Array(0);
        const start = other.length === 0 ? 0 : m.start % other.length;
        b = concat(b.subarray(0, at), other.subarray(start, start + m.len), b.subarray(at));
        break;
      }
      case 'varint':
        b = concat(b.subarray(0, at), varintBytes(m.value), b.subarray(at));
        break;
    }
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const pos = fc.nat({ max: 1 << 20 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('splice' as const), at: pos, from: fc.nat(), start: pos, len: fc.integer({ min: 1, max: 256 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('varint' as const), at: pos,
      value: fc.oneof(fc.constantFrom(0, 1, 127, 128, 255, 16_383, 16_384, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1), fc.nat()),
    }),
    weight: 1,
  },
);

/** A corpus item (or the pool's item) with 1..4 mutations applied. */
export function mutatedArb(pool: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  if (pool.length === 0) return fc.uint8Array({ maxLength: 256 });
  return fc.tuple(fc.nat({ max: pool.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([i, ms]) => applyMutations(pool[i]!, ms, pool));
}

// ------------------------------------------------------------------ protobuf-aware generators

/** Byte strings of the lengths the protocol uses (keys, ids, signatures) or any short length. */
const bytesArb = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 48 }), weight: 3 },
  { arbitrary: fc.constantFrom(16, 32, 33, 64, 65, 1568, 1569).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), weight: 2 },
);

function scalarArb(t: ScalarType, longAsString: boolean): fc.Arbitrary<unknown> {
  const long = (a: fc.Arbitrary<bigint>) => (longAsString ? a.map(String) : a);
  switch (t) {
    case ScalarType.BOOL: return fc.boolean();
    case ScalarType.STRING: return fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
    case ScalarType.BYTES: return bytesArb;
    case ScalarType.DOUBLE: case ScalarType.FLOAT: return fc.double();
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32:
      return fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
    case ScalarType.UINT32: case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 2, 100, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
    case ScalarType.INT64: case ScalarType.SINT64: case ScalarType.SFIXED64:
      return long(fc.oneof(fc.constantFrom(0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })));
    case ScalarType.UINT64: case ScalarType.FIXED64:
      return long(fc.oneof(fc.constantFrom(0n, 1n, 2n ** 53n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })));
    default: return fc.constant(0);
  }
}

function enumArb(values: readonly { number: number }[]): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(...values.map((v) => v.number)), fc.integer({ min: -2, max: 100 }));
}

function fieldArb(f: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case 'scalar': return scalarArb(f.scalar, f.longAsString);
    case 'enum': return enumArb(f.enum.values);
    case 'message': return messageInitArb(f.message, depth + 1);
    case 'list': {
      const item = f.listKind === 'scalar' ? scalarArb(f.scalar, f.longAsString)
        : f.listKind === 'enum' ? enumArb(f.enum.values) : messageInitArb(f.message, depth + 1);
      return fc.array(item, { maxLength: depth > 2 ? 1 : 4 });
    }
    case 'map': {
      const key = scalarArb(f.mapKey, false).map((k) => String(k));
      const value = f.mapKind === 'scalar' ? scalarArb(f.scalar, false) : f.mapKind === 'enum' ? enumArb(f.enum.values) : messageInitArb(f.message, depth + 1);
      return fc.dictionary(key, value, { maxKeys: 3 });
    }
  }
}

const initCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** An init object for `create(schema, …)` with random values in every field (depth-bounded). */
export function messageInitArb(schema: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const key = `${schema.typeName}@${Math.min(depth, 4)}`;
  const hit = initCache.get(key);
  if (hit) return hit;
  let arb: fc.Arbitrary<Record<string, unknown>>;
  if (depth >= 4) {
    arb = fc.constant({});
  } else {
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of schema.fields) {
      if (f.oneof) continue;
      parts[f.localName] = fieldArb(f, depth);
    }
    for (const o of schema.oneofs) {
      parts[o.localName] = fc.oneof(
        fc.constant({ case: undefined }),
        ...o.fields.map((f) => fieldArb(f, depth).map((value) => ({ case: f.localName, value }))),
      );
    }
    arb = fc.record(parts, { requiredKeys: [] });
  }
  initCache.set(key, arb);
  return arb;
}

/** Random, well-formed encodings of `schema`: every field random, the structure valid. */
export function protoArb(schema: DescMessage, overrides?: (init: Record<string, unknown>) => Record<string, unknown>): fc.Arbitrary<Uint8Array> {
  return messageInitArb(schema).map((init) => toBinary(schema, create(schema, overrides ? overrides(init) : init)));
}

/** Inputs of one target: mutated corpus items, structured messages and raw noise. */
export function inputArb(pool: readonly Uint8Array[], structured: readonly fc.Arbitrary<Uint8Array>[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: mutatedArb(pool), weight: 6 },
    ...structured.map((arbitrary) => ({ arbitrary, weight: Math.max(1, Math.floor(4 / structured.length)) })),
    { arbitrary: fc.uint8Array({ maxLength: 128 }), weight: 1 },
    { arbitrary: fc.constantFrom(...(pool.length > 0 ? pool : [new Uint8Array(0)])), weight: 1 },
  );
}
