/**
 * Every decoder of untrusted bytes, as a fuzz target (spec/assurance.md
 * §Fuzzing). A target takes one input and either returns (any value) or
 * throws the project's typed error for that layer; anything else (a
 * TypeError, a RangeError, a raw protobuf error, a hang) is a crash. Targets
 * that hold keys use the frozen spec vectors' keys, so that valid corpus items
 * get past the first checks and mutations reach the deeper code.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AttachmentDecryptor, GroupLog, checkAttachmentHeader, decodeIdentityKeyPair, decodeOneTimePreKeyRecord,
  decodePqPreKeyRecord, decodePreKeyBundle, decodeRatchetMessage, decodeSessionRecord, decodeSignedPreKeyRecord,
  decryptAttachmentChunk, decryptMessage, encryptMessage, decryptPreKeyMessage, encodeSessionRecord, groupEntrySignedBytes, identityKeyPairFromPrivate,
  messageType, parseGroupEntry, parsePreKeyMessage, processSenderKeyDistribution, sealSender, senderKeyDecrypt,
  senderKeyMessageDistributionId, senderKeyMessageIteration, unsealMultiRecipient, unsealSender, verifyPreKeyBundle,
  verifySenderCertificate, type IdentityKeyPair, type ProtocolContext, type ResponderKeys, type SessionRecord,
} from '../packages/protocol/src/index.js';
import { nodeCrypto } from '../packages/protocol/src/crypto/node.js';
import {
  GroupLogEntrySchema, GroupLogEntry_BodySchema, SenderKeyDistributionMessageSchema,
} from '../packages/protocol/src/gen/sigilo/protocol/v1/group_pb.js';
import {
  IdentityKeyPairStructureSchema, OneTimePreKeyRecordStructureSchema, PqPreKeyRecordStructureSchema, SessionRecordStructureSchema,
  SignedPreKeyRecordStructureSchema,
} from '../packages/protocol/src/gen/sigilo/protocol/v1/storage_pb.js';
import {
  PreKeyBundleSchema, PreKeyMessageSchema, SenderCertificateSchema, SenderCertificate_BodySchema,
} from '../packages/protocol/src/gen/sigilo/protocol/v1/wire_pb.js';
import { ClientFrameSchema, DeliverSchema, SendResultSchema, ServerFrameSchema } from '../packages/protocol/src/gen/sigilo/server/v1/frames_pb.js';
import { DataMessageSchema, ProvisionMessageSchema } from '../packages/protocol/src/gen/sigilo/client/v1/content_pb.js';
import { encodeDeliverFrame, encodeSendResultFrame } from '../packages/server/src/fast-frames.js';
import { acceptPointers, decodeAttachments } from '../packages/client/src/media/pointer.js';
import { stripJpeg, exifOrientation } from '../packages/client/src/media/jpeg.js';
import { stripPng } from '../packages/client/src/media/png.js';
import { stripGif } from '../packages/client/src/media/gif.js';
import { stripWebp } from '../packages/client/src/media/webp.js';
import { probeDurationMs } from '../packages/client/src/media/duration.js';
import { sniffMime } from '../packages/client/src/media/sniff.js';
import { bufferSource, piecesSize, type Piece } from '../packages/client/src/media/source.js';
import { fromBase32, parseAccountId, parseContactCard } from '../packages/client/src/ids.js';
import { openProvision, parseLinkCode, sealProvision } from '../packages/client/src/provisioning.js';
import { verifyCaCertificate, verifyCrl, verifyIdentityCertificate } from '../packages/client/src/org-trust/certificate.js';
import { decodeValue, encodeValue } from '../packages/client-web/src/codec.js';
import { REPO_DIR, inputArb, loadCorpus, protoArb } from './lib.js';

export interface FuzzTarget {
  readonly name: string;
  /** Source files (repository-relative) whose V8 coverage `npm run fuzz` reports. */
  readonly modules: readonly string[];
  /** Structure-aware generators (valid encodings with random field values), besides corpus mutations. */
  structured(): fc.Arbitrary<Uint8Array>[];
  /** Feeds one input. Returns or throws; `expected` says which throws are the typed errors. */
  run(input: Uint8Array): unknown;
  /** The typed errors this decoder may throw (anything else is a crash). */
  expected(e: unknown): boolean;
}

