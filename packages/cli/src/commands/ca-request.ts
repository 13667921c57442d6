/**
 * `sigilo ca request --name "NAME"`: this device asks the organisation to certify the account's identity
 * key (spec/trust.md §4.1). The administrator sees it in `sigilo admin ca requests` and approves it with the
 * CA key after comparing the identity fingerprint printed here; the certificate then reaches this device.
 */
import { UsageError } from '../command.js';
import { str } from '../args.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const caRequest = clientCommand({
  path: ['ca', 'request'],
  summary: "ask your organisation to certify your identity key (the administrator approves it)",
  usage: `sigilo ca request --name "YOUR NAME" ${CLIENT_USAGE} [--json]

The request carries your account, this device, your identity key and the name, signed by your
identity key; a new request replaces your pending one. The administrator approves it with
\`sigilo admin ca approve ID\` after comparing the identity fingerprint printed here with you (in
person or on a call you trust): read it to them. \`sigilo whoami\` shows the certificate once issued.`,
  options: { name: { type: 'string' } },
  async run(ctx) {
    const name = str(ctx.values.name);
    if (!name?.trim()) throw new UsageError('give your name as your organisation knows you: sigilo ca request --name "Ana Silva"');
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const r = await client.requestCertification(name);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ requestId: r.requestId, replaced: r.replaced, name: name.trim(), identityFingerprint: client.identityFingerprint })}\n`);
      return 0;
    }
    ctx.io.out(`Certification request ${r.requestId} sent${r.replaced ? ' (it replaces your previous one)' : ''}, as "${name.trim()}".\n`
      + `Read this identity fingerprint to your administrator, who compares it before approving:\n  ${client.identityFingerprint}\n`
      + `They run: sigilo admin ca approve ${r.requestId}. Then sigilo whoami shows your certificate.\n`);
    return 0;
  },
});
