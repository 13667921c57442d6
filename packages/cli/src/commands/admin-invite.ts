/** `sigilo admin invite`: prints a single-use registration code with its expiry. */
import { parseDuration, type InviteInfo } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminInvite: Command = {
  path: ['admin', 'invite'],
  summary: 'create a single-use invite code for one new account',
  usage: 'sigilo admin invite [--expires 7d] [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values } = parse(args, { ...dataOptions, expires: { type: 'string' } });
    const config = adminConfig(io, values);
    const expires = str(values.expires);
    const lifetimeMs = expires === undefined ? config.inviteLifetimeMs : parseDuration(expires);
    if (lifetimeMs === undefined) throw new UsageError(`--expires takes a duration such as 30m, 12h or 7d, got '${expires}'`);
    const { result } = await runAdmin<InviteInfo>(config, { op: 'invite', lifetimeMs }, (a) => a.createInvite(lifetimeMs));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else io.out(`Invite code: ${result.code}\nValid until: ${new Date(result.expiresAt).toISOString()} (single use)\n`);
    return 0;
  },
};
