/**
 * Writes the fuzz corpora (fuzz/corpus/<target>/*) from the frozen spec
 * vectors (spec/vectors/*.json) and a few small hand-built files for the
 * decoders the vectors do not cover (frames, media, contact cards, store
 * records). Deterministic: running it again rewrites the same bytes.
 *   npx tsx fuzz/seed.ts
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientFrameSchema, DeliverSchema, SendResultSchema } from '../packages/protocol/src/gen/sigilo/server/v1/frames_pb.js';
import { DataMessageSchema } from '../packages/protocol/src/gen/sigilo/client/v1/content_pb.js';
import { encodeValue } from '../packages/client-web/src/codec.js';
import { sealProvision } from '../packages/client/src/provisioning.js';
import { identityKeyPairFromPrivate } from '../packages/protocol/src/index.js';
import { nodeCrypto } from '../packages/protocol/src/crypto/node.js';
import { CORPUS_DIR, REPO_DIR } from './lib.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const vector = (name: string): any => JSON.parse(readFileSync(join(REPO_DIR, 'spec/vectors', name), 'utf8'));
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const cat = (...p: Uint8Array[]) => new Uint8Array(Buffer.concat(p));
const u32be = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return new Uint8Array(b); };
const u32le = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return new Uint8Array(b); };
const u16le = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return new Uint8Array(b); };

const corpus = new Map<string, Map<string, Uint8Array>>();
function add(target: string, name: string, bytes: Uint8Array): void {
  if (!corpus.has(target)) corpus.set(target, new Map());
  corpus.get(target)!.set(name, bytes);
}

// --- spec vectors
const session = vector('session.json');
session.messages.forEach((m: { message: string }, i: number) => {
  add(i === 0 ? 'prekey-message' : 'ratchet-message', `session-message-${String(i).padStart(2, '0')}`, h(m.message));
});
add('prekey-message', 'session-message-last', h(session.messages[session.messages.length - 1].message));
add('prekey-bundle', 'session-bundle', h(session.bundle));
add('session-record', 'final-alice', h(session.finalRecords.alice));
add('session-record', 'final-bob', h(session.finalRecords.bob));
add('session-record', 'empty', new Uint8Array(0));

const sealed = vector('sealed-sender.json');
add('sealed-sender', 'envelope', h(sealed.envelope));
add('sealed-sender', 'certificate', h(sealed.certificate));

const keys = vector('keys.json');
add('prekey-records', 'signed-prekey-payload', h(keys.signedPreKey.payload));
add('prekey-records', 'pq-prekey-payload', h(keys.pqPreKey.payload));

const groups = vector('groups.json');
add('group-entry', 'genesis', h(groups.membership.genesis.entry));
add('group-entry', 'add', h(groups.membership.add.entry));
add('sender-key', 'distribution', h(groups.senderKey.distribution));
groups.senderKey.messages.forEach((m: { message: string }, i: number) => add('sender-key', `message-${i}`, h(m.message)));
add('multi-recipient', 'shared', h(groups.multiRecipient.shared));

const att = vector('attachments.json');
// The target decrypts with the largest case's key: its ciphertext, and the others' (header mismatch).
att.cases.forEach((c: { ciphertext?: string }, i: number) => { if (c.ciphertext) add('attachment', `case-${i}`, h(c.ciphertext)); });

// A provisioning envelope to the sealed-sender vector's recipient (its ephemeral key from a fixed stream).
const recipient = identityKeyPairFromPrivate(nodeCrypto, h(sealed.recipient.identitySigningSeed), h(sealed.recipient.identityAgreementPrivate));
add('provisioning', 'envelope', sealProvision({ crypto: nodeCrypto, random: (n: number) => new Uint8Array(n).fill(0x42) }, recipient.agreement.publicKey, ascii('a provisioning message')));

// --- frames (no vector holds a ClientFrame: a few valid ones of each kind)
const id16 = new Uint8Array(16).fill(7);
const frames: Parameters<typeof create<typeof ClientFrameSchema>>[1][] = [
  { requestId: 1n, body: { case: 'ping', value: {} } },
  { requestId: 2n, body: { case: 'authenticate', value: { accountId: id16, deviceId: 1, signature: new Uint8Array(64) } } },
  { requestId: 3n, body: { case: 'send', value: { recipientAccountId: id16, messages: [{ deviceId: 1, content: new Uint8Array(40) }], messageId: id16 } } },
  { requestId: 4n, body: { case: 'sealedSend', value: { recipientAccountId: id16, accessKey: id16, messages: [{ deviceId: 1, content: h(sealed.envelope) }], messageId: id16 } } },
  { requestId: 5n, body: { case: 'ack', value: { serverIds: [1n, 2n] } } },
  { requestId: 6n, body: { case: 'fetchBundles', value: { accountId: id16 } } },
  { requestId: 7n, body: { case: 'uploadPreKeys', value: {} } },
  { requestId: 8n, body: { case: 'allocateAttachment', value: { size: 1024n } } },
];
frames.forEach((f, i) => {
  try { add('client-frame', `frame-${i}`, toBinary(ClientFrameSchema, create(ClientFrameSchema, f))); } catch { /* a field this schema does not have */ }
});
add('client-frame', 'deliver', toBinary(DeliverSchema, create(DeliverSchema, { serverId: 9n, messageId: id16, serverTimestamp: 1_700_000_000_000n, sealed: true, content: new Uint8Array(33) })));
add('client-frame', 'send-result', toBinary(SendResultSchema, create(SendResultSchema, { messageId: id16, serverTimestamp: 1_700_000_000_000n, duplicate: true })));

