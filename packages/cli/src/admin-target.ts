/**
 * Whom an admin command acts on: the account (by id or username) resolved and
 * described once, shown before anything destructive happens, and confirmed on
 * a terminal or with --yes. The destructive request then names the account by
 * the id that was shown, so what is confirmed is what is acted on.
 */
import type { AccountSummary, ServerConfig } from '@sigilo/server';
import { confirm } from './client/confirm.js';
import type { Io } from './command.js';
import { runAdmin } from './data-dir.js';

export async function describeAccount(config: ServerConfig, account: string): Promise<AccountSummary> {
  return (await runAdmin<AccountSummary>(config, { op: 'account', accountId: account }, (a) => a.describeAccount(account))).result;
}

/** The lines that say who an account is, as `admin accounts` and the confirmations show it. */
export function accountLines(a: AccountSummary, indent = ''): string[] {
  const devices = a.devices.map((d) => `device ${d.deviceId} (last seen ${d.lastSeenDay ?? '-'}${d.connected ? ', connected' : ''})`);
  return [
    `${indent}account  ${a.accountId}`,
    `${indent}label    ${a.label ?? '-'}`,
    `${indent}username ${a.username ? (a.username.startsWith('(') ? a.username : `@${a.username}`) : '-'}`,
    `${indent}created  ${a.createdDay}`,
    `${indent}devices  ${a.devices.length}${devices.length ? `: ${devices.join(', ')}` : ''}`,
  ];
}

/**
 * Shows what is about to happen to whom (on stderr, so --json output stays
 * clean), then asks on a terminal; without one it needs --yes. Resolves false
 * (after saying why) when the command must not go on.
 */
export async function confirmAdminAction(io: Io, yes: boolean, action: string, target: AccountSummary): Promise<boolean> {
  io.err(`${action}:\n${accountLines(target, '  ').join('\n')}\n`);
  if (yes) return true;
  if (!process.stdin.isTTY) {
    io.err('Nothing was done: there is no terminal to confirm on. Check the account above and run the command again with --yes.\n');
    return false;
  }
  if (!(await confirm('Go ahead? [y/N] '))) {
    io.err('Nothing was done.\n');
    return false;
  }
  return true;
}
