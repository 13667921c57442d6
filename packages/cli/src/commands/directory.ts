/** `sigilo directory`: the member directory, where the administrator keeps one (client.md §11.2, server.md §3.1). */
import { formatAccountId } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const directory = clientCommand({
  path: ['directory'],
  summary: 'search the member directory: username, name, online',
  usage: `sigilo directory [SEARCH] ${CLIENT_USAGE} [--json]
       sigilo directory --search TEXT
       sigilo directory join | leave

  SEARCH  part of a username or name (case-insensitive for a–z); none lists everyone
  --json  one JSON array of {username, name, online, accountId, contact}

Only where the administrator enabled it (directory.mode = members), and only the
members who listed themselves (sigilo directory join). Add someone with
sigilo contacts add @USERNAME.`,
  options: { search: { type: 'string' } },
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length > 1) throw new UsageError(`give one search text (quote it if it has spaces), not '${ctx.positionals[1]}'`);
    const query = (ctx.values.search as string | undefined) ?? ctx.positionals[0] ?? '';
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const { entries, more } = await client.usernames.search(query);
    const me = client.accountId;
    const rows = entries.map((e) => ({
      username: e.username, name: e.name, online: e.online, accountId: formatAccountId(e.accountId),
      contact: client.store.getContact(e.accountId)?.alias ?? null,
      you: me !== undefined && formatAccountId(me) === formatAccountId(e.accountId),
    }));
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      ctx.io.out(query ? `Nobody listed matches "${printableName(query)}".\n` : 'Nobody is listed in the directory yet. List yourself with: sigilo directory join\n');
      return 0;
    }
    const w = Math.max(8, ...rows.map((r) => r.username.length + 1));
    const nw = Math.max(4, ...rows.map((r) => printableName(r.name).length));
    ctx.io.out(`${'USERNAME'.padEnd(w)}  ${'NAME'.padEnd(nw)}  ONLINE\n`);
    for (const r of rows) {
      const note = r.you ? '  (you)' : r.contact ? `  (contact ${r.contact})` : '';
      ctx.io.out(`${`@${r.username}`.padEnd(w)}  ${printableName(r.name).padEnd(nw)}  ${(r.online ? 'yes' : 'no').padEnd(6)}${note}`.trimEnd() + '\n');
    }
    if (more) ctx.io.out('(more entries: narrow the search)\n');
    return 0;
  },
});

export const directoryJoin = clientCommand({
  path: ['directory', 'join'],
  summary: 'list yourself in the member directory (username and display name, in clear to the server)',
  usage: `sigilo directory join ${CLIENT_USAGE} [--json]

Members can then find you by part of your username or name and see whether you are
online. The server learns your username and display name in clear and keeps them
with your account until you leave (sigilo directory leave). Needs a username
(sigilo username set NAME); your name is your profile's (sigilo profile set --name).`,
  async run(ctx) {
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const r = await client.usernames.publish();
    if (ctx.json) ctx.io.out(`${JSON.stringify(r)}\n`);
    else ctx.io.out(`Listed as @${r.username}${r.name ? ` (${printableName(r.name)})` : ''}. Leave with: sigilo directory leave\n`);
    return 0;
  },
});

export const directoryLeave = clientCommand({
  path: ['directory', 'leave'],
  summary: 'remove yourself from the member directory',
  usage: `sigilo directory leave ${CLIENT_USAGE} [--json]`,
  async run(ctx) {
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    await client.usernames.leave();
    if (ctx.json) ctx.io.out(`${JSON.stringify({ listed: false })}\n`);
    else ctx.io.out('You are no longer listed. People who know your username can still add you.\n');
    return 0;
  },
});
