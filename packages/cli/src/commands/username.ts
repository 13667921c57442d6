/** `sigilo username`: a unique name on this server that members can find you by (client.md §11.2). */
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const username = clientCommand({
  path: ['username'],
  summary: 'show your username',
  usage: `sigilo username ${CLIENT_USAGE} [--json]
       sigilo username set NAME
       sigilo username delete`,
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError(`unknown subcommand '${ctx.positionals[0]}' (did you mean \`sigilo username set NAME\`?)`);
    const client = await ctx.client();
    const name = client.usernames.current;
    if (ctx.json) ctx.io.out(`${JSON.stringify({ username: name ?? null, listed: client.usernames.listed })}\n`);
    else if (!name) ctx.io.out('No username yet. Claim one with: sigilo username set NAME\n');
    else ctx.io.out(`@${name}${client.usernames.listed ? ' (listed in the member directory)' : ''}\nOthers add you with: sigilo contacts add @${name}\n`);
    return 0;
  },
});

export const usernameSet = clientCommand({
  path: ['username', 'set'],
  summary: 'claim a username (replaces your previous one)',
  usage: `sigilo username set NAME ${CLIENT_USAGE} [--json]

  NAME  3–32 letters a–z, digits, "." or "_" (capitals are folded), starting with a
        letter or digit, e.g. ana.lopez

The server receives only a hash of the username and answers lookups of the exact
name; it can still test guesses against that hash. Members find you with
\`sigilo contacts add @NAME\`.`,
  positionals: true,
  async run(ctx) {
    const [text, ...extra] = ctx.positionals;
    if (!text) throw new UsageError('give the username to claim, e.g. sigilo username set ana.lopez');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const name = await client.usernames.set(text);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ username: name, listed: client.usernames.listed })}\n`);
    else ctx.io.out(`Your username is @${name}. Others add you with: sigilo contacts add @${name}\n`);
    return 0;
  },
});

export const usernameDelete = clientCommand({
  path: ['username', 'delete'],
  summary: 'release your username (and leave the member directory)',
  usage: `sigilo username delete ${CLIENT_USAGE} [--json]`,
  async run(ctx) {
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    await client.usernames.delete();
    if (ctx.json) ctx.io.out(`${JSON.stringify({ username: null })}\n`);
    else ctx.io.out('Username released. Existing contacts keep reaching you.\n');
    return 0;
  },
});
