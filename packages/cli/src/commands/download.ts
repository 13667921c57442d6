/** `sigilo download MESSAGE-ID`: downloads, verifies and decrypts a message's attachments (resumable). */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AttachmentError, ClientError, partPath, safeFileName, type MessageRow } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { str } from '../args.js';
import { formatBytes, hex } from '../client/format.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';
import { EXIT_INTERRUPTED, progressBar, stopController } from './send-file.js';

/** The stored message with attachments whose id (hex) starts with `prefix`. */
function findMessage(messages: MessageRow[], prefix: string): MessageRow {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]{6,32}$/.test(p)) throw new UsageError('a message id is 6 to 32 hex digits, as `sigilo inbox` prints it after "sigilo download"');
  const found = messages.filter((m) => !m.deleted && (m.attachments?.length ?? 0) > 0 && hex(m.messageId).startsWith(p));
  if (found.length === 0) throw new ClientError('NOT_FOUND', `no message with an attachment has the id ${prefix}: run \`sigilo inbox\` to receive new messages and see their ids`);
  if (found.length > 1) throw new UsageError(`${found.length} messages have ids starting with ${prefix}: give more digits`);
  return found[0]!;
}

export const download = clientCommand({
  path: ['download'],
  summary: 'download, verify and decrypt the attachments of a message',
  usage: `sigilo download MESSAGE-ID [--out PATH|DIR] [--index N] [--force] ${CLIENT_USAGE} [--json]

  MESSAGE-ID    the message's id (at least its first 6 digits), as \`sigilo inbox\` shows it
  --out PATH    save to this file (one attachment), or into this directory
                (default: the current directory, under the sender's file name made safe)
  --index N     only attachment N (0 is the first)
  --force       replace an existing file (by default an existing file is never overwritten)
  --json        print [{messageId, index, path, fileName, size, contentType}]

Every part is checked before it is written, and the file appears under its name
only when it is complete and verified; until then it is NAME.part. Interrupted
(Ctrl-C, a lost connection), the same command resumes where it stopped.
Exit code 130: interrupted, run it again to resume.`,
  options: { out: { type: 'string' }, index: { type: 'string' }, force: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [id, extra] = ctx.positionals;
    if (!id) throw new UsageError('give the MESSAGE-ID (as `sigilo inbox` shows it)');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    const indexText = str(ctx.values.index);
    if (indexText !== undefined && !/^\d{1,3}$/.test(indexText)) throw new UsageError('--index is a number (0 is the first attachment)');
    const client = await ctx.client();
    const m = findMessage(client.store.allMessages(), id);
    const list = m.attachments!;
    const indexes = indexText === undefined ? list.map((_, i) => i) : [Number(indexText)];
    if (indexes[0]! >= list.length) throw new UsageError(`this message has ${list.length} attachment(s): --index goes from 0 to ${list.length - 1}`);
    const out = str(ctx.values.out);
    const outPath = out === undefined ? undefined : resolve(ctx.io.cwd, out);
    const intoDir = outPath === undefined || out!.endsWith('/') || (existsSync(outPath) && statSync(outPath).isDirectory());
    if (!intoDir && indexes.length > 1) throw new UsageError(`this message has ${list.length} attachments: give --index N to save one of them to a file, or --out DIR`);
    const controller = stopController(ctx.io);
    const saved: { messageId: string; index: number; path: string; fileName: string; size: number; contentType: string }[] = [];
    for (const index of indexes) {
      const a = list[index]!;
      const name = safeFileName(a.fileName, a.contentType);
      const target = intoDir ? join(outPath ?? ctx.io.cwd, name) : outPath!;
      if (existsSync(partPath(target))) ctx.progress(`Resuming the download of ${name}…`);
      const bar = progressBar(ctx.io, `Downloading ${name}`);
      try {
        const r = await client.downloadAttachment(m.conversation, m.messageId, index, target, {
          overwrite: ctx.values.force === true,
          onProgress: (done, total) => bar.update(done, total),
          signal: controller.signal,
        });
        bar.end();
        saved.push({ messageId: hex(m.messageId), index, path: r.path, fileName: a.fileName, size: r.size, contentType: a.contentType });
        if (!ctx.json) ctx.io.out(`Saved ${name} (${formatBytes(r.size)}, ${a.contentType}) to ${r.path}\n`);
      } catch (e) {
        bar.end();
        if (e instanceof AttachmentError && e.resumable) {
          ctx.io.err(`sigilo download: ${e.message.replace(/; (run|it resumes) .*$/, '')}; run \`sigilo download ${id}\` again to resume where it stopped\n`);
          return EXIT_INTERRUPTED;
        }
        if (e instanceof AttachmentError && e.reason === 'EXPIRED') {
          // The server keeps attachments for its retention period only (30 days by default): a device linked or restored later may find them gone.
          const who = m.outgoing ? 'you sent it (from this or another of your devices): send the file again if it is still needed' : 'ask the sender to send it again';
          ctx.io.err(`sigilo download: the server no longer has ${name}: it keeps attachments for a limited time (its retention period) and this one was deleted; ${who} [EXPIRED]\n`);
          return 1;
        }
        if (e instanceof AttachmentError) {
          ctx.io.err(`sigilo download: ${e.message} [${e.reason}]\n`);
          return 1;
        }
        throw e;
      }
    }
    if (ctx.json) ctx.io.out(`${JSON.stringify(saved)}\n`);
    return 0;
  },
});
