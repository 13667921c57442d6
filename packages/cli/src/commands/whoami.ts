/** `sigilo whoami`: this client's account, device and contact card. */
import { ClientError, formatAccountId } from '@sigilo/client-node';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const whoami = clientCommand({
  path: ['whoami'],
  summary: 'show your account id, this device and your contact card',
  usage: `sigilo whoami ${CLIENT_USAGE} [--json]`,
  async run(ctx) {
    const client = await ctx.client();
    const accountId = client.accountId;
    if (!accountId) throw new ClientError('NOT_REGISTERED', 'this client is not registered yet: run `sigilo register --invite CODE` or `sigilo link`');
    const server = client.server;
    const info = {
      accountId: formatAccountId(accountId),
      deviceId: client.deviceId,
      contactCard: client.contactCard,
      server: server?.url ?? null,
      fingerprint: server?.fingerprint ?? null,
    };
    if (ctx.json) ctx.io.out(`${JSON.stringify(info)}\n`);
    else {
      ctx.io.out(`Account: ${info.accountId}\nDevice: ${info.deviceId}\nContact card: ${info.contactCard}\nServer: ${info.server}${info.fingerprint ? ` (pinned ${info.fingerprint})` : ''}\n`);
    }
    return 0;
  },
});
