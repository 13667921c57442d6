/** `sigilo mute NAME [--for 8h | --off]`: mutes a conversation's notifications on all your devices. */
import { parseDuration } from '@sigilo/server';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { MUTED_FOREVER, dateTime } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort, contactName } from '../client/session.js';

export const mute = clientCommand({
  path: ['mute'],
  summary: 'mute notifications from a contact (for a while, or until --off)',
  usage: `sigilo mute NAME [--for 8h | --off] ${CLIENT_USAGE} [--json]

  --for DURATION  mute for 30m, 8h, 7d …; without it, until you unmute
  --off           unmute
Applies to all your devices; messages still arrive, \`sigilo chat\` shows no notice for them.`,
  options: { for: { type: 'string' }, off: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [name, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const forText = str(ctx.values.for);
    if (forText !== undefined && ctx.values.off === true) throw new UsageError('give either --for or --off');
    let until: number;
    if (ctx.values.off === true) until = 0;
    else if (forText === undefined) until = MUTED_FOREVER;
    else {
      const ms = parseDuration(forText);
      if (ms === undefined || ms <= 0) throw new UsageError(`--for takes a duration such as 30m, 8h or 7d, got '${forText}'`);
      until = Date.now() + ms;
    }
    const client = await ctx.client();
    const contact = client.resolveContact(name);
    const who = contactName(contact, contact.accountId, client);
    const online = await connectBestEffort(client);
    await client.mute(contact.accountId, until);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ contact: contact.alias ?? null, mutedUntil: until === 0 ? null : until })}\n`);
    else {
      const what = until === 0 ? `${who} is no longer muted` : until >= MUTED_FOREVER ? `${who} is muted until you unmute (sigilo mute ${who} --off)` : `${who} is muted until ${dateTime(until)}`;
      ctx.io.out(`${what}${online ? '' : ' (your other devices learn it on the next connection)'}.\n`);
    }
    return 0;
  },
});
