/**
 * `npm run fuzz`: the long, coverage-guided run of every fuzz target
 * (spec/assurance.md §Fuzzing). Not part of CI.
 *
 *   FUZZ_SECONDS=60        seconds per target (default 30)
 *   FUZZ_TARGET=a,b        only these targets (default: all, and the server's frame handler)
 *   FUZZ_SEED=n            fast-check seed (default: time)
 *   FUZZ_SAVE=1            write inputs that found new coverage to fuzz/corpus-new/<target>/
 *
 * Guidance: V8 precise block coverage (node:inspector, Profiler.takePreciseCoverage)
 * of the target's own modules is taken after every input; an input that covers a
 * byte of those modules no earlier input covered joins the target's pool, and later
 * mutations start from it. Crashes are written to fuzz/crashes/<target>/ and make
 * the exit code 1.
 */
import { Session } from 'node:inspector/promises';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';

const session = new Session();
session.connect();
await session.post('Profiler.enable');
// Started before the targets' modules load, so that every function of them is counted.
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

const { FUZZ_DIR, REPO_DIR, loadCorpus, inputArb } = await import('./lib.js');
const { targets } = await import('./targets.js');
const { judge } = await import('./check.js');

interface ScriptCov { url: string; functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[] }

async function takeCoverage(): Promise<ScriptCov[]> {
  const { result } = await session.post('Profiler.takePreciseCoverage') as unknown as { result: ScriptCov[] };
  return result;
}
/** Every function of every module loaded so far (see Coverage's constructor). */
const loaded = await takeCoverage();

/** Cumulative coverage of a set of modules: covered bytes and called functions. */
class Coverage {
  readonly #urls: Set<string>;
  readonly #bytes = new Map<string, Uint8Array>();
  readonly #functions = new Map<string, Set<string>>();
  readonly #called = new Map<string, Set<string>>();
  /**
   * `baseline`: the coverage taken right after the modules loaded. It is the only take that lists
   * every function of a module (V8 omits an uncalled function whose parent was not called since the
   * last take), so it fixes the denominators; what ran while loading counts as covered.
   */
  constructor(modules: readonly string[], baseline: readonly ScriptCov[]) {
    this.#urls = new Set(modules.map((m) => pathToFileURL(join(REPO_DIR, m)).href));
    this.#add(baseline, true);
  }

  /** Takes (and resets) V8's counters; true if what ran covered a byte not covered before (added to the total if `merge`). */
  async take(merge = true): Promise<boolean> {
    return this.#add(await takeCoverage(), merge);
  }

