/**
 * The core runs in a browser as it runs in Node (DESIGN.md "Architecture"):
 * its build output names no Node built-in module and no Buffer, and esbuild
 * bundles it for the browser platform without any Node polyfill.
 * Both read packages/client/dist: run `npm run build` (or tsc -b packages/client) first.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../dist');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(js|d\.ts)$/.test(p) ? [p] : [];
  });
}

const BUILTIN = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** The code of a JS or .d.ts file without its comments (strings kept: a specifier is a string). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** What in one file ties it to Node: built-in module specifiers, Buffer, the NodeJS namespace. */
export function nodeTies(text: string): string[] {
  const c = code(text);
  const specifiers = [...c.matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)]
    .map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]!);
  const ties = specifiers.filter((s) => s.startsWith('node:') || BUILTIN.has(s) || BUILTIN.has(s.split('/')[0]!)).map((s) => `import ${s}`);
  if (/\bBuffer\b/.test(c)) ties.push('Buffer');
  if (/\bNodeJS\./.test(c)) ties.push('NodeJS');
  return ties;
}

describe('the client core is isomorphic', () => {
  it('finds Node ties where there are some (so the check below can fail)', () => {
    expect(nodeTies("import { readFile } from 'node:fs/promises';")).toEqual(['import node:fs/promises']);
    expect(nodeTies("import tls from 'tls';\nconst b = Buffer.from(x);")).toEqual(['import tls', 'Buffer']);
    expect(nodeTies("export { x } from 'events';\nconst c = require('crypto');")).toEqual(['import events', 'import crypto']);
    expect(nodeTies("const t: NodeJS.Timeout = 1; await import('buffer');")).toEqual(['import buffer', 'NodeJS']);
    expect(nodeTies("// a comment about node:fs and Buffer\n/** Buffer */ const u = 'https://x/y';")).toEqual([]);
  });

  it('names no Node built-in module, no Buffer and no NodeJS type in its build output', () => {
    expect(existsSync(join(DIST, 'index.js')), 'build packages/client first (npm run build)').toBe(true);
    const found = files(DIST).map((f) => [relative(DIST, f), nodeTies(readFileSync(f, 'utf8'))] as const).filter(([, t]) => t.length > 0);
    expect(found).toEqual([]);
  });

  it('bundles for the browser with esbuild, no Node polyfills', async () => {
    expect(existsSync(join(DIST, 'index.js')), 'build packages/client first (npm run build)').toBe(true);
    const result = await build({
      entryPoints: [join(DIST, 'index.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      target: 'es2022',
    });
    expect(result.errors).toEqual([]);
    const out = result.outputFiles[0]!.text;
    expect(out.length).toBeGreaterThan(10_000);
    expect(out).toContain('SigiloClient');
  }, 60_000);

  it('the same bundling refuses the Node adapters (so the check above can fail)', async () => {
    const nodeAdapters = resolve(DIST, '../../client-node/dist/index.js');
    expect(existsSync(nodeAdapters), 'build packages/client-node first (npm run build)').toBe(true);
    await expect(build({ entryPoints: [nodeAdapters], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' })).rejects.toThrow(/node:|Could not resolve/);
  }, 60_000);
});
