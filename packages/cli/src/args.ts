/** Flag parsing on node:util parseArgs, with usage errors that say what to type. */
import { parseArgs } from 'node:util';
import { UsageError } from './command.js';

type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parse(args: string[], options: Options, positionals = false): Parsed {
  try {
    const r = parseArgs({ args, options, allowPositionals: positionals, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