add('attachment-pointer', 'data-message', toBinary(DataMessageSchema, create(DataMessageSchema, {
  attachments: [{ attachmentId: id16, key: new Uint8Array(32), size: 1000n, encryptedSize: 1100n, contentType: 'image/png', fileName: 'a.png', digest: new Uint8Array(32), width: 4, height: 4 }],
})));

// --- media: small files of each format, with the metadata the strippers remove
function jpegSegment(marker: number, body: Uint8Array): Uint8Array {
  return cat(Uint8Array.of(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff), body);
}
const tiff = cat(ascii('II*\0'), u32le(8), u16le(1), u16le(0x0112), u16le(3), u32le(1), u16le(6), u16le(0), u32le(0));
add('media-jpeg', 'exif', cat(
  Uint8Array.of(0xff, 0xd8),
  jpegSegment(0xe0, cat(ascii('JFIF\0'), Uint8Array.of(1, 1, 0, 0, 1, 0, 1, 0, 0))),
  jpegSegment(0xe1, cat(ascii('Exif\0\0'), tiff)),
  jpegSegment(0xfe, ascii('a comment')),
  jpegSegment(0xdb, new Uint8Array(65)),
  jpegSegment(0xc0, Uint8Array.of(8, 0, 2, 0, 2, 1, 1, 0x11, 0)),
  jpegSegment(0xda, Uint8Array.of(1, 1, 0, 0, 0x3f, 0)),
  Uint8Array.of(0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd9),
));
function pngChunk(type: string, data: Uint8Array): Uint8Array {
  return cat(u32be(data.length), ascii(type), data, u32be(0));
}
add('media-png', 'text', cat(
  Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
  pngChunk('IHDR', cat(u32be(2), u32be(2), Uint8Array.of(8, 6, 0, 0, 0))),
  pngChunk('tEXt', ascii('Author\0someone')),
  pngChunk('eXIf', tiff),
  pngChunk('IDAT', new Uint8Array(12)),
  pngChunk('IEND', new Uint8Array(0)),
));
add('media-gif', 'comment', cat(
  ascii('GIF89a'), u16le(2), u16le(2), Uint8Array.of(0x80, 0, 0), new Uint8Array(6),
  Uint8Array.of(0x21, 0xfe, 5), ascii('hello'), Uint8Array.of(0),
  Uint8Array.of(0x21, 0xff, 11), ascii('NETSCAPE2.0'), Uint8Array.of(3, 1, 0, 0, 0),
  Uint8Array.of(0x2c), u16le(0), u16le(0), u16le(2), u16le(2), Uint8Array.of(0),
  Uint8Array.of(2, 2, 0x44, 0x01, 0), Uint8Array.of(0x3b),
));
function riffChunk(type: string, data: Uint8Array): Uint8Array {
  return cat(ascii(type), u32le(data.length), data, data.length % 2 ? Uint8Array.of(0) : new Uint8Array(0));
}
const webpBody = cat(
  riffChunk('VP8X', Uint8Array.of(0x0c, 0, 0, 0, 1, 0, 0, 1, 0, 0)),
  riffChunk('VP8L', Uint8Array.of(0x2f, 1, 0x40, 0, 0, 0)),
  riffChunk('EXIF', tiff),
  riffChunk('XMP ', ascii('<x/>')),
);
add('media-webp', 'exif', cat(ascii('RIFF'), u32le(4 + webpBody.length), ascii('WEBP'), webpBody));
// Duration: MP4 (mvhd), WAV, Ogg, WebM.
const mvhd = cat(u32be(108), ascii('mvhd'), Uint8Array.of(0, 0, 0, 0), u32be(0), u32be(0), u32be(1000), u32be(5000), new Uint8Array(80));
add('media-duration', 'mp4', cat(u32be(20), ascii('ftyp'), ascii('isom'), u32be(0), ascii('isom'), u32be(8 + mvhd.length), ascii('moov'), mvhd));
const pcm = new Uint8Array(800);
add('media-duration', 'wav', cat(ascii('RIFF'), u32le(36 + pcm.length), ascii('WAVE'), ascii('fmt '), u32le(16), u16le(1), u16le(1), u32le(8000), u32le(8000), u16le(1), u16le(8), ascii('data'), u32le(pcm.length), pcm));
const oggPage = (granule: number, body: Uint8Array) => cat(ascii('OggS'), Uint8Array.of(0, 4), u32le(granule), u32le(0), u32le(1), u32le(0), u32le(0), Uint8Array.of(1, body.length), body);
add('media-duration', 'ogg', cat(oggPage(0, cat(ascii('OpusHead'), Uint8Array.of(1, 1), u16le(312), u32le(48000), u16le(0), Uint8Array.of(0))), oggPage(48312, new Uint8Array(10))));
add('media-duration', 'webm', Uint8Array.of(
  0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x82, 0x81, 0x77,
  0x18, 0x53, 0x80, 0x67, 0x8e,
  0x15, 0x49, 0xa9, 0x66, 0x8b, 0x2a, 0xd7, 0xb1, 0x83, 0x0f, 0x42, 0x40, 0x44, 0x89, 0x84, 0x45, 0x9c, 0x40, 0x00,
));

