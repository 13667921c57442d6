/**
 * The little DER (X.690) an identity certificate and a CRL need (spec/trust.md §6): read a
 * tag-length-value, with its raw bytes kept so signatures are checked over exactly what was
 * signed. Definite lengths only, at most 4 length bytes; anything else is CERTIFICATE_INVALID.
 */
import { ClientError } from '../errors.js';

export interface Tlv {
  readonly tag: number;
  /** The contents. */
  readonly value: Uint8Array;
  /** Tag, length and contents, as encoded. */
  readonly raw: Uint8Array;
}

const bad = (what: string): ClientError => new ClientError('CERTIFICATE_INVALID', `the certificate or CRL is not valid DER (${what})`);

/** Reads one TLV at `offset`; returns it and the offset after it. */
export function readTlv(b: Uint8Array, offset: number): { tlv: Tlv; next: number } {
  if (offset + 2 > b.length) throw bad('truncated');
  const tag = b[offset]!;
  if ((tag & 0x1f) === 0x1f) throw bad('high tag number');
  let len = b[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > b.length) throw bad('length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
    if (len < 0x80 || (n > 1 && b[offset + 2] === 0)) throw bad('length not minimal');
  }
  if (p + len > b.length) throw bad('truncated');
  return { tlv: { tag, value: b.subarray(p, p + len), raw: b.subarray(offset, p + len) }, next: p + len };
}

/** The whole of `b` as one TLV with tag `tag`. */
export function readOne(b: Uint8Array, tag: number): Tlv {
  const { tlv, next } = readTlv(b, 0);
  if (tlv.tag !== tag || next !== b.length) throw bad(`expected tag 0x${tag.toString(16)}`);
  return tlv;
}

/** The children of a constructed TLV. */
export function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p < t.value.length) {
    const { tlv, next } = readTlv(t.value, p);
    out.push(tlv);
    p = next;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw bad(what);
  return t;
}

/** An OBJECT IDENTIFIER's contents as dotted text (arcs up to 2^53). */
export function oidText(t: Tlv): string {
  const v = expectTag(t, 0x06, 'object identifier').value;
  const arcs: number[] = [];
  let n = 0;
  for (const byte of v) {
    n = n * 128 + (byte & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER) throw bad('object identifier arc too large');
    if (!(byte & 0x80)) { arcs.push(n); n = 0; }
  }
  if (arcs.length === 0) throw bad('empty object identifier');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** UTCTime (years 1950–2049) or GeneralizedTime, both in Z, as Unix ms (RFC 5280 §4.1.2.5). */
export function timeOf(t: Tlv): number {
  const s = new TextDecoder().decode(t.value);
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw bad('time');
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(ms)) throw bad('time');
  return ms;
}

/** A non-negative INTEGER's value as lower-case hex without leading zeros (serial numbers, CRL numbers). */
export function integerHex(t: Tlv): string {
  const v = expectTag(t, 0x02, 'integer').value;
  if (v.length === 0 || v[0]! & 0x80) throw bad('negative or empty integer');
  let hex = '';
  for (const x of v) hex += x.toString(16).padStart(2, '0');
  return hex.replace(/^0+(?=.)/, '');
}
