/**
 * Sealed sender (protocol.md §6): the relay sees only the recipient. The
 * recipient verifies the server-issued certificate (signature by a trusted key,
 * expiry), that the certificate names the identity that sealed the envelope,
 * and that it matches the session the content decrypts with.
 */
import { describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import {
  DecodeError, DecryptionError, ExpiredCertificateError, InvalidArgumentError, InvalidCertificateError, InvalidKeyError,
  SenderMismatchError, UnsupportedVersionError,
  assertSenderMatchesSession, bytesEqual, concatBytes, decryptMessage, decryptPreKeyMessage, encryptMessage,
  initiateSession, issueSenderCertificate, parsePreKeyMessage, sealSender, sessionRemoteIdentity, unsealSender, unsealSenderAsync, utf8, verifySenderCertificate,
  type SealedSenderCache, type TrustedServerKey,
} from '../src/index.js';
import { SealedSenderEnvelopeSchema, SenderCertificate_BodySchema, SenderCertificateSchema } from '../src/gen/sigilo/protocol/v1/wire_pb.js';
import { encodeProto } from '../src/proto.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import { NOW, bundleOf, context, makeParty, providers, responderKeys } from './support/fixtures.js';
import { bytesHex, containsBytes, dec, enc, establish, expectThrows, expectThrowsOneOf, flipBit } from './support/sessions.js';

const HOUR = 3_600_000;

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('sealed sender ($name)', ({ crypto }) => {
  const ctx = context(crypto, `sealed/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const carol = makeParty(ctx);
  const mallory = makeParty(ctx);
  const server = { keyId: 3, privateKey: ctx.random(32) };
  const rogue = { keyId: 3, privateKey: ctx.random(32) }; // same id, other key
  const trusted: TrustedServerKey[] = [{ keyId: server.keyId, publicKey: crypto.ed25519PublicKey(server.privateKey) }];
  const aliceAccount = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const expires = NOW + HOUR;
  const aliceCert = issueSenderCertificate(crypto, server, { accountId: aliceAccount, deviceId: 2, identityKey: alice.identity.publicKey, expires });

  /** Alice's certificate with its body replaced after signing (the signature kept). */
  function withBody(change: Record<string, unknown>): Uint8Array {
    const outer = fromBinary(SenderCertificateSchema, aliceCert);
    const body = fromBinary(SenderCertificate_BodySchema, outer.certificate);
    return encodeProto(SenderCertificateSchema, { certificate: encodeProto(SenderCertificate_BodySchema, { ...body, ...change }), signature: outer.signature });
  }

  describe('round trip', () => {
    it('a prekey message, then a ratchet message: sender, content and session all agree', () => {
      let a = initiateSession(ctx, alice.identity, bundleOf(bob));
      const first = encryptMessage(ctx, a, enc('sealed prekey message'));
      a = first.record;
      const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 2, first.message);
      const opened = unsealSender(ctx, bob.identity, envelope, trusted, NOW);
      expect(bytesHex(opened.sender.accountId)).toBe(bytesHex(aliceAccount));
      expect(opened.sender.deviceId).toBe(2);
      expect(bytesHex(opened.sender.identityKey)).toBe(bytesHex(alice.identity.publicKey));
      expect(opened.sender.expires).toBe(expires);
      expect(opened.sender.signerKeyId).toBe(server.keyId);
      expect(opened.contentType).toBe(2);
      expect(bytesHex(opened.content)).toBe(bytesHex(first.message));
      const got = decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, parsePreKeyMessage(opened.content)), opened.content);
      expect(dec(got.plaintext)).toBe('sealed prekey message');
      expect(() => assertSenderMatchesSession(opened.sender, got.remoteIdentity)).not.toThrow();
      let b = got.record;
      const reply = encryptMessage(ctx, b, enc('reply'));
      b = reply.record;
      a = decryptMessage(ctx, a, reply.message).record;

      const m = encryptMessage(ctx, a, enc('sealed ratchet message'));
      const env2 = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, m.message);
      const open2 = unsealSender(ctx, bob.identity, env2, trusted, NOW);
      const d = decryptMessage(ctx, b, open2.content);
      expect(dec(d.plaintext)).toBe('sealed ratchet message');
      expect(() => assertSenderMatchesSession(open2.sender, sessionRemoteIdentity(d.record))).not.toThrow();
    });

    it('content types other than ratchet (1) and prekey (2) are refused on both ends', () => {
      for (const type of [0, 3, 77]) {
        expectThrows(() => sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, type, new Uint8Array(1)), InvalidArgumentError, `seal type ${type}`);
      }
    });

    it('empty and large content of both content types', () => {
      for (const [type, content] of [[1, new Uint8Array(0)], [2, new Uint8Array(70_000).fill(9)]] as const) {
        const opened = unsealSender(ctx, bob.identity, sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, type, content), trusted, NOW);
        expect(opened.contentType).toBe(type);
        expect(opened.content.length).toBe(content.length);
        expect(bytesEqual(opened.content, content)).toBe(true);
      }
    });

    it('the trusted list may hold several server keys (rotation)', () => {
      const next = { keyId: 4, privateKey: ctx.random(32) };
      const both = [...trusted, { keyId: next.keyId, publicKey: crypto.ed25519PublicKey(next.privateKey) }];
      const cert = issueSenderCertificate(crypto, next, { accountId: aliceAccount, deviceId: 2, identityKey: alice.identity.publicKey, expires });
      expect(verifySenderCertificate(crypto, both, cert, NOW).signerKeyId).toBe(4);
      expectThrows(() => verifySenderCertificate(crypto, trusted, cert, NOW), InvalidCertificateError);
    });
  });

  describe('certificate expiry', () => {
    it('valid until `expires`, refused from then on', () => {
      expect(verifySenderCertificate(crypto, trusted, aliceCert, expires - 1).expires).toBe(expires);
      expectThrows(() => verifySenderCertificate(crypto, trusted, aliceCert, expires), ExpiredCertificateError);
      expectThrows(() => verifySenderCertificate(crypto, trusted, aliceCert, expires + 1), ExpiredCertificateError);
      const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, enc('x'));
      expect(dec(unsealSender(ctx, bob.identity, envelope, trusted, expires - 1).content)).toBe('x');
      expectThrows(() => unsealSender(ctx, bob.identity, envelope, trusted, expires), ExpiredCertificateError);
    });
  });

  describe('forged certificates → InvalidCertificateError', () => {
    const forgeries: [string, () => Uint8Array][] = [
      ['signed by another key under the trusted key id', () => issueSenderCertificate(crypto, rogue, { accountId: aliceAccount, deviceId: 2, identityKey: alice.identity.publicKey, expires })],
      ['unknown signer key id', () => issueSenderCertificate(crypto, { ...server, keyId: 99 }, { accountId: aliceAccount, deviceId: 2, identityKey: alice.identity.publicKey, expires })],
      ['body changed after signing: expiry', () => withBody({ expires: BigInt(expires + 365 * 24 * HOUR) })],
      ['body changed after signing: identity', () => withBody({ identityKey: mallory.identity.publicKey })],
      ['body changed after signing: account', () => withBody({ accountId: new Uint8Array(16) })],
      ['body changed after signing: device', () => withBody({ deviceId: 3 })],
      ['body changed after signing: signer id', () => withBody({ signerKeyId: 4 })],
      ['signature flipped', () => {
        const outer = fromBinary(SenderCertificateSchema, aliceCert);
        return encodeProto(SenderCertificateSchema, { certificate: outer.certificate, signature: flipBit(outer.signature, 10, 2) });
      }],
      ['signature over the body without the label', () => {
        const outer = fromBinary(SenderCertificateSchema, aliceCert);
        return encodeProto(SenderCertificateSchema, { certificate: outer.certificate, signature: crypto.ed25519Sign(server.privateKey, outer.certificate) });
      }],
      ['validly signed but malformed fields', () => {
        const body = encodeProto(SenderCertificate_BodySchema, { accountId: new Uint8Array(15), deviceId: 2, identityKey: alice.identity.publicKey, expires: BigInt(expires), signerKeyId: server.keyId });
        return encodeProto(SenderCertificateSchema, { certificate: body, signature: crypto.ed25519Sign(server.privateKey, concatBytes(utf8('Sigilo-SenderCertificate-v1'), body)) });
      }],
    ];
    for (const [name, make] of forgeries) {
      it(name, () => {
        const cert = make();
        expectThrows(() => verifySenderCertificate(crypto, trusted, cert, NOW), InvalidCertificateError, 'verify');
        // Sealed by Alice herself with the forged certificate: the recipient still refuses it.
        const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, cert, 1, enc('x'));
        expectThrows(() => unsealSender(ctx, bob.identity, envelope, trusted, NOW), InvalidCertificateError, 'unseal');
      });
    }

    it('the control: the genuine certificate verifies with the same trusted list', () => {
      expect(bytesHex(verifySenderCertificate(crypto, trusted, aliceCert, NOW).identityKey)).toBe(bytesHex(alice.identity.publicKey));
      expect(() => verifySenderCertificate(crypto, [], aliceCert, NOW)).toThrow(InvalidCertificateError);
    });
  });

  describe('sender identity', () => {
    it('a certificate whose identity is not the sealing identity → SenderMismatchError', () => {
      const envelope = sealSender(ctx, mallory.identity, bob.identity.publicKey, aliceCert, 1, enc('it is me, Alice'));
      expectThrows(() => unsealSender(ctx, bob.identity, envelope, trusted, NOW), SenderMismatchError);
    });

    it('claiming another identity without its private key fails the second layer → DecryptionError', () => {
      const impostor = { ...mallory.identity, publicKey: alice.identity.publicKey };
      const envelope = sealSender(ctx, impostor, bob.identity.publicKey, aliceCert, 1, enc('it is me, Alice'));
      expectThrows(() => unsealSender(ctx, bob.identity, envelope, trusted, NOW), DecryptionError);
    });

    it('assertSenderMatchesSession: the certificate must name the session\'s peer', () => {
      const { b } = establish(ctx, alice, bob);
      const sender = verifySenderCertificate(crypto, trusted, aliceCert, NOW);
      expect(() => assertSenderMatchesSession(sender, sessionRemoteIdentity(b))).not.toThrow();
      const { b: withCarol } = establish(ctx, carol, bob);
      expectThrows(() => assertSenderMatchesSession(sender, sessionRemoteIdentity(withCarol)), SenderMismatchError);
      expectThrows(() => assertSenderMatchesSession(sender, undefined), SenderMismatchError);
      expectThrows(() => assertSenderMatchesSession(sender, flipBit(alice.identity.publicKey, 3, 0)), SenderMismatchError);
    });
  });

  describe('the envelope', () => {
    const content = enc('the content');
    const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, content);

    it('is opened only by its recipient → DecryptionError for anyone else', () => {
      expectThrows(() => unsealSender(ctx, carol.identity, envelope, trusted, NOW), DecryptionError);
      expectThrows(() => unsealSender(ctx, alice.identity, envelope, trusted, NOW), DecryptionError);
    });

    it('a flipped byte anywhere gives a typed error', () => {
      const original = fromBinary(SealedSenderEnvelopeSchema, envelope);
      const seen = new Set<string>();
      let sameEnvelope = 0;
      for (let i = 0; i < envelope.length; i++) {
        for (const bit of crypto.name === 'node' ? [i % 8, (i + 3) % 8] : [i % 8]) {
          const tampered = flipBit(envelope, i, bit);
          try {
            const p = fromBinary(SealedSenderEnvelopeSchema, tampered);
            if (p.version === original.version && bytesEqual(p.ephemeralKey, original.ephemeralKey)
              && bytesEqual(p.encryptedStatic, original.encryptedStatic) && bytesEqual(p.encryptedContent, original.encryptedContent)) {
              sameEnvelope++; // a wire-type bit of a tag: another encoding of the same envelope
              continue;
            }
          } catch { /* not even protobuf: must be a DecodeError below */ }
          const cls = expectThrowsOneOf(() => unsealSender(ctx, bob.identity, tampered, trusted, NOW),
            [DecodeError, UnsupportedVersionError, DecryptionError, InvalidKeyError], `byte ${i} bit ${bit}`);
          seen.add(cls.name);
        }
      }
      expect(sameEnvelope).toBeLessThan(8);
      expect([...seen]).toEqual(expect.arrayContaining(['DecodeError', 'DecryptionError']));
    });

    it('does not carry the sender\'s identity, account or certificate in clear', () => {
      const outer = fromBinary(SenderCertificateSchema, aliceCert);
      const secrets: [string, Uint8Array][] = [
        ['identity key', alice.identity.publicKey],
        ['account id', aliceAccount],
        ['certificate signature', outer.signature],
        ['certificate body', outer.certificate],
        ['content', content],
      ];
      for (const [what, value] of secrets) {
        // Not the value, and not any 8-byte piece of it.
        for (let i = 0; i + 8 <= value.length; i++) {
          expect(containsBytes(envelope, value.subarray(i, i + 8)), `${what} bytes ${i}..${i + 8} in clear`).toBe(false);
        }
      }
      expect(containsBytes(envelope, alice.identity.publicKey.subarray(32, 64))).toBe(false);
    });

    it('two envelopes from the same sender share nothing a relay could link', () => {
      const again = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, content);
      const a = fromBinary(SealedSenderEnvelopeSchema, envelope);
      const b = fromBinary(SealedSenderEnvelopeSchema, again);
      for (const [x, y] of [[a.ephemeralKey, b.ephemeralKey], [a.encryptedStatic, b.encryptedStatic], [a.encryptedContent, b.encryptedContent]] as const) {
        for (let i = 0; i + 8 <= x.length; i += 4) expect(containsBytes(y, x.subarray(i, i + 8))).toBe(false);
      }
    });
  });

  describe('arguments', () => {
    it('issueSenderCertificate checks its fields → InvalidArgumentError', () => {
      const base = { accountId: aliceAccount, deviceId: 2, identityKey: alice.identity.publicKey, expires };
      expectThrows(() => issueSenderCertificate(crypto, server, { ...base, accountId: new Uint8Array(15) }), InvalidArgumentError);
      expectThrows(() => issueSenderCertificate(crypto, server, { ...base, identityKey: new Uint8Array(63) }), InvalidArgumentError);
      expectThrows(() => issueSenderCertificate(crypto, server, { ...base, expires: -1 }), InvalidArgumentError);
      expectThrows(() => issueSenderCertificate(crypto, server, { ...base, expires: 1.5 }), InvalidArgumentError);
    });

    it('sealSender refuses a malformed certificate or recipient', () => {
      expectThrows(() => sealSender(ctx, alice.identity, bob.identity.publicKey, Uint8Array.of(0xff, 0xff), 1, enc('x')), DecodeError);
      expectThrows(() => sealSender(ctx, alice.identity, bob.identity.publicKey.subarray(0, 63), aliceCert, 1, enc('x')), InvalidKeyError);
    });
  });

  describe('the static agreement cache (SealedSenderCache.staticSecrets)', () => {
    const fresh = (): SealedSenderCache => ({ staticSecrets: new Map(), certificates: new Map() });

    it('sealing with it gives the same bytes as without, and keeps one entry per recipient', () => {
      const cache = fresh();
      for (let round = 0; round < 2; round++) {
        for (const to of [bob, carol]) {
          const plain = sealSender(context(crypto, `same/${round}`), alice.identity, to.identity.publicKey, aliceCert, 1, enc('same bytes'));
          const cached = sealSender(context(crypto, `same/${round}`), alice.identity, to.identity.publicKey, aliceCert, 1, enc('same bytes'), cache);
          expect(bytesHex(cached)).toBe(bytesHex(plain));
          expect(dec(unsealSender(ctx, to.identity, cached, trusted, NOW).content)).toBe('same bytes');
        }
      }
      expect(cache.staticSecrets.size).toBe(2);
      // The entry is the static agreement itself: what Bob computes with his key and Alice's.
      const bobSide = crypto.x25519(bob.identity.agreement.privateKey, alice.identity.publicKey.subarray(32));
      expect([...cache.staticSecrets.values()].some((v) => bytesEqual(v, bobSide))).toBe(true);
    });

    it('one entry serves both directions between two identities', () => {
      const cache = fresh();
      sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, enc('to bob'), cache);
      expect(cache.staticSecrets.size).toBe(1);
      const bobCert = issueSenderCertificate(crypto, server, { accountId: new Uint8Array(16), deviceId: 1, identityKey: bob.identity.publicKey, expires });
      const fromBob = sealSender(ctx, bob.identity, alice.identity.publicKey, bobCert, 1, enc('from bob'));
      expect(dec(unsealSender(ctx, alice.identity, fromBob, trusted, NOW, cache).content)).toBe('from bob');
      expect(cache.staticSecrets.size).toBe(1);
    });

    it('a cache shared by two identities never hands one the other\'s secret', () => {
      const cache = fresh();
      sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, enc('from alice'), cache);
      // Mallory seals to Bob with the same cache: keyed by peer only, she would get Alice's secret and Bob could not open it.
      const malloryCert = issueSenderCertificate(crypto, server, { accountId: new Uint8Array(16), deviceId: 1, identityKey: mallory.identity.publicKey, expires });
      const envelope = sealSender(ctx, mallory.identity, bob.identity.publicKey, malloryCert, 1, enc('from mallory'), cache);
      const opened = unsealSender(ctx, bob.identity, envelope, trusted, NOW);
      expect(dec(opened.content)).toBe('from mallory');
      expect(bytesHex(opened.sender.identityKey)).toBe(bytesHex(mallory.identity.publicKey));
      expect(cache.staticSecrets.size).toBe(2);
    });

    it('is bounded: when full, the oldest entry is dropped and wiped', () => {
      const cache = fresh();
      const oldest = new Uint8Array(32).fill(0x5a);
      cache.staticSecrets.set('oldest', oldest);
      for (let i = 1; i < 4096; i++) cache.staticSecrets.set(`filler ${i}`, new Uint8Array(32).fill(1));
      const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, aliceCert, 1, enc('one more'), cache);
      expect(dec(unsealSender(ctx, bob.identity, envelope, trusted, NOW).content)).toBe('one more');
      expect(cache.staticSecrets.size).toBe(4096);
      expect(cache.staticSecrets.has('oldest')).toBe(false);
      expect(oldest.every((b) => b === 0)).toBe(true);
    });
  });
});

describe('sealed sender across providers', () => {
  it('sealed with one provider, opened with the other', () => {
    const pool = context(nodeCrypto, 'sealed/cross');
    const alice = makeParty(pool);
    const bob = makeParty(pool);
    const server = { keyId: 1, privateKey: pool.random(32) };
    const trusted = [{ keyId: 1, publicKey: nodeCrypto.ed25519PublicKey(server.privateKey) }];
    const cert = issueSenderCertificate(portableCrypto, server, { accountId: new Uint8Array(16), deviceId: 1, identityKey: alice.identity.publicKey, expires: NOW + HOUR });
    for (const [from, to] of [[nodeCrypto, portableCrypto], [portableCrypto, nodeCrypto]] as const) {
      const envelope = sealSender(context(from, 'c1'), alice.identity, bob.identity.publicKey, cert, 1, enc('across'));
      expect(dec(unsealSender(context(to, 'c2'), bob.identity, envelope, trusted, NOW).content)).toBe('across');
      // Same randomness, same bytes.
      expect(bytesHex(sealSender(context(to, 'c1'), alice.identity, bob.identity.publicKey, cert, 1, enc('across')))).toBe(bytesHex(envelope));
    }
  });
});

/**
 * unsealSenderAsync (a batch of envelopes opened ahead with the platform's asynchronous HKDF and AES-GCM):
 * the same result as unsealSender for a good envelope, and a rejection wherever unsealSender throws.
 * The asynchronous primitives here are Node's WebCrypto, as a browser's.
 */
describe('sealed sender opened with asynchronous HKDF and AES-GCM (WebCrypto)', () => {
  const ab = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
  const subtle = globalThis.crypto.subtle;
  const calls = { hkdf: 0, gcm: 0 };
  const webCrypto = {
    async hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
      calls.hkdf++;
      const key = await subtle.importKey('raw', ab(ikm), 'HKDF', false, ['deriveBits']);
      return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: ab(salt), info: ab(info) }, key, length * 8));
    },
    async aes256GcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array) {
      calls.gcm++;
      const k = await subtle.importKey('raw', ab(key), 'AES-GCM', false, ['decrypt']);
      return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: ab(nonce), additionalData: ab(aad) }, k, ab(ciphertext)));
    },
  };
  const ctx = context(portableCrypto, 'sealed-async');
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const server = { keyId: 3, privateKey: ctx.random(32) };
  const trusted: TrustedServerKey[] = [{ keyId: server.keyId, publicKey: portableCrypto.ed25519PublicKey(server.privateKey) }];
  const cert = issueSenderCertificate(portableCrypto, server, { accountId: new Uint8Array(16).fill(0xa1), deviceId: 2, identityKey: alice.identity.publicKey, expires: NOW + HOUR });
  const session = initiateSession(ctx, alice.identity, bundleOf(bob));
  const message = encryptMessage(ctx, session, enc('hello, sealed and opened ahead')).message;

  it('opens an envelope exactly as unsealSender does, with every HKDF and AES-GCM step done asynchronously', async () => {
    const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, cert, 2, message);
    const before = { ...calls };
    const cache: SealedSenderCache = { staticSecrets: new Map(), certificates: new Map() };
    const ahead = await unsealSenderAsync(ctx, webCrypto, bob.identity, envelope, trusted, NOW, cache);
    expect({ hkdf: calls.hkdf - before.hkdf, gcm: calls.gcm - before.gcm }).toEqual({ hkdf: 2, gcm: 2 });
    const now = unsealSender(ctx, bob.identity, envelope, trusted, NOW);
    expect(bytesHex(ahead.content)).toBe(bytesHex(now.content));
    expect(ahead.contentType).toBe(now.contentType);
    expect(ahead.sender).toEqual(now.sender);
    expect(cache.certificates.size).toBe(1);
  });

  it('rejects wherever unsealSender throws: another recipient, a flipped bit in either layer, an expired or untrusted certificate', async () => {
    const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, cert, 2, message);
    const env = fromBinary(SealedSenderEnvelopeSchema, envelope);
    const bad: [string, Uint8Array, number, readonly TrustedServerKey[], ReturnType<typeof makeParty>][] = [
      ['another recipient', envelope, NOW, trusted, alice],
      ['static layer', encodeProto(SealedSenderEnvelopeSchema, { ...env, encryptedStatic: flipBit(env.encryptedStatic, 9, 0) }), NOW, trusted, bob],
      ['content layer', encodeProto(SealedSenderEnvelopeSchema, { ...env, encryptedContent: flipBit(env.encryptedContent, 70, 3) }), NOW, trusted, bob],
      ['expired', envelope, NOW + 2 * HOUR, trusted, bob],
      ['untrusted', envelope, NOW, [{ keyId: 3, publicKey: portableCrypto.ed25519PublicKey(ctx.random(32)) }], bob],
    ];
    for (const [what, e, at, keys, to] of bad) {
      expect(() => unsealSender(ctx, to.identity, e, keys, at), what).toThrow();
      await expect(unsealSenderAsync(ctx, webCrypto, to.identity, e, keys, at), what).rejects.toBeDefined();
    }
  });
});
