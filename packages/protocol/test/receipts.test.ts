/**
 * Signed read receipts (spec/receipts.md): creation and verification, forged,
 * replayed and re-targeted receipts, the offline export file, and the frozen
 * vector spec/vectors/receipts.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createSignedReadReceipt, verifySignedReadReceipt, encodeSignedReadReceipt, decodeSignedReadReceipt, messageDigest, readReceiptPayload,
  directConversationId, exportMessageReceipts, verifyReceiptExport, generateIdentityKeyPair, identityKeyPairFromPrivate, fromHex, toHex,
  InvalidSignatureError, ReceiptMismatchError, DecodeError, InvalidArgumentError, UnsupportedVersionError,
  type CryptoProvider, type ConversationRef, type ReceiptedMessage, type SignedReadReceipt,
} from '../src/index.js';
import { providers, seededRandom } from './support/fixtures.js';

function world(crypto: CryptoProvider) {
  const ctx = { crypto, random: seededRandom('receipts') };
  const alice = { accountId: ctx.random(16), identity: generateIdentityKeyPair(ctx) };
  const bob = { accountId: ctx.random(16), identity: generateIdentityKeyPair(ctx) };
  const carol = { accountId: ctx.random(16), identity: generateIdentityKeyPair(ctx) };
  const conversation: ConversationRef = { kind: 'direct', id: directConversationId(crypto, alice.accountId, bob.accountId) };
  const message: ReceiptedMessage = {
    messageId: ctx.random(16), timestamp: 1_767_225_600_000, senderAccountId: alice.accountId, senderIdentityKey: alice.identity.publicKey,
    text: 'Please read the attached contract.', attachmentDigests: [ctx.random(32)],
  };
  const digest = messageDigest(crypto, message);
  const receipt = createSignedReadReceipt(crypto, bob, conversation, message, 1_767_225_660_000);
  const expected = { conversation, messageDigest: digest, readerAccountId: bob.accountId, readerIdentityKey: bob.identity.publicKey };
  return { ctx, alice, bob, carol, conversation, message, digest, receipt, expected };
}

describe.each(providers)('signed read receipts with the $name provider', (crypto) => {
  it('a receipt verifies for its conversation, message and reader, also after the wire encoding', () => {
    const w = world(crypto);
    expect(verifySignedReadReceipt(crypto, w.receipt, w.expected)).toBe(w.receipt);
    const decoded = decodeSignedReadReceipt(encodeSignedReadReceipt(w.receipt));
    expect(verifySignedReadReceipt(crypto, decoded, w.expected).readAt).toBe(1_767_225_660_000);
    expect(toHex(decoded.messageDigest)).toBe(toHex(w.digest));
  });

  it('the conversation id of two accounts is the same in either order', () => {
    const w = world(crypto);
    expect(toHex(directConversationId(crypto, w.bob.accountId, w.alice.accountId))).toBe(toHex(w.conversation.id));
    expect(toHex(directConversationId(crypto, w.bob.accountId, w.carol.accountId))).not.toBe(toHex(w.conversation.id));
  });

  it('the digest covers every field of the message', () => {
    const w = world(crypto);
    const base = toHex(w.digest);
    const variants: ReceiptedMessage[] = [
      { ...w.message, text: w.message.text + ' ' },
      { ...w.message, timestamp: w.message.timestamp + 1 },
      { ...w.message, messageId: new Uint8Array(16) },
      { ...w.message, senderAccountId: w.carol.accountId },
      { ...w.message, senderIdentityKey: w.carol.identity.publicKey },
      { ...w.message, attachmentDigests: [] },
      { ...w.message, attachmentDigests: [...w.message.attachmentDigests, new Uint8Array(32)] },
    ];
    for (const v of variants) expect(toHex(messageDigest(crypto, v))).not.toBe(base);
    // Text and attachment boundaries are length-prefixed: moving bytes between them changes the digest.
    expect(toHex(messageDigest(crypto, { ...w.message, text: 'ab', attachmentDigests: [] })))
      .not.toBe(toHex(messageDigest(crypto, { ...w.message, text: 'a', attachmentDigests: [] })));
  });

  it('a forged receipt (any signed field altered, or a wrong signature) is refused', () => {
    const w = world(crypto);
    const forged: SignedReadReceipt[] = [
      { ...w.receipt, readAt: w.receipt.readAt + 1 },
      { ...w.receipt, signature: w.receipt.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) },
      { ...w.receipt, readerAccountId: w.carol.accountId },
      // Signed by Carol but claiming Bob's identity.
      { ...createSignedReadReceipt(crypto, w.carol, w.conversation, w.message, w.receipt.readAt), readerIdentityKey: w.bob.identity.publicKey, readerAccountId: w.bob.accountId },
    ];
    for (const r of forged) expect(() => verifySignedReadReceipt(crypto, r, w.expected)).toThrow(InvalidSignatureError);
  });

  it('a genuine receipt replayed for another message or conversation is refused', () => {
    const w = world(crypto);
    const other: ReceiptedMessage = { ...w.message, messageId: w.ctx.random(16), text: 'another message' };
    expect(() => verifySignedReadReceipt(crypto, w.receipt, { ...w.expected, messageDigest: messageDigest(crypto, other) })).toThrow(ReceiptMismatchError);
    const group: ConversationRef = { kind: 'group', id: w.conversation.id };
    expect(() => verifySignedReadReceipt(crypto, w.receipt, { ...w.expected, conversation: group })).toThrow(ReceiptMismatchError);
    expect(() => verifySignedReadReceipt(crypto, w.receipt, { ...w.expected, conversation: { kind: 'direct', id: new Uint8Array(32) } })).toThrow(ReceiptMismatchError);
    // Relabelling the receipt itself breaks its signature.
    expect(() => verifySignedReadReceipt(crypto, { ...w.receipt, messageDigest: messageDigest(crypto, other) }, { ...w.expected, messageDigest: messageDigest(crypto, other) }))
      .toThrow(InvalidSignatureError);
  });

  it('a receipt re-targeted to another reader is refused', () => {
    const w = world(crypto);
    // Carol's genuine receipt for the same message, presented as coming from Bob.
    const carols = createSignedReadReceipt(crypto, w.carol, w.conversation, w.message, w.receipt.readAt);
    expect(() => verifySignedReadReceipt(crypto, carols, w.expected)).toThrow(ReceiptMismatchError);
    // Bob's receipt checked as Carol's.
    expect(() => verifySignedReadReceipt(crypto, w.receipt, { ...w.expected, readerIdentityKey: w.carol.identity.publicKey, readerAccountId: w.carol.accountId }))
      .toThrow(ReceiptMismatchError);
    expect(() => verifySignedReadReceipt(crypto, w.receipt, { ...w.expected, readerAccountId: w.carol.accountId })).toThrow(ReceiptMismatchError);
  });

  it('a receipt cannot be made without the message content: the digest of what was not read does not match', () => {
    const w = world(crypto);
    // A device that got only the message id (never decrypted the content) cannot compute the digest.
    const guessed = createSignedReadReceipt(crypto, w.bob, w.conversation, { ...w.message, text: '' }, w.receipt.readAt);
    expect(() => verifySignedReadReceipt(crypto, guessed, w.expected)).toThrow(ReceiptMismatchError);
  });

  it('malformed inputs are refused with typed errors', () => {
    const w = world(crypto);
    expect(() => messageDigest(crypto, { ...w.message, messageId: new Uint8Array(15) })).toThrow(InvalidArgumentError);
    expect(() => messageDigest(crypto, { ...w.message, timestamp: -1 })).toThrow(InvalidArgumentError);
    expect(() => readReceiptPayload({ ...w.receipt, conversation: { kind: 'direct', id: new Uint8Array(31) } })).toThrow(InvalidArgumentError);
    expect(() => decodeSignedReadReceipt(new Uint8Array([0xff]))).toThrow(DecodeError);
    const bytes = encodeSignedReadReceipt(w.receipt);
    expect(() => decodeSignedReadReceipt(bytes.subarray(0, bytes.length - 10))).toThrow(DecodeError);
    expect(() => decodeSignedReadReceipt(new Uint8Array([8, 2, ...bytes.subarray(2)]))).toThrow(UnsupportedVersionError);
  });

  it('the export file verifies offline and lists its readers', () => {
    const w = world(crypto);
    const carols = createSignedReadReceipt(crypto, w.carol, w.conversation, w.message, w.receipt.readAt + 5);
    const file = exportMessageReceipts(crypto, w.conversation, w.message, [w.receipt, carols]);
    const checked = verifyReceiptExport(crypto, file);
    expect(checked.message.text).toBe(w.message.text);
    expect(checked.receipts.map((r) => toHex(r.readerIdentityKey))).toEqual([toHex(w.bob.identity.publicKey), toHex(w.carol.identity.publicKey)]);
    expect(toHex(checked.digest)).toBe(toHex(w.digest));
  });

  it('an export file with an altered message, receipt or conversation is refused', () => {
    const w = world(crypto);
    const file = exportMessageReceipts(crypto, w.conversation, w.message, [w.receipt]);
    const j = () => JSON.parse(file);
    const alter = (f: (x: ReturnType<typeof j>) => void) => { const x = j(); f(x); return JSON.stringify(x); };
    // The text changed: it no longer matches the digest.
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.message.text = 'I never agreed'; }))).toThrow(ReceiptMismatchError);
    // Text and digest changed together: the receipt was not signed over that digest.
    expect(() => verifyReceiptExport(crypto, alter((x) => {
      x.message.text = 'I never agreed';
      x.digest = toHex(messageDigest(crypto, { ...w.message, text: 'I never agreed' }));
    }))).toThrow(/receipt 0 does not verify/);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.conversation.kind = 'group'; }))).toThrow(InvalidSignatureError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.receipts[0].readAt += 1; }))).toThrow(InvalidSignatureError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.receipts[0].readerIdentityKey = toHex(w.carol.identity.publicKey); }))).toThrow(InvalidSignatureError);
    // A receipt from another message's file moved into this one.
    const other: ReceiptedMessage = { ...w.message, messageId: new Uint8Array(16).fill(9) };
    const foreign = createSignedReadReceipt(crypto, w.bob, w.conversation, other, 1);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.receipts.push({ readerAccountId: toHex(w.bob.accountId), readerIdentityKey: toHex(w.bob.identity.publicKey), readAt: 1, signature: toHex(foreign.signature) }); })))
      .toThrow(/receipt 1 does not verify/);
    // Malformed files.
    expect(() => verifyReceiptExport(crypto, 'not json')).toThrow(DecodeError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.extra = 1; }))).toThrow(DecodeError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.type = 'other'; }))).toThrow(DecodeError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.version = 2; }))).toThrow(UnsupportedVersionError);
    expect(() => verifyReceiptExport(crypto, alter((x) => { x.receipts[0].signature = 'zz'; }))).toThrow(DecodeError);
    // Exporting refuses a receipt that does not belong to the message.
    expect(() => exportMessageReceipts(crypto, w.conversation, other, [w.receipt])).toThrow(ReceiptMismatchError);
  });

  it('spec/vectors/receipts.json: digest, payload, signature, encoding and export file', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const v: any = JSON.parse(readFileSync(new URL('../../../spec/vectors/receipts.json', import.meta.url), 'utf8'));
    const reader = identityKeyPairFromPrivate(crypto, fromHex(v.reader.identitySigningSeed), fromHex(v.reader.identityAgreementPrivate));
    const sender = identityKeyPairFromPrivate(crypto, fromHex(v.sender.identitySigningSeed), fromHex(v.sender.identityAgreementPrivate));
    expect(toHex(reader.publicKey)).toBe(v.reader.identityPublic);
    const conversation: ConversationRef = { kind: v.conversation.kind, id: fromHex(v.conversation.id) };
    expect(toHex(directConversationId(crypto, fromHex(v.sender.accountId), fromHex(v.reader.accountId)))).toBe(v.conversation.id);
    const message: ReceiptedMessage = {
      messageId: fromHex(v.message.id), timestamp: v.message.timestamp, senderAccountId: fromHex(v.sender.accountId), senderIdentityKey: sender.publicKey,
      text: v.message.text, attachmentDigests: v.message.attachmentDigests.map(fromHex),
    };
    expect(toHex(messageDigest(crypto, message))).toBe(v.digest);
    const receipt = createSignedReadReceipt(crypto, { accountId: fromHex(v.reader.accountId), identity: reader }, conversation, message, v.readAt);
    expect(toHex(readReceiptPayload(receipt))).toBe(v.payload);
    expect(toHex(receipt.signature)).toBe(v.signature);
    expect(toHex(encodeSignedReadReceipt(receipt))).toBe(v.encoded);
    expect(exportMessageReceipts(crypto, conversation, message, [receipt])).toBe(v.exportFile);
    expect(verifyReceiptExport(crypto, v.exportFile).receipts).toHaveLength(1);
  });
});
