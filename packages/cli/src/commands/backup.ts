/**
 * `sigilo backup FILE`: writes this account's identity, contacts, groups and
 * history (and, with --with-attachments, the attachments the server still has)
 * to FILE, encrypted under a new 30-digit recovery code shown once
 * (spec/backup.md). `sigilo restore FILE` brings the account back on a new device.
 */
import { scryptSync } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClientError, formatAccountId, formatRecoveryCode, generateRecoveryCode, writeBackup, type ScryptFunction } from '@sigilo/client-node';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';
import { backupAttachmentFiles } from '../client/backup-files.js';

/** node:crypto's scrypt: the same function as the portable one, several times faster. */
export const nodeScrypt: ScryptFunction = (password, salt, { log2N, r, p }) =>
  new Uint8Array(scryptSync(password, salt, 32, { N: 2 ** log2N, r, p, maxmem: 2 ** log2N * r * 128 * 2 + 16 * 1024 * 1024 }));

export const backup = clientCommand({
  path: ['backup'],
  summary: 'write your account, contacts, groups and history to an encrypted backup file',
  usage: `sigilo backup FILE [--with-attachments] [--force] ${CLIENT_USAGE} [--json]

  FILE               where to write the backup (created with permissions 0600)
  --with-attachments also the attachment files (those the server still keeps:
                     it deletes them after its retention period, 30 days by default)
  --force            replace FILE if it exists
  --json             print {file, recoveryCode, messages, attachments, skippedAttachments}

The backup is encrypted under a new 30-digit recovery code, shown ONCE. Write it
down and keep it apart from the file: without it the backup cannot be opened, and
anyone with both can take over your account. Restore on a new machine with
\`sigilo restore FILE\`.`,
  options: { 'with-attachments': { type: 'boolean' }, force: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [file, extra] = ctx.positionals;
    if (!file) throw new UsageError('give the FILE to write the backup to');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const path = resolve(ctx.io.cwd, file);
    if (existsSync(path) && ctx.values.force !== true) throw new UsageError(`${file} exists; give --force to replace it, or another FILE`);
    const client = await ctx.client();
    if (!client.accountId) throw new ClientError('NOT_REGISTERED', 'this client has no account to back up: run `sigilo register --invite CODE` or `sigilo link` first');
    const contents = client.backupContents();
    const withAttachments = ctx.values['with-attachments'] === true;
    const skipped: string[] = [];
    const files = withAttachments ? backupAttachmentFiles(client, ctx.dir, (why) => { skipped.push(why); ctx.progress(`skipped an attachment: ${why}`); }) : undefined;
    if (withAttachments) ctx.progress('Fetching the attachments the server still keeps…');
    const code = generateRecoveryCode(systemRandom);
    const tmp = `${path}.part`;
    const fd = openSync(tmp, 'w', 0o600);
    let result: { messages: number; attachments: number };
    try {
      ctx.progress('Deriving the backup key and writing the backup…');
      result = await writeBackup({ crypto: nodeCrypto, random: systemRandom }, { ...contents, ...(files ? { attachments: files } : {}) }, code,
        async (bytes) => { writeSync(fd, bytes); }, { now: Date.now(), scrypt: nodeScrypt });
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, path);
    } catch (e) {
      try { closeSync(fd); } catch { /* closed */ }
      rmSync(tmp, { force: true });
      throw e;
    }
    const shown = formatRecoveryCode(code);
    // An identity key on a token (trust.md §7.1) is not in the backup: only which token holds it.
    const onToken = client.identity.signing.token;
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({
        file: path, recoveryCode: shown, accountId: formatAccountId(client.accountId), messages: result.messages, attachments: result.attachments, skippedAttachments: skipped.length,
        ...(onToken ? { identityKeyOnToken: onToken.tokenLabel } : {}),
      })}\n`);
      return 0;
    }
    ctx.io.out(`Backup written to ${path}: ${contents.account.contacts.length} contact(s), ${contents.account.groups.length} group(s), ${result.messages} message(s)`
      + `${withAttachments ? `, ${result.attachments} attachment file(s)${skipped.length ? ` (${skipped.length} no longer on the server, not included)` : ''}` : ''}.\n\n`
      + `Recovery code (shown only now):\n\n    ${shown}\n\n`
      + 'Write it down and keep it apart from the backup file. Without it the backup cannot be opened;\n'
      + 'with the code and the file, anyone can restore your account. Restore with `sigilo restore FILE`.\n'
      + (onToken ? `\nYour identity's signing key is on the token "${onToken.tokenLabel}" and is NOT in this backup (it never leaves\n`
        + 'the token): restoring needs that token and its PIN. Without the token the account cannot be restored.\n' : ''));
    return 0;
  },
});
