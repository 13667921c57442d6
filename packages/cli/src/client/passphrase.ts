/**
 * Where the local store's passphrase comes from: `--passphrase-file FILE`, then
 * the SIGILO_PASSPHRASE environment variable (both for scripts), then a prompt
 * without echo when stdin is a terminal. Nothing here logs or echoes it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../command.js';

export interface PassphraseSource {
  readonly file: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Asks twice (a new store): a typo would lock the person out of their own history. */
  readonly confirm: boolean;
}

export async function readPassphrase(source: PassphraseSource): Promise<string> {
  if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(resolve(source.cwd, source.file), 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --passphrase-file ${source.file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    // One trailing newline is how editors and `echo` end a file; it is not part of the passphrase.
    return text.replace(/\r?\n$/, '');
  }
  const fromEnv = source.env.SIGILO_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new UsageError('no passphrase for the local store: set SIGILO_PASSPHRASE or give --passphrase-file FILE (or run it in a terminal to be asked)');
  }
  const first = await promptHidden(source.confirm ? 'New passphrase for the local store: ' : 'Passphrase: ');
  if (source.confirm) {
    if (first.length === 0) throw new UsageError('the passphrase is empty; choose one (it encrypts everything this client keeps)');
    const again = await promptHidden('Repeat the passphrase: ');
    if (again !== first) throw new UsageError('the two passphrases differ; run the command again');
  }
  return first;
}

/** Reads one line from the terminal in raw mode, echoing nothing. Ctrl-C or Ctrl-D aborts. */
export function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolvePromise, reject) => {
    process.stderr.write(question);
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    let value = '';
    const done = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
