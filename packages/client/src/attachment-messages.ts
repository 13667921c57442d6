/**
 * Messages carrying a file (attachments.md, client.md §3): the upload through
 * attachments.ts, then the message with its pointer (1:1 or group), and the
 * download of a stored message's attachment.
 */
import { AttachmentError, type AttachmentFiles, type DownloadOptions, type SendFileOptions } from './attachments.js';
import { confidentialOn } from './confidential.js';
import { assertSendable } from './contacts.js';
import * as disappearing from './disappearing.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { type Attachment, pointerFromAttachment } from './media/pointer.js';
import { sendData } from './messages.js';
import type { MessageRow } from './store/port.js';

/**
 * Sends a file to a contact (16-byte account id) or a group (32-byte group id):
 * prepares it (type, metadata removed from pictures unless `keepMetadata`,
 * thumbnail, duration), encrypts and uploads it as a stream, then sends the
 * message carrying its pointer. Needs the connection (the upload slot is
 * reserved over it). An interrupted upload (AbortSignal, lost connection,
 * process ended) is resumed by calling sendFile again with the same file and
 * recipient; a file changed since starts over.
 */
export async function sendFile(engine: Engine, to: Uint8Array, path: string, options: SendFileOptions & { caption?: string } = {}): Promise<MessageRow> {
  engine.requireAccount();
  const group = to.length === 32;
  if (!group) assertSendable(engine, to);
  else assertGroupSendable(engine, to);
  // Confidential mode (client.md §15) keeps nothing in the store; a file's message would be (its pointer and caption).
  if (!group && confidentialOn(engine, to)) throw new ClientError('INVALID_INPUT', 'files cannot be sent in confidential mode: leave the mode to send one');
  const files = requireFiles(engine);
  const stateKey = files.uploadStateKey(to, path);
  const server = engine.requireServer();
  const attachment = await files.upload({
    store: engine.store, ctx: engine.ctx, now: engine.now, server,
    allocate: async (size) => {
      // A file for a disappearing conversation: the server may delete the blob once the timer ran (server.md §8.3).
      const timer = disappearing.effectiveTimerMs(engine.store, to);
      const expiresHint = timer > 0 && engine.expiryHints ? BigInt(Math.ceil((engine.now() + timer) / disappearing.EXPIRY_HINT_STEP_MS) * disappearing.EXPIRY_HINT_STEP_MS) : 0n;
      const f = await engine.requireConnection().request({ case: 'allocateAttachment', value: { size: BigInt(size), expiresHint } });
      if (f.body.case !== 'attachmentSlot') throw new ClientError('SERVER_ERROR', 'unexpected answer to an attachment request');
      const s = f.body.value;
      return { attachmentId: s.attachmentId, uploadPath: s.uploadPath, uploadToken: s.uploadToken, expires: Number(s.expires) };
    },
  }, stateKey, path, options);
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
 * Downloads attachment `index` of a stored message to `outPath`, verified and
 * decrypted (the AttachmentFiles port): the file appears only when complete;
 * an interrupted download resumes from `<outPath>.part` when called again.
 */
export async function downloadAttachment(engine: Engine, conversation: Uint8Array, messageId: Uint8Array, index: number, outPath: string, options: DownloadOptions = {}): Promise<{ path: string; size: number }> {
  const m = engine.store.getMessage(conversation, messageId);
  if (!m || m.deleted) throw new ClientError('NOT_FOUND', 'no such message (it may have been deleted)');
  const a = m.attachments?.[index];
  if (!a) throw new ClientError('NOT_FOUND', m.attachments?.length ? `this message has ${m.attachments.length} attachment(s); index ${index} does not exist` : 'this message has no attachment');
  if (a.expires > 0 && a.expires <= engine.now()) {
    throw new AttachmentError('EXPIRED', 'this attachment expired on the server; ask the sender to send it again');
  }
  // A disappearing message's files are deleted with it (client.md §14): remembered before the first byte is written.
  engine.store.transaction(() => disappearing.rememberDownload(engine.store, conversation, messageId, outPath));
  return requireFiles(engine).download(engine.requireServer(), engine.ctx, a, outPath, options);
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
