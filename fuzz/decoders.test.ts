/**
 * The short CI run of every fuzz target (spec/assurance.md §Fuzzing): each
 * corpus item as is, then FUZZ_CI_RUNS (default 250) inputs from the target's
 * generators and corpus mutations. `npm run fuzz` runs the same targets for
 * longer, guided by V8 coverage. A failure prints the fast-check seed and the
 * shrunk input; add it to fuzz/regressions.test.ts when fixed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadCorpus } from './lib.js';
import { judge } from './check.js';
import { targetInputs, targets } from './targets.js';

const RUNS = Number(process.env.FUZZ_CI_RUNS ?? 250);

describe('fuzz targets (short run)', () => {
  it('every target has a corpus or a structured generator', () => {
    for (const t of targets) expect(loadCorpus(t.name).length + t.structured().length, t.name).toBeGreaterThan(0);
  });

  for (const t of targets) {
    it(`${t.name}: corpus items and ${RUNS} generated inputs end in a value or a typed error`, async () => {
      const pool = loadCorpus(t.name);
      for (const item of pool) {
        const o = await judge(t, item);
        expect(o.kind === 'crash' ? o.message : 'no crash', `${t.name} corpus item`).toBe('no crash');
      }
      await fc.assert(fc.asyncProperty(targetInputs(t, pool), async (input) => {
        const o = await judge(t, input);
        if (o.kind === 'crash') throw new Error(`${t.name}: ${o.message}`);
      }), { numRuns: RUNS });
    }, 120_000);
  }
});
