/** `sigilo send-file NAME|GROUP PATH`: encrypts, uploads (resumably) and sends a file, picture, video or voice note. */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AttachmentError, ClientError, formatAccountId, hasPendingUpload } from '@sigilo/client-node';
import { UsageError, type Io } from '../command.js';
import { str } from '../args.js';
import { formatBytes, hex, printableName, ticks } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, contactName, watchWarnings } from '../client/session.js';
import { resolveConversation } from './group.js';

/** Exit code of a transfer stopped by Ctrl-C (128 + SIGINT) or given up on a failing connection: run it again to resume. */
export const EXIT_INTERRUPTED = 130;

/**
 * Transfer progress on stderr: on a terminal one line redrawn in place
 * (bar, bytes, %, MB/s) at most every 100 ms; otherwise a plain line at every
 * 10 %, for logs and scripts.
 */
export function progressBar(io: Io, label: string, tty = process.stderr.isTTY === true): { update(done: number, total: number): void; end(): void } {
  let started: { at: number; done: number } | undefined;
  let lastDraw = 0;
  let lastStep = -1;
  let drawn = false;
  let current = { done: 0, total: 0 };
  const line = (done: number, total: number) => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const seconds = started ? (Date.now() - started.at) / 1000 : 0;
    const rate = seconds > 0.2 ? `, ${formatBytes(Math.round((done - started!.done) / seconds))}/s` : '';
    return { pct, text: `${formatBytes(done)} of ${formatBytes(total)}, ${pct}%${rate}` };
  };
  const draw = () => {
    const { pct, text } = line(current.done, current.total);
    const width = 24;
    const filled = Math.min(width, Math.round((pct / 100) * width));
    io.err(`\r\x1b[2K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
    drawn = true;
  };
  return {
    update(done, total) {
      started ??= { at: Date.now(), done };
      current = { done, total };
      if (tty) {
        const now = Date.now();
        if (now - lastDraw >= 100 || done === total) {
          lastDraw = now;
          draw();
        }
        return;
      }
      const { pct, text } = line(done, total);
      const step = Math.floor(pct / 10);
      if (step > lastStep) {
        lastStep = step;
        io.err(`${label}: ${text}\n`);
      }
    },
    end() {
      if (tty && drawn) {
        draw();
        io.err('\n');
      }
    },
  };
}

/** Aborts when the process is asked to stop (Ctrl-C, SIGTERM): the transfer ends resumable. */
export function stopController(io: Io): AbortController {
  const controller = new AbortController();
  void io.stopSignal.then(() => controller.abort());
  return controller;
}

const quoted = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export const sendFile = clientCommand({
  path: ['send-file'],
  summary: 'send a file, picture, video or voice note to a contact or group',
  usage: `sigilo send-file NAME|GROUP PATH [--caption TEXT] [--voice] [--keep-metadata] ${CLIENT_USAGE} [--json]

  --caption TEXT    a text sent with the file
  --voice           an audio file sent as a voice note (with its playing time)
  --keep-metadata   send pictures exactly as they are; by default their metadata
                    (location/GPS, camera, dates, comments, embedded previews) is
                    removed from JPEG, PNG, WebP and GIF pictures, and HEIC, AVIF
                    and TIFF pictures are refused (their metadata cannot be removed)
  --json            print {to, contact | group, messageId, fileName, size, contentType, status}

The file is encrypted on this device as it is read and uploaded to the server,
which never sees its content; progress goes to stderr. When it is interrupted
(Ctrl-C, a lost connection) run the same command again: it resumes where it
stopped (a file changed since is sent from the start). Exit code 130: interrupted,
run it again to resume.`,
  options: { caption: { type: 'string' }, voice: { type: 'boolean' }, 'keep-metadata': { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [name, path, extra] = ctx.positionals;
    if (!name || !path) throw new UsageError('give the contact or group NAME and the PATH of the file');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' (one file per command)`);
    const client = await ctx.client();
    const target = resolveConversation(client, name);
    const to = target.kind === 'group' ? target.group.groupId : target.accountId;
    watchWarnings(client, ctx.io);
    try {
      await client.connect({ reconnect: false });
    } catch (e) {
      if (e instanceof ClientError && (e.code === 'CONNECTION_FAILED' || e.code === 'TIMEOUT')) {
        throw new ClientError(e.code, `${e.message}; the file was not sent: run the command again when the server can be reached`);
      }
      throw e;
    }
    const absolute = resolve(ctx.io.cwd, path);
    if (hasPendingUpload(client.store, to, absolute)) ctx.progress(`Resuming the upload of ${basename(absolute)}…`);
    const bar = progressBar(ctx.io, `Sending ${basename(absolute)}`);
    const fileSize = (() => { try { return statSync(absolute).size; } catch { return 0; } })();
    const controller = stopController(ctx.io);
    let m;
    try {
      m = await client.sendFile(to, absolute, {
        caption: str(ctx.values.caption),
        voiceNote: ctx.values.voice === true,
        keepMetadata: ctx.values['keep-metadata'] === true,
        // The upload counts encrypted, padded bytes; shown in the file's own size, as the final "Sent … (SIZE)" is.
        onProgress: (done, total) => bar.update(total > 0 ? Math.round((done / total) * fileSize) : 0, fileSize),
        signal: controller.signal,
      });
    } catch (e) {
      bar.end();
      if (e instanceof AttachmentError && e.resumable) {
        ctx.io.err(`sigilo send-file: ${e.message.replace(/; run .*$/, '')}; run \`sigilo send-file ${quoted(name)} ${quoted(path)}\` again to resume where it stopped\n`);
        return EXIT_INTERRUPTED;
      }
      if (e instanceof AttachmentError) {
        ctx.io.err(`sigilo send-file: ${e.message} [${e.reason}]\n`);
        return 1;
      }
      throw e;
    }
    bar.end();
    const a = m.attachments?.[0];
    const who = target.kind === 'group' ? `group ${printableName(target.group.name)}` : contactName(client.store.getContact(to), to, client);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({
        ...(target.kind === 'group' ? { group: hex(to), name: target.group.name } : { to: formatAccountId(to), contact: client.store.getContact(to)?.alias ?? null }),
        messageId: hex(m.messageId), fileName: a?.fileName ?? null, size: a?.size ?? null, contentType: a?.contentType ?? null, status: m.status,
      })}\n`);
    } else if (m.status === 'pending') {
      ctx.io.out(`Uploaded ${basename(absolute)}; the message to ${who} is queued and goes out on the next connection.\n`);
    } else {
      ctx.io.out(`Sent ${a ? `${a.fileName} (${formatBytes(a.size)}, ${a.contentType})` : basename(absolute)} to ${who} ${ticks(m.status)}\n`);
    }
    if (m.status === 'pending') {
      ctx.io.err('sigilo send-file: the file is uploaded but the message is not sent yet; it stays in the outbox and goes out with the next `sigilo send`, `inbox` or `chat`\n');
      return 1;
    }
    return 0;
  },
});

