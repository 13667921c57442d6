/**
 * `sigilo restore FILE`: on a new machine (a new --dir), opens a backup with its
 * recovery code and brings the account back as a new device of the same account:
 * the same identity, so contacts keep their verification; the history, contacts
 * and groups as they were in the backup (spec/backup.md).
 */
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClientError, formatAccountId, parseRecoveryCode, readBackup, safeFileName, type AttachmentFileSink } from '@sigilo/client-node';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { promptHidden } from '../client/passphrase.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';
import { nodeScrypt } from './backup.js';

async function readCode(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(resolve(cwd, file), 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --recovery-code-file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (env.SIGILO_RECOVERY_CODE) {
    text = env.SIGILO_RECOVERY_CODE;
  } else if (process.stdin.isTTY) {
    text = await promptHidden('Recovery code (30 digits): ');
  } else {
    throw new UsageError('no recovery code: give --recovery-code-file FILE or set SIGILO_RECOVERY_CODE (or run it in a terminal to be asked)');
  }
  try {
    return parseRecoveryCode(text.trim());
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const restore = clientCommand({
  path: ['restore'],
  summary: 'bring your account back from a backup, as a new device of it',
  usage: `sigilo restore FILE [--recovery-code-file FILE] [--server URL --fingerprint FP] ${CLIENT_USAGE} [--json]

  FILE                  a backup written by \`sigilo backup\`
  --recovery-code-file  read the 30-digit recovery code from this file
  SIGILO_RECOVERY_CODE  or from this environment variable (else it is asked on the terminal)
  --server URL --fingerprint FP
                        the server, when it moved since the backup (by default the
                        backup's server, or the one \`sigilo init\` set in this --dir)

Restores into a directory with no account (a new --dir, or one where only
\`sigilo init\` ran). The account comes back as a NEW device of the same account:
your contacts see the same identity (no new safety number) and a new device.
The lost device stays linked until you remove it (\`sigilo devices\` lists them; \`sigilo devices remove N\` on your primary device unlinks one).
Attachment files in the backup are written to DIR/restored-files/.
Nothing is changed unless the whole backup verifies.`,
  options: { 'recovery-code-file': { type: 'string' }, server: { type: 'string' }, fingerprint: { type: 'string' } },
  positionals: true,
  async run(ctx) {
    const [file, extra] = ctx.positionals;
    if (!file) throw new UsageError('give the backup FILE');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const server = str(ctx.values.server);
    const fingerprint = str(ctx.values.fingerprint);
    if (fingerprint !== undefined && server === undefined) throw new UsageError('--fingerprint goes with --server URL');
    const path = resolve(ctx.io.cwd, file);
    if (!existsSync(path)) throw new UsageError(`no such file: ${file}`);
    const code = await readCode(str(ctx.values['recovery-code-file']), ctx.io.env, ctx.io.cwd);
    // The whole backup is read and verified first; attachment files wait in a temporary directory.
    const tmpDir = join(ctx.dir, 'restore-tmp');
    const files: { tmp: string; name: string }[] = [];
    const open = new Set<number>();
    ctx.progress('Deriving the backup key and checking the backup…');
    let restored: Awaited<ReturnType<typeof readBackup>>;
    try {
      restored = await readBackup({ crypto: nodeCrypto, random: systemRandom }, createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Uint8Array>, code, {
        scrypt: nodeScrypt,
        onAttachment: async (a): Promise<AttachmentFileSink> => {
          mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
          const tmp = join(tmpDir, String(files.length));
          files.push({ tmp, name: `${Buffer.from(a.messageId).toString('hex').slice(0, 8)}-${a.index}` });
          const fd = openSync(tmp, 'w', 0o600);
          open.add(fd);
          return { write: async (b) => { writeSync(fd, b); }, close: async () => { open.delete(fd); closeSync(fd); } };
        },
      });
    } catch (e) {
      for (const fd of open) closeSync(fd);
      rmSync(tmpDir, { recursive: true, force: true });
      throw e;
    }
    try {
      const client = await ctx.client({ create: true });
      if (client.accountId) throw new ClientError('ALREADY_REGISTERED', `${ctx.dir} already holds an account: restore into a new --dir`);
      try {
        if (server !== undefined) {
          ctx.progress(`Connecting to ${server}…`);
          await client.init(server, fingerprint);
        } else if (!client.server) {
          ctx.progress(`Connecting to the backup's server ${restored.end.serverUrl}…`);
          await client.init(restored.end.serverUrl, restored.end.serverFingerprint || undefined);
        }
        ctx.progress('Adding this device to your account…');
        const r = await client.restoreAccount(restored.account, restored.messages);
        // Attachment files: named after their message and position, with the sender's file name made safe.
        const saved: string[] = [];
        if (files.length) {
          const outDir = join(ctx.dir, 'restored-files');
          mkdirSync(outDir, { recursive: true, mode: 0o700 });
          const byName = new Map<string, string>();
          for (const m of restored.messages) {
            m.attachments.forEach((p, i) => byName.set(`${Buffer.from(m.messageId).toString('hex').slice(0, 8)}-${i}`, safeFileName(p.fileName, p.contentType)));
          }
          for (const f of files) {
            const target = join(outDir, `${f.name}-${byName.get(f.name) ?? 'attachment'}`);
            renameSync(f.tmp, target);
            saved.push(target);
          }
        }
        const info = {
          accountId: formatAccountId(r.accountId), deviceId: r.deviceId, contacts: restored.account.contacts.length, groups: restored.account.groups.length,
          messages: r.historyMessages, attachmentFiles: saved.length, filesDir: saved.length ? join(ctx.dir, 'restored-files') : null, backupCreatedAt: Number(restored.end.createdAt),
        };
        if (ctx.json) ctx.io.out(`${JSON.stringify(info)}\n`);
        else {
          ctx.io.out(`Restored account ${info.accountId} as a new device (${info.deviceId}) from the backup of ${new Date(info.backupCreatedAt).toISOString().slice(0, 10)}: `
            + `${info.contacts} contact(s), ${info.groups} group(s), ${info.messages} message(s)${saved.length ? `, ${saved.length} attachment file(s) in ${info.filesDir}` : ''}.\n`
            + 'Your contacts see the same identity (their verification stays) and a new device of yours.\n'
            + 'If the old device is lost, remove it from your account: `sigilo devices` lists your devices, `sigilo devices remove N` unlinks one from your primary device.\n'
            + 'If the lost device was the primary one, ask your administrator to revoke it now (sigilo admin revoke-device ACCOUNT N); otherwise it stops being primary 14 days after it was last seen.\n');
        }
        return 0;
      } catch (e) {
        if (!client.accountId) ctx.discardNewStore();
        throw e;
      }
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  },
});
