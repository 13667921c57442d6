/** `sigilo admin revoke-device ACCOUNT_ID DEVICE_ID`: removes one device; its connection closes and its queue is purged. */
import { parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminRevokeDevice: Command = {
  path: ['admin', 'revoke-device'],
  summary: "revoke one device: close its connection, delete its keys and queue",
  usage: 'sigilo admin revoke-device ACCOUNT_ID DEVICE_ID [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, dataOptions, true);
    if (positionals.length !== 2 || !/^\d+$/.test(positionals[1]!)) throw new UsageError('give an account id and a device number (see sigilo admin accounts)');
    const [accountId, device] = positionals as [string, string];
    const deviceId = Number(device);
    const { result } = await runAdmin<{ removed?: boolean; revoked?: boolean; closedConnections: number }>(adminConfig(io, values), { op: 'revoke-device', accountId, deviceId }, (a) => a.revokeDevice(accountId, deviceId));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else if (!result.revoked) {
      io.err('No such device; nothing was revoked (see sigilo admin accounts)\n');
      return 1;
    } else io.out(`Device revoked; ${result.closedConnections} live connection(s) closed.\n`);
    return 0;
  },
};
