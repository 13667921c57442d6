/** `sigilo contacts`: the people this client knows, with their verification and mute state. */
import { formatAccountId, parseContactCard, type ContactRow } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { mutedText } from '../client/format.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export function identityState(c: ContactRow): 'changed' | 'verified' | 'unverified' | 'unknown' {
  if (c.pendingIdentityKey) return 'changed';
  if (!c.identityKey) return 'unknown';
  return c.verified ? 'verified' : 'unverified';
}

export const contacts = clientCommand({
  path: ['contacts'],
  summary: 'list your contacts (name, account id, verified or changed, muted)',
  usage: `sigilo contacts ${CLIENT_USAGE} [--json]
       sigilo contacts add NAME CARD

Identity: "verified" (safety number compared), "unverified", "CHANGED" (the contact's
key changed: sending is blocked until \`sigilo verify NAME --accept\`), or "unknown"
(no message exchanged yet).`,
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError(`unknown subcommand '${ctx.positionals[0]}' (did you mean \`sigilo contacts add NAME CARD\`?)`);
    const client = await ctx.client();
    const now = Date.now();
    const rows = client.store.listContacts();
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(rows.map((c) => ({
        name: c.alias ?? null,
        accountId: formatAccountId(c.accountId),
        identity: identityState(c),
        verified: c.verified,
        mutedUntil: c.mutedUntil > now ? c.mutedUntil : null,
      })))}\n`);
      return 0;
    }
    if (rows.length === 0) {
      ctx.io.out('No contacts yet. Add one with: sigilo contacts add NAME CARD\n');
      return 0;
    }
    const width = Math.max(4, ...rows.map((c) => (c.alias ?? '-').length));
    ctx.io.out(`${'NAME'.padEnd(width)}  ${'ACCOUNT'.padEnd(26)}  IDENTITY    MUTED\n`);
    for (const c of rows) {
      const state = identityState(c);
      ctx.io.out(`${(c.alias ?? '-').padEnd(width)}  ${formatAccountId(c.accountId)}  ${(state === 'changed' ? 'CHANGED' : state).padEnd(10)}  ${mutedText(c, now) ?? ''}`.trimEnd() + '\n');
    }
    return 0;
  },
});

export const contactsAdd = clientCommand({
  path: ['contacts', 'add'],
  summary: 'add a contact from their contact card (or rename one)',
  usage: `sigilo contacts add NAME CARD ${CLIENT_USAGE} [--json]

  NAME  what you call them: letters, digits, "_", "." or "-"
  CARD  their contact card (\`sigilo whoami\` prints it), or just their account id`,
  positionals: true,
  async run(ctx) {
    const [name, card, ...extra] = ctx.positionals;
    if (!name || !card) throw new UsageError('give a NAME and their contact CARD');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const parsed = parseContactCard(card);
    const client = await ctx.client();
    const row = client.addContact(name, parsed.accountId, parsed.accessKey);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ name: row.alias, accountId: formatAccountId(row.accountId), identity: identityState(row) })}\n`);
    else ctx.io.out(`Added ${row.alias} (${formatAccountId(row.accountId)}). Send with: sigilo send ${row.alias} TEXT\n`);
    return 0;
  },
});
