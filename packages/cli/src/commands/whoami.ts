/** `sigilo whoami`: this client's account, name, username, device and contact card, and the server's policy. */
import { ClientError, describeServerPolicy, formatAccountId, readServerPolicy, type ServerPolicy } from '@sigilo/client-node';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort } from '../client/session.js';
import { certificateJson, certificateSentence, pendingSentence, refreshCertificates } from '../client/org-status.js';

export const whoami = clientCommand({
  path: ['whoami'],
  summary: "show your account id, name, username, this device, your contact card and the server's retention policy",
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
        policy = readServerPolicy(await client.serverInfo());
        if (!policy) policyError = 'this server does not publish a retention policy (it is older than this client)';
      } catch (e) {
        policyError = `could not reach the server to read its policy (${(e as Error).message})`;
      }
    }
    let profile = client.profiles.own();
    // A linked device holds the profile key but not yet the name: read it from the server when
    // it can be reached; whoami still answers offline.
    if (!profile.name && !policyError) {
      try {
        if (await connectBestEffort(client)) profile = await client.profiles.fetchOwn();
      } catch { /* shown as unknown below */ }
    }
    // The organisation's certificate of this identity (spec/trust.md §6): fetched when the server is reachable.
    if (!policyError && await connectBestEffort(client).catch(() => false)) await refreshCertificates(client);
    const certificate = client.certificateStatus(accountId);
    const ca = client.orgCa();
    const request = ca ? client.pendingCertification() : undefined;
    const info = {
      accountId: formatAccountId(accountId),
      identityFingerprint: client.identityFingerprint,
      // trust.md §7.1: the signing key on a PKCS#11 token (which one), or null for a key in this store.
      identityKeyOnToken: client.identity.signing.token?.tokenLabel ?? null,
      certificate: certificateJson(certificate),
      // Sent with `sigilo ca request` from this device and not yet answered by a certificate.
      certificationRequest: request ? { requestId: request.requestId, name: request.name, requestedAt: new Date(request.requestedAt).toISOString() } : null,
      organisationCa: ca ?? null,
      deviceId: client.deviceId,
      // What others see of you, as this device knows it.
      name: profile.name ?? null,
      username: client.usernames.current ?? null,
      contactCard: client.contactCard,
      server: server?.url ?? null,
      fingerprint: server?.fingerprint ?? null,
      policy: policy ?? null,
    };
    if (ctx.json) ctx.io.out(`${JSON.stringify(info)}\n`);
    else {
      ctx.io.out(`Account: ${info.accountId}\n`
        + `Name: ${info.name ? printableName(info.name) : '- (set it with: sigilo profile set --name "Your Name")'}\n`
        + `Username: ${info.username ? `@${info.username}` : '- (claim one with: sigilo username set NAME)'}\n`
        + `Device: ${info.deviceId}\nContact card: ${info.contactCard}\nServer: ${info.server}${info.fingerprint ? ` (pinned ${info.fingerprint})` : ''}\n`
        + `Identity fingerprint: ${info.identityFingerprint}\n`
        + (info.identityKeyOnToken ? `Identity signing key: on the token "${info.identityKeyOnToken}" (PKCS#11; it never leaves it)\n` : '')
        + (ca ? `Certificate: ${request && certificate.state === 'uncertified' ? pendingSentence(request) : certificateSentence(certificate, 'you', true)}\n`
          + `Organisation CA: ${ca.organisation} (fingerprint ${ca.fingerprint})\n` : ''));
      if (policy) ctx.io.out(`Server policy:\n${describeServerPolicy(policy).map((l) => `  ${l}\n`).join('')}`);
      else if (policyError) ctx.io.out(`Server policy: unknown: ${policyError}\n`);
    }
    return 0;
  },
});
