/** `sigilo send NAME TEXT…`: sends one text message (from stdin with `-`). */
import { ClientError, formatAccountId } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { hex, ticks } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, contactName, watchWarnings } from '../client/session.js';
import { resolveConversation, sendToGroup } from './group.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export const send = clientCommand({
  path: ['send'],
  summary: 'send a text message to a contact',
  usage: `sigilo send NAME TEXT… ${CLIENT_USAGE} [--json]
       sigilo send GROUP TEXT…          (a group's name or id: to every member)
       echo TEXT | sigilo send NAME -

The message is stored in the outbox first: if the server cannot be reached it is
sent by the next \`sigilo send\`, \`inbox\` or \`chat\` (exit code 1 says so; do not send it again).`,
  positionals: true,
  async run(ctx) {
    const [name, ...words] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME and the TEXT (or - to read it from stdin)');
    if (words.length === 0) throw new UsageError('give the TEXT to send (or - to read it from stdin)');
    const text = words.length === 1 && words[0] === '-' ? await readStdin() : words.join(' ');
    if (text.trim() === '') throw new UsageError('the message is empty');
    const client = await ctx.client();
    const target = resolveConversation(client, name);
    if (target.kind === 'group') return sendToGroup(ctx, client, target.group, text);
    const contact = client.resolveContact(name);
    watchWarnings(client, ctx.io);
    let offline: Error | undefined;
    try {
      await client.connect({ reconnect: false });
    } catch (e) {
      if (!(e instanceof ClientError) || (e.code !== 'CONNECTION_FAILED' && e.code !== 'TIMEOUT')) throw e;
      offline = e;
    }
    const m = await client.sendText(contact.accountId, text);
    const who = contactName(contact, contact.accountId);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ to: formatAccountId(contact.accountId), contact: contact.alias ?? null, messageId: hex(m.messageId), timestamp: m.timestamp, status: m.status })}\n`);
    } else if (m.status === 'pending') {
      ctx.io.out(`Queued for ${who}; it will be sent on the next connection.\n`);
    } else {
      ctx.io.out(`Sent to ${who} ${ticks(m.status)}\n`);
    }
    if (m.status === 'pending' && client.store.getContact(contact.accountId)?.pendingIdentityKey) {
      throw new ClientError('IDENTITY_CHANGED', `${who}'s safety number changed: compare it (\`sigilo verify ${who}\`) and accept it with \`sigilo verify ${who} --accept\`; the message is held until then`);
    }
    if (m.status === 'pending') {
      ctx.io.err(`sigilo send: not sent yet${offline ? ` (${offline.message})` : ''}; the message stays in the outbox and goes out with the next \`sigilo send\`, \`inbox\` or \`chat\`\n`);
      return 1;
    }
    return 0;
  },
});
