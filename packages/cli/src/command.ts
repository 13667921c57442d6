/**
 * A `sigilo` subcommand. Each lives in its own file under commands/ and is
 * listed in commands/index.ts; `path` is the words that select it
 * (['server', 'start'], ['admin', 'invite'], later ['send'], ['chat'] …).
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the process should stop (SIGTERM, SIGINT); long-running commands await it. */
  readonly stopSignal: Promise<string>;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface Command {
  readonly path: readonly string[];
  readonly summary: string;
  readonly usage: string;
  /** Returns the process exit code. */
  run(args: string[], io: Io): Promise<number>;
}

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}
