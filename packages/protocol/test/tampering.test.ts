/**
 * Tampering, misdirection and replay: every bit of a ratchet message's header
 * and body flipped, every field of a prekey message altered, wrong associated
 * data, wrong recipient, replays, the skipped-key bounds (per chain and in
 * total, oldest evicted) and the 32-bit counter limit. For every case the error
 * is exactly the expected ProtocolError subclass with its code, the record's
 * encoding is identical before and after, and nothing was used up: the genuine
 * message still decrypts afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  DecodeError, DecryptionError, DuplicateMessageError, InvalidArgumentError, InvalidKeyError, InvalidPrekeyError,
  MAX_SKIPPED_KEYS, MAX_SKIP_PER_CHAIN, TooManySkippedError, UnsupportedVersionError,
  bytesEqual, concatBytes, decodeRatchetMessage, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage,
  initiateSession, parsePreKeyMessage,
  type PreKeyMessage, type ProtocolContext, type SessionRecord, type SessionState,
} from '../src/index.js';
import { encodePreKeyMessage, encodeRatchetHeader, RATCHET_HEADER_LENGTH } from '../src/ratchet/message.js';
import { expandMessageKey, kdfChainKey } from '../src/ratchet/kdf.js';
import { bundleOf, context, makeParty, providers, responderKeys } from './support/fixtures.js';
import {
  dec, enc, establish, exchange, expectRejectedUnchanged, expectThrows, flipBit, roundTripRecord,
} from './support/sessions.js';

type ErrorClass = typeof DecryptionError | typeof DuplicateMessageError | typeof TooManySkippedError | typeof DecodeError
  | typeof UnsupportedVersionError | typeof InvalidPrekeyError | typeof InvalidKeyError;

const MAX_COUNTER = 0xffffffff;
const TAG = 16;

/**
 * The error a tampered ratchet header must produce, from the receiving rules
 * (protocol.md §5): counter range, skipped key (then authentication fails),
 * already-received number on a known chain, skip bounds, authentication.
 */
function expectedHeaderError(state: SessionState, h: { ratchetKey: Uint8Array; counter: number; previousCounter: number }): ErrorClass {
  if (h.counter >= MAX_COUNTER) return TooManySkippedError;
  if (state.skippedKeys.some((k) => k.counter === h.counter && bytesEqual(k.ratchetKey, h.ratchetKey))) return DecryptionError;
  const index = state.receivingChains.findIndex((c) => bytesEqual(c.ratchetKey, h.ratchetKey));
  if (index > 0) return DuplicateMessageError;
  const current = state.receivingChains[0];
  if (index === 0) {
    if (h.counter < current!.counter) return DuplicateMessageError;
    return h.counter - current!.counter > MAX_SKIP_PER_CHAIN ? TooManySkippedError : DecryptionError;
  }
  if (current && h.previousCounter - current.counter > MAX_SKIP_PER_CHAIN) return TooManySkippedError;
  return h.counter > MAX_SKIP_PER_CHAIN ? TooManySkippedError : DecryptionError;
}

/** A correctly authenticated ratchet message at any counter, built from the sender's state by hand. */
function forgeRatchetMessage(crypto: CryptoProvider, state: SessionState, counter: number, plaintext: Uint8Array): Uint8Array {
  const { messageKey } = kdfChainKey(crypto, state.sendingChainKey);
  const { key, nonce } = expandMessageKey(crypto, messageKey);
  const out = encodeRatchetHeader(state.sendingRatchet.publicKey, counter, state.previousCounter, plaintext.length + TAG);
  const header = out.subarray(0, RATCHET_HEADER_LENGTH);
  out.set(crypto.aes256GcmEncrypt(key, nonce, plaintext, concatBytes(state.associatedData, header)), RATCHET_HEADER_LENGTH);
  return out;
}

function withState(record: SessionRecord, change: (s: SessionState) => SessionState): SessionRecord {
  return { current: change(record.current!), previous: record.previous };
}

const P = (1n << 255n) - 19n;

