/**
 * Messages carrying a file (attachments.md, client.md §3): the upload through
 * attachments.ts, then the message with its pointer (1:1 or group), and the
 * download of a stored message's attachment.
 */
import { AttachmentError, type DownloadOptions, type SendFileOptions } from './attachments.js';
import { downloadAttachmentTo } from './attachment-download.js';
import { uploadAttachment } from './attachment-upload.js';
import { confidentialOn } from './confidential.js';
import { assertSendable } from './contacts.js';
import * as disappearing from './disappearing.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { type Attachment, pointerFromAttachment } from './media/pointer.js';
import { sendData } from './messages.js';
import type { AttachmentFiles, DownloadSink, FileInput } from './ports.js';
import type { MessageRow } from './store/port.js';
import { uploadStateKey } from './upload-state.js';

/**
 * Sends a file to a contact (16-byte account id) or a group (32-byte group id):
 * prepares it (type, metadata removed from pictures unless `keepMetadata`,
 * thumbnail, duration), encrypts and uploads it as a stream, then sends the
 * message carrying its pointer. Needs the connection (the upload slot is
 * reserved over it). An interrupted upload (AbortSignal, lost connection,
 * process ended) is resumed by calling sendFile again with the same file and
 * recipient; a file changed since starts over.
 */
export async function sendFile(engine: Engine, to: Uint8Array, file: string | FileInput, options: SendFileOptions & { caption?: string } = {}): Promise<MessageRow> {
  engine.requireAccount();
  const group = to.length === 32;
  if (!group) assertSendable(engine, to);
  else assertGroupSendable(engine, to);
  // Confidential mode (client.md §15) keeps nothing in the store; a file's message would be (its pointer and caption).
  if (!group && confidentialOn(engine, to)) throw new ClientError('INVALID_INPUT', 'files cannot be sent in confidential mode: leave the mode to send one');
  const input = typeof file === 'string' ? await requireFiles(engine).openFile(file) : file;
  let stateKey: string;
  let attachment: Attachment;
  try {
    stateKey = uploadStateKey(engine.ctx.crypto, to, input.id);
    attachment = await uploadAttachment({
      store: engine.store, ctx: engine.ctx, now: engine.now, transport: engine.transport(),
      thumbnail: engine.files?.thumbnail?.bind(engine.files), sha256: engine.files?.sha256?.bind(engine.files),
      allocate: async (size) => {
        // A file for a disappearing conversation: the server may delete the blob once the timer ran (server.md §8.3).
        const timer = disappearing.effectiveTimerMs(engine.store, to);
        const expiresHint = timer > 0 && engine.expiryHints ? BigInt(Math.ceil((engine.now() + timer) / disappearing.EXPIRY_HINT_STEP_MS) * disappearing.EXPIRY_HINT_STEP_MS) : 0n;
        const f = await engine.requireConnection().request({ case: 'allocateAttachment', value: { size: BigInt(size), expiresHint } });
        if (f.body.case !== 'attachmentSlot') throw new ClientError('SERVER_ERROR', 'unexpected answer to an attachment request');
        const s = f.body.value;
        return { attachmentId: s.attachmentId, uploadPath: s.uploadPath, uploadToken: s.uploadToken, expires: Number(s.expires) };
      },
    }, stateKey, input, options);
  } finally {
    if (typeof file === 'string') await input.close?.().catch(() => {});
  }
  const text = options.caption ?? '';
  if (group) {
    const row = await sendGroupData(engine, to, text, attachment);
    engine.store.transaction(() => {
      engine.store.setMessageAttachments(to, row.messageId, [attachment]);
      engine.store.setMeta(stateKey, undefined);
    });
    return engine.store.getMessage(to, row.messageId) ?? row;
  }
  return sendData(engine, to, { text, attachments: [attachment] }, () => engine.store.setMeta(stateKey, undefined));
}

/**
 * Downloads attachment `index` of a stored message to `out` (a platform name,
 * opened with the AttachmentFiles port, or a DownloadSink), verified and
 * decrypted: the file appears only when complete; an interrupted download
 * resumes from what the sink kept (Node: `<out>.part`) when called again.
 */
export async function downloadAttachment(engine: Engine, conversation: Uint8Array, messageId: Uint8Array, index: number, out: string | DownloadSink, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
  const a = storedAttachment(engine, conversation, messageId, index);
  const transport = engine.transport();
  const sink = typeof out === 'string' ? await requireFiles(engine).openDownload(out, { overwrite: options.overwrite }) : out;
  // A disappearing message's files are deleted with it (client.md §14): remembered before the first byte is written.
  const path = 'path' in sink && typeof sink.path === 'string' ? sink.path : undefined;
  if (path) engine.store.transaction(() => disappearing.rememberDownload(engine.store, conversation, messageId, path));
  // The message may disappear while its file comes (client.md §14): the expiry cannot delete a file still being written
  // (OPFS refuses to remove an open file) and forgets it, so the file, whole or partial, is deleted here.
  const gone = () => path !== undefined && !engine.store.getMessage(conversation, messageId);
  let size: number;
  try {
    size = await downloadAttachmentTo({ transport, ctx: engine.ctx, sha256: engine.files?.sha256?.bind(engine.files) }, a, sink, options);
  } catch (e) {
    if (gone()) await disappearing.removeFiles(engine, [path!]);
    throw e;
  }
  if (gone()) {
    await disappearing.removeFiles(engine, [path!]);
    throw new ClientError('NOT_FOUND', 'the message disappeared while its file was downloading; the file was deleted');
  }
  return { path: 'path' in sink && typeof sink.path === 'string' ? sink.path : '', size };
}

/** The pointer of attachment `index` of a stored message (NOT_FOUND, or EXPIRED once its server copy is gone). */
export function storedAttachment(engine: Engine, conversation: Uint8Array, messageId: Uint8Array, index: number): Attachment {
  const m = engine.store.getMessage(conversation, messageId);
  if (!m || m.deleted) throw new ClientError('NOT_FOUND', 'no such message (it may have been deleted)');
  const a = m.attachments?.[index];
  if (!a) throw new ClientError('NOT_FOUND', m.attachments?.length ? `this message has ${m.attachments.length} attachment(s); index ${index} does not exist` : 'this message has no attachment');
  if (a.expires > 0 && a.expires <= engine.now()) {
    throw new AttachmentError('EXPIRED', 'this attachment expired on the server; ask the sender to send it again');
  }
  return a;
}

/** Groups: the group must be known before a file is uploaded for it (membership is checked again on sending). */
export function assertGroupSendable(engine: Engine, groupId: Uint8Array): void {
  engine.groups.info(groupId);
}

/** Groups: the group send path (groups.ts) with the attachment's pointer. */
export function sendGroupData(engine: Engine, groupId: Uint8Array, text: string, a: Attachment): Promise<MessageRow> {
  return engine.groups.sendText(groupId, text, { attachments: [pointerFromAttachment(a)] });
}

function requireFiles(engine: Engine): AttachmentFiles {
  if (!engine.files) throw new ClientError('NOT_INITIALISED', 'this client was made without an attachment port: pass `attachments` in ClientOptions (or use createNodeClient from @sigilo/client-node)');
  return engine.files;
}
