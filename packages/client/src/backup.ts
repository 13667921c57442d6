/**
 * Backup and restore (spec/backup.md): the account's identity, contacts, groups
 * and history (and, optionally, downloaded attachment files) in one file,
 * encrypted under a 30-digit recovery code. No I/O here: the file's bytes come
 * and go through async iterables and sinks, so the browser can reuse it.
 *
 *   K       = scrypt(code digits as ASCII, salt, N = 2^log2N, r, p, 32)
 *   check   = HMAC-SHA256(K, "Sigilo_Backup_v1 check")[0..16]     (in the header: a wrong code is told apart)
 *   key     = HKDF-SHA256(K, salt = "", info = "Sigilo_Backup_v1", 32)
 *   chunk i = AES-256-GCM(key, 0^3 || u64be(i) || final, plaintext[i*64Ki .. (i+1)*64Ki), aad = header)
 *
 * Every chunk but the last holds exactly 64 KiB of plaintext; the last one (0 to
 * 64 KiB) has final = 1, so a file cut at a chunk boundary or extended does not open.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { scrypt } from '@noble/hashes/scrypt.js';
import { bytesEqual, concatBytes, utf8, type ProtocolContext } from '@sigilo/protocol';
import {
  BackupFrameSchema, type BackupEnd, type BackupFrame, type HistoryEntry, type ProvisionMessage,
} from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { ClientError } from './errors.js';

export const RECOVERY_CODE_DIGITS = 30;
export const BACKUP_MAGIC = utf8('SIGILOBK');
export const BACKUP_VERSION = 1;
export const BACKUP_HEADER_LENGTH = 64;
export const BACKUP_CHUNK_SIZE = 64 * 1024;
const TAG_LENGTH = 16;
const SEALED_CHUNK_SIZE = BACKUP_CHUNK_SIZE + TAG_LENGTH;
const KDF_SCRYPT = 1;
const SALT_LENGTH = 32;
/** Largest frame accepted when reading (the account frame of a person in many large groups stays far below). */
export const MAX_BACKUP_FRAME = 64 * 1024 * 1024;
/** Bytes of an attachment file per attachment_data frame. */
export const BACKUP_DATA_FRAME = 64 * 1024;
const KEY_INFO = utf8('Sigilo_Backup_v1');
const CHECK_INFO = utf8('Sigilo_Backup_v1 check');

export interface BackupKdfParams {
  /** scrypt N = 2^log2N. */
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** 64 MiB of memory and about a second per guess: with ~100 bits of code, the KDF only adds margin. */
export const DEFAULT_BACKUP_KDF: BackupKdfParams = { log2N: 16, r: 8, p: 1 };

/** scrypt with a 32-byte output; the CLI may hand in node:crypto's (same results, faster). */
export type ScryptFunction = (password: Uint8Array, salt: Uint8Array, params: BackupKdfParams) => Uint8Array;

export const portableScrypt: ScryptFunction = (password, salt, { log2N, r, p }) =>
  scrypt(password, salt, { N: 2 ** log2N, r, p, dkLen: 32, maxmem: 2 ** log2N * r * 128 * 2 + 1024 });

function invalid(message: string): ClientError {
  return new ClientError('BACKUP_INVALID', message);
}

// ------------------------------------------------------------------ the recovery code

/** 30 uniformly random decimal digits (about 99.7 bits), by rejection sampling of random bytes. */
export function generateRecoveryCode(random: (n: number) => Uint8Array): string {
  let digits = '';
  while (digits.length < RECOVERY_CODE_DIGITS) {
    for (const b of random(RECOVERY_CODE_DIGITS * 2)) {
      if (b < 250 && digits.length < RECOVERY_CODE_DIGITS) digits += String(b % 10);
    }
  }
  return digits;
}

/** As shown to the person: six groups of five digits. */
export function formatRecoveryCode(digits: string): string {
  return digits.match(/.{1,5}/g)!.join(' ');
}

/** Accepts the code as shown, with or without spaces or dashes; returns the 30 digits. */
export function parseRecoveryCode(text: string): string {
  const digits = text.replace(/[\s-]/g, '');
  if (!/^\d*$/.test(digits)) throw new ClientError('INVALID_INPUT', 'a recovery code has digits only (6 groups of 5, as shown when the backup was made)');
  if (digits.length !== RECOVERY_CODE_DIGITS) {
    throw new ClientError('INVALID_INPUT', `a recovery code is ${RECOVERY_CODE_DIGITS} digits (6 groups of 5); this one has ${digits.length}`);
  }
  return digits;
}

// ------------------------------------------------------------------ the encrypted stream

interface Keys {
  readonly key: Uint8Array;
  readonly check: Uint8Array;
}

function deriveKeys(ctx: ProtocolContext, digits: string, salt: Uint8Array, params: BackupKdfParams, kdf: ScryptFunction): Keys {
  const k = kdf(utf8(digits), salt, params);
  const keys = { key: ctx.crypto.hkdfSha256(k, new Uint8Array(0), KEY_INFO, 32), check: ctx.crypto.hmacSha256(k, CHECK_INFO).slice(0, 16) };
  k.fill(0);
  return keys;
}

function encodeHeader(params: BackupKdfParams, salt: Uint8Array, check: Uint8Array): Uint8Array {
  const h = new Uint8Array(BACKUP_HEADER_LENGTH);
  h.set(BACKUP_MAGIC, 0);
  h[8] = BACKUP_VERSION;
  h[9] = KDF_SCRYPT;
  h[10] = params.log2N;
  h[11] = params.r;
  h[12] = params.p;
  h.set(salt, 16);
  h.set(check, 48);
  return h;
}

function nonce(i: number, final: boolean): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(3, BigInt(i));
  n[11] = final ? 1 : 0;
  return n;
}

