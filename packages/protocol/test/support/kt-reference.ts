/**
 * A direct, slow transcription of RFC 9162 §2.1 (MTH, PATH, PROOF) over a list
 * of leaves: the reference the fast range-based code is checked against.
 */
import { createHash } from 'node:crypto';

const sha = (...parts: Uint8Array[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return new Uint8Array(h.digest()); };
const k = (n: number) => { let p = 1; while (p * 2 < n) p *= 2; return p; };

export function mth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(new Uint8Array([0]), d[0]!);
  const s = k(d.length);
  return sha(new Uint8Array([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}

export function path(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

function subproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

export const proof = (m: number, d: readonly Uint8Array[]): Uint8Array[] => (m === 0 || m === d.length ? [] : subproof(m, d, true));
