/** `sigilo admin accounts`: lists accounts and their devices. */
import { IdentityCaDirectory, type AccountSummary } from '@sigilo/server';
import { formatAccountId } from '@sigilo/client-node';
import { parse } from '../args.js';
import type { Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';
import { printableName } from '../client/format.js';

/** The certificate in force of an account, as the organisation's identity CA issued it (spec/trust.md §4). */
interface Certified {
  readonly name: string;
  readonly notAfter: string;
}

/** Account id (as `admin accounts` shows it) → its certificate in force; undefined when this server has no identity CA. */
function certificatesInForce(dataDir: string, now = Date.now()): Map<string, Certified> | undefined {
  const ca = new IdentityCaDirectory(dataDir);
  if (!ca.exists()) return undefined;
  const out = new Map<string, Certified>();
  for (const r of ca.issued()) {
    if (r.revokedAt || Date.parse(r.notAfter) < now) continue;
    out.set(formatAccountId(Buffer.from(r.accountId, 'hex')), { name: r.name, notAfter: r.notAfter });
  }
  return out;
}

export const adminAccounts: Command = {
  path: ['admin', 'accounts'],
  summary: 'list accounts (id, username, your label, certificate) and their devices',
  usage: `sigilo admin accounts [--data DIR] [--config FILE] [--json]

The username column: @name for members listed in the member directory; "(hashed)" when
the member claimed a username but the server holds only its hash (it cannot show it, yet
\`sigilo admin label @name …\`, \`revoke-device\` and \`remove-account\` find the account by the
exact name); empty when none is claimed.
Where the organisation has an identity CA (\`sigilo admin ca init\`), each account shows the
name its certificate in force certifies, or "not certified" (requests: \`sigilo admin ca requests\`).`,
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const config = adminConfig(io, values);
    const { result, live } = await runAdmin<AccountSummary[]>(config, { op: 'accounts' }, (a) => a.listAccounts());
    const certified = certificatesInForce(config.dataDir);
    if (values.json) {
      // `certificate` only where there is an identity CA: null is then "not certified".
      const rows = certified ? result.map((a) => ({ ...a, certificate: certified.get(a.accountId) ?? null })) : result;
      io.out(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (result.length === 0) {
      io.out('No accounts yet. Create an invite with: sigilo admin invite\n');
      return 0;
    }
    const lines = [`${result.length} account(s)${live ? '' : ' (server not running: connection state unknown)'}`];
    for (const a of result) {
      const who = [a.username ? (a.username.startsWith('(') ? a.username : `@${a.username}`) : '', a.label ? `"${a.label}"` : ''].filter(Boolean).join('  ');
      const cert = certified?.get(a.accountId);
      const certText = !certified ? '' : cert ? `  certified as "${printableName(cert.name)}" until ${cert.notAfter.slice(0, 10)}` : '  not certified';
      lines.push(`${a.accountId}  created ${a.createdDay}${who ? `  ${who}` : ''}${certText}`);
      for (const d of a.devices) {
        const state = d.connected === null ? '' : d.connected ? '  connected' : '';
        lines.push(`  device ${String(d.deviceId).padEnd(4)} created ${d.createdDay}  last seen ${d.lastSeenDay ?? '-'}${state}`);
      }
    }
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