/** Writing: frames in, sealed bytes out (header first). */
export class BackupSealer {
  readonly header: Uint8Array;
  readonly #ctx: ProtocolContext;
  readonly #key: Uint8Array;
  #buffer = new Uint8Array(BACKUP_CHUNK_SIZE);
  #filled = 0;
  #index = 0;
  #finished = false;

  constructor(ctx: ProtocolContext, recoveryCode: string, options: { params?: BackupKdfParams; scrypt?: ScryptFunction } = {}) {
    const params = options.params ?? DEFAULT_BACKUP_KDF;
    const salt = ctx.random(SALT_LENGTH);
    const keys = deriveKeys(ctx, parseRecoveryCode(recoveryCode), salt, params, options.scrypt ?? portableScrypt);
    this.#ctx = ctx;
    this.#key = keys.key;
    this.header = encodeHeader(params, salt, keys.check);
  }

  /** Adds one frame; returns the chunks it completed (to be written in order). */
  frame(frame: BackupFrame | Parameters<typeof create<typeof BackupFrameSchema>>[1]): Uint8Array[] {
    if (this.#finished) throw new Error('the backup is finished');
    const body = toBinary(BackupFrameSchema, create(BackupFrameSchema, frame as BackupFrame));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, body.length);
    return [...this.#push(length), ...this.#push(body)];
  }

  #push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      // A full buffer is sealed only once more bytes follow: the last chunk must be the final one.
      if (this.#filled === BACKUP_CHUNK_SIZE) out.push(this.#seal(false));
      const n = Math.min(bytes.length - at, BACKUP_CHUNK_SIZE - this.#filled);
      this.#buffer.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
    }
    return out;
  }

  #seal(final: boolean): Uint8Array {
    const sealed = this.#ctx.crypto.aes256GcmEncrypt(this.#key, nonce(this.#index++, final), this.#buffer.subarray(0, this.#filled), this.header);
    this.#filled = 0;
    return sealed;
  }

