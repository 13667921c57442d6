/** `sigilo admin label ACCOUNT "TEXT"` / `--clear`: the administrator's own note on an account, kept on the server only while set. */
import { MAX_LABEL_LENGTH, type AccountSummary } from '@sigilo/server';
import { parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminLabel: Command = {
  path: ['admin', 'label'],
  summary: 'give an account your own label ("Carol – logistics"), shown in admin accounts; --clear removes it',
  usage: `sigilo admin label ACCOUNT "TEXT" [--data DIR] [--config FILE] [--json]
       sigilo admin label ACCOUNT --clear [--data DIR] [--config FILE] [--json]

ACCOUNT is the account id (as \`sigilo admin accounts\` prints it) or @username.
A label is one line of at most ${MAX_LABEL_LENGTH} characters. It is stored on the server, in plain text,
only while set; the account's owner never sees it.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, clear: { type: 'boolean' } }, true);
    const clear = values.clear === true;
    if (clear ? positionals.length !== 1 : positionals.length !== 2) {
      throw new UsageError(clear ? 'give the account only with --clear' : 'give the account and the label text (quote it), or --clear');
    }
    const [accountId, text] = positionals as [string, string | undefined];
    const label = clear ? null : text!;
    const { result } = await runAdmin<AccountSummary>(adminConfig(io, values), { op: 'label', accountId, label }, (a) => a.setLabel(accountId, label ?? undefined));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else io.out(result.label ? `Account ${result.accountId} is labelled "${result.label}".\n` : `Account ${result.accountId} has no label now.\n`);
    return 0;
  },
};
