/** Identifier helpers. Hex is for map keys and attachment paths only: people see account ids in base32 (accountIdText, spec/server.md §9), and logs carry no ids at all. */
export const DAY_MS = 86_400_000;

export const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function fromHexId(text: string, length: number): Uint8Array | undefined {
  const t = text.replace(/-/g, '').toLowerCase();
  if (t.length !== length * 2 || !/^[0-9a-f]*$/.test(t)) return undefined;
  return new Uint8Array(Buffer.from(t, 'hex'));
}

export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
