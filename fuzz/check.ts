/**
 * One input through one target, judged: 'ok' (a value), 'typed' (the
 * decoder's typed error), or a crash (any other throw, or longer than the
 * per-input time bound).
 */
import type { FuzzTarget } from './targets.js';

/** No single input may take longer than this (a bound on work per input; generous for a loaded machine). */
export const INPUT_TIME_LIMIT_MS = 5_000;

export type Outcome = { kind: 'ok' } | { kind: 'typed'; code: string } | { kind: 'crash'; error: unknown; message: string };

export async function judge(t: FuzzTarget, input: Uint8Array): Promise<Outcome> {
  const started = performance.now();
  let outcome: Outcome;
  try {
    const r = t.run(input);
    if (r instanceof Promise) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new HangError()), INPUT_TIME_LIMIT_MS); });
      try { await Promise.race([r, timeout]); } finally { clearTimeout(timer); }
    }
    outcome = { kind: 'ok' };
  } catch (e) {
    outcome = t.expected(e)
      ? { kind: 'typed', code: String((e as { code?: string }).code ?? (e as Error).name) }
      : { kind: 'crash', error: e, message: describe(e) };
  }
  const ms = performance.now() - started;
  if (outcome.kind !== 'crash' && ms > INPUT_TIME_LIMIT_MS) {
    outcome = { kind: 'crash', error: new HangError(ms), message: `took ${Math.round(ms)} ms (limit ${INPUT_TIME_LIMIT_MS} ms)` };
  }
  return outcome;
}

export class HangError extends Error {
  constructor(ms?: number) { super(ms === undefined ? 'did not finish in time' : `took ${Math.round(ms)} ms`); this.name = 'HangError'; }
}

export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}${e.stack ? `\n${e.stack.split('\n').slice(1, 4).join('\n')}` : ''}`;
  return String(e);
}
