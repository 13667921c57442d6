/** `sigilo delete-history NAME`: deletes a conversation's messages here and on your other devices. */
import { UsageError } from '../command.js';
import { confirm } from '../client/confirm.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort, contactName } from '../client/session.js';

export const deleteHistory = clientCommand({
  path: ['delete-history'],
  summary: "delete a conversation's history on all your devices",
  usage: `sigilo delete-history NAME [--yes] ${CLIENT_USAGE} [--json]

Deletes the messages with NAME on this device now, and tells your other devices
to do the same (end to end encrypted; the server cannot tell it from a message).
It does not delete anything on your contact's devices. Asks first on a terminal;
without a terminal (scripts) or with --json it needs --yes, else nothing is deleted (exit 1).`,
  options: { yes: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [name, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const client = await ctx.client();
    const contact = client.resolveContact(name);
    const who = contactName(contact, contact.accountId, client);
    if (ctx.values.yes !== true) {
      // Deleting cannot be undone: without a person at a terminal to ask, it needs --yes.
      if (!process.stdin.isTTY || ctx.json) {
        const message = `this deletes all messages with ${who} on all your devices and cannot be undone: add --yes to do it without a question`;
        if (ctx.json) ctx.io.out(`${JSON.stringify({ contact: contact.alias ?? null, deleted: 0, error: { code: 'CONFIRMATION_NEEDED', message } })}\n`);
        ctx.io.err(`sigilo delete-history: ${message}. Nothing deleted. [CONFIRMATION_NEEDED]\n`);
        return 1;
      }
      if (!(await confirm(`Delete all messages with ${who} on all your devices? [y/N] `))) {
        ctx.io.err('Nothing deleted.\n');
        return 1;
      }
    }
    const online = await connectBestEffort(client);
    const removed = await client.deleteHistory(contact.accountId);
    const synced = online && client.store.listOutbox().length === 0;
    if (ctx.json) ctx.io.out(`${JSON.stringify({ contact: contact.alias ?? null, deleted: removed, otherDevicesTold: synced })}\n`);
    else ctx.io.out(`Deleted ${removed} message${removed === 1 ? '' : 's'} with ${who}. ${synced ? 'Your other devices were told.' : 'Your other devices will be told on the next connection.'}\n`);
    return 0;
  },
});
