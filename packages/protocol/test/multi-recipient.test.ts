/**
 * Multi-recipient sealed sender (groups.md §5): one shared payload, a 32-byte
 * header per recipient account. Each recipient opens it with its own header
 * only; any changed byte, a header of someone else, an untrusted or expired
 * certificate is refused with a typed error. The whole group send path
 * (sender key → seal → unseal → sender key) runs end to end.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DecodeError, DecryptionError, ExpiredCertificateError, InvalidArgumentError, InvalidCertificateError, InvalidKeyError,
  UnsupportedVersionError,
  MULTI_RECIPIENT_HEADER_LENGTH, MULTI_RECIPIENT_OVERHEAD, SEALED_CONTENT_SENDER_KEY,
  concatBytes, createSenderKey, generateIdentityKeyPair, issueSenderCertificate, processSenderKeyDistribution, sealMultiRecipient, sealSender,
  senderKeyDecrypt, senderKeyEncrypt, senderKeyMessageDistributionId, unsealMultiRecipient,
  type IdentityKeyPair, type SealedSenderCache, type TrustedServerKey,
} from '../src/index.js';
import { SealedContentSchema, SenderCertificateSchema } from '../src/gen/sigilo/protocol/v1/wire_pb.js';
import { decodeProto, encodeProto } from '../src/proto.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { NOW, context, providers } from './support/fixtures.js';
import { bytesHex, containsBytes, dec, enc, expectOnlyProtocolErrors, expectThrows, expectThrowsOneOf } from './support/sessions.js';

const HOUR = 3_600_000;

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('multi-recipient sealed sender ($name)', ({ crypto }) => {
  const ctx = context(crypto, `multi/${crypto.name}`);
  const server = { keyId: 9, privateKey: ctx.random(32) };
  const trusted: TrustedServerKey[] = [{ keyId: 9, publicKey: crypto.ed25519PublicKey(server.privateKey) }];
  const sender = generateIdentityKeyPair(ctx);
  const senderAccount = new Uint8Array(16).fill(0x5e);
  const expires = NOW + HOUR;
  const certificate = issueSenderCertificate(crypto, server, { accountId: senderAccount, deviceId: 3, identityKey: sender.publicKey, expires });
  const recipients: IdentityKeyPair[] = Array.from({ length: 3 }, () => generateIdentityKeyPair(ctx));
  const keys = recipients.map((r) => r.publicKey);
  const content = enc('a sender-key message, opaque here');
  const seal = (recipientIdentityKeys = keys, c = content) =>
    sealMultiRecipient(ctx, { senderCertificate: certificate, contentType: SEALED_CONTENT_SENDER_KEY, content: c, recipientIdentityKeys });

  it.each([1, 3])('%i recipient(s): each opens the payload with its own header and sees the sender certificate', (n) => {
    const { shared, headers } = seal(keys.slice(0, n));
    expect(headers.length).toBe(n);
    headers.forEach((h, i) => {
      expect(h.length).toBe(MULTI_RECIPIENT_HEADER_LENGTH);
      const out = unsealMultiRecipient(ctx, recipients[i]!, h, shared, trusted, NOW);
      expect(bytesHex(out.content)).toBe(bytesHex(content));
      expect(out.contentType).toBe(SEALED_CONTENT_SENDER_KEY);
      expect(bytesHex(out.sender.accountId)).toBe(bytesHex(senderAccount));
      expect(out.sender.deviceId).toBe(3);
      expect(bytesHex(out.sender.identityKey)).toBe(bytesHex(sender.publicKey));
      expect(out.sender.expires).toBe(expires);
    });
    expect(new Set(headers.map(bytesHex)).size).toBe(n);
  });

  it('a header used with another identity, or another recipient\'s header, is DecryptionError', () => {
    const { shared, headers } = seal();
    const outsider = generateIdentityKeyPair(ctx);
    for (const h of headers) expectThrows(() => unsealMultiRecipient(ctx, outsider, h, shared, trusted, NOW), DecryptionError, 'outsider');
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[1]!, shared, trusted, NOW), DecryptionError, 'swapped headers');
    // The same header on another payload (same recipients, another message) opens nothing.
    const other = seal();
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, other.shared, trusted, NOW), DecryptionError, 'other payload');
  });

  it('every changed byte of the shared payload, and every flipped header bit, is refused', () => {
    const { shared, headers } = seal();
    for (let i = 0; i < shared.length; i++) {
      const bad = shared.slice();
      bad[i]! ^= 1 << (i % 8);
      expectThrowsOneOf(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, bad, trusted, NOW),
        [DecryptionError, DecodeError, UnsupportedVersionError, InvalidKeyError], `shared byte ${i}`);
    }
    for (let bit = 0; bit < MULTI_RECIPIENT_HEADER_LENGTH * 8; bit += crypto === nodeCrypto ? 1 : 7) {
      const bad = headers[0]!.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, bad, shared, trusted, NOW), DecryptionError, `header bit ${bit}`);
    }
    for (const n of [0, 1, 33, 64, 80]) {
      expectThrowsOneOf(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared.subarray(0, n), trusted, NOW),
        [DecodeError, DecryptionError], `shared cut to ${n}`);
    }
    for (const n of [0, 31, 33, 64]) {
      const h = new Uint8Array(n);
      h.set(headers[0]!.subarray(0, Math.min(n, 32)));
      expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, h, shared, trusted, NOW), DecodeError, `header of ${n} bytes`);
    }
    expect(bytesHex(unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, trusted, NOW).content)).toBe(bytesHex(content));
  });

  it('the certificate is checked like unsealSender: untrusted signer, unknown key id, expiry at `now`', () => {
    const { shared, headers } = seal();
    const rogue: TrustedServerKey[] = [{ keyId: 9, publicKey: crypto.ed25519PublicKey(ctx.random(32)) }];
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, rogue, NOW), InvalidCertificateError, 'rogue key');
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, [{ ...trusted[0]!, keyId: 10 }], NOW), InvalidCertificateError, 'unknown id');
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, trusted, expires), ExpiredCertificateError, 'expired');
    // The cache keeps verified certificates but still checks expiry each time.
    const cache: SealedSenderCache = { staticSecrets: new Map(), certificates: new Map() };
    unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, trusted, NOW, cache);
    expect(cache.certificates.size).toBe(1);
    expect(unsealMultiRecipient(ctx, recipients[1]!, headers[1]!, shared, trusted, NOW, cache).sender.deviceId).toBe(3);
    expectThrows(() => unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, trusted, expires + 1, cache), ExpiredCertificateError, 'expired, cached');
  });

  it('sizes: the header is 32 bytes (<= 64), the shared payload is the sealed content plus a constant', () => {
    const sizes = [0, 1, 100, 4000].map((n) => {
      const c = new Uint8Array(n).fill(1);
      const { shared, headers } = seal(keys, c);
      for (const h of headers) expect(h.length).toBeLessThanOrEqual(64);
      const inner = encodeProto(SealedContentSchema, {
        senderCertificate: decodeProto(SenderCertificateSchema, certificate, 'c'), contentType: SEALED_CONTENT_SENDER_KEY, content: c,
      });
      expect(shared.length).toBe(inner.length + MULTI_RECIPIENT_OVERHEAD);
      return shared.length - n;
    });
    // Content + certificate + protobuf framing of the content field (absent when empty, 2 to 3 bytes up to 16 KiB).
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(3);
    expect(MULTI_RECIPIENT_OVERHEAD).toBe(81);
    // The payload is the same whatever the number of recipients.
    expect(seal(keys.slice(0, 1)).shared.length).toBe(seal(keys).shared.length);
  });

  it('only sender-key content rides on it; 1:1 sealed sender still refuses type 3', () => {
    for (const contentType of [0, 1, 2, 4]) {
      expectThrows(() => sealMultiRecipient(ctx, { senderCertificate: certificate, contentType, content, recipientIdentityKeys: keys }), InvalidArgumentError, `type ${contentType}`);
    }
    expectThrows(() => sealSender(ctx, sender, recipients[0]!.publicKey, certificate, SEALED_CONTENT_SENDER_KEY, content), InvalidArgumentError, '1:1 type 3');
  });

  it('malformed recipient keys and arguments are refused before anything is drawn', () => {
    const low = new Uint8Array(64); // X25519 half = 0: a point of small order
    low.set(keys[0]!.subarray(0, 32));
    expectThrows(() => seal([keys[0]!, low]), InvalidKeyError, 'small-order key');
    const nonCanonical = keys[1]!.slice();
    nonCanonical[63]! |= 0x80;
    expectThrows(() => seal([nonCanonical]), InvalidKeyError, 'non-canonical key');
    expectThrows(() => seal([keys[0]!.subarray(0, 32)]), InvalidKeyError, 'short key');
    expectThrows(() => seal([]), InvalidArgumentError, 'no recipients');
    expectThrowsOneOf(() => sealMultiRecipient(ctx, { senderCertificate: new Uint8Array([0xff]), contentType: 3, content, recipientIdentityKeys: keys }),
      [DecodeError], 'bad certificate');
  });

  it('the full group path: sender-key message sealed once, every recipient opens and decrypts it, and the distribution id ties it to the sender', () => {
    const own = createSenderKey(ctx);
    const rxRecords = recipients.map(() => processSenderKeyDistribution(ctx, own.distribution).record);
    const sent = senderKeyEncrypt(ctx, own.record, enc('hello group'));
    const { shared, headers } = seal(keys, sent.message);
    expect(containsBytes(shared, enc('hello group'))).toBe(false);
    recipients.forEach((r, i) => {
      const opened = unsealMultiRecipient(ctx, r, headers[i]!, shared, trusted, NOW);
      expect(bytesHex(senderKeyMessageDistributionId(opened.content))).toBe(bytesHex(own.distributionId));
      expect(dec(senderKeyDecrypt(ctx, rxRecords[i]!, opened.content).plaintext)).toBe('hello group');
    });
  });

  it('does not modify its inputs', () => {
    const keysBefore = keys.map(bytesHex);
    const contentBefore = bytesHex(content);
    const { shared, headers } = seal();
    const sharedBefore = bytesHex(shared);
    const headerBefore = bytesHex(headers[0]!);
    unsealMultiRecipient(ctx, recipients[0]!, headers[0]!, shared, trusted, NOW);
    expect(keys.map(bytesHex)).toEqual(keysBefore);
    expect(bytesHex(content)).toBe(contentBefore);
    expect(bytesHex(shared)).toBe(sharedBefore);
    expect(bytesHex(headers[0]!)).toBe(headerBefore);
  });
});

describe('multi-recipient at scale and with hostile bytes', () => {
  const ctx = context(nodeCrypto, 'multi-scale');
  const server = { keyId: 1, privateKey: ctx.random(32) };
  const trusted: TrustedServerKey[] = [{ keyId: 1, publicKey: nodeCrypto.ed25519PublicKey(server.privateKey) }];
  const sender = generateIdentityKeyPair(ctx);
  const certificate = issueSenderCertificate(nodeCrypto, server, { accountId: new Uint8Array(16).fill(1), deviceId: 1, identityKey: sender.publicKey, expires: NOW + HOUR });

  it('1,000 recipients: every one opens the same content with its own header, and nobody with another\'s', () => {
    const recipients = Array.from({ length: 1000 }, () => generateIdentityKeyPair(ctx));
    const content = enc('to a thousand');
    const { shared, headers } = sealMultiRecipient(ctx, {
      senderCertificate: certificate, contentType: 3, content, recipientIdentityKeys: recipients.map((r) => r.publicKey),
    });
    expect(headers.length).toBe(1000);
    expect(new Set(headers.map(bytesHex)).size).toBe(1000);
    const cache: SealedSenderCache = { staticSecrets: new Map(), certificates: new Map() };
    recipients.forEach((r, i) => {
      expect(dec(unsealMultiRecipient(ctx, r, headers[i]!, shared, trusted, NOW, cache).content), `recipient ${i}`).toBe('to a thousand');
    });
    for (let i = 0; i < 1000; i += 97) {
      expectThrows(() => unsealMultiRecipient(ctx, recipients[(i + 1) % 1000]!, headers[i]!, shared, trusted, NOW, cache), DecryptionError, `neighbour ${i}`);
    }
  });

  it('random bytes and random edits into unseal give only typed errors', () => {
    const r = generateIdentityKeyPair(ctx);
    const { shared, headers } = sealMultiRecipient(ctx, { senderCertificate: certificate, contentType: 3, content: enc('x'), recipientIdentityKeys: [r.publicKey] });
    const edited = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const out = shared.slice();
      out[at % out.length] = v;
      return out;
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), edited), fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes, header) => {
      expectOnlyProtocolErrors(() => unsealMultiRecipient(ctx, r, header, bytes, trusted, NOW), 'random header');
      expectOnlyProtocolErrors(() => unsealMultiRecipient(ctx, r, headers[0]!, bytes, trusted, NOW), 'real header');
    }), { numRuns: 300 });
  });

  it('the formulas of groups.md §5 by hand; a payload carrying another content type or no certificate is refused', () => {
    const r = generateIdentityKeyPair(ctx);
    const ePriv = ctx.random(32);
    const secret = ctx.random(32);
    const draws = [ePriv, secret];
    const fixed = { crypto: nodeCrypto, random: (n: number) => { const d = draws.shift()!; expect(d.length).toBe(n); return d.slice(); } };
    const { shared, headers } = sealMultiRecipient(fixed, { senderCertificate: certificate, contentType: 3, content: enc('x'), recipientIdentityKeys: [r.publicKey] });
    const ePub = nodeCrypto.x25519PublicKey(ePriv);
    expect(bytesHex(shared.subarray(0, 33))).toBe('01' + bytesHex(ePub));
    const z = nodeCrypto.x25519(ePriv, r.publicKey.subarray(32));
    const pad = nodeCrypto.sha256(concatBytes(Uint8Array.of(0, 0, 0, 1), z, enc('Sigilo_MultiRecipient_Header_v1'), ePub, r.publicKey));
    expect(bytesHex(headers[0]!.map((b, i) => b ^ pad[i]!))).toBe(bytesHex(secret));
    const kc = nodeCrypto.hkdfSha256(secret, new Uint8Array(32), enc('Sigilo_MultiRecipient_Content_v1'), 64);
    expect(bytesHex(shared.subarray(33, 65))).toBe(bytesHex(kc.subarray(32)));
    const prefix = shared.subarray(0, 65);
    const inner = decodeProto(SealedContentSchema, nodeCrypto.aes256GcmDecrypt(kc.subarray(0, 32), new Uint8Array(12), shared.subarray(65), prefix), 'inner');
    expect(inner.contentType).toBe(3);
    const reseal = (init: Parameters<typeof encodeProto<typeof SealedContentSchema>>[1]) =>
      concatBytes(prefix, nodeCrypto.aes256GcmEncrypt(kc.subarray(0, 32), new Uint8Array(12), encodeProto(SealedContentSchema, init), prefix));
    expect(dec(unsealMultiRecipient(ctx, r, headers[0]!, reseal({ senderCertificate: inner.senderCertificate, contentType: 3, content: enc('y') }), trusted, NOW).content)).toBe('y');
    for (const contentType of [0, 1, 2, 4]) {
      expectThrows(() => unsealMultiRecipient(ctx, r, headers[0]!, reseal({ senderCertificate: inner.senderCertificate, contentType, content: enc('x') }), trusted, NOW), DecodeError, `type ${contentType}`);
    }
    expectThrows(() => unsealMultiRecipient(ctx, r, headers[0]!, reseal({ contentType: 3, content: enc('x') }), trusted, NOW), InvalidCertificateError, 'no certificate');
  });
});

// ---------------------------------------------------------------- key commitment
// AES-GCM is not key-committing: one ciphertext can authenticate under two keys.
// GF(2^128) as GCM uses it (NIST SP 800-38D, bit 0 = most significant bit of byte 0).
const R = 0xe1n << 120n;
const toBig = (b: Uint8Array) => BigInt('0x' + (bytesHex(b) || '0'));
const fromBig = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(32, '0'), 'hex'));
function gmul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}
function gpow(x: bigint, e: bigint): bigint {
  let r = 1n << 127n; // the field's 1
  for (let b = x; e > 0n; e >>= 1n, b = gmul(b, b)) if (e & 1n) r = gmul(r, b);
  return r;
}
const ginv = (x: bigint) => gpow(x, (1n << 128n) - 2n);
const blocks = (b: Uint8Array) => Array.from({ length: Math.ceil(b.length / 16) }, (_, i) => {
  const out = new Uint8Array(16);
  out.set(b.subarray(i * 16, i * 16 + 16));
  return toBig(out);
});
const aesBlock = (key: Uint8Array, block: Uint8Array) => {
  const c = createCipheriv('aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
};
const counter = (i: number) => {
  const j = new Uint8Array(16);
  new DataView(j.buffer).setUint32(12, i); // nonce 0^12 || u32be(i)
  return j;
};

/**
 * A ciphertext of `plaintext` under k1 that also authenticates under k2 (same
 * nonce 0^12 and ad): block `free` of the plaintext is sacrificed to make the
 * two GHASH tags equal.
 */
