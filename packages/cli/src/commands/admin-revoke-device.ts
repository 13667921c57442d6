/** `sigilo admin revoke-device ACCOUNT DEVICE_ID`: removes one device; its connection closes and its queue is purged. */
import { parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { confirmAdminAction, describeAccount } from '../admin-target.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminRevokeDevice: Command = {
  path: ['admin', 'revoke-device'],
  summary: 'revoke one device: close its connection, delete its keys and queue (shows whom and asks first)',
  usage: `sigilo admin revoke-device ACCOUNT DEVICE_ID [--yes] [--data DIR] [--config FILE] [--json]

ACCOUNT is the account id (as \`sigilo admin accounts\` prints it) or @username.
Shows the account and asks for confirmation; without a terminal, pass --yes.
The revoked device is told, when it next connects, that the administrator removed it.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, yes: { type: 'boolean' } }, true);
    if (positionals.length !== 2 || !/^\d+$/.test(positionals[1]!)) throw new UsageError('give an account (id or @username) and a device number (see sigilo admin accounts)');
    const config = adminConfig(io, values);
    const deviceId = Number(positionals[1]);
    const target = await describeAccount(config, positionals[0]!);
    if (!target.devices.some((d) => d.deviceId === deviceId)) {
      io.err(`Account ${target.accountId} has no device ${deviceId}; nothing was revoked (see sigilo admin accounts)\n`);
      return 1;
    }
    if (!(await confirmAdminAction(io, values.yes === true, `This revokes device ${deviceId} of`, target))) return 1;
    const accountId = target.accountId;
    const { result } = await runAdmin<{ revoked: boolean; closedConnections: number }>(config, { op: 'revoke-device', accountId, deviceId }, (a) => a.revokeDevice(accountId, deviceId));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    if (!result.revoked) {
      if (!values.json) io.err('No such device any more; nothing was revoked (see sigilo admin accounts)\n');
      return 1;
    }
    if (!values.json) io.out(`Device ${deviceId} of ${accountId} revoked; ${result.closedConnections} live connection(s) closed.\n`);
    return 0;
  },
};
