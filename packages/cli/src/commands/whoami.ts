/** `sigilo whoami`: this client's account, device and contact card. */
import { ClientError, describeServerPolicy, fetchJson, formatAccountId, readServerPolicy, type ServerPolicy } from '@sigilo/client';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const whoami = clientCommand({
  path: ['whoami'],
  summary: "show your account id, this device, your contact card and the server's retention policy",
  usage: `sigilo whoami ${CLIENT_USAGE} [--json]`,
  async run(ctx) {
    const client = await ctx.client();
    const accountId = client.accountId;
    if (!accountId) throw new ClientError('NOT_REGISTERED', 'this client is not registered yet: run `sigilo register --invite CODE` or `sigilo link`');
    const server = client.server;
    // The server's retention policy, in plain words (spec/server.md §8); whoami still works when the server is unreachable.
    let policy: ServerPolicy | undefined;
    let policyError: string | undefined;
    if (server) {
      try {
        policy = readServerPolicy(await fetchJson(server, '/v1/server-info'));
        if (!policy) policyError = 'this server does not publish a retention policy (it is older than this client)';
      } catch (e) {
        policyError = `could not reach the server to read its policy (${(e as Error).message})`;
      }
    }
    const info = {
      accountId: formatAccountId(accountId),
      deviceId: client.deviceId,
      contactCard: client.contactCard,
      server: server?.url ?? null,
      fingerprint: server?.fingerprint ?? null,
      policy: policy ?? null,
    };
    if (ctx.json) ctx.io.out(`${JSON.stringify(info)}\n`);
    else {
      ctx.io.out(`Account: ${info.accountId}\nDevice: ${info.deviceId}\nContact card: ${info.contactCard}\nServer: ${info.server}${info.fingerprint ? ` (pinned ${info.fingerprint})` : ''}\n`);
      if (policy) ctx.io.out(`Server policy:\n${describeServerPolicy(policy).map((l) => `  ${l}\n`).join('')}`);
      else if (policyError) ctx.io.out(`Server policy: unknown: ${policyError}\n`);
    }
    return 0;
  },
});
