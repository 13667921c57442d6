/** `sigilo admin remove-account ACCOUNT`: deletes an account, its devices, keys and queues; closes its connections. */
import { parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { confirmAdminAction, describeAccount } from '../admin-target.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminRemoveAccount: Command = {
  path: ['admin', 'remove-account'],
  summary: 'remove an account with all its devices, keys and queued messages (shows whom and asks first)',
  usage: `sigilo admin remove-account ACCOUNT [--yes] [--data DIR] [--config FILE] [--json]

ACCOUNT is the account id as \`sigilo admin accounts\` prints it (26 characters;
the 32-digit hex form of older versions is accepted too) or @username.
Shows the account (label, username, devices, created) and asks for confirmation;
without a terminal, pass --yes. Exit code 1 when nothing was removed.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, yes: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError('give exactly one account: its id or @username (see sigilo admin accounts)');
    const config = adminConfig(io, values);
    const target = await describeAccount(config, positionals[0]!);
    if (!(await confirmAdminAction(io, values.yes === true, 'This removes, with all its devices, keys and queued messages', target))) return 1;
    const accountId = target.accountId;
    const { result } = await runAdmin<{ removed: boolean; closedConnections: number }>(config, { op: 'remove-account', accountId }, (a) => a.removeAccount(accountId));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    if (!result.removed) {
      if (!values.json) io.err('No such account any more; nothing was removed (see sigilo admin accounts)\n');
      return 1;
    }
    if (!values.json) io.out(`Account ${accountId}${target.label ? ` (${target.label})` : ''} removed; ${result.closedConnections} live connection(s) closed.\n`);
    return 0;
  },
};
