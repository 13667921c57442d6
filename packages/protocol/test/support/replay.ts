/** Recorded randomness for the frozen vectors in spec/vectors/. */
import { fromHex, type Random } from '../../src/index.js';

/** Replays recorded draws (hex) in order, failing loudly if the engine asks for anything else. */
export function replay(draws: readonly string[]): Random & { remaining: () => number } {
  let i = 0;
  const fn = ((length: number) => {
    const next = draws[i++];
    if (next === undefined) throw new Error(`draw ${i - 1} was not recorded`);
    if (next.length !== length * 2) throw new Error(`draw ${i - 1}: engine asked for ${length} bytes, vector recorded ${next.length / 2}`);
    return fromHex(next);
  }) as Random & { remaining: () => number };
  fn.remaining = () => draws.length - i;
  return fn;
}