/** The u-coordinate of P + T for the Edwards point T = (0, −1) of order 2: 1/u mod p. */
function x25519Inverse(u: Uint8Array): Uint8Array {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(u[i]!);
  let r = 1n;
  let base = x % P;
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * base) % P;
    base = (base * base) % P;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((r >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Does `bytes` parse as a prekey message with exactly the fields of `m`? */
function parsesTo(bytes: Uint8Array, m: PreKeyMessage): boolean {
  let p: PreKeyMessage;
  try {
    p = parsePreKeyMessage(bytes);
  } catch {
    return false;
  }
  return bytesEqual(p.identityKey, m.identityKey) && bytesEqual(p.baseKey, m.baseKey) && p.signedPreKeyId === m.signedPreKeyId
    && p.oneTimePreKeyId === m.oneTimePreKeyId && p.pqPreKeyId === m.pqPreKeyId && bytesEqual(p.pqCiphertext, m.pqCiphertext)
    && bytesEqual(p.message, m.message);
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('tampering ($name)', ({ crypto }) => {
  const ctx = context(crypto, `tamper/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const carol = makeParty(ctx);
  const body = new Uint8Array(100).map((_, i) => i * 37);
  const thorough = crypto.name === 'node';

  describe('every bit of a ratchet message', () => {
    function scenarios(): { name: string; b: SessionRecord; message: Uint8Array }[] {
      const out: { name: string; b: SessionRecord; message: Uint8Array }[] = [];
      {
        // The first message on Alice's new sending chain: Bob must DH-ratchet to read it.
        const { a, b } = establish(ctx, alice, bob, { reply: true });
        out.push({ name: 'new chain', b, message: encryptMessage(ctx, a, body).message });
      }
      {
        // The second message of a chain Bob already follows.
        let { a, b } = establish(ctx, alice, bob, { reply: true });
        ({ from: a, to: b } = exchange(ctx, a, b, 'first'));
        out.push({ name: 'known chain', b, message: encryptMessage(ctx, a, body).message });
      }
      {
        // A late message whose key Bob holds as a skipped key.
        let { a, b } = establish(ctx, alice, bob, { reply: true });
        const late = encryptMessage(ctx, a, body);
        a = late.record;
        ({ from: a, to: b } = exchange(ctx, a, b, 'overtakes'));
        expect(b.current!.skippedKeys).toHaveLength(1);
        out.push({ name: 'skipped key', b, message: late.message });
      }
      return out;
    }

    for (const part of ['header', 'body'] as const) {
      it(`every ${part} byte, every bit: exact typed error, record unchanged, nothing used up`, () => {
        for (const { name, b, message } of scenarios()) {
          const record = roundTripRecord(b);
          const [from, to] = part === 'header' ? [0, RATCHET_HEADER_LENGTH] : [RATCHET_HEADER_LENGTH, message.length];
          const seen = new Set<string>();
          for (let i = from; i < to; i++) {
            // Every bit of every byte with node. With the slower portable provider, every bit of the
            // version byte and counters, and one bit per byte (cycling through the positions, plus
            // the top bit of the key) for the ratchet key and the body.
            const all = [0, 1, 2, 3, 4, 5, 6, 7];
            const bits = thorough || i === 0 || (i >= 33 && i < RATCHET_HEADER_LENGTH) ? all : i === 32 ? [0, 7] : [i % 8];
            for (const bit of bits) {
              const tampered = flipBit(message, i, bit);
              let expected: ErrorClass;
              if (i === 0) expected = bit >= 4 ? UnsupportedVersionError : DecodeError;
              else if (i >= RATCHET_HEADER_LENGTH) expected = DecryptionError;
              else if (i === 32 && bit === 7) expected = DecodeError; // the bit X25519 ignores: non-canonical key
              else expected = expectedHeaderError(record.current!, decodeRatchetMessage(tampered));
              seen.add(expected.name);
              expectRejectedUnchanged(record, (r) => decryptMessage(ctx, r, tampered), expected, `${name}: byte ${i} bit ${bit}`);
            }
          }
          if (part === 'header') {
            // The flips reach every rule, not just authentication.
            expect([...seen].sort(), name).toEqual(expect.arrayContaining(['DecodeError', 'DecryptionError', 'TooManySkippedError', 'UnsupportedVersionError']));
          }
          expect(dec(decryptMessage(ctx, record, message).plaintext).length, `${name}: genuine message after tampering`).toBe(body.length);
        }
      });
    }

    it('a header flip that lands on an already-received number is reported as a duplicate', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'zero'));
      ({ from: a, to: b } = exchange(ctx, a, b, 'one'));
      const m = encryptMessage(ctx, a, body).message; // counter 2
      const tampered = flipBit(m, 36, 1); // counter 2 → 0
      expect(decodeRatchetMessage(tampered).counter).toBe(0);
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, tampered), DuplicateMessageError);
    });
  });

  describe('every field of a prekey message', () => {
    // Bob already holds a session with Alice; she starts a second one (a new base key).
    const old = establish(ctx, alice, bob, { reply: true });
    const fresh = initiateSession(ctx, alice.identity, bundleOf(bob, { oneTime: true }), old.a);
    const genuine = encryptMessage(ctx, fresh, body).message;
    const pm = parsePreKeyMessage(genuine);
    const bobIds = new Set(bob.oneTimePreKeys.map((k) => k.id));

    function attempt(tampered: PreKeyMessage | Uint8Array, expected: ErrorClass | ErrorClass[], what: string): void {
      const bytes = tampered instanceof Uint8Array ? tampered : encodePreKeyMessage(tampered);
      let keys;
      try {
        keys = responderKeys(bob, parsePreKeyMessage(bytes));
      } catch {
        keys = responderKeys(bob, pm);
      }
      expectRejectedUnchanged(old.b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, bytes), expected, what);
      // Without any session the answer is the same kind of refusal.
      if (thorough && !Array.isArray(expected) && expected !== DuplicateMessageError) {
        expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, keys, bytes), expected, `${what} (no session)`);
      }
    }

    const flipField = (bytes: Uint8Array, i: number) => flipBit(bytes, i, i % 8);

    it('identity key (both halves), base key', () => {
      for (let i = 0; i < pm.identityKey.length; i++) {
        // Byte 63 bit 7 is the top bit of the X25519 half: non-canonical, refused when parsed.
        attempt({ ...pm, identityKey: flipField(pm.identityKey, i) }, i === 63 ? DecodeError : DecryptionError, `identity byte ${i}`);
      }
      for (let i = 0; i < pm.baseKey.length; i++) {
        // Byte 31 bit 7 is the bit X25519 ignores: refused as non-canonical rather than reaching the DHs.
        attempt({ ...pm, baseKey: flipField(pm.baseKey, i) }, i === 31 ? DecodeError : DecryptionError, `base key byte ${i}`);
      }
      // Carol's signing half with Alice's agreement half: only the associated data differs.
      attempt({ ...pm, identityKey: concatBytes(carol.identity.publicKey.subarray(0, 32), pm.identityKey.subarray(32)) }, DecryptionError, 'identity signing half swapped');
    });

    it('prekey ids', () => {
      for (let bit = 0; bit < 32; bit++) {
        const flip = (id: number) => (id ^ (1 << bit)) >>> 0;
        attempt({ ...pm, signedPreKeyId: flip(pm.signedPreKeyId) }, InvalidPrekeyError, `signed prekey id bit ${bit}`);
        attempt({ ...pm, pqPreKeyId: flip(pm.pqPreKeyId) }, InvalidPrekeyError, `PQ prekey id bit ${bit}`);
        const otp = flip(pm.oneTimePreKeyId!);
        // Another of Bob's one-time prekeys: found, but its DH is wrong.
        attempt({ ...pm, oneTimePreKeyId: otp }, bobIds.has(otp) ? DecryptionError : InvalidPrekeyError, `one-time prekey id bit ${bit}`);
      }
      attempt({ ...pm, oneTimePreKeyId: undefined }, DecryptionError, 'one-time prekey id removed');
      // The last-resort PQ key instead of the one-time one.
      attempt({ ...pm, pqPreKeyId: bob.lastResortPqPreKey.id }, DecryptionError, 'PQ prekey id → last resort');
    });

    it('PQ ciphertext', () => {
      const positions = [0, 1, 31, 32, 100, 543, 544, 700, 959, 960, 1000, 1087];
      for (const i of positions) attempt({ ...pm, pqCiphertext: flipField(pm.pqCiphertext, i) }, DecryptionError, `PQ ciphertext byte ${i}`);
      attempt({ ...pm, pqCiphertext: pm.pqCiphertext.slice(0, 1087) }, DecodeError, 'PQ ciphertext truncated');
    });

    it('inner message, every byte', () => {
      const initial = { receivingChains: [], skippedKeys: [] } as unknown as SessionState;
      for (let i = 0; i < pm.message.length; i++) {
        if (!thorough && i >= RATCHET_HEADER_LENGTH && i % 5 !== 0) continue; // portable: header bytes, every 5th body byte
        const inner = flipField(pm.message, i);
        let expected: ErrorClass;
        if (i === 0) expected = DecodeError; // bit 0 of the type byte
        else if (i >= RATCHET_HEADER_LENGTH) expected = DecryptionError;
        else expected = expectedHeaderError(initial, decodeRatchetMessage(inner)); // byte 32 flips bit 0, not the top bit
        attempt({ ...pm, message: inner }, expected, `inner message byte ${i}`);
      }
    });

    it('every byte of the encoding', () => {
      const allowed = [DecodeError, UnsupportedVersionError, DecryptionError, InvalidPrekeyError, TooManySkippedError, InvalidKeyError];
      // Every byte of the framing and small fields (every third with portable); inside the PQ
      // ciphertext, which the field test above covers, every 37th.
      const ctStart = Buffer.from(genuine).indexOf(Buffer.from(pm.pqCiphertext));
      expect(ctStart).toBeGreaterThan(0);
      const inCt = (i: number) => i >= ctStart && i < ctStart + pm.pqCiphertext.length;
      let sameMessage = 0;
      for (let i = 0; i < genuine.length; i++) {
        if (inCt(i) ? (i - ctStart) % 37 !== 0 : !thorough && i % 3 !== 0) continue;
        const tampered = flipField(genuine, i);
        if (parsesTo(tampered, pm)) {
          // A flip of a tag's wire-type bits: protobuf-es reads a singular field by its declared type,
          // so this is another encoding of the very same message, not a tampered one.
          sameMessage++;
          continue;
        }
        attempt(tampered, allowed, `encoding byte ${i}`);
      }
      expect(sameMessage).toBeLessThan(8);
    });

    it('a later prekey message of a session Bob holds is read with it only under the same identity', () => {
      // Alice has not heard back, so her second message is again a prekey message, found by base key + identity.
      const est = establish(ctx, alice, bob);
      const second = encryptMessage(ctx, est.a, body).message;
      const p2 = parsePreKeyMessage(second);
      for (const identityKey of [carol.identity.publicKey, concatBytes(carol.identity.publicKey.subarray(0, 32), p2.identityKey.subarray(32)), flipBit(p2.identityKey, 5, 2)]) {
        const claimed = encodePreKeyMessage({ ...p2, identityKey });
        expectRejectedUnchanged(est.b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, responderKeys(bob, p2), claimed), DecryptionError, 'identity replaced');
      }
      const ok = decryptPreKeyMessage(ctx, est.b, bob.identity, {}, second);
      expect(ok.remoteIdentity).toEqual(alice.identity.publicKey);
      expect(ok.consumed).toBeUndefined();
    });

    it('after all that, the genuine message still starts the session', () => {
      const d = decryptPreKeyMessage(ctx, old.b, bob.identity, responderKeys(bob, pm), genuine);
      expect(bytesEqual(d.plaintext, body)).toBe(true);
      expect(d.consumed).toEqual({ oneTimePreKeyId: pm.oneTimePreKeyId, pqPreKeyId: pm.pqPreKeyId });
    });
  });

  describe('wrong associated data', () => {
    it('a session whose identities differ cannot read the message', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'ok'));
      const m = encryptMessage(ctx, a, body).message;
      const asCarol = withState(b, (s) => ({ ...s, remoteIdentity: carol.identity.publicKey, associatedData: concatBytes(carol.identity.publicKey, bob.identity.publicKey) }));
      expectRejectedUnchanged(asCarol, (r) => decryptMessage(ctx, r, m), DecryptionError, 'AD = IK_C || IK_B');
      const swapped = withState(b, (s) => ({ ...s, associatedData: concatBytes(bob.identity.publicKey, alice.identity.publicKey) }));
      expectRejectedUnchanged(swapped, (r) => decryptMessage(ctx, r, m), DecryptionError, 'AD = IK_B || IK_A');
      // Only the associated data differed: the genuine record reads it.
      expect(bytesEqual(decryptMessage(ctx, b, m).plaintext, body)).toBe(true);
    });
  });

  describe('wrong recipient', () => {
    it('a ratchet message for Bob given to Carol, who has a session with Alice', () => {
      const ab = establish(ctx, alice, bob, { reply: true });
      const ac = establish(ctx, alice, carol, { reply: true });
      const m = encryptMessage(ctx, ab.a, body).message;
      expectRejectedUnchanged(ac.b, (r) => decryptMessage(ctx, r, m), DecryptionError, 'ratchet message to Carol');
    });

    it('a prekey message for Bob given to Carol (her prekeys even carry the same ids)', () => {
      const ac = establish(ctx, alice, carol, { reply: true });
      const a = initiateSession(ctx, alice.identity, bundleOf(bob), undefined);
      const m = encryptMessage(ctx, a, body).message;
      const ids = parsePreKeyMessage(m);
      const carolKeys = responderKeys(carol, ids);
      expect(carolKeys.oneTimePreKey && carolKeys.pqPreKey).toBeTruthy();
      expectRejectedUnchanged(ac.b, (r) => decryptPreKeyMessage(ctx, r, carol.identity, carolKeys, m), DecryptionError, 'prekey message to Carol');
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, carol.identity, carolKeys, m), DecryptionError);
    });
  });

  describe('replay', () => {
    it('of a ratchet message', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      const m = encryptMessage(ctx, a, body);
      a = m.record;
      b = decryptMessage(ctx, b, m.message).record;
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, m.message), DuplicateMessageError, 'immediate replay');
      ({ from: b, to: a } = exchange(ctx, b, a, 'later'));
      ({ from: a, to: b } = exchange(ctx, a, b, 'later still'));
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, m.message), DuplicateMessageError, 'replay after a ratchet step');
    });

    it('of a prekey message: no new session, no prekey needed, a duplicate', () => {
      let { a, b, first } = establish(ctx, alice, bob);
      const keys = responderKeys(bob, parsePreKeyMessage(first));
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, first), DuplicateMessageError, 'immediate replay');
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, {}, first), DuplicateMessageError, 'replay, prekeys deleted');
      ({ from: b, to: a } = exchange(ctx, b, a, 'reply'));
      ({ from: a, to: b } = exchange(ctx, a, b, 'and back'));
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, first), DuplicateMessageError, 'replay after a ratchet step');
      // After Alice started another session, the old one is a previous state: still a duplicate.
      const second = establish(ctx, alice, bob, { existingA: a, existingB: b });
      expect(second.b.previous).toHaveLength(1);
      expectRejectedUnchanged(second.b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, first), DuplicateMessageError, 'replay onto a previous state');
      // The replayed prekey message's inner ratchet message, sent on its own: decryptMessage reports the
      // current session's error when no state decrypts, so this replay may surface as DecryptionError.
      expectRejectedUnchanged(second.b, (r) => decryptMessage(ctx, r, parsePreKeyMessage(first).message), [DuplicateMessageError, DecryptionError], 'inner message replay');
    });

    it('of a prekey message whose base key has the bit X25519 ignores set: refused, not a second session', () => {
      // No one-time prekey and the last-resort PQ key: every prekey the message names is still there,
      // so only the duplicate check (base key + identity) stands between a replay and a new session.
      const { b, first } = establish(ctx, alice, bob, { oneTime: false, lastResort: true });
      const pm = parsePreKeyMessage(first);
      const keys = responderKeys(bob, pm);
      const highBit = encodePreKeyMessage({ ...pm, baseKey: flipBit(pm.baseKey, 31, 7) });
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, highBit), DecodeError, 'top bit set');
      expectThrows(() => parsePreKeyMessage(highBit), DecodeError);
      // u + p for a small u: the other non-canonical encoding.
      const aboveP = new Uint8Array(32).fill(0xff);
      aboveP[0] = 0xed + 9;
      aboveP[31] = 0x7f;
      expectThrows(() => parsePreKeyMessage(encodePreKeyMessage({ ...pm, baseKey: aboveP })), DecodeError);
      // The plain replay is the duplicate it always was.
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, first), DuplicateMessageError, 'plain replay');
    });

    it('of a prekey message whose base key is EK_A plus the point of order 2 (u → 1/u): same DHs, still refused', () => {
      // Clamped X25519 scalars are multiples of 8, so X25519(k, 1/u) = X25519(k, u): every DH, and SK, are
      // unchanged, and the bytes are canonical. Only binding EK_A itself (in the AD) tells the two apart.
      const { b, first } = establish(ctx, alice, bob, { oneTime: false, lastResort: true });
      const pm = parsePreKeyMessage(first);
      const shifted = x25519Inverse(pm.baseKey);
      expect(bytesEqual(crypto.x25519(bob.signedPreKey.keyPair.privateKey, shifted), crypto.x25519(bob.signedPreKey.keyPair.privateKey, pm.baseKey))).toBe(true);
      const replay = encodePreKeyMessage({ ...pm, baseKey: shifted });
      const keys = responderKeys(bob, pm);
      expectRejectedUnchanged(b, (r) => decryptPreKeyMessage(ctx, r, bob.identity, keys, replay), DecryptionError, 'base key 1/u');
      expectThrows(() => decryptPreKeyMessage(ctx, undefined, bob.identity, keys, replay), DecryptionError);
    });
  });

  describe('skipped-key bounds', () => {
    function sendMany(c: ProtocolContext, a: SessionRecord, count: number): { a: SessionRecord; messages: Uint8Array[] } {
      const messages: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const m = encryptMessage(c, a, Uint8Array.of(i & 0xff, i >> 8));
        a = m.record;
        messages.push(m.message);
      }
      return { a, messages };
    }

    it(`a message MAX_SKIP_PER_CHAIN+1 (${MAX_SKIP_PER_CHAIN + 1}) ahead is refused; MAX_SKIP_PER_CHAIN ahead is accepted`, () => {
      const est = establish(ctx, alice, bob, { reply: true });
      let b = est.b;
      const { messages } = sendMany(ctx, est.a, MAX_SKIP_PER_CHAIN + 3);
      // A new chain: Bob expects number 0.
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, messages[MAX_SKIP_PER_CHAIN + 1]!), TooManySkippedError, 'new chain');
      b = decryptMessage(ctx, b, messages[MAX_SKIP_PER_CHAIN]!).record;
      expect(b.current!.skippedKeys).toHaveLength(MAX_SKIP_PER_CHAIN);
      // A known chain: Bob expects MAX+1; MAX+2 is fine, and the skipped ones still decrypt.
      b = decryptMessage(ctx, b, messages[MAX_SKIP_PER_CHAIN + 2]!).record;
      expect(decryptMessage(ctx, b, messages[0]!).plaintext).toEqual(Uint8Array.of(0, 0));
      expect(decryptMessage(ctx, b, messages[MAX_SKIP_PER_CHAIN + 1]!).plaintext).toEqual(Uint8Array.of((MAX_SKIP_PER_CHAIN + 1) & 0xff, (MAX_SKIP_PER_CHAIN + 1) >> 8));
    });

    it('on a known chain, and for the previous chain at a DH ratchet step', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      const first = sendMany(ctx, a, MAX_SKIP_PER_CHAIN + 3);
      a = first.a;
      b = decryptMessage(ctx, b, first.messages[0]!).record;
      // Known chain at number 1: number MAX+2 is MAX+1 ahead.
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, first.messages[MAX_SKIP_PER_CHAIN + 2]!), TooManySkippedError, 'known chain');
      // Bob replies; Alice's next chain announces PN = MAX+3 for the chain Bob is at 1 on.
      ({ from: b, to: a } = exchange(ctx, b, a, 'reply'));
      const next = encryptMessage(ctx, a, enc('new chain')).message;
      expect(decodeRatchetMessage(next).previousCounter).toBe(MAX_SKIP_PER_CHAIN + 3);
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, next), TooManySkippedError, 'previous chain at a DH step');
      // Catching up on the old chain makes the new chain's first message acceptable.
      b = decryptMessage(ctx, b, first.messages[MAX_SKIP_PER_CHAIN]!).record;
      expect(dec(decryptMessage(ctx, b, next).plaintext)).toBe('new chain');
    });

    it(`total skipped keys are capped at MAX_SKIPPED_KEYS (${MAX_SKIPPED_KEYS}), oldest evicted`, () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      const chains: Uint8Array[][] = [];
      for (let round = 0; round < 2; round++) {
        const sent = sendMany(ctx, a, MAX_SKIP_PER_CHAIN + 1);
        a = sent.a;
        chains.push(sent.messages);
        b = decryptMessage(ctx, b, sent.messages[MAX_SKIP_PER_CHAIN]!).record; // skips MAX_SKIP_PER_CHAIN keys
        ({ from: b, to: a } = exchange(ctx, b, a, `reply ${round}`));
      }
      expect(b.current!.skippedKeys).toHaveLength(2 * MAX_SKIP_PER_CHAIN);
      expect(2 * MAX_SKIP_PER_CHAIN).toBe(MAX_SKIPPED_KEYS); // the budget is exactly full
      const last = sendMany(ctx, a, 6);
      chains.push(last.messages);
      b = roundTripRecord(decryptMessage(ctx, b, last.messages[5]!).record); // 5 more: the 5 oldest go
      expect(b.current!.skippedKeys).toHaveLength(MAX_SKIPPED_KEYS);
      for (let i = 0; i < 5; i++) {
        expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, chains[0]![i]!), DuplicateMessageError, `evicted key ${i}`);
      }
      // The oldest kept key, the newest, and one in the middle all still work.
      expect(decryptMessage(ctx, b, chains[0]![5]!).plaintext).toEqual(Uint8Array.of(5, 0));
      expect(decryptMessage(ctx, b, chains[2]![4]!).plaintext).toEqual(Uint8Array.of(4, 0));
      expect(decryptMessage(ctx, b, chains[1]![0]!).plaintext).toEqual(Uint8Array.of(0, 0));
      // Order of the list is oldest first.
      const sk = b.current!.skippedKeys;
      expect(sk[0]!.counter).toBe(5);
      expect(sk[sk.length - 1]!.counter).toBe(4);
    });
  });

  describe('the 32-bit counter', () => {
    it('at 0xfffffffe a message still works; at 0xffffffff sending is refused and a received one is rejected', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'sync'));
      expect(bytesEqual(a.current!.sendingChainKey, b.current!.receivingChains[0]!.chainKey)).toBe(true);
      const high = MAX_COUNTER - 1;
      a = withState(a, (s) => ({ ...s, sendingCounter: high }));
      b = withState(b, (s) => ({ ...s, receivingChains: [{ ...s.receivingChains[0]!, counter: high }, ...s.receivingChains.slice(1)] }));
      // The hand-built message is byte-identical to the engine's, so the forgery below is well-formed.
      expect(forgeRatchetMessage(crypto, a.current!, high, enc('edge'))).toEqual(encryptMessage(ctx, a, enc('edge')).message);
      ({ from: a, to: b } = exchange(ctx, a, b, 'edge'));
      expect(b.current!.receivingChains[0]!.counter).toBe(MAX_COUNTER);
      expectRejectedUnchanged(a, (r) => encryptMessage(ctx, r, enc('one too many')), InvalidArgumentError, 'sending at 0xffffffff');
      const forged = forgeRatchetMessage(crypto, a.current!, MAX_COUNTER, enc('one too many'));
      expect(decodeRatchetMessage(forged).counter).toBe(MAX_COUNTER);
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, forged), TooManySkippedError, 'receiving 0xffffffff');
      // And the record still encodes (no counter past 32 bits was stored).
      expect(roundTripRecord(b).current!.receivingChains[0]!.counter).toBe(MAX_COUNTER);
    });

    it('a previous-chain counter of 0xffffffff at a DH step is rejected', () => {
      let { a, b } = establish(ctx, alice, bob, { reply: true });
      ({ from: a, to: b } = exchange(ctx, a, b, 'sync'));
      ({ from: b, to: a } = exchange(ctx, b, a, 'reply'));
      const forged = forgeRatchetMessage(crypto, { ...a.current!, previousCounter: MAX_COUNTER }, 0, enc('pn'));
      expectRejectedUnchanged(b, (r) => decryptMessage(ctx, r, forged), TooManySkippedError, 'PN = 0xffffffff');
      expect(encodeSessionRecord(b).length).toBeGreaterThan(0);
    });
  });
});
