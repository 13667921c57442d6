/** `sigilo init URL --fingerprint FP`: points this client at a server, pinned to its certificate. */
import { normaliseFingerprint } from '@sigilo/client-node';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const init = clientCommand({
  path: ['init'],
  summary: 'set up this client: the server URL and its certificate fingerprint',
  usage: `sigilo init URL --fingerprint FP [--ca-trusted] ${CLIENT_USAGE} [--json]

  URL              https://HOST:PORT of your organisation's Sigilo server
  --fingerprint FP the server certificate's SHA-256, as \`sigilo server start\` prints it
                   (ask your administrator; colons optional)
  --ca-trusted     the server has a certificate from a CA this machine trusts: no pin`,
  options: { fingerprint: { type: 'string' }, 'ca-trusted': { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [url, ...extra] = ctx.positionals;
    if (!url) throw new UsageError('give the server URL, e.g. https://chat.example.org:8443');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const fingerprint = str(ctx.values.fingerprint);
    if (fingerprint === undefined && ctx.values['ca-trusted'] !== true) {
      throw new UsageError('give --fingerprint FP (ask your administrator for it), or --ca-trusted if the server has a certificate from a public CA');
    }
    if (fingerprint !== undefined && ctx.values['ca-trusted'] === true) throw new UsageError('give either --fingerprint or --ca-trusted, not both');
    if (fingerprint !== undefined) {
      // A typo is reported before asking for a passphrase.
      try {
        normaliseFingerprint(fingerprint);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const client = await ctx.client({ create: true });
    ctx.progress(`Connecting to ${url}${fingerprint ? ' and checking the certificate fingerprint' : ''}…`);
    let r: Awaited<ReturnType<typeof client.init>>;
    try {
      r = await client.init(url, fingerprint);
    } catch (e) {
      ctx.discardNewStore();
      throw e;
    }
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ url: r.url, fingerprint: r.fingerprint ?? null, dir: ctx.dir, registered: client.accountId !== undefined })}\n`);
    } else {
      ctx.io.out(`Server: ${r.url}\n${r.fingerprint ? `Pinned certificate: ${r.fingerprint}\n` : 'Certificate: checked against the system CAs\n'}Client directory: ${ctx.dir}\n`);
      if (!client.accountId) ctx.io.out('Next: sigilo register --invite CODE (or sigilo link to add this device to your account)\n');
    }
    return 0;
  },
});