// --- contact cards and link codes (text)
add('contact-card', 'account-id', ascii('AEBAGBAFAYDQQCIKBMGA2DQPCA'));
add('contact-card', 'card', ascii('AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGAZDINRYHI6D4QA'));
add('contact-card', 'lowercase-spaced', ascii('aebag bafay dqqci kbmga 2dqpc a'));

const orgCa = vector('org-ca.json');
add('org-certificate', 'ca-certificate', h(orgCa.caCertificate));
add('org-certificate', 'identity-certificate', h(orgCa.identityCertificate));
add('org-certificate', 'crl', h(orgCa.crl));

// --- the browser store's records
add('web-store-codec', 'rows', encodeValue([
  { t: 'session', k: 'abc:1', o: 1, r: { record: new Uint8Array([1, 2, 3]), n: 5, ok: true, list: [1, 'two', null] } },
  { t: 'message', k: 'x', o: 2, r: { body: 'héllo', at: 1_700_000_000_000, big: 2 ** 53 - 1, neg: -1.5, undef: undefined } },
]));
add('web-store-codec', 'empty-array', encodeValue([]));

// --- write
for (const [target, items] of corpus) {
  const dir = join(CORPUS_DIR, target);
  // Only this script's items are rewritten: items promoted from fuzz/corpus-new/ stay.
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of items) writeFileSync(join(dir, name), bytes);
  console.log(`${target}: ${items.size} items`);
}
