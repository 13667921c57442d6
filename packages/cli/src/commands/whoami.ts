/** `sigilo whoami`: this client's account, device and contact card. */
import { ClientError, formatAccountId } from '@sigilo/client';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort } from '../client/session.js';

export const whoami = clientCommand({
  path: ['whoami'],
  summary: 'show your account id, name, username, this device and your contact card',
  usage: `sigilo whoami ${CLIENT_USAGE} [--json]`,
  async run(ctx) {
    const client = await ctx.client();
    const accountId = client.accountId;
    if (!accountId) throw new ClientError('NOT_REGISTERED', 'this client is not registered yet: run `sigilo register --invite CODE` or `sigilo link`');
    const server = client.server;
    let profile = client.profiles.own();
    // A linked device holds the profile key but not yet the name: read it from the server when
    // it can be reached; whoami still answers offline.
    if (!profile.name) {
      try {
        if (await connectBestEffort(client)) profile = await client.profiles.fetchOwn();
      } catch { /* shown as unknown below */ }
    }
    const info = {
      accountId: formatAccountId(accountId),
      deviceId: client.deviceId,
      // What others see of you, as this device knows it (no connection needed).
      name: profile.name ?? null,
      username: client.usernames.current ?? null,
      contactCard: client.contactCard,
      server: server?.url ?? null,
      fingerprint: server?.fingerprint ?? null,
    };
    if (ctx.json) ctx.io.out(`${JSON.stringify(info)}\n`);
    else {
      ctx.io.out(`Account: ${info.accountId}\n`
        + `Name: ${info.name ? printableName(info.name) : '- (set it with: sigilo profile set --name "Your Name")'}\n`
        + `Username: ${info.username ? `@${info.username}` : '- (claim one with: sigilo username set NAME)'}\n`
        + `Device: ${info.deviceId}\nContact card: ${info.contactCard}\nServer: ${info.server}${info.fingerprint ? ` (pinned ${info.fingerprint})` : ''}\n`);
    }
    return 0;
  },
});
