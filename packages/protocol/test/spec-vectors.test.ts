/**
 * The frozen vectors in spec/vectors/ (generated once by
 * scripts/generate-vectors.ts) checked with both crypto providers: a provider
 * or an engine change that alters a single byte of the protocol fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fromHex, toHex, identityKeyPairFromPrivate, decodePreKeyBundle, encodeSessionRecord, encodeSignedPreKeyPayload, encodePqPreKeyPayload,
  unsealSender, sealSender, safetyNumber, verifyPreKeyBundle,
  type CryptoProvider,
} from '../src/index.js';
import { kdfChainKey, kdfRootKey, expandMessageKey } from '../src/ratchet/kdf.js';
import { providers } from './support/fixtures.js';
import { replay } from './support/replay.js';
import { runTranscript, type TranscriptEvent } from './support/transcript.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = (name: string): any => JSON.parse(readFileSync(new URL(`../../../spec/vectors/${name}`, import.meta.url), 'utf8'));
const h = fromHex;

describe.each(providers)('spec vectors with the $name provider', (crypto: CryptoProvider) => {
  it('kdf.json: KDF_RK, KDF_CK, message keys', () => {
    const v = load('kdf.json');
    expect(v.cases.length).toBeGreaterThan(0);
    for (const c of v.cases) {
      const root = kdfRootKey(crypto, h(c.rootKey), h(c.dhOutput));
      expect(toHex(root.rootKey)).toBe(c.newRootKey);
      expect(toHex(root.chainKey)).toBe(c.newChainKey);
      const chain = kdfChainKey(crypto, h(c.chainKey));
      expect(toHex(chain.chainKey)).toBe(c.nextChainKey);
      expect(toHex(chain.messageKey)).toBe(c.messageKey);
      const m = expandMessageKey(crypto, h(c.messageKeyInput));
      expect(toHex(m.key)).toBe(c.aesKey);
      expect(toHex(m.nonce)).toBe(c.aesNonce);
    }
  });

  it('keys.json: identity public key, prekey payloads and signatures', () => {
    const v = load('keys.json');
    const id = identityKeyPairFromPrivate(crypto, h(v.identity.signingSeed), h(v.identity.agreementPrivate));
    expect(toHex(id.publicKey)).toBe(v.identity.publicKey);
    expect(toHex(crypto.x25519PublicKey(h(v.signedPreKey.privateKey)))).toBe(v.signedPreKey.publicKey);
    expect(toHex(encodeSignedPreKeyPayload(v.signedPreKey.id, h(v.signedPreKey.publicKey)))).toBe(v.signedPreKey.payload);
    expect(toHex(crypto.ed25519Sign(id.signing.privateKey, h(v.signedPreKey.payload)))).toBe(v.signedPreKey.signature);
    const pq = crypto.mlKem768KeyPair(h(v.pqPreKey.seed));
    expect(toHex(pq.publicKey)).toBe(v.pqPreKey.publicKey);
    expect(toHex(encodePqPreKeyPayload(v.pqPreKey.id, v.pqPreKey.lastResort, pq.publicKey))).toBe(v.pqPreKey.payload);
    expect(toHex(crypto.ed25519Sign(id.signing.privateKey, h(v.pqPreKey.payload)))).toBe(v.pqPreKey.signature);
  });

  it('session.json: replaying the transcript reproduces every message and plaintext', () => {
    const v = load('session.json');
    const aliceRandom = replay(v.alice.draws.slice(v.setupDraws.alice));
    const bobRandom = replay(v.bob.draws.slice(v.setupDraws.bob));
    const alice = identityKeyPairFromPrivate(crypto, h(v.alice.identitySigningSeed), h(v.alice.identityAgreementPrivate));
    const bob = identityKeyPairFromPrivate(crypto, h(v.bob.identitySigningSeed), h(v.bob.identityAgreementPrivate));
    expect(toHex(alice.publicKey)).toBe(v.alice.identityPublic);
    expect(toHex(bob.publicKey)).toBe(v.bob.identityPublic);
    const spkPriv = h(v.bob.signedPreKey.privateKey);
    const opkPriv = h(v.bob.oneTimePreKey.privateKey);
    const pq = crypto.mlKem768KeyPair(h(v.bob.pqPreKey.seed));
    expect(toHex(pq.publicKey)).toBe(v.bob.pqPreKey.publicKey);
    const bundle = decodePreKeyBundle(h(v.bundle));
    verifyPreKeyBundle(crypto, bundle);
    const frozen: Uint8Array[] = v.messages.map((m: { message: string }) => h(m.message));
    const result = runTranscript({
      alice: { ctx: { crypto, random: aliceRandom }, identity: alice },
      bob: {
        ctx: { crypto, random: bobRandom }, identity: bob,
        keys: {
          signedPreKey: { id: 1, keyPair: { privateKey: spkPriv, publicKey: crypto.x25519PublicKey(spkPriv) } },
          oneTimePreKey: { id: 100, keyPair: { privateKey: opkPriv, publicKey: crypto.x25519PublicKey(opkPriv) } },
          pqPreKey: { id: 200, keyPair: pq },
        },
      },
      bundle,
    }, v.events as TranscriptEvent[], frozen);
    expect(result.messages.map((m) => toHex(m.message))).toEqual(v.messages.map((m: { message: string }) => m.message));
    const receivedOrder = (v.events as TranscriptEvent[]).flatMap((e) => (e.op === 'receive' ? [v.messages[e.index].plaintext] : []));
    expect(result.received).toEqual(receivedOrder);
    expect(toHex(encodeSessionRecord(result.alice))).toBe(v.finalRecords.alice);
    expect(toHex(encodeSessionRecord(result.bob))).toBe(v.finalRecords.bob);
    expect(aliceRandom.remaining()).toBe(0);
    expect(bobRandom.remaining()).toBe(0);
  });

  it('sealed-sender.json: the envelope opens to the certificate and content, and resealing reproduces it', () => {
    const v = load('sealed-sender.json');
    const recipient = identityKeyPairFromPrivate(crypto, h(v.recipient.identitySigningSeed), h(v.recipient.identityAgreementPrivate));
    const sender = identityKeyPairFromPrivate(crypto, h(v.sender.identitySigningSeed), h(v.sender.identityAgreementPrivate));
    const trusted = [{ keyId: v.serverKey.keyId, publicKey: h(v.serverKey.publicKey) }];
    const opened = unsealSender({ crypto, random: () => { throw new Error('unseal must not draw randomness'); } }, recipient, h(v.envelope), trusted, v.now);
    expect(toHex(opened.content)).toBe(v.content);
    expect(opened.contentType).toBe(v.contentType);
    expect(toHex(opened.sender.accountId)).toBe(v.sender.accountId);
    expect(opened.sender.deviceId).toBe(v.sender.deviceId);
    expect(toHex(opened.sender.identityKey)).toBe(v.sender.identityPublic);
    expect(opened.sender.expires).toBe(v.expires);
    // The envelope's one draw is the ephemeral key: the last recorded draw.
    const resealed = sealSender({ crypto, random: replay(v.draws.slice(-1)) }, sender, recipient.publicKey, h(v.certificate), v.contentType, h(v.content));
    expect(toHex(resealed)).toBe(v.envelope);
  });

  it('safety-number.json: digits and QR payload', () => {
    const v = load('safety-number.json');
    const sn = safetyNumber(crypto, { identityKey: h(v.local.identityKey), stableId: h(v.local.stableId) }, { identityKey: h(v.remote.identityKey), stableId: h(v.remote.stableId) });
    expect(sn.digits).toBe(v.digits);
    expect(sn.digits).toMatch(/^\d{60}$/);
    expect(toHex(sn.qrPayload)).toBe(v.qrPayload);
  });
});
