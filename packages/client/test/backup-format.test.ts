/**
 * The backup file format (spec/backup.md) without a server: a round trip, the
 * recovery code's shape, and every way a file can be wrong (wrong code, not a
 * backup, altered byte, cut short at a chunk boundary, extended, chunks
 * swapped) gives BACKUP_INVALID with its own message.
 */
import { scryptSync } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { HistoryEntrySchema, ProvisionMessageSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import {
  BACKUP_CHUNK_SIZE, BACKUP_HEADER_LENGTH, BackupSealer, ClientError, openBackupStream, formatRecoveryCode, generateRecoveryCode, parseRecoveryCode, portableScrypt, readBackup, writeBackup,
  type BackupKdfParams, type ScryptFunction,
} from '../src/index.js';

const ctx = { crypto: nodeCrypto, random: systemRandom };
/** Small parameters keep the test fast; the default ones are checked once below. */
const params: BackupKdfParams = { log2N: 10, r: 8, p: 1 };
const nodeScrypt: ScryptFunction = (pw, salt, k) => new Uint8Array(scryptSync(pw, salt, 32, { N: 2 ** k.log2N, r: k.r, p: k.p, maxmem: 512 * 1024 * 1024 }));

function account() {
  return create(ProvisionMessageSchema, {
    accountId: new Uint8Array(16).fill(7), identityKeyPair: new Uint8Array(70).fill(9), accessKey: new Uint8Array(16).fill(1),
    contacts: [{ alias: 'ana', accountId: new Uint8Array(16).fill(2), identityKey: new Uint8Array(64).fill(3), verified: true }],
  });
}

/** Messages whose texts make the plaintext span several chunks. */
function messages(n: number, textBytes = 3000) {
  return Array.from({ length: n }, (_, i) => create(HistoryEntrySchema, {
    conversationAccountId: new Uint8Array(16).fill(2), messageId: new Uint8Array(16).fill(i & 255), authorAccountId: new Uint8Array(16).fill(2),
    timestamp: BigInt(i), text: `message ${i} ${'x'.repeat(textBytes)}`, status: 4,
  }));
}

async function backup(code: string, n = 60, files: Uint8Array[] = []): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await writeBackup(ctx, {
    account: account(), messages: messages(n), server: { url: 'wss://example.org:8443/v1/ws', fingerprint: 'ab' },
    attachments: files.map((f, i) => ({ conversation: new Uint8Array(16).fill(2), messageId: new Uint8Array(16).fill(i), index: 0, size: f.length, bytes: async function* () { yield f; } })),
  }, code, async (b) => { parts.push(b); }, { now: 1234, params, scrypt: nodeScrypt });
  return concatBytes(...parts);
}

async function* pieces(b: Uint8Array, size = 7000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < b.length; at += size) yield b.subarray(at, at + size);
}

async function restoreError(b: Uint8Array, code: string): Promise<ClientError> {
  try {
    await readBackup(ctx, pieces(b), code, { scrypt: nodeScrypt });
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    return e as ClientError;
  }
  throw new Error('the backup opened');
}