function collidingCiphertext(k1: Uint8Array, k2: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, free: number): Uint8Array {
  const ct = plaintext.slice();
  for (let i = 0; i < ct.length; i += 16) {
    const ks = aesBlock(k1, counter(2 + i / 16));
    for (let j = i; j < Math.min(i + 16, ct.length); j++) ct[j]! ^= ks[j - i]!;
  }
  ct.fill(0, free * 16, free * 16 + 16);
  const h1 = toBig(aesBlock(k1, new Uint8Array(16)));
  const h2 = toBig(aesBlock(k2, new Uint8Array(16)));
  const lengths = new Uint8Array(16);
  new DataView(lengths.buffer).setBigUint64(0, BigInt(ad.length * 8));
  new DataView(lengths.buffer).setBigUint64(8, BigInt(ct.length * 8));
  const all = [...blocks(ad), ...blocks(ct), toBig(lengths)];
  const ghash = (h: bigint) => all.reduce((x, b) => gmul(x ^ b, h), 0n);
  const e1 = toBig(aesBlock(k1, counter(1)));
  const e2 = toBig(aesBlock(k2, counter(1)));
  const index = blocks(ad).length + free;          // position of the free block among all blocks
  const power = BigInt(all.length - index);         // its coefficient is H^power
  const diff = ghash(h1) ^ e1 ^ ghash(h2) ^ e2;
  const coefficient = gpow(h1, power) ^ gpow(h2, power);
  ct.set(fromBig(gmul(diff, ginv(coefficient))), free * 16);
  all[index] = toBig(ct.subarray(free * 16, free * 16 + 16));
  const tag = fromBig(ghash(h1) ^ e1);
  return concatBytes(ct, tag);
}