  /** The full chunk held back (if any) and the final chunk. */
  finish(): Uint8Array[] {
    if (this.#finished) throw new Error('the backup is finished');
    this.#finished = true;
    const out: Uint8Array[] = [];
    if (this.#filled === BACKUP_CHUNK_SIZE) out.push(this.#seal(false));
    out.push(this.#seal(true));
    this.#key.fill(0);
    return out;
  }
}

/** Checks a header and derives the key; a wrong code and a file that is not a backup get their own messages. */
export function openBackupHeader(ctx: ProtocolContext, header: Uint8Array, recoveryCode: string, kdf: ScryptFunction = portableScrypt): Uint8Array {
  if (header.length < BACKUP_HEADER_LENGTH || !bytesEqual(header.subarray(0, 8), BACKUP_MAGIC)) {
    throw invalid('this file is not a Sigilo backup (it does not start as one); give the file `sigilo backup` wrote');
  }
  if (header[8] !== BACKUP_VERSION) throw invalid(`this backup has format version ${header[8]}, which this client does not read; update Sigilo`);
  const params = { log2N: header[10]!, r: header[11]!, p: header[12]! };
  if (header[9] !== KDF_SCRYPT || params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16
    || header[13] !== 0 || header[14] !== 0 || header[15] !== 0) {
    throw invalid('this backup\'s header is damaged (unknown key derivation or parameters out of range)');
  }
  const keys = deriveKeys(ctx, parseRecoveryCode(recoveryCode), header.slice(16, 48), params, kdf);
  if (!bytesEqual(keys.check, header.subarray(48, 64))) {
    keys.key.fill(0);
    throw invalid('the recovery code does not open this backup: check the 30 digits (the code shown when this backup was made), or the file header is damaged');
  }
  return keys.key;
}

/** Reading: sealed bytes in (in any pieces), plaintext chunks out; the last chunk must be the final one. */
export async function* openBackupStream(ctx: ProtocolContext, source: AsyncIterable<Uint8Array>, recoveryCode: string, kdf?: ScryptFunction): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let key: Uint8Array | undefined;
  let header: Uint8Array | undefined;
  let index = 0;
  const open = (sealed: Uint8Array, final: boolean): Uint8Array => {
    try {
      return ctx.crypto.aes256GcmDecrypt(key!, nonce(index++, final), sealed, header!);
    } catch {
      throw invalid(final
        ? 'this backup is damaged or incomplete (its end does not verify: cut short, extended or altered); nothing was restored'
        : 'this backup is damaged (a part does not verify: the file was altered); nothing was restored');
    }
  };
  try {
    for await (const piece of source) {
      pending = pending.length ? concatBytes(pending, piece) : piece;
      if (!key) {
        if (pending.length < BACKUP_HEADER_LENGTH) continue;
        header = pending.slice(0, BACKUP_HEADER_LENGTH);
        key = openBackupHeader(ctx, header, recoveryCode, kdf);
        pending = pending.subarray(BACKUP_HEADER_LENGTH);
      }
      // Keep at least one sealed chunk back: only the end of the file says which chunk is the final one.
      let at = 0;
      while (pending.length - at > SEALED_CHUNK_SIZE) {
        yield open(pending.subarray(at, at + SEALED_CHUNK_SIZE), false);
        at += SEALED_CHUNK_SIZE;
      }
      pending = pending.slice(at);
    }
    if (!key) {
      if (pending.length === 0 || (pending.length >= 8 && !bytesEqual(pending.subarray(0, 8), BACKUP_MAGIC))) throw invalid('this file is not a Sigilo backup; give the file `sigilo backup` wrote');
      throw invalid('this backup is cut short (not even its header is complete)');
    }
    if (pending.length < TAG_LENGTH) throw invalid('this backup is damaged or incomplete (cut short); nothing was restored');
    yield open(pending, true);
  } finally {
    key?.fill(0);
  }
}

/** Splits the plaintext into frames (u32be length || BackupFrame). */
export async function* backupFrames(plaintext: AsyncIterable<Uint8Array>): AsyncGenerator<BackupFrame> {
  let pending: Uint8Array = new Uint8Array(0);
  for await (const piece of plaintext) {
    pending = pending.length ? concatBytes(pending, piece) : piece;
    let at = 0;
    for (;;) {
      if (pending.length - at < 4) break;
      const length = new DataView(pending.buffer, pending.byteOffset + at, 4).getUint32(0);
      if (length > MAX_BACKUP_FRAME) throw invalid('this backup holds a part larger than any backup writes; the file is damaged');
      if (pending.length - at - 4 < length) break;
      let frame: BackupFrame;
      try {
        frame = fromBinary(BackupFrameSchema, pending.subarray(at + 4, at + 4 + length));
      } catch {
        throw invalid('this backup holds a part that does not parse; the file is damaged or from an incompatible version');
      }
      at += 4 + length;
      yield frame;
    }
    pending = pending.slice(at);
  }
  if (pending.length) throw invalid('this backup ends in the middle of a part; the file is damaged');
}

// ------------------------------------------------------------------ what a backup holds

export interface BackupAttachmentFile {
  readonly conversation: Uint8Array;
  readonly messageId: Uint8Array;
  readonly index: number;
  readonly size: number;
  /** The file's bytes, in pieces of any size; exactly `size` bytes in all. */
  readonly bytes: () => AsyncIterable<Uint8Array>;
}

export interface BackupInput {
  readonly account: ProvisionMessage;
  readonly messages: readonly HistoryEntry[];
  readonly server: { readonly url: string; readonly fingerprint: string | undefined };
  readonly attachments?: AsyncIterable<BackupAttachmentFile> | Iterable<BackupAttachmentFile>;
}

/**
 * Writes a backup to `write` (called with each piece in order, awaited): the header, then the
 * account, every message, the attachment files given, and the end frame.
 */
export async function writeBackup(
  ctx: ProtocolContext, input: BackupInput, recoveryCode: string, write: (bytes: Uint8Array) => Promise<void>,
  options: { now: number; params?: BackupKdfParams; scrypt?: ScryptFunction },
): Promise<{ messages: number; attachments: number }> {
  const sealer = new BackupSealer(ctx, recoveryCode, options);
  const emit = async (chunks: Uint8Array[]) => { for (const c of chunks) await write(c); };
  await write(sealer.header);
  await emit(sealer.frame({ body: { case: 'account', value: { ...input.account, historyKey: new Uint8Array(0), historyChunks: 0 } } }));
  for (const m of input.messages) await emit(sealer.frame({ body: { case: 'message', value: m } }));
  let attachments = 0;
  for await (const a of input.attachments ?? []) {
    await emit(sealer.frame({ body: { case: 'attachment', value: { conversationAccountId: a.conversation, messageId: a.messageId, index: a.index, size: BigInt(a.size) } } }));
    let written = 0;
    for await (const piece of a.bytes()) {
      for (let at = 0; at < piece.length; at += BACKUP_DATA_FRAME) {
        const part = piece.subarray(at, at + BACKUP_DATA_FRAME);
        written += part.length;
        await emit(sealer.frame({ body: { case: 'attachmentData', value: part } }));
      }
    }
    if (written !== a.size) throw new ClientError('INVALID_INPUT', 'an attachment file changed size while it was being backed up; run the backup again');
    attachments++;
  }
  await emit(sealer.frame({
    body: { case: 'end', value: { messages: input.messages.length, attachments, createdAt: BigInt(options.now), serverUrl: input.server.url, serverFingerprint: input.server.fingerprint ?? '' } },
  }));
  await emit(sealer.finish());
  return { messages: input.messages.length, attachments };
}

export interface RestoredBackup {
  readonly account: ProvisionMessage;
  readonly messages: HistoryEntry[];
  readonly end: BackupEnd;
}

/** Where a restore puts an attachment file while the backup is read (kept only if the whole backup verifies). */
export interface AttachmentFileSink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * Reads and verifies a whole backup. Attachment files go to `onAttachment` as they are read; nothing else
 * is kept before the end verified, so the caller changes nothing until this returns.
 */
export async function readBackup(
  ctx: ProtocolContext, source: AsyncIterable<Uint8Array>, recoveryCode: string,
  options: { scrypt?: ScryptFunction; onAttachment?: (a: { conversation: Uint8Array; messageId: Uint8Array; index: number; size: number }) => Promise<AttachmentFileSink | undefined> } = {},
): Promise<RestoredBackup> {
  let account: ProvisionMessage | undefined;
  let end: BackupEnd | undefined;
  const messages: HistoryEntry[] = [];
  let attachments = 0;
  let open: { sink: AttachmentFileSink | undefined; left: number } | undefined;
  const closeOpen = async () => {
    if (!open) return;
    if (open.left !== 0) throw invalid('an attachment file in this backup is shorter than announced; the file is damaged');
    await open.sink?.close();
    open = undefined;
  };
  for await (const f of backupFrames(openBackupStream(ctx, source, recoveryCode, options.scrypt))) {
    if (end) throw invalid('this backup has data after its end; the file is damaged');
    if (!account && f.body.case !== 'account') throw invalid('this backup does not start with its account; the file is damaged');
    switch (f.body.case) {
      case 'account':
        if (account) throw invalid('this backup holds two accounts; the file is damaged');
        if (f.body.value.accountId.length !== 16 || f.body.value.identityKeyPair.length === 0) throw invalid('this backup\'s account is incomplete; the file is damaged');
        account = f.body.value;
        break;
      case 'message':
        await closeOpen();
        messages.push(f.body.value);
        break;
      case 'attachment': {
        await closeOpen();
        const a = f.body.value;
        const size = Number(a.size);
        if (!Number.isSafeInteger(size)) throw invalid('an attachment file in this backup has an impossible size; the file is damaged');
        open = { sink: await options.onAttachment?.({ conversation: a.conversationAccountId, messageId: a.messageId, index: a.index, size }), left: size };
        attachments++;
        break;
      }
      case 'attachmentData':
        if (!open || f.body.value.length > open.left) throw invalid('this backup holds attachment data that belongs to no file; the file is damaged');
        open.left -= f.body.value.length;
        await open.sink?.write(f.body.value);
        break;
      case 'end':
        await closeOpen();
        end = f.body.value;
        break;
      default:
        throw invalid('this backup holds a part this client does not know; update Sigilo');
    }
  }
  if (!account || !end) throw invalid('this backup is incomplete (it has no end); nothing was restored');
  if (end.messages !== messages.length || end.attachments !== attachments) throw invalid('this backup\'s contents do not match its own count; the file is damaged');
  return { account, messages, end };
}
