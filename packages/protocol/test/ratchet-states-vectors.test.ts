/**
 * spec/vectors/ratchet-states.json (generated once by scripts/generate-vectors.ts)
 * checked with both crypto providers: a record holding skipped message keys
 * (what each stored key is), older receiving chains without chain keys, and
 * failed decryption attempts (the error, the record unchanged, and whether a
 * random draw was consumed), protocol.md §5.4 and §7.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fromHex, toHex, identityKeyPairFromPrivate, decodePreKeyBundle, decodeSessionRecord, decodeRatchetMessage, encodeSessionRecord,
  verifyPreKeyBundle, decryptMessage, decryptPreKeyMessage, encryptMessage, DecryptionError, MAX_RECEIVING_CHAINS,
  type CryptoProvider,
} from '../src/index.js';
import { expandMessageKey } from '../src/ratchet/kdf.js';
import { context, makeParty, providers } from './support/fixtures.js';
import { establish, exchange } from './support/sessions.js';
import { replay } from './support/replay.js';
import { runStates, type StatesEvent } from './support/ratchet-states.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const v: any = JSON.parse(readFileSync(new URL('../../../spec/vectors/ratchet-states.json', import.meta.url), 'utf8'));
const h = fromHex;

describe.each(providers)('spec/vectors/ratchet-states.json with the $name provider', (crypto: CryptoProvider) => {
  const parties = () => {
    const alice = identityKeyPairFromPrivate(crypto, h(v.alice.identitySigningSeed), h(v.alice.identityAgreementPrivate));
    const bob = identityKeyPairFromPrivate(crypto, h(v.bob.identitySigningSeed), h(v.bob.identityAgreementPrivate));
    const spkPriv = h(v.bob.signedPreKey.privateKey);
    const pq = crypto.mlKem768KeyPair(h(v.bob.pqPreKey.seed));
    expect(toHex(pq.publicKey)).toBe(v.bob.pqPreKey.publicKey);
    const bundle = decodePreKeyBundle(h(v.bundle));
    verifyPreKeyBundle(crypto, bundle);
    expect(bundle.oneTimePreKey).toBeUndefined();
    expect(bundle.pqPreKey.lastResort).toBe(true);
    return {
      alice, bob, bundle,
      keys: { signedPreKey: { id: v.bob.signedPreKey.id, keyPair: { privateKey: spkPriv, publicKey: crypto.x25519PublicKey(spkPriv) } }, pqPreKey: { id: v.bob.pqPreKey.id, keyPair: pq } },
    };
  };

  it('replaying the events reproduces every message, snapshot, failure and final record, using every recorded draw', () => {
    const p = parties();
    const aliceRandom = replay(v.alice.draws.slice(v.setupDraws.alice));
    const bobRandom = replay(v.bob.draws.slice(v.setupDraws.bob));
    const frozen: Uint8Array[] = v.messages.map((m: { message: string }) => h(m.message));
    const result = runStates({
      alice: { ctx: { crypto, random: aliceRandom }, identity: p.alice },
      bob: { ctx: { crypto, random: bobRandom }, identity: p.bob, keys: p.keys },
      bundle: p.bundle,
    }, v.events as StatesEvent[], frozen);
    expect(result.messages.map((m) => toHex(m.message))).toEqual(v.messages.map((m: { message: string }) => m.message));
    const receivedOrder = (v.events as StatesEvent[]).flatMap((e) => (e.op === 'receive' ? [v.messages[e.index].plaintext] : []));
    expect(result.received).toEqual(receivedOrder);
    for (const [name, s] of Object.entries(v.snapshots) as [string, { record: string }][]) expect(result.snapshots[name], name).toBe(s.record);
    expect(result.failures).toEqual(v.failures);
    expect(toHex(encodeSessionRecord(result.alice))).toBe(v.finalRecords.alice);
    expect(toHex(encodeSessionRecord(result.bob))).toBe(v.finalRecords.bob);
    expect(aliceRandom.remaining()).toBe(0);
    expect(bobRandom.remaining()).toBe(0);
  });

  it('the failures are as protocol.md §5.4 states: the record is unchanged; only the attempt that started a new chain drew', () => {
    expect(v.failures.map((f: { error: string }) => f.error)).toEqual(['DECRYPTION_FAILED', 'DECRYPTION_FAILED', 'DUPLICATE_MESSAGE']);
    for (const f of v.failures) expect(f.recordUnchanged).toBe(true);
    const draws = v.failures.map((f: { bobDrawsBefore: number; bobDrawsAfter: number }) => f.bobDrawsAfter - f.bobDrawsBefore);
    expect(draws).toEqual([0, 1, 0]);
  });

  it('the records decode to what the vector lists: older chains keep no chain key; a skipped key is KDF_CK\'s mk and decrypts its message', () => {
    for (const [name, s] of Object.entries(v.snapshots) as [string, { record: string; receivingChains: { ratchetKey: string; chainKey: string; counter: number }[]; skippedKeys: { ratchetKey: string; counter: number; messageKey: string }[] }][]) {
      const state = decodeSessionRecord(h(s.record)).current!;
      expect(state.associatedData.length, name).toBe(160);
      expect(state.receivingChains.map((c) => ({ ratchetKey: toHex(c.ratchetKey), chainKey: toHex(c.chainKey), counter: c.counter })), name).toEqual(s.receivingChains);
      expect(state.receivingChains[0]!.chainKey.length, name).toBe(32);
      for (const older of state.receivingChains.slice(1)) expect(older.chainKey.length, name).toBe(0);
      expect(state.skippedKeys.map((k) => ({ ratchetKey: toHex(k.ratchetKey), counter: k.counter, messageKey: toHex(k.messageKey) })), name).toEqual(s.skippedKeys);
      for (const k of s.skippedKeys) {
        // The message this key belongs to: Alice's message on that chain with that number.
        const m = v.messages.map((x: { message: string }) => h(x.message)).find((bytes: Uint8Array) => bytes[0] === 0x11
          && toHex(decodeRatchetMessage(bytes).ratchetKey) === k.ratchetKey && decodeRatchetMessage(bytes).counter === k.counter)!;
        const msg = decodeRatchetMessage(m);
        const { key, nonce } = expandMessageKey(crypto, h(k.messageKey));
        const plaintext = crypto.aes256GcmDecrypt(key, nonce, msg.ciphertext, new Uint8Array([...state.associatedData, ...msg.header]));
        expect(v.messages.map((x: { plaintext: string }) => x.plaintext)).toContain(new TextDecoder().decode(plaintext));
      }
    }
    const two = v.snapshots.twoSkippedKeysOnAnOlderChain;
    expect(two.skippedKeys.map((k: { counter: number }) => k.counter)).toEqual([0, 2]);
    expect(two.skippedKeys[0].ratchetKey).toBe(two.receivingChains[1].ratchetKey);
    expect(two.receivingChains[1].chainKey).toBe('');
    // A tampered copy of a message whose key is stored fails and leaves the key in place (no draw: no new chain).
    const state = decodeSessionRecord(h(two.record));
    const tampered = h(v.failures[0].message);
    expect(() => decryptMessage({ crypto, random: () => { throw new Error('no draw expected'); } }, state, tampered)).toThrow(DecryptionError);
    expect(toHex(encodeSessionRecord(state))).toBe(two.record);
  });
});

describe.each(providers)('session.json read by an implementation that draws differently ($name provider), protocol.md §11', (crypto: CryptoProvider) => {
  it('Bob decrypts Alice\'s first chain (her prekey messages) and nothing after his own, different ratchet key', () => {
    const s = JSON.parse(readFileSync(new URL('../../../spec/vectors/session.json', import.meta.url), 'utf8'));
    const bob = identityKeyPairFromPrivate(crypto, h(s.bob.identitySigningSeed), h(s.bob.identityAgreementPrivate));
    const spkPriv = h(s.bob.signedPreKey.privateKey);
    const opkPriv = h(s.bob.oneTimePreKey.privateKey);
    const keys = {
      signedPreKey: { id: 1, keyPair: { privateKey: spkPriv, publicKey: crypto.x25519PublicKey(spkPriv) } },
      oneTimePreKey: { id: 100, keyPair: { privateKey: opkPriv, publicKey: crypto.x25519PublicKey(opkPriv) } },
      pqPreKey: { id: 200, keyPair: crypto.mlKem768KeyPair(h(s.bob.pqPreKey.seed)) },
    };
    let n = 0;
    const other = (length: number) => { const out = new Uint8Array(length).fill(0x5a); out[0] = ++n; return out; };
    const ctx = { crypto, random: other };
    const msgs: Uint8Array[] = s.messages.map((m: { message: string }) => h(m.message));
    const first = decryptPreKeyMessage(ctx, undefined, bob, keys, msgs[0]!);
    expect(new TextDecoder().decode(first.plaintext)).toBe(s.messages[0].plaintext);
    const second = decryptPreKeyMessage(ctx, first.record, bob, keys, msgs[1]!);
    expect(new TextDecoder().decode(second.plaintext)).toBe(s.messages[1].plaintext);
    // Message 3 is Alice's first message after Bob's reply: on a chain towards the ratchet key the reference Bob drew.
    expect(s.messages[3].from).toBe('alice');
    expect(() => decryptMessage(ctx, second.record, msgs[3]!)).toThrow(DecryptionError);
  });
});

describe.each(providers)('the receiving-chain bound as protocol.md §5.1 counts it ($name provider)', (crypto: CryptoProvider) => {
  it('the current chain counts: at most 5 chains, only the first with a chain key; a message on a dropped chain is no duplicate and draws', () => {
    const ctx = context(crypto, 'chain-bound');
    const alice = makeParty(ctx), bob = makeParty(ctx);
    let { a, b } = establish(ctx, alice, bob, { reply: true });
    // Alice's chains at Bob: keep one message of each of Alice's first chains undelivered.
    const held: Uint8Array[] = [];
    for (let i = 0; i < MAX_RECEIVING_CHAINS + 2; i++) {
      const extra = encryptMessage(ctx, a, new TextEncoder().encode(`held ${i}`));
      a = extra.record;
      held.push(extra.message);
      ({ from: a, to: b } = exchange(ctx, a, b, `a${i}`));
      ({ from: b, to: a } = exchange(ctx, b, a, `b${i}`));
      const chains = b.current!.receivingChains;
      expect(chains.length).toBeLessThanOrEqual(MAX_RECEIVING_CHAINS);
      expect(chains[0]!.chainKey.length).toBe(32);
      for (const older of chains.slice(1)) expect(older.chainKey.length).toBe(0);
    }
    expect(b.current!.receivingChains.length).toBe(MAX_RECEIVING_CHAINS);
    // The held messages were sent before the one delivered on each chain, so their keys were skipped
    // (then kept in MKSKIPPED when the chain was dropped): all still decrypt, oldest chain included.
    for (const m of held) b = decryptMessage(ctx, b, m).record;
    // A forged message naming the oldest dropped chain with a number never skipped: not a duplicate,
    // it takes the DH ratchet step (one draw) and fails authentication; the record is unchanged.
    const dropped = decodeRatchetMessage(held[0]!);
    const forged = held[0]!.slice();
    forged.set([0, 0, 0, 9], 33); // n = 9 on that chain
    expect(decodeRatchetMessage(forged).ratchetKey).toEqual(dropped.ratchetKey);
    expect(b.current!.receivingChains.some((c) => toHex(c.ratchetKey) === toHex(dropped.ratchetKey))).toBe(false);
    let draws = 0;
    const counted = { crypto, random: (n: number) => { draws++; return ctx.random(n); } };
    const before = toHex(encodeSessionRecord(b));
    expect(() => decryptMessage(counted, { current: b.current, previous: [] }, forged)).toThrow(DecryptionError);
    expect(draws).toBe(1);
    expect(toHex(encodeSessionRecord(b))).toBe(before);
  });
});
