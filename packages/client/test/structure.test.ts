/**
 * The core's shape (DESIGN.md "Architecture"): one concept per file with no
 * import cycles between them, type-only imports included.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports and re-exports of one file (`import … from './x.js'`, `export … from './x.js'`, `import('./x.js')`). */
export function localImports(file: string, source: string): string[] {
  const specs = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"](\.[^'"]+)['"]/g), ...source.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)]
    .map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** The first cycle found, as a list of files (empty when there is none). */
export function findCycle(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const found = visit(m);
        if (found.length) return found;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return [];
  };
  for (const n of graph.keys()) {
    if (state.has(n)) continue;
    const found = visit(n);
    if (found.length) return found;
  }
  return [];
}

describe('the client core', () => {
  it('has no import cycle between its files', () => {
    const graph = new Map<string, string[]>();
    for (const f of files(SRC)) graph.set(f, localImports(f, readFileSync(f, 'utf8')));
    expect(graph.size).toBeGreaterThan(20);
    expect(findCycle(graph).map((f) => relative(SRC, f))).toEqual([]);
  });

  it('the cycle finder finds a cycle (so the test above can fail)', () => {
    const a = '/a.ts', b = '/b.ts', c = '/c.ts';
    expect(localImports(a, "import { x } from './b.js';\nimport type { Y } from './c.js';\nexport { z } from './d.js';")).toEqual(['/b.ts', '/c.ts', '/d.ts']);
    expect(findCycle(new Map([[a, [b]], [b, [c]], [c, [a]]]))).toEqual([a, b, c, a]);
    expect(findCycle(new Map([[a, [b]], [b, [c]], [c, []]]))).toEqual([]);
  });

  it('keeps every file of the core under 500 lines (one concept per file)', () => {
    const big = files(SRC).map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 500);
    expect(big.map(([f]) => f).sort()).toEqual([]);
  });
});
