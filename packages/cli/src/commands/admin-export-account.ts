/** `sigilo admin export-account ACCOUNT`: everything the server holds about one account, in one JSON file (data-protection requests). */
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AccountExport } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminExportAccount: Command = {
  path: ['admin', 'export-account'],
  summary: 'write everything the server holds about one account to a JSON file (for a data-protection request)',
  usage: `sigilo admin export-account ACCOUNT [--out FILE] [--data DIR] [--config FILE] [--json]

ACCOUNT is the account id (as \`sigilo admin accounts\` prints it) or @username.
Writes every row that names the account, table by table (bytes in base64), to
FILE (default: sigilo-export-ACCOUNT.json in the current folder), readable by
you only. An existing file is never overwritten. --json prints a summary as JSON.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, out: { type: 'string' } }, true);
    if (positionals.length !== 1) throw new UsageError('give one account (its id, as sigilo admin accounts prints it, or @username)');
    const account = positionals[0]!;
    const { result } = await runAdmin<AccountExport>(adminConfig(io, values), { op: 'export-account', accountId: account }, (a) => a.exportAccount(account));
    const out = resolve(io.cwd, str(values.out) ?? `sigilo-export-${result.accountId}.json`);
    let fd: number;
    try {
      fd = openSync(out, 'wx', 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      io.err(code === 'EEXIST' ? `${out} already exists; nothing was written. Choose another file with --out.\n` : `cannot write ${out} (${code ?? 'error'}); choose another file with --out.\n`);
      return 1;
    }
    try {
      writeSync(fd, `${JSON.stringify(result, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    const counts = Object.fromEntries(Object.entries(result.tables).map(([t, rows]) => [t, rows.length]));
    if (values.json) io.out(`${JSON.stringify({ file: out, accountId: result.accountId, rows: counts })}\n`);
    else io.out(`Wrote ${out}: account ${result.accountId}, ${Object.values(counts).reduce((a, b) => a + b, 0)} rows from ${Object.keys(counts).length} tables (${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')}).\n`);
    return 0;
  },
};
