/** `sigilo chat NAME`: an interactive conversation (live messages, typing, ticks). */
import { ClientError } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { ChatSession } from '../client/chat-session.js';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, contactName } from '../client/session.js';
import { resolveConversation } from './group.js';

export const chat = clientCommand({
  path: ['chat'],
  summary: 'chat with a contact or group interactively',
  usage: `sigilo chat NAME [--lines] [--confidential] ${CLIENT_USAGE}
       sigilo chat GROUP [--lines]      (a group's name or id)

Messages arrive live; "NAME is typing…" shows while they type; your messages carry
ticks: ✓ sent (the server has it), ✓✓ delivered (their device has it), ✓✓ read.
Enter sends; /quit, Ctrl-C or Ctrl-D leaves; /help.
In a group every line shows its author; /private NAME TEXT (or /p) sends to one member
only (shown to the two of you, marked [private]); /members lists the members.
Other commands may use the same directory meanwhile (sigilo send, inbox…): the chat
lends them the device's connection (the title says "paused") and takes it back when
they finish; what they send or receive shows in the chat. Messages written while
offline are sent in the background as soon as the server is back.
  --lines  line mode even on a terminal (also used when stdin or stdout is not a terminal):
           every event is printed as a line, each input line is sent
  --confidential  (1:1) switch confidential mode on for this chat: its messages are kept in
           memory only, on both sides, and wiped from both when you leave the chat
           (the other side sees the mode switch on and off). Needs the connection.
The title shows the disappearing timer (sigilo disappear NAME 1d; /disappear 1d here).`,
  options: { lines: { type: 'boolean' }, confidential: { type: 'boolean' } },
  lease: 'chat',
  positionals: true,
  async run(ctx) {
    const [name, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME or GROUP (see `sigilo contacts` and `sigilo group list`)');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (ctx.json) throw new UsageError('chat is interactive and has no --json output; use `sigilo inbox --json` and `sigilo send`');
    const client = await ctx.client();
    const target = resolveConversation(client, name);
    if (!client.accountId) throw new ClientError('NOT_REGISTERED', 'this client is not registered yet: run `sigilo register --invite CODE` or `sigilo link`');
    const screen = ctx.values.lines !== true && process.stdin.isTTY === true && process.stdout.isTTY === true;
    if (target.kind === 'group') {
      if (ctx.values.confidential === true) throw new UsageError('--confidential is for 1:1 chats');
      const { groupId, name: groupName } = target.group;
      return new ChatSession({
        client, contact: undefined, group: { groupId, name: groupName }, name: printableName(groupName),
        input: process.stdin, output: process.stdout, stopSignal: ctx.io.stopSignal, screen, leases: ctx.leases,
      }).run();
    }
    const contact = client.resolveContact(name);
    return new ChatSession({
      client, contact, name: contactName(contact, contact.accountId, client), confidential: ctx.values.confidential === true,
      input: process.stdin, output: process.stdout, stopSignal: ctx.io.stopSignal, screen, leases: ctx.leases,
    }).run();
  },
});
