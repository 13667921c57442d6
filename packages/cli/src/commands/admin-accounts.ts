/** `sigilo admin accounts`: lists accounts and their devices. */
import type { AccountSummary } from '@sigilo/server';
import { parse } from '../args.js';
import type { Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminAccounts: Command = {
  path: ['admin', 'accounts'],
  summary: 'list accounts (id, username, your label) and their devices',
  usage: `sigilo admin accounts [--data DIR] [--config FILE] [--json]

The username column: @name for members listed in the member directory; "(hashed)" when
the member claimed a username but the server holds only its hash (it cannot show it, yet
\`sigilo admin label @name …\`, \`revoke-device\` and \`remove-account\` find the account by the
exact name); empty when none is claimed.`,
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const { result, live } = await runAdmin<AccountSummary[]>(adminConfig(io, values), { op: 'accounts' }, (a) => a.listAccounts());
    if (values.json) {
      io.out(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    if (result.length === 0) {
      io.out('No accounts yet. Create an invite with: sigilo admin invite\n');
      return 0;
    }
    const lines = [`${result.length} account(s)${live ? '' : ' (server not running: connection state unknown)'}`];
    for (const a of result) {
      const who = [a.username ? (a.username.startsWith('(') ? a.username : `@${a.username}`) : '', a.label ? `"${a.label}"` : ''].filter(Boolean).join('  ');
      lines.push(`${a.accountId}  created ${a.createdDay}${who ? `  ${who}` : ''}`);
      for (const d of a.devices) {
        const state = d.connected === null ? '' : d.connected ? '  connected' : '';
        lines.push(`  device ${String(d.deviceId).padEnd(4)} created ${d.createdDay}  last seen ${d.lastSeenDay ?? '-'}${state}`);
      }
    }
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