describe('backup format', () => {
  it('recovery codes: 30 digits shown as 6 groups of 5, read back with or without separators', () => {
    const code = generateRecoveryCode(systemRandom);
    expect(code).toMatch(/^\d{30}$/);
    const shown = formatRecoveryCode(code);
    expect(shown).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(parseRecoveryCode(shown)).toBe(code);
    expect(parseRecoveryCode(shown.replace(/ /g, '-'))).toBe(code);
    expect(() => parseRecoveryCode(code.slice(1))).toThrow(/30 digits .* has 29/);
    expect(() => parseRecoveryCode(`${code.slice(1)}a`)).toThrow(/digits only/);
    // Each digit is about uniform (rejection sampling, no modulo bias): a loose bound over many codes.
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 400; i++) for (const d of generateRecoveryCode(systemRandom)) counts[Number(d)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(900);
  });

  it('the portable scrypt and node:crypto\'s agree (default parameters included)', () => {
    const salt = new Uint8Array(32).fill(5);
    const pw = new TextEncoder().encode('123456789012345678901234567890');
    expect(portableScrypt(pw, salt, params)).toEqual(nodeScrypt(pw, salt, params));
    expect(portableScrypt(pw, salt, { log2N: 16, r: 8, p: 1 })).toEqual(nodeScrypt(pw, salt, { log2N: 16, r: 8, p: 1 }));
  }, 60_000);

  it('round trip: account, every message and attachment files, read in pieces of any size', async () => {
    const code = generateRecoveryCode(systemRandom);
    const big = systemRandom(200_000);
    const file = await backup(code, 60, [big, new Uint8Array(0)]);
    expect(file.length).toBeGreaterThan(BACKUP_HEADER_LENGTH + 2 * BACKUP_CHUNK_SIZE);
    const got: Uint8Array[] = [];
    const r = await readBackup(ctx, pieces(file, 1 + 65_552), formatRecoveryCode(code), {
      scrypt: nodeScrypt,
      onAttachment: async () => { const parts: Uint8Array[] = []; return { write: async (b) => { parts.push(b.slice()); }, close: async () => { got.push(concatBytes(...parts)); } }; },
    });
    expect(r.account.contacts[0]!.alias).toBe('ana');
    expect(r.messages.map((m) => m.text)).toEqual(messages(60).map((m) => m.text));
    expect(r.end.serverUrl).toBe('wss://example.org:8443/v1/ws');
    expect(got).toEqual([big, new Uint8Array(0)]);
  });

  it('a plaintext of exactly one whole chunk ends with an empty final chunk, and the reader takes it', async () => {
    const code = generateRecoveryCode(systemRandom);
    const sealer = new BackupSealer(ctx, code, { params, scrypt: nodeScrypt });
    // u32 length (4) + field tag (1) + varint length (3) + 65528 bytes = 65536: exactly one chunk of plaintext.
    expect(sealer.frame({ body: { case: 'attachmentData', value: new Uint8Array(65_528) } })).toEqual([]);
    const tail = sealer.finish();
    expect(tail.map((c) => c.length)).toEqual([65_552, 16]);
    const plain: Uint8Array[] = [];
    for await (const p of openBackupStream(ctx, pieces(concatBytes(sealer.header, ...tail), 1000), code, nodeScrypt)) plain.push(p);
    expect(plain.map((p) => p.length)).toEqual([65_536, 0]);
    // Without the empty final chunk the file does not open.
    const cut: Uint8Array[] = [];
    await expect((async () => { for await (const p of openBackupStream(ctx, pieces(concatBytes(sealer.header, tail[0]!)), code, nodeScrypt)) cut.push(p); })())
      .rejects.toThrow(/damaged or incomplete/);
  });

  it('backups of sizes around chunk boundaries open', async () => {
    const code = generateRecoveryCode(systemRandom);
    for (const n of [0, 1, 19, 20, 21, 22]) {
      const file = await backup(code, n);
      const r = await readBackup(ctx, pieces(file), code, { scrypt: nodeScrypt });
      expect(r.messages.length).toBe(n);
    }
  });

  it('a wrong recovery code, a file that is not a backup, and damaged files are refused with their own messages', async () => {
    const code = generateRecoveryCode(systemRandom);
    const file = await backup(code);
    const wrong = `${code.slice(0, 29)}${(Number(code[29]) + 1) % 10}`;
    expect((await restoreError(file, wrong)).message).toMatch(/recovery code does not open this backup/);
    expect((await restoreError(new TextEncoder().encode('hello, this is a text file and not a backup at all......................'), code)).message).toMatch(/not a Sigilo backup/);
    const altered = file.slice();
    altered[BACKUP_HEADER_LENGTH + 70_000]! ^= 1;
    expect((await restoreError(altered, code)).message).toMatch(/damaged .*altered/);
    const alteredHeader = file.slice();
    alteredHeader[20]! ^= 1; // the salt
    expect((await restoreError(alteredHeader, code)).message).toMatch(/recovery code does not open/);
    const cut = file.subarray(0, BACKUP_HEADER_LENGTH + 65_552); // exactly one whole chunk, not the final one
    expect((await restoreError(cut, code)).message).toMatch(/damaged or incomplete/);
    expect((await restoreError(file.subarray(0, file.length - 1), code)).message).toMatch(/damaged or incomplete/);
    expect((await restoreError(concatBytes(file, new Uint8Array(20)), code)).message).toMatch(/damaged/);
    const swapped = concatBytes(file.subarray(0, BACKUP_HEADER_LENGTH), file.subarray(BACKUP_HEADER_LENGTH + 65_552, BACKUP_HEADER_LENGTH + 2 * 65_552),
      file.subarray(BACKUP_HEADER_LENGTH, BACKUP_HEADER_LENGTH + 65_552), file.subarray(BACKUP_HEADER_LENGTH + 2 * 65_552));
    expect((await restoreError(swapped, code)).message).toMatch(/damaged/);
    for (const e of [await restoreError(file, wrong), await restoreError(cut, code)]) expect(e.code).toBe('BACKUP_INVALID');
  });
});
