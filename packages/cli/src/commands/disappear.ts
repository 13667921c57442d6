/** `sigilo disappear NAME|GROUP [1h|1d|1w|off]`: a conversation's disappearing-message timer (client.md §14). */
import { formatTimer, parseTimer } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort, contactName } from '../client/session.js';
import { resolveConversation } from './group.js';

export const disappear = clientCommand({
  path: ['disappear'],
  summary: 'set (or show) the disappearing-message timer of a conversation',
  usage: `sigilo disappear NAME|GROUP [TIMER] ${CLIENT_USAGE} [--json]

  TIMER  30s … 4w (e.g. 5m, 1h, 1d, 1w) or off; without it, show the timer in force
Every later message in the conversation carries the timer and disappears from every device
of both sides: your copies that long after sending, theirs that long after they read it.
Everyone in the conversation sees "NAME set disappearing messages to 1 day". In a group
only admins may set it. Your organisation may set a maximum (see sigilo whoami): a longer
timer, or off, is refused (exit 1, [TIMER_TOO_LONG]).`,
  positionals: true,
  async run(ctx) {
    const [name, timerText, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME or GROUP');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const client = await ctx.client();
    const target = resolveConversation(client, name);
    const id = target.kind === 'group' ? target.group.groupId : target.accountId;
    const who = target.kind === 'group' ? printableName(target.group.name) : contactName(client.store.getContact(id), id, client);
    if (timerText === undefined) {
      const ms = client.disappearingTimer(id);
      if (ctx.json) ctx.io.out(`${JSON.stringify({ conversation: who, timerMs: ms })}\n`);
      else ctx.io.out(ms > 0 ? `Messages with ${who} disappear ${formatTimer(ms)} after they are read (yours: after sending).\n` : `Messages with ${who} do not disappear.\n`);
      return 0;
    }
    let ms: number;
    try {
      ms = parseTimer(timerText);
    } catch {
      throw new UsageError(`TIMER is off or 30s to 4w (e.g. 1h, 1d, 1w), got '${timerText}'`);
    }
    const online = await connectBestEffort(client);
    await client.setDisappearingTimer(id, ms);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ conversation: who, timerMs: ms })}\n`);
    else {
      ctx.io.out(ms > 0 ? `Messages with ${who} now disappear after ${formatTimer(ms)}` : `Disappearing messages with ${who} are off`);
      ctx.io.out(online ? '.\n' : ' (the others learn it when you are next online).\n');
    }
    return 0;
  },
});
