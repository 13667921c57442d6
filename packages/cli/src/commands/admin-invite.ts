/** `sigilo admin invite`: prints a single-use registration code with its expiry, and the web app's link that opens it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminRequest, parseDuration, type InviteInfo, type ServerConfig } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

/**
 * The web app's sign-up link for a code: https://HOST:PORT/#invite=CODE, HOST the first name of the server's TLS CA
 * (DATA/tls/ca/names.json, the name people type), else the listening address when it is a single one. The code
 * stays in the fragment, which the browser never sends to the server.
 */
export function webInviteLink(config: ServerConfig, code: string): { link: string; exact: boolean } {
  let host: string | undefined;
  try {
    const file = join(config.dataDir, 'tls', 'ca', 'names.json');
    if (existsSync(file)) {
      const names = JSON.parse(readFileSync(file, 'utf8')) as { dns?: string[]; ips?: string[] };
      host = names.dns?.[0] ?? names.ips?.[0];
    }
  } catch { /* no readable names: fall back below */ }
  if (!host && config.host !== '0.0.0.0' && config.host !== '::') host = config.host;
  const exact = host !== undefined && config.port !== 0;
  const h = host === undefined ? 'HOST' : host.includes(':') ? `[${host}]` : host;
  return { link: `https://${h}:${config.port === 0 ? 'PORT' : config.port}/#invite=${encodeURIComponent(code)}`, exact };
}

/**
 * The config with the running server's real address: it may listen on a port given by a flag (`--port`) that this
 * command does not see. Unchanged when no server runs, or when it is too old to say.
 */
async function withLiveAddress(config: ServerConfig): Promise<ServerConfig> {
  try {
    const live = await adminRequest(config.dataDir, { op: 'listening' }) as { host?: unknown; port?: unknown } | undefined;
    if (live && typeof live.port === 'number' && typeof live.host === 'string') return { ...config, host: live.host, port: live.port };
  } catch { /* an older server does not know the operation: keep the configured address */ }
  return config;
}

export const adminInvite: Command = {
  path: ['admin', 'invite'],
  summary: 'create a single-use invite code for one new account',
  usage: 'sigilo admin invite [--expires 7d] [--count N] [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values } = parse(args, { ...dataOptions, expires: { type: 'string' }, count: { type: 'string' } });
    const config = adminConfig(io, values);
    const expires = str(values.expires);
    const lifetimeMs = expires === undefined ? config.inviteLifetimeMs : parseDuration(expires);
    if (lifetimeMs === undefined) throw new UsageError(`--expires takes a duration such as 30m, 12h or 7d, got '${expires}'`);
    const countText = str(values.count);
    if (countText !== undefined) {
      const count = Number(countText);
      if (!/^\d+$/.test(countText) || count < 1 || count > 10_000) throw new UsageError(`--count takes a number from 1 to 10000, got '${countText}'`);
      const { result, live } = await runAdmin<InviteInfo[]>(config, { op: 'invite', lifetimeMs, count }, (a) => a.createInvites(count, lifetimeMs));
      const at = live ? await withLiveAddress(config) : config;
      const links = result.map((r) => webInviteLink(at, r.code));
      if (values.json) io.out(`${JSON.stringify(result.map((r, i) => ({ ...r, webLink: links[i]!.link })))}\n`);
      else {
        // One line per invite: the code first (scripts take the first column), then the web app's link.
        io.out(`${result.map((r, i) => `${r.code}  ${links[i]!.link}`).join('\n')}\nValid until: ${new Date(result[0]!.expiresAt).toISOString()} (each single use)\n`
          + `Each line: the code (sigilo register --invite CODE), then the web app's link that opens the sign-up form with it${links[0]!.exact ? '' : ' (put the server\'s host name and port where they show)'}.\n`);
      }
      return 0;
    }
    const { result, live } = await runAdmin<InviteInfo>(config, { op: 'invite', lifetimeMs }, (a) => a.createInvite(lifetimeMs));
    const web = webInviteLink(live ? await withLiveAddress(config) : config, result.code);
    if (values.json) io.out(`${JSON.stringify({ ...result, webLink: web.link })}\n`);
    else {
      io.out(`Invite code: ${result.code}\nValid until: ${new Date(result.expiresAt).toISOString()} (single use)\n`
        + `Web app: ${web.link}${web.exact ? '' : ' (put the server\'s host name and port where they show)'}\n`
        + `Command line: sigilo register --invite ${result.code}\n`);
    }
    return 0;
  },
};