/** Failures that are not the decoder's typed error: found by the fuzzer, reported as crashes. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** True if `e` is an instance of a class named one of `names` (by name: robust to two copies of a module). */
export function isA(e: unknown, ...names: string[]): boolean {
  if (typeof e !== 'object' || e === null || e instanceof InvariantError) return false;
  for (let p = Object.getPrototypeOf(e); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (names.includes(p.constructor?.name)) return true;
  }
  return false;
}

const protocolError = (e: unknown) => isA(e, 'ProtocolError');

// ------------------------------------------------------------------ fixtures from the spec vectors

const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const vector = (name: string): any => JSON.parse(readFileSync(join(REPO_DIR, 'spec/vectors', name), 'utf8'));
/** Decrypting may draw (a DH ratchet step makes a key pair): a fixed stream keeps runs reproducible. */
const ctx: ProtocolContext = { crypto: nodeCrypto, random: (n: number) => new Uint8Array(n).fill(0x5a) };
const sealCtx: ProtocolContext = { crypto: nodeCrypto, random: (n: number) => new Uint8Array(randomBytes(n)) };

function identity(p: { identitySigningSeed: string; identityAgreementPrivate: string }): IdentityKeyPair {
  return identityKeyPairFromPrivate(nodeCrypto, h(p.identitySigningSeed), h(p.identityAgreementPrivate));
}

function memo<T>(f: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) { v = f(); done = true; }
    return v as T;
  };
}

const session = memo(() => {
  const v = vector('session.json');
  const bob = identity(v.bob);
  const spk = h(v.bob.signedPreKey.privateKey);
  const opk = h(v.bob.oneTimePreKey.privateKey);
  const keys: ResponderKeys = {
    signedPreKey: { id: 1, keyPair: { privateKey: spk, publicKey: nodeCrypto.x25519PublicKey(spk) } },
    oneTimePreKey: { id: 100, keyPair: { privateKey: opk, publicKey: nodeCrypto.x25519PublicKey(opk) } },
    pqPreKey: { id: 200, keyPair: nodeCrypto.mlKem768KeyPair(h(v.bob.pqPreKey.seed)) },
  };
  return {
    bob, keys,
    bobRecord: decodeSessionRecord(h(v.finalRecords.bob)),
    aliceRecord: decodeSessionRecord(h(v.finalRecords.alice)),
    message: h(v.messages[v.messages.length - 1].message),
  };
});

const sealed = memo(() => {
  const v = vector('sealed-sender.json');
  const serverSeed = h(v.serverKey.seed);
  return {
    recipient: identity(v.recipient), sender: identity(v.sender), now: v.now as number,
    trusted: [{ keyId: v.serverKey.keyId as number, publicKey: h(v.serverKey.publicKey) }],
    serverSeed, keyId: v.serverKey.keyId as number, accountId: h(v.sender.accountId),
  };
});

const groups = memo(() => {
  const v = vector('groups.json');
  const m = v.membership;
  const creator = identity(m.creator);
  return {
    genesis: h(m.genesis.entry), genesisHash: h(m.genesis.hash), groupId: h(m.state.groupId),
    creator, creatorAccount: h(m.creator.accountId), added: { accountId: h(m.added.accountId), identityKey: h(m.added.identityPublic) },
    distribution: h(v.senderKey.distribution),
    multi: {
      recipient: identity(v.multiRecipient.recipients[0]), header: h(v.multiRecipient.headers[0]), now: v.multiRecipient.now as number,
      trusted: [{ keyId: v.multiRecipient.serverKey.keyId as number, publicKey: h(v.multiRecipient.serverKey.publicKey) }],
    },
  };
});

const attachments = memo(() => {
  const v = vector('attachments.json');
  // The largest case: mutations of it reach the chunk loop.
  const c = v.cases.filter((x: { ciphertext?: string }) => x.ciphertext).sort((a: { ciphertext: string }, b: { ciphertext: string }) => b.ciphertext.length - a.ciphertext.length)[0];
  return { key: h(c.key) };
});

