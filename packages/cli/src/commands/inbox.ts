/** `sigilo inbox`: fetches what arrived while away, prints unread messages and marks them read. */
import { formatAccountId, type MessageRow } from '@sigilo/client';
import { UsageError } from '../command.js';
import { messageJson, messageLine, dateTime } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectAndCatchUp, contactName, watchWarnings } from '../client/session.js';

export const inbox = clientCommand({
  path: ['inbox'],
  summary: 'receive new messages, print the unread ones and mark them read',
  usage: `sigilo inbox [NAME] [--no-read] [--offline] ${CLIENT_USAGE} [--json]

  NAME       only this contact's messages
  --no-read  do not mark them read (no read receipt is sent; they show again next time)
  --offline  do not connect: print what is already stored
  --json     one JSON array of {conversation, contact, messageId, author, timestamp, text, …}`,
  options: { 'no-read': { type: 'boolean' }, offline: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length > 1) throw new UsageError(`unexpected argument '${ctx.positionals[1]}'`);
    const client = await ctx.client();
    const only = ctx.positionals[0] === undefined ? undefined : client.resolveContact(ctx.positionals[0]).accountId;
    watchWarnings(client, ctx.io);
    if (ctx.values.offline !== true) {
      ctx.progress('Receiving…');
      await connectAndCatchUp(client);
    }
    const unread = client.store.listMessages(only, 100_000).filter((m) => !m.outgoing && !m.deleted && m.status === 'received');
    const contacts = new Map(client.store.listContacts().map((c) => [formatAccountId(c.accountId), c]));
    const contactOf = (m: MessageRow) => contacts.get(formatAccountId(m.conversation));
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(unread.map((m) => messageJson(m, contactOf(m))))}\n`);
    } else if (unread.length === 0) {
      ctx.io.out('No new messages.\n');
    } else {
      let day = '';
      for (const m of unread) {
        const d = dateTime(m.timestamp).slice(0, 10);
        if (d !== day) ctx.io.out(`-- ${(day = d)} --\n`);
        const c = contactOf(m);
        ctx.io.out(`${messageLine(m, contactName(c, m.conversation), false)}${c?.alias ? '' : '  (not in your contacts: sigilo contacts add NAME ' + formatAccountId(m.conversation) + ')'}\n`);
      }
    }
    if (ctx.values['no-read'] !== true && ctx.values.offline !== true) {
      const conversations = new Map<string, { id: Uint8Array; ids: Uint8Array[] }>();
      for (const m of unread) {
        const k = formatAccountId(m.conversation);
        const entry = conversations.get(k) ?? { id: m.conversation, ids: [] };
        entry.ids.push(m.messageId);
        conversations.set(k, entry);
      }
      for (const { id, ids } of conversations.values()) await client.markRead(id, ids);
    }
    return 0;
  },
});
