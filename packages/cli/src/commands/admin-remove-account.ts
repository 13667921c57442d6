/** `sigilo admin remove-account ID`: deletes an account, its devices, keys and queues; closes its connections. */
import { parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminRemoveAccount: Command = {
  path: ['admin', 'remove-account'],
  summary: 'remove an account with all its devices, keys and queued messages',
  usage: 'sigilo admin remove-account ACCOUNT_ID [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, dataOptions, true);
    if (positionals.length !== 1) throw new UsageError('give exactly one account id (see sigilo admin accounts)');
    const accountId = positionals[0]!;
    const { result } = await runAdmin<{ removed?: boolean; revoked?: boolean; closedConnections: number }>(adminConfig(io, values), { op: 'remove-account', accountId }, (a) => a.removeAccount(accountId));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else if (!result.removed) {
      io.err('No such account; nothing was removed (see sigilo admin accounts)\n');
      return 1;
    } else io.out(`Account removed; ${result.closedConnections} live connection(s) closed.\n`);
    return 0;
  },
};