/** A signed sender certificate with random body fields (the signature verifies: the body's checks run). */
function signedCertificateArb(): fc.Arbitrary<Uint8Array> {
  return protoArb(SenderCertificate_BodySchema).map((body) => {
    const s = sealed();
    return toBinary(SenderCertificateSchema, create(SenderCertificateSchema, { certificate: body, signature: nodeCrypto.ed25519Sign(s.serverSeed, body) }));
  });
}

/** A deep-compare-free check that a decoder did not change its input record. */
function recordBytes(r: SessionRecord): string { return Buffer.from(encodeSessionRecord(r)).toString('hex'); }

function checkPieces(pieces: readonly Piece[], size: number): void {
  for (const p of pieces) {
    if ('bytes' in p) continue;
    if (!(Number.isSafeInteger(p.from) && Number.isSafeInteger(p.to) && p.from >= 0 && p.from <= p.to && p.to <= size)) {
      throw new InvariantError(`a media parser produced a piece outside the file: ${p.from}..${p.to} of ${size}`);
    }
  }
  if (!Number.isSafeInteger(piecesSize(pieces))) throw new InvariantError('pieces size is not an integer');
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const textArb = (alphabet: string, lengths: number[]) => fc.constantFrom(...lengths).chain((n) => fc.string({
  unit: fc.constantFrom(...alphabet.split('')), minLength: n, maxLength: n,
})).map((s) => new Uint8Array(Buffer.from(s, 'latin1')));

// ------------------------------------------------------------------ the targets

const P = 'packages/protocol/src';
const C = 'packages/client/src';

export const targets: readonly FuzzTarget[] = [
  {
    name: 'client-frame',
    modules: ['packages/server/src/fast-frames.ts'],
    structured: () => [protoArb(ClientFrameSchema), protoArb(DeliverSchema), protoArb(SendResultSchema)],
    // The server's decode (connection.ts) and its hand-written encoders, checked against the reference
    // encoder: the input read as a ClientFrame must re-encode; read as a Deliver / SendResult, the fast
    // encoders must produce the reference bytes (or refuse what the reference refuses).
    run(input) {
      try { toBinary(ClientFrameSchema, fromBinary(ClientFrameSchema, input, { readUnknownFields: false })); } catch (e) {
        if (e instanceof InvariantError) throw e;
      }
      let d;
      try { d = fromBinary(DeliverSchema, input, { readUnknownFields: false }); } catch { d = undefined; }
      if (d && d.serverId <= Number.MAX_SAFE_INTEGER && d.serverTimestamp <= Number.MAX_SAFE_INTEGER) {
        const fields = {
          serverId: Number(d.serverId), messageId: d.messageId, createdAt: Number(d.serverTimestamp), sealed: d.sealed,
          senderAccountId: d.senderAccountId, senderDeviceId: d.senderDeviceId, content: d.content, recipientHeader: d.recipientHeader,
        };
        const fast = Buffer.from(encodeDeliverFrame(fields)).toString('hex');
        const ref = Buffer.from(toBinary(ServerFrameSchema, create(ServerFrameSchema, { body: { case: 'deliver', value: d } }))).toString('hex');
        if (fast !== ref) throw new InvariantError('encodeDeliverFrame differs from the reference encoder');
      }
      let r;
      try { r = fromBinary(SendResultSchema, input, { readUnknownFields: false }); } catch { r = undefined; }
      if (r && r.serverTimestamp <= Number.MAX_SAFE_INTEGER) {
        const rid = BigInt(input.length);
        const fast = Buffer.from(encodeSendResultFrame(rid, r.messageId, Number(r.serverTimestamp), r.duplicate)).toString('hex');
        const ref = Buffer.from(toBinary(ServerFrameSchema, create(ServerFrameSchema, { requestId: rid, body: { case: 'sendResult', value: r } }))).toString('hex');
        if (fast !== ref) throw new InvariantError('encodeSendResultFrame differs from the reference encoder');
      }
    },
    expected: () => false,
  },
  {
    name: 'ratchet-message',
    modules: [`${P}/ratchet/message.ts`, `${P}/ratchet/double-ratchet.ts`, `${P}/session.ts`],
    structured: () => [
      protoArb(PreKeyMessageSchema),
      // Messages the other side's record decrypts: what mutations of them reach is the ratchet itself.
      fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 64 })).map(([fromAlice, plaintext]) => {
        const s = session();
        return encryptMessage(sealCtx, fromAlice ? s.aliceRecord : s.bobRecord, plaintext).message;
      }),
    ],
    run(input) {
      const s = session();
      try { messageType(input); } catch (e) { if (!protocolError(e)) throw e; }
      try { decodeRatchetMessage(input); } catch (e) { if (!protocolError(e)) throw e; }
      for (const record of [s.aliceRecord, s.bobRecord]) {
        const before = recordBytes(record);
        try {
          decryptMessage(ctx, record, input);
        } catch (e) {
          if (!protocolError(e)) throw e;
        } finally {
          if (recordBytes(record) !== before) throw new InvariantError('decryptMessage changed its input record');
        }
      }
    },
    expected: protocolError,
  },
  {
    name: 'prekey-message',
    modules: [`${P}/ratchet/message.ts`, `${P}/pqxdh.ts`, `${P}/session.ts`],
    structured: () => [protoArb(PreKeyMessageSchema)],
    run(input) {
      const s = session();
      try { parsePreKeyMessage(input); } catch (e) { if (!protocolError(e)) throw e; }
      const before = recordBytes(s.bobRecord);
      try {
        decryptPreKeyMessage(ctx, s.bobRecord, s.bob, s.keys, input);
      } finally {
        if (recordBytes(s.bobRecord) !== before) throw new InvariantError('decryptPreKeyMessage changed its input record');
      }
    },
    expected: protocolError,
  },
  {
    name: 'sealed-sender',
    modules: [`${P}/sealed-sender.ts`],
    structured: () => [
      // Envelopes that decrypt (sealed to the vector's recipient) around random certificates: the
      // certificate and content checks behind the AEAD run.
      fc.tuple(fc.oneof(signedCertificateArb(), protoArb(SenderCertificateSchema)), fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 64 }))
        .map(([cert, type, content]) => {
          const s = sealed();
          try { return sealSender(sealCtx, s.sender, s.recipient.publicKey, cert, type, content); } catch { return cert; }
        }),
    ],
    run(input) {
      const s = sealed();
      try { verifySenderCertificate(nodeCrypto, s.trusted, input, s.now); } catch (e) { if (!protocolError(e)) throw e; }
      return unsealSender(ctx, s.recipient, input, s.trusted, s.now);
    },
    expected: protocolError,
  },
  {
    name: 'session-record',
    modules: [`${P}/ratchet/session-record.ts`],
    structured: () => [protoArb(SessionRecordStructureSchema, (init) => ({ ...init, version: 1 })), protoArb(SessionRecordStructureSchema)],
    run(input) {
      const record = decodeSessionRecord(input);
      // What decodes must encode again (the store writes it back) ...
      const again = encodeSessionRecord(record);
      decodeSessionRecord(again);
      // ... and must be usable: a message against it is decrypted or refused with a typed error.
      try { decryptMessage(ctx, record, session().message); } catch (e) { if (!protocolError(e)) throw e; }
    },
    expected: protocolError,
  },
  {
    name: 'prekey-bundle',
    modules: [`${P}/bundle.ts`],
    structured: () => [protoArb(PreKeyBundleSchema)],
    run(input) {
      const bundle = decodePreKeyBundle(input);
      verifyPreKeyBundle(nodeCrypto, bundle);
    },
    expected: protocolError,
  },
  {
    name: 'prekey-records',
    modules: [`${P}/prekey-records.ts`],
    structured: () => [
      protoArb(SignedPreKeyRecordStructureSchema), protoArb(OneTimePreKeyRecordStructureSchema),
      protoArb(PqPreKeyRecordStructureSchema), protoArb(IdentityKeyPairStructureSchema),
    ],
    run(input) {
      for (const decode of [decodeSignedPreKeyRecord, decodeOneTimePreKeyRecord, decodePqPreKeyRecord, (b: Uint8Array) => decodeIdentityKeyPair(nodeCrypto, b)]) {
        try { decode(input); } catch (e) { if (!protocolError(e)) throw e; }
      }
    },
    expected: protocolError,
  },
  {
    name: 'group-entry',
    modules: [`${P}/group/membership.ts`],
    structured: () => [
      protoArb(GroupLogEntrySchema),
      // Entries signed by the group's creator on top of the genesis, with a random change: the
      // signature verifies, so the log's rules (permissions, bounds, revisions) are what is fuzzed.
      protoArb(GroupLogEntry_BodySchema, (init) => {
        const g = groups();
        return {
          ...init, version: 1, groupId: g.groupId, parent: g.genesisHash, revision: 1,
          authorAccountId: g.creatorAccount, authorIdentityKey: g.creator.publicKey,
        };
      }).map((body) => {
        const g = groups();
        const signature = nodeCrypto.ed25519Sign(g.creator.signing.privateKey, groupEntrySignedBytes(body));
        return toBinary(GroupLogEntrySchema, create(GroupLogEntrySchema, { body, signature }));
      }),
    ],
    run(input) {
      try { parseGroupEntry(input); } catch (e) { if (!protocolError(e)) throw e; }
      const log = GroupLog.open(ctx, [groups().genesis]);
      log.add(input);
      return log.state;
    },
    expected: protocolError,
  },
  {
    name: 'sender-key',
    modules: [`${P}/group/sender-key.ts`],
    structured: () => [protoArb(SenderKeyDistributionMessageSchema)],
    run(input) {
      const g = groups();
      try { processSenderKeyDistribution(ctx, input); } catch (e) { if (!protocolError(e)) throw e; }
      try { senderKeyMessageDistributionId(input); senderKeyMessageIteration(input); } catch (e) { if (!protocolError(e)) throw e; }
      const { record } = processSenderKeyDistribution(ctx, g.distribution);
      return senderKeyDecrypt(ctx, record, input);
    },
    expected: protocolError,
  },
  {
    name: 'multi-recipient',
    modules: [`${P}/group/multi-recipient.ts`],
    structured: () => [],
    run(input) {
      const { multi } = groups();
      return unsealMultiRecipient(ctx, multi.recipient, multi.header, input, multi.trusted, multi.now);
    },
    expected: protocolError,
  },
  {
    name: 'attachment',
    modules: [`${P}/attachment/cipher.ts`, `${P}/attachment/cobblestone.ts`],
    structured: () => [],
    run(input) {
      const { key } = attachments();
      try { checkAttachmentHeader(nodeCrypto, key, input.subarray(0, 56)); } catch (e) { if (!protocolError(e)) throw e; }
      try { decryptAttachmentChunk(nodeCrypto, key, input.length % 3, input.subarray(Math.min(56, input.length)), true); } catch (e) { if (!protocolError(e)) throw e; }
      const d = new AttachmentDecryptor(nodeCrypto, key);
      // Fed in two uneven pieces: the streaming buffer's edges.
      const cut = input.length === 0 ? 0 : (input[0]! * 131) % input.length;
      d.update(input.subarray(0, cut));
      d.update(input.subarray(cut));
      return d.finish();
    },
    expected: protocolError,
  },
  {
    name: 'attachment-pointer',
    modules: [`${C}/media/pointer.ts`],
    structured: () => [protoArb(DataMessageSchema)],
    run(input) {
      const list = decodeAttachments(input);
      // What a received DataMessage's pointers become (client.ts applies acceptPointers).
      let dm;
      try { dm = fromBinary(DataMessageSchema, input); } catch { return list; }
      return acceptPointers(dm.attachments);
    },
    expected: (e) => isA(e, 'ClientError'),
  },
  ...(['jpeg', 'png', 'gif', 'webp'] as const).map((format): FuzzTarget => ({
    name: `media-${format}`,
    modules: [`${C}/media/${format}.ts`, `${C}/media/source.ts`],
    structured: () => [],
    async run(input) {
      const strip = { jpeg: stripJpeg, png: stripPng, gif: stripGif, webp: stripWebp }[format];
      const r = await strip(bufferSource(input));
      checkPieces(r.pieces, input.length);
      if (format === 'jpeg') exifOrientation(input);
      return r;
    },
    expected: (e) => isA(e, 'MediaFormatError'),
  })),
  {
    name: 'media-duration',
    modules: [`${C}/media/duration.ts`, `${C}/media/sniff.ts`],
    structured: () => [],
    async run(input) {
      const mime = sniffMime(input.subarray(0, 64), 'input.bin');
      for (const m of new Set([mime, 'video/mp4', 'audio/ogg', 'audio/wav', 'video/webm'])) {
        const d = await probeDurationMs(bufferSource(input), m);
        if (d !== undefined && !(Number.isInteger(d) && d >= 0 && d <= 0xffffffff)) throw new InvariantError(`duration out of range: ${d}`);
      }
    },
    expected: (e) => isA(e, 'MediaFormatError'),
  },
  {
    name: 'contact-card',
    modules: [`${C}/ids.ts`, `${C}/provisioning.ts`],
    structured: () => [textArb('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz0189 -=', [26, 52, 77, 79, 0, 1, 8])],
    run(input) {
      const text = latin1(input);
      try { fromBase32(text); } catch (e) { if (!isA(e, 'ClientError')) throw e; }
      try { parseAccountId(text); } catch (e) { if (!isA(e, 'ClientError')) throw e; }
      try { parseLinkCode(text); } catch (e) { if (!isA(e, 'ClientError')) throw e; }
      const card = parseContactCard(text);
      if (card.accountId.length !== 16 || (card.accessKey && card.accessKey.length !== 16)) throw new InvariantError('contact card of the wrong size');
      return card;
    },
    expected: (e) => isA(e, 'ClientError'),
  },
  {
    // The organisation's CA certificate, identity certificates and CRLs, as the server relays them (trust.md §6.1).
    name: 'org-certificate',
    modules: [`${C}/org-trust/der.ts`, `${C}/org-trust/certificate.ts`],
    structured: () => {
      const v = vector('org-ca.json');
      const items = [v.caCertificate, v.identityCertificate, v.crl].map((h: string) => Uint8Array.from(Buffer.from(h, 'hex')));
      return [fc.tuple(fc.constantFrom(...items), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { maxLength: 4 }))
        .map(([base, edits]) => {
          let b = Uint8Array.from(base);
          for (const [at, byte, kind] of edits) {
            const i = at % Math.max(1, b.length);
            if (kind === 0) b[i] = byte;
            else if (kind === 1) b = Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)]);
            else b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]);
          }
          return b;
        })];
    },
    run(input) {
      const ca = verifyCaCertificate(nodeCrypto, Uint8Array.from(Buffer.from(vector('org-ca.json').caCertificate, 'hex')));
      try { verifyCaCertificate(nodeCrypto, input); } catch (e) { if (!isA(e, 'ClientError')) throw e; }
      try { verifyCrl(nodeCrypto, ca, input); } catch (e) { if (!isA(e, 'ClientError')) throw e; }
      return verifyIdentityCertificate(nodeCrypto, ca, input);
    },
    expected: (e) => isA(e, 'ClientError'),
  },
  {
    name: 'provisioning',
    modules: [`${C}/provisioning.ts`],
    structured: () => [protoArb(ProvisionMessageSchema).map((m) => {
      const s = sealed();
      return sealProvision(sealCtx, s.recipient.agreement.publicKey, m);
    })],
    run(input) {
      const s = sealed();
      const opened = openProvision(ctx, s.recipient.agreement, input);
      return opened;
    },
    expected: (e) => isA(e, 'ProtocolError', 'ClientError'),
  },
  {
    name: 'web-store-codec',
    modules: ['packages/client-web/src/codec.ts'],
    structured: () => [fc.jsonValue({ maxDepth: 4 }).map((v) => encodeValue(v))],
    // Contract (codec.ts): a damaged record is a RangeError, which the store's only caller
    // (decodeBucket) turns into StoreError STORE_CORRUPT; what decodes must encode again.
    run(input) {
      const v = decodeValue(input);
      encodeValue(v);
      return v;
    },
    expected: (e) => e instanceof RangeError,
  },
];

export function targetNamed(name: string): FuzzTarget {
  const t = targets.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target named ${name}; targets: ${targets.map((x) => x.name).join(', ')}`);
  return t;
}

/** Every input one target draws from: corpus mutations, structured messages, noise. */
export function targetInputs(t: FuzzTarget, pool: readonly Uint8Array[] = loadCorpus(t.name)): fc.Arbitrary<Uint8Array> {
  return inputArb(pool, t.structured());
}

