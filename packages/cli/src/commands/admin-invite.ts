/** `sigilo admin invite`: prints a single-use registration code with its expiry. */
import { parseDuration, type InviteInfo } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminInvite: Command = {
  path: ['admin', 'invite'],
  summary: 'create a single-use invite code for one new account',
  usage: 'sigilo admin invite [--expires 7d] [--count N] [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values } = parse(args, { ...dataOptions, expires: { type: 'string' }, count: { type: 'string' } });
    const config = adminConfig(io, values);
    const expires = str(values.expires);
    const lifetimeMs = expires === undefined ? config.inviteLifetimeMs : parseDuration(expires);
    if (lifetimeMs === undefined) throw new UsageError(`--expires takes a duration such as 30m, 12h or 7d, got '${expires}'`);
    const countText = str(values.count);
    if (countText !== undefined) {
      const count = Number(countText);
      if (!/^\d+$/.test(countText) || count < 1 || count > 10_000) throw new UsageError(`--count takes a number from 1 to 10000, got '${countText}'`);
      const { result } = await runAdmin<InviteInfo[]>(config, { op: 'invite', lifetimeMs, count }, (a) => a.createInvites(count, lifetimeMs));
      if (values.json) io.out(`${JSON.stringify(result)}\n`);
      else io.out(`${result.map((r) => r.code).join('\n')}\nValid until: ${new Date(result[0]!.expiresAt).toISOString()} (each single use)\n`);
      return 0;
    }
    const { result } = await runAdmin<InviteInfo>(config, { op: 'invite', lifetimeMs }, (a) => a.createInvite(lifetimeMs));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    else io.out(`Invite code: ${result.code}\nValid until: ${new Date(result.expiresAt).toISOString()} (single use)\n`);
    return 0;
  },
};
