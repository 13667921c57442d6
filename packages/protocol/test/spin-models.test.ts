/**
 * The Promela models in spec/models (issue 17 point 5), checked with Spin: each
 * model is verified exhaustively (errors: 0), and each mutant (dedupe off, retry
 * off, no poll, acknowledge before commit, longest-chain fork choice, tie by
 * arrival) is refuted, so every property is shown able to fail. Needs `spin` and
 * `gcc` (Debian: apt-get install spin); skipped without spin unless
 * SIGILO_REQUIRE_SPIN=1 (set in CI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const models = fileURLToPath(new URL('../../../spec/models/', import.meta.url));
const hasSpin = (() => {
  try {
    execFileSync('spin', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasSpin && process.env.SIGILO_REQUIRE_SPIN === '1') throw new Error('spin is required (SIGILO_REQUIRE_SPIN=1): apt-get install spin');

interface Verdict { errors: number; states: number; depth: number; memoryMb: number; violated: string | undefined; invalidEnd: boolean; output: string }

const work: string[] = [];
afterAll(() => { for (const d of work) rmSync(d, { recursive: true, force: true }); });

/** spin -a, gcc, ./pan: the exhaustive safety search (assertions, invalid end states). */
function verify(model: string, defines: string[] = []): Verdict {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-spin-'));
  work.push(dir);
  execFileSync('spin', [...defines.map((d) => `-D${d}`), '-a', join(models, model)], { cwd: dir, stdio: 'pipe' });
  execFileSync('gcc', ['-O0', '-w', '-DSAFETY', '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'pipe' });
  let output: string;
  try {
    output = execFileSync('./pan', ['-m100000', '-w20'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? '');
  }
  const num = (re: RegExp) => { const m = re.exec(output); if (!m) throw new Error(`pan output without ${re}:\n${output}`); return Number(m[1]); };
  return {
    errors: num(/errors: (\d+)/),
    states: num(/(\d+) states, stored/),
    depth: num(/depth reached (\d+)/),
    memoryMb: num(/([\d.]+)\s+total actual memory usage/),
    violated: /assertion violated (.*?) \(at depth/.exec(output)?.[1],
    invalidEnd: /invalid end state/.test(output),
    output,
  };
}

const report = (name: string, v: Verdict) =>
  process.stdout.write(`spin ${name}: errors ${v.errors}, ${v.states} states stored, depth ${v.depth}, ${v.memoryMb} MB${v.violated ? `, violated ${v.violated}` : ''}\n`);

describe.skipIf(!hasSpin)('Spin models (spec/models)', () => {
  it('delivery.pml: no loss and no duplicate shown, through node crashes and lost wake-ups', () => {
    const v = verify('delivery.pml');
    report('delivery', v);
    expect(v.errors, v.output).toBe(0);
    expect(v.states).toBeGreaterThan(1000);
  }, 120_000);

  it.each([
    ['NO_DEDUPE', /shown.*<=1/],                       // a redelivered id is shown twice
    ['NO_RETRY', /pending\[0\]==0/],                   // a message stays unacknowledged
    ['NO_POLL', /acked.*stored/],                      // a lost wake-up strands an acknowledged message
    ['ACK_BEFORE_COMMIT', /acked.*stored/],            // a crash after the ack loses it
  ])('delivery.pml mutant %s is refuted', (mutant, assertion) => {
    const v = verify('delivery.pml', [mutant]);
    report(`delivery -D${mutant}`, v);
    expect(v.errors).toBeGreaterThan(0);
    expect(v.violated).toMatch(assertion);
  }, 120_000);

  it('forkchoice.pml: every device holding the same entries has the same head, the senior admin\'s branch', () => {
    const v = verify('forkchoice.pml');
    report('forkchoice', v);
    expect(v.errors, v.output).toBe(0);
    expect(v.states).toBeGreaterThan(1000);
  }, 120_000);

  it.each([
    [['LONGEST_CHAIN'], /head\[dev\]==6/],                         // the junior admin's longer branch wins
    [['ARRIVAL_TIEBREAK'], /head\[dev\]==6/],                      // the head depends on arrival order
    [['ARRIVAL_TIEBREAK', 'CONVERGENCE_ONLY'], /head\[0\]==head\[1\]/], // two devices, two heads
  ])('forkchoice.pml mutant %s is refuted', (defines, assertion) => {
    const v = verify('forkchoice.pml', defines);
    report(`forkchoice -D${defines.join(' -D')}`, v);
    expect(v.errors).toBeGreaterThan(0);
    expect(v.violated).toMatch(assertion);
  }, 120_000);
});
