/**
 * spec/vectors/groups.json (generated once by scripts/generate-vectors.ts)
 * checked with both crypto providers: the sender-key chain, distribution and
 * messages, the membership log entries with their hashes and signatures, and
 * a multi-recipient sealed payload, each reproduced byte for byte from the
 * recorded draws and opened again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  GroupLog, createGroup, createSenderKey, expandSenderMessageKey, fromHex, groupEntryHash, groupEntrySignedBytes, identityKeyPairFromPrivate,
  groupIdOfGenesis, parseGroupEntry, processSenderKeyDistribution, sealMultiRecipient, senderKeyDecrypt, senderKeyEncrypt, signGroupChange, toHex,
  unsealMultiRecipient,
  type CryptoProvider, type Random,
} from '../src/index.js';
import { kdfChainKey } from '../src/ratchet/kdf.js';
import { providers } from './support/fixtures.js';
import { replay } from './support/replay.js';
import { dec, enc } from './support/sessions.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const v: any = JSON.parse(readFileSync(new URL('../../../spec/vectors/groups.json', import.meta.url), 'utf8'));
const h = fromHex;
const noRandom: Random = () => { throw new Error('this operation must not draw randomness'); };

const identity = (crypto: CryptoProvider, p: { identitySigningSeed: string; identityAgreementPrivate: string; identityPublic: string }) => {
  const id = identityKeyPairFromPrivate(crypto, h(p.identitySigningSeed), h(p.identityAgreementPrivate));
  expect(toHex(id.publicKey)).toBe(p.identityPublic);
  return id;
};

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('groups.json with the $name provider', ({ crypto }) => {
  it('sender key: chain steps, message keys, distribution and messages', () => {
    const s = v.senderKey;
    for (const c of s.chain) {
      const step = kdfChainKey(crypto, h(c.chainKey));
      expect(toHex(step.messageKey)).toBe(c.messageKey);
      const m = expandSenderMessageKey(crypto, step.messageKey);
      expect(toHex(m.key)).toBe(c.aesKey);
      expect(toHex(m.nonce)).toBe(c.aesNonce);
      const next = s.chain[c.iteration + 1];
      if (next) expect(toHex(step.chainKey)).toBe(next.chainKey);
    }
    const random = replay(s.draws);
    const created = createSenderKey({ crypto, random });
    expect(random.remaining()).toBe(0);
    expect(toHex(created.distributionId)).toBe(s.distributionId);
    expect(toHex(created.distribution)).toBe(s.distribution);
    expect(toHex(crypto.ed25519PublicKey(h(s.signingSeed)))).toBe(s.signingPublic);
    let own = created.record;
    let rx = processSenderKeyDistribution({ crypto, random: noRandom }, h(s.distribution)).record;
    for (const m of s.messages) {
      const out = senderKeyEncrypt({ crypto, random: noRandom }, own, enc(m.plaintext));
      own = out.record;
      expect(toHex(out.message)).toBe(m.message);
      const got = senderKeyDecrypt({ crypto, random: noRandom }, rx, h(m.message));
      rx = got.record;
      expect(dec(got.plaintext)).toBe(m.plaintext);
    }
  });

  it('membership log: genesis and add reproduce byte for byte; hashes, signatures and the state match', () => {
    const mv = v.membership;
    const creator = identity(crypto, mv.creator);
    identity(crypto, mv.member);
    identity(crypto, mv.added);
    const ctx = { crypto, random: replay(mv.draws) };
    const author = { accountId: h(mv.creator.accountId), identity: creator };
    const created = createGroup(ctx, author, mv.name, [{ accountId: h(mv.member.accountId), identityKey: h(mv.member.identityPublic) }], mv.genesis.timestamp);
    expect(toHex(created.entry)).toBe(mv.genesis.entry);
    // The group id is derived from the genesis (groups.md §4.2): SHA-256(groupIdInput), the input starting with the label.
    expect(toHex(crypto.sha256(h(mv.genesis.groupIdInput)))).toBe(mv.state.groupId);
    expect(Buffer.from(h(mv.genesis.groupIdInput).subarray(0, 17)).toString()).toBe('Sigilo-GroupId-v1');
    expect(toHex(groupIdOfGenesis(ctx, h(mv.genesis.entry)))).toBe(mv.state.groupId);
    expect(toHex((parseGroupEntry(created.entry).change as { nonce: Uint8Array }).nonce)).toBe(mv.genesis.nonce);
    for (const e of [mv.genesis, mv.add]) {
      expect(toHex(groupEntryHash(ctx, h(e.entry)))).toBe(e.hash);
      expect(toHex(crypto.sha256(h(e.entry)))).toBe(e.hash);
      expect(toHex(groupEntrySignedBytes(h(e.body)))).toBe(e.signedBytes);
      expect(crypto.ed25519Verify(h(mv.creator.identityPublic).subarray(0, 32), h(e.signedBytes), h(e.signature))).toBe(true);
      expect(toHex(crypto.ed25519Sign(creator.signing.privateKey, h(e.signedBytes)))).toBe(e.signature);
    }
    const add = signGroupChange({ crypto, random: noRandom }, created.log.state, author,
      { type: 'add', members: [{ accountId: h(mv.added.accountId), identityKey: h(mv.added.identityPublic) }] }, mv.add.timestamp);
    expect(toHex(add)).toBe(mv.add.entry);
    expect(parseGroupEntry(add).revision).toBe(1);
    expect(toHex(parseGroupEntry(add).parent)).toBe(mv.genesis.hash);
    const log = GroupLog.open({ crypto, random: noRandom }, [h(mv.genesis.entry), h(mv.add.entry)]);
    const s = log.state;
    expect(toHex(s.groupId)).toBe(mv.state.groupId);
    expect(s.name).toBe(mv.state.name);
    expect(s.revision).toBe(mv.state.revision);
    expect(toHex(s.head)).toBe(mv.state.head);
    expect(s.members.map((m) => ({ accountId: toHex(m.accountId), identityKey: toHex(m.identityKey), role: m.role }))).toEqual(mv.state.members);
  });

  it('multi-recipient: each recipient opens the payload; resealing with the draws reproduces it', () => {
    const mr = v.multiRecipient;
    const trusted = [{ keyId: mr.serverKey.keyId, publicKey: h(mr.serverKey.publicKey) }];
    expect(toHex(crypto.ed25519PublicKey(h(mr.serverKey.seed)))).toBe(mr.serverKey.publicKey);
    identity(crypto, mr.sender);
    const recipients = mr.recipients.map((r: typeof mr.sender) => identity(crypto, r));
    recipients.forEach((r: ReturnType<typeof identity>, i: number) => {
      const opened = unsealMultiRecipient({ crypto, random: noRandom }, r, h(mr.headers[i]), h(mr.shared), trusted, mr.now);
      expect(toHex(opened.content)).toBe(mr.content);
      expect(opened.contentType).toBe(mr.contentType);
      expect(toHex(opened.sender.accountId)).toBe(mr.sender.accountId);
      expect(opened.sender.deviceId).toBe(mr.sender.deviceId);
      expect(toHex(opened.sender.identityKey)).toBe(mr.sender.identityPublic);
      expect(opened.sender.expires).toBe(mr.expires);
    });
    expect(toHex(crypto.x25519PublicKey(h(mr.draws[0])))).toBe(mr.ephemeralPublic);
    const random = replay(mr.draws);
    const sealed = sealMultiRecipient({ crypto, random }, {
      senderCertificate: h(mr.certificate), contentType: mr.contentType, content: h(mr.content),
      recipientIdentityKeys: mr.recipients.map((r: { identityPublic: string }) => h(r.identityPublic)),
    });
    expect(random.remaining()).toBe(0);
    expect(toHex(sealed.shared)).toBe(mr.shared);
    expect(sealed.headers.map(toHex)).toEqual(mr.headers);
  });
});
