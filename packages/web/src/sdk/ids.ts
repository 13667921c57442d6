/** Small byte helpers for the page (the SDK's stay in the Worker bundle). */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error('not hex');
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** A short, readable stand-in for someone without a name: the first digits of their id. */
export const shortId = (id: Uint8Array): string => `#${hex(id).slice(0, 8)}`;