  #add(result: readonly ScriptCov[], merge: boolean): boolean {
    let novel = false;
    for (const script of result) {
      const url = script.url.split('?')[0]!;
      if (!this.#urls.has(url)) continue;
      const ranges = script.functions.flatMap((f) => f.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
      const length = ranges.reduce((n, r) => Math.max(n, r.endOffset), 0);
      let cum = this.#bytes.get(url);
      if (!cum || cum.length < length) {
        const grown = new Uint8Array(length);
        if (cum) grown.set(cum);
        cum = grown;
        this.#bytes.set(url, cum);
      }
      const now = new Uint8Array(length);
      for (const r of ranges) now.fill(r.count > 0 ? 1 : 0, r.startOffset, r.endOffset);
      for (let i = 0; i < length; i++) {
        if (now[i] && !cum[i]) { novel = true; if (merge) cum[i] = 1; else break; }
      }
      if (!merge) continue;
      const all = this.#functions.get(url) ?? new Set<string>();
      const called = this.#called.get(url) ?? new Set<string>();
      for (const f of script.functions) {
        const r = f.ranges[0]!;
        const key = `${r.startOffset}:${r.endOffset}`;
        all.add(key);
        if (r.count > 0) called.add(key);
      }
      this.#functions.set(url, all);
      this.#called.set(url, called);
    }
    return novel;
  }

  summary(): { bytes: string; functions: string; modules: number } {
    let covered = 0, total = 0, fCalled = 0, fAll = 0;
    for (const cum of this.#bytes.values()) { total += cum.length; for (const b of cum) covered += b; }
    for (const [url, all] of this.#functions) { fAll += all.size; fCalled += this.#called.get(url)?.size ?? 0; }
    const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
    return { bytes: pct(covered, total), functions: `${pct(fCalled, fAll)} (${fCalled}/${fAll})`, modules: this.#bytes.size };
  }
}

const seconds = Number(process.env.FUZZ_SECONDS ?? 30);
const only = process.env.FUZZ_TARGET?.split(',').map((s) => s.trim()).filter(Boolean);
const save = process.env.FUZZ_SAVE === '1';
let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const selected = targets.filter((t) => !only || only.includes(t.name));
const runServer = !only || only.includes('server');
if (only) {
  const known = new Set([...targets.map((t) => t.name), 'server']);
  const unknown = only.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    console.error(`unknown fuzz target(s): ${unknown.join(', ')}; targets: ${[...known].join(', ')}`);
    process.exit(2);
  }
}

let totalCrashes = 0;
const rows: string[] = [];
console.log(`fuzzing ${selected.length + (runServer ? 1 : 0)} target(s), ${seconds} s each, seed ${seed}`);

function recordCrash(target: string, input: Uint8Array, message: string): void {
  totalCrashes++;
  const dir = join(FUZZ_DIR, 'crashes', target);
  mkdirSync(dir, { recursive: true });
  const name = createHash('sha256').update(input).digest('hex').slice(0, 16);
  writeFileSync(join(dir, name), input);
  writeFileSync(join(dir, `${name}.txt`), `${message}\n`);
  console.log(`  CRASH ${target} (${join('fuzz/crashes', target, name)}): ${message.split('\n')[0]}`);
}

for (const t of selected) {
  const pool = loadCorpus(t.name);
  const startPool = pool.length;
  const cov = new Coverage(t.modules, loaded);
  await cov.take(); // drop what loading and other targets counted
  const structured = t.structured();
  let tried = 0, typed = 0, ok = 0, crashes = 0;
  const seen = new Set<string>();
  const judgeOne = async (input: Uint8Array): Promise<void> => {
    tried++;
    const o = await judge(t, input);
    if (o.kind === 'ok') ok++;
    else if (o.kind === 'typed') typed++;
    else {
      const key = o.message.split('\n').slice(0, 2).join('|');
      if (!seen.has(key)) { seen.add(key); crashes++; recordCrash(t.name, input, o.message); }
    }
  };
  const keep = (input: Uint8Array) => {
    pool.push(input);
    if (save) {
      const dir = join(FUZZ_DIR, 'corpus-new', t.name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, createHash('sha256').update(input).digest('hex').slice(0, 16)), input);
    }
  };
  // Coverage is taken per group of GROUP inputs (taking it costs more than most inputs); a group
  // that covered something new is replayed one input at a time to find which input did.
  const GROUP = 16;
  const feed = async (group: Uint8Array[]): Promise<void> => {
    for (const input of group) await judgeOne(input);
    if (!(await cov.take(group.length === 1))) return;
    if (group.length === 1) { keep(group[0]!); return; }
    for (const input of group) {
      try { await t.run(input); } catch { /* judged above */ }
      if (await cov.take()) keep(input);
    }
  };
  const deadline = performance.now() + seconds * 1000;
  for (const item of [...pool]) await feed([item]);
  while (performance.now() < deadline) {
    const batch = fc.sample(inputArb(pool, structured), { numRuns: GROUP * 8, seed: seed++ });
    await takeCoverage(); // what the generators ran (sealing, signing) is not the decoder's coverage
    for (let i = 0; i < batch.length && performance.now() < deadline; i += GROUP) await feed(batch.slice(i, i + GROUP));
  }
  const s = cov.summary();
  const row = `${t.name.padEnd(20)} inputs ${String(tried).padStart(8)}  typed errors ${String(typed).padStart(8)}  values ${String(ok).padStart(7)}  corpus ${startPool}→${pool.length}  coverage: bytes ${s.bytes}, functions ${s.functions} of ${s.modules} module(s)  crashes: ${crashes}`;
  rows.push(row);
  console.log(row);
}

if (runServer) {
  const { fuzzServer } = await import('./server-target.js');
  const serverLoaded = await takeCoverage();
  const cov = new Coverage(['packages/server/src/connection.ts', 'packages/server/src/auth.ts', 'packages/server/src/services/messaging.ts', 'packages/server/src/services/accounts.ts', 'packages/server/src/services/devices.ts', 'packages/server/src/services/provisioning.ts', 'packages/server/src/services/attachments.ts'], serverLoaded);
  await cov.take();
  const r = await fuzzServer({ seconds, seed: seed++, onInput: () => cov.take(), onCrash: (input, message) => recordCrash('server', input, message) });
  const s = cov.summary();
  const row = `${'server'.padEnd(20)} frames ${String(r.frames).padStart(8)}  error replies ${String(r.errors).padStart(7)}  other replies ${String(r.replies).padStart(6)}  closes ${r.closes}  coverage: bytes ${s.bytes}, functions ${s.functions} of ${s.modules} module(s)  crashes: ${r.crashes}`;
  rows.push(row);
  console.log(row);
  console.log(`  server error codes: ${Object.entries(r.errorCodes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
}

console.log(`\nsummary (${seconds} s per target)\n${rows.join('\n')}\ncrashes: ${totalCrashes}`);
session.disconnect();
process.exit(totalCrashes === 0 ? 0 : 1);