describe('multi-recipient key commitment', () => {
  it('a payload that AES-GCM accepts under two message secrets opens for one recipient only: everyone reads the same content', () => {
    const crypto = nodeCrypto;
    const ctx = context(crypto, 'commitment');
    const server = { keyId: 1, privateKey: ctx.random(32) };
    const trusted: TrustedServerKey[] = [{ keyId: 1, publicKey: crypto.ed25519PublicKey(server.privateKey) }];
    const sender = generateIdentityKeyPair(ctx);
    const certificate = issueSenderCertificate(crypto, server, { accountId: new Uint8Array(16).fill(2), deviceId: 1, identityKey: sender.publicKey, expires: NOW + HOUR });
    const [r1, r2] = [generateIdentityKeyPair(ctx), generateIdentityKeyPair(ctx)];
    // A malicious sender picks E and two message secrets, one per recipient.
    const ePriv = ctx.random(32);
    const ePub = crypto.x25519PublicKey(ePriv);
    const [m1, m2] = [ctx.random(32), ctx.random(32)];
    const keysOf = (m: Uint8Array) => crypto.hkdfSha256(m, new Uint8Array(32), enc('Sigilo_MultiRecipient_Content_v1'), 64);
    const [kc1, kc2] = [keysOf(m1), keysOf(m2)];
    const prefix = concatBytes(Uint8Array.of(1), ePub, kc1.subarray(32));
    const inner = encodeProto(SealedContentSchema, {
      senderCertificate: decodeProto(SenderCertificateSchema, certificate, 'c'), contentType: 3, content: new Uint8Array(64).fill(0x42),
    });
    const free = Math.floor(inner.length / 16) - 2; // a block inside the opaque content
    const body = collidingCiphertext(kc1.subarray(0, 32), kc2.subarray(0, 32), prefix, inner, free);
    // The construction works: AES-GCM authenticates the same bytes under both keys.
    expect(() => crypto.aes256GcmDecrypt(kc1.subarray(0, 32), new Uint8Array(12), body, prefix)).not.toThrow();
    expect(() => crypto.aes256GcmDecrypt(kc2.subarray(0, 32), new Uint8Array(12), body, prefix)).not.toThrow();
    const header = (r: IdentityKeyPair, m: Uint8Array) => {
      const pad = crypto.sha256(concatBytes(Uint8Array.of(0, 0, 0, 1), crypto.x25519(ePriv, r.publicKey.subarray(32)), enc('Sigilo_MultiRecipient_Header_v1'), ePub, r.publicKey));
      return pad.map((b, i) => b ^ m[i]!);
    };
    const shared = concatBytes(prefix, body);
    const opened = unsealMultiRecipient(ctx, r1, header(r1, m1), shared, trusted, NOW);
    expect(opened.content.length).toBe(64);
    // Only the commitment stops the second recipient from reading something else out of the same payload.
    expectThrows(() => unsealMultiRecipient(ctx, r2, header(r2, m2), shared, trusted, NOW), DecryptionError, 'second secret');
  });
});
