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

Columns: the account id, the day it was created, its username, your label (\`sigilo admin label\`)
and, with an identity CA, its certificate; each account's devices are listed under it.
The username column: @name for members listed in the member directory; "(hashed)" when
the member claimed a username but the server holds only its hash (it cannot show it, yet
\`sigilo admin label @name …\`, \`revoke-device\` and \`remove-account\` find the account by the
exact name); "-" when none is claimed.
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
    // A table: one row per account (its devices under it), with headers, so an empty cell keeps the columns.
    const rows = result.map((a) => {
      const cert = certified?.get(a.accountId);
      return {
        a,
        cells: [
          a.accountId,
          a.createdDay,
          a.username ? (a.username.startsWith('(') ? a.username : `@${a.username}`) : '-',
          a.label ? `"${printableName(a.label)}"` : '-',
          ...(certified ? [cert ? `certified as "${printableName(cert.name)}" until ${cert.notAfter.slice(0, 10)}` : 'not certified'] : []),
        ],
      };
    });
    const header = ['ACCOUNT', 'CREATED', 'USERNAME', 'LABEL', ...(certified ? ['CERTIFICATE'] : [])];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    const lines = [`${result.length} account(s)${live ? '' : ' (server not running: connection state unknown)'}`, line(header)];
    for (const { a, cells } of rows) {
      lines.push(line(cells));
      for (const d of a.devices) {
        const state = d.connected === null ? '' : d.connected ? '  connected' : '';
        lines.push(`  device ${String(d.deviceId).padEnd(4)} created ${d.createdDay}  last seen ${d.lastSeenDay ?? '-'}${state}`);
      }
    }
    if (result.every((a) => a.label === null)) lines.push('Name an account for yourself with: sigilo admin label ACCOUNT "NAME"');
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
