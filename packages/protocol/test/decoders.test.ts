/**
 * Hostile bytes into every decoder and every function that parses bytes from
 * the network or from storage: every truncated prefix of a valid encoding,
 * random bytes, and valid encodings with random bytes changed, inserted or cut.
 * Only ProtocolError subclasses may come out (never a TypeError or RangeError
 * from deep inside), and the functions that take a session record leave it
 * exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DecodeError, DecryptionError, InvalidCertificateError, InvalidKeyError, ProtocolError, UnsupportedVersionError,
  decodeIdentityKeyPair, decodeOneTimePreKeyRecord, decodePqPreKeyRecord, decodePreKeyBundle,
  decodeRatchetMessage, decodeSessionRecord, decodeSignedPreKeyRecord, decryptMessage, decryptPreKeyMessage,
  encodeIdentityKeyPair, encodeOneTimePreKeyRecord, encodePqPreKeyRecord, encodePreKeyBundle, encodeSessionRecord,
  encodeSignedPreKeyRecord, encryptMessage, initiateSession, issueSenderCertificate, messageType, parsePreKeyMessage,
  sealSender, unsealSender, verifyPreKeyBundle, verifySenderCertificate,
  type SessionRecord,
} from '../src/index.js';
import { decodePreKeyMessage } from '../src/ratchet/message.js';
import { bundleOf, context, makeParty, NOW, providers, responderKeys } from './support/fixtures.js';
import { enc, establish, expectOnlyProtocolErrors, expectRejectedUnchanged, expectThrows, expectThrowsOneOf, roundTripRecord } from './support/sessions.js';

/** A valid encoding with random bytes changed, inserted or removed. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({
    kind: fc.constantFrom('set', 'xor', 'insert', 'delete', 'cut'),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
    span: fc.integer({ min: 1, max: 8 }),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let out = valid.slice();
    for (const e of edits) {
      const at = out.length === 0 ? 0 : e.at % out.length;
      if (e.kind === 'set') out[at] = e.value;
      else if (e.kind === 'xor') out[at]! ^= e.value || 1;
      else if (e.kind === 'insert') out = Uint8Array.from([...out.subarray(0, at), ...new Array<number>(e.span).fill(e.value), ...out.subarray(at)]);
      else if (e.kind === 'delete') out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + e.span)]);
      else out = out.slice(0, at);
    }
    return out;
  });
}

function everyPrefix(valid: Uint8Array, check: (prefix: Uint8Array, length: number) => void): void {
  for (let n = 0; n < valid.length; n++) check(valid.subarray(0, n).slice(), n);
}

describe.each(providers.map((crypto) => ({ crypto, name: crypto.name })))('decoders ($name)', ({ crypto }) => {
  const ctx = context(crypto, `decoders/${crypto.name}`);
  const alice = makeParty(ctx);
  const bob = makeParty(ctx);
  const runs = crypto.name === 'node' ? 300 : 60;
  const cryptoRuns = crypto.name === 'node' ? 150 : 30;

  // Valid samples of everything that is decoded.
  const est = establish(ctx, alice, bob);
  const pending = encryptMessage(ctx, est.a, enc('second prekey message'));
  const reply = encryptMessage(ctx, est.b, enc('a ratchet message'));
  const ratchetMessage = reply.message;
  const aliceRecord: SessionRecord = pending.record; // still sends prekey messages
  const bobRecord: SessionRecord = reply.record;
  const freshPreKeyMessage = encryptMessage(ctx, initiateSession(ctx, alice.identity, bundleOf(bob)), enc('new session')).message;
  const server = { keyId: 9, privateKey: ctx.random(32) };
  const trusted = [{ keyId: server.keyId, publicKey: crypto.ed25519PublicKey(server.privateKey) }];
  const certificate = issueSenderCertificate(crypto, server, { accountId: new Uint8Array(16).fill(7), deviceId: 1, identityKey: alice.identity.publicKey, expires: NOW + 60_000 });
  const envelope = sealSender(ctx, alice.identity, bob.identity.publicKey, certificate, 1, ratchetMessage);
  const samples = {
    ratchetMessage,
    preKeyMessage: pending.message,
    bundle: encodePreKeyBundle(bundleOf(bob)),
    bundleWithoutOneTime: encodePreKeyBundle(bundleOf(bob, { oneTime: false, lastResort: true })),
    sessionRecord: encodeSessionRecord(bobRecord),
    pendingSessionRecord: encodeSessionRecord(aliceRecord),
    identity: encodeIdentityKeyPair(alice.identity),
    signedPreKey: encodeSignedPreKeyRecord(bob.signedPreKey),
    oneTimePreKey: encodeOneTimePreKeyRecord(bob.oneTimePreKeys[0]!),
    pqPreKey: encodePqPreKeyRecord(bob.pqPreKey),
    certificate,
    envelope,
  };

  // Every entry point that parses bytes, with what it parses.
  const pure: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ['decodeRatchetMessage', samples.ratchetMessage, decodeRatchetMessage],
    ['messageType', samples.preKeyMessage, messageType],
    ['parsePreKeyMessage', samples.preKeyMessage, parsePreKeyMessage],
    ['decodePreKeyMessage', samples.preKeyMessage, decodePreKeyMessage],
    ['decodePreKeyBundle', samples.bundle, (b) => verifyPreKeyBundle(crypto, decodePreKeyBundle(b))],
    ['decodePreKeyBundle (no one-time prekey)', samples.bundleWithoutOneTime, (b) => verifyPreKeyBundle(crypto, decodePreKeyBundle(b))],
    ['decodeSessionRecord', samples.sessionRecord, decodeSessionRecord],
    ['decodeSessionRecord (pending)', samples.pendingSessionRecord, decodeSessionRecord],
    ['decodeIdentityKeyPair', samples.identity, (b) => decodeIdentityKeyPair(crypto, b)],
    ['decodeSignedPreKeyRecord', samples.signedPreKey, decodeSignedPreKeyRecord],
    ['decodeOneTimePreKeyRecord', samples.oneTimePreKey, decodeOneTimePreKeyRecord],
    ['decodePqPreKeyRecord', samples.pqPreKey, decodePqPreKeyRecord],
    ['verifySenderCertificate', samples.certificate, (b) => verifySenderCertificate(crypto, trusted, b, NOW)],
    ['unsealSender', samples.envelope, (b) => unsealSender(ctx, bob.identity, b, trusted, NOW)],
    ['initiateSession (bundle bytes)', samples.bundle, (b) => initiateSession(ctx, alice.identity, decodePreKeyBundle(b))],
  ];
  // The ones that take a record: the record must come out untouched.
  const withRecord: [string, Uint8Array, SessionRecord | undefined, (r: SessionRecord | undefined, b: Uint8Array) => unknown][] = [
    ['decryptMessage', samples.ratchetMessage, aliceRecord, (r, b) => decryptMessage(ctx, r, b)],
    ['decryptMessage (no record)', samples.ratchetMessage, undefined, (r, b) => decryptMessage(ctx, r, b)],
    ['decryptPreKeyMessage (existing session)', samples.preKeyMessage, bobRecord, (r, b) => decryptPreKeyMessage(ctx, r, bob.identity, responderKeys(bob, { oneTimePreKeyId: 100, pqPreKeyId: 200 }), b)],
    ['decryptPreKeyMessage (new session)', freshPreKeyMessage, bobRecord, (r, b) => decryptPreKeyMessage(ctx, r, bob.identity, responderKeys(bob, { oneTimePreKeyId: 100, pqPreKeyId: 200 }), b)],
    ['decryptPreKeyMessage (no record)', freshPreKeyMessage, undefined, (r, b) => decryptPreKeyMessage(ctx, r, bob.identity, responderKeys(bob, { oneTimePreKeyId: 100, pqPreKeyId: 200 }), b)],
  ];

  function robust(name: string, record: SessionRecord | undefined, fn: (r: SessionRecord | undefined, b: Uint8Array) => unknown, bytes: Uint8Array, what: string): void {
    const before = record ? encodeSessionRecord(record) : undefined;
    expectOnlyProtocolErrors(() => fn(record, bytes), `${name}: ${what}`);
    if (record) expect(Buffer.from(encodeSessionRecord(record)).equals(Buffer.from(before!)), `${name}: ${what}: record changed`).toBe(true);
  }

  it('the samples are valid (so the failures below come from the damage)', () => {
    for (const [name, bytes, fn] of pure) expect(() => fn(bytes), name).not.toThrow();
    expect(() => decryptMessage(ctx, aliceRecord, samples.ratchetMessage)).not.toThrow();
    expect(() => decryptPreKeyMessage(ctx, bobRecord, bob.identity, {}, samples.preKeyMessage)).not.toThrow();
    expect(() => decryptPreKeyMessage(ctx, undefined, bob.identity, responderKeys(bob, parsePreKeyMessage(freshPreKeyMessage)), freshPreKeyMessage)).not.toThrow();
  });

  describe('every truncated prefix', () => {
    for (const [name, valid, fn] of pure) {
      it(name, () => everyPrefix(valid, (p, n) => robust(name, undefined, (_r, b) => fn(b), p, `prefix ${n}`)));
    }
    for (const [name, valid, record, fn] of withRecord) {
      it(name, () => everyPrefix(valid, (p, n) => robust(name, record, fn, p, `prefix ${n}`)));
    }

    it('ratchet messages: DecodeError below header + tag, DecryptionError above, the record untouched', () => {
      everyPrefix(samples.ratchetMessage, (p, n) => {
        if (n === 0) expectThrows(() => decodeRatchetMessage(p), DecodeError);
        else if (n < 41 + 16) expectRejectedUnchanged(aliceRecord, (r) => decryptMessage(ctx, r, p), DecodeError, `prefix ${n}`);
        else expectRejectedUnchanged(aliceRecord, (r) => decryptMessage(ctx, r, p), DecryptionError, `prefix ${n}`);
      });
    });

    it('fixed-shape structures refuse every proper prefix', () => {
      // Their last field is a required key or message, so no prefix can pass for a complete structure.
      // (Records ending in scalars, like the PQ prekey record's created_at, can: a missing scalar is 0.)
      const strict: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
        ['prekey message', samples.preKeyMessage, parsePreKeyMessage],
        ['bundle', samples.bundle, decodePreKeyBundle],
        ['identity', samples.identity, (b) => decodeIdentityKeyPair(crypto, b)],
      ];
      for (const [name, valid, fn] of strict) {
        everyPrefix(valid, (p, n) => {
          expectThrowsOneOf(() => fn(p), [DecodeError, UnsupportedVersionError, ...(name === 'bundle' ? [InvalidKeyError] : [])], `${name} prefix ${n}`);
        });
      }
    });

    it('a certificate prefix is never accepted', () => {
      everyPrefix(samples.certificate, (p, n) => expectThrowsOneOf(() => verifySenderCertificate(crypto, trusted, p, NOW), [DecodeError, InvalidCertificateError], `prefix ${n}`));
    });
  });

  describe('random bytes', () => {
    for (const [name, , fn] of pure) {
      it(name, () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => robust(name, undefined, (_r, x) => fn(x), b, 'random')), { numRuns: runs });
      });
    }
    for (const [name, , record, fn] of withRecord) {
      it(name, () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => robust(name, record, fn, b, 'random')), { numRuns: cryptoRuns });
      });
    }
    it('random bytes behind a valid message-type byte', () => {
      fc.assert(fc.property(fc.constantFrom(0x11, 0x12), fc.uint8Array({ minLength: 56, maxLength: 1500 }), (first, rest) => {
        const b = Uint8Array.from([first, ...rest]);
        robust('decryptMessage', aliceRecord, (r, x) => decryptMessage(ctx, r, x), b, 'typed random');
        robust('decryptPreKeyMessage', bobRecord, (r, x) => decryptPreKeyMessage(ctx, r, bob.identity, responderKeys(bob, { oneTimePreKeyId: 100, pqPreKeyId: 200 }), x), b, 'typed random');
      }), { numRuns: cryptoRuns });
    });
  });

  describe('valid encodings with bytes changed, inserted or cut', () => {
    for (const [name, valid, fn] of pure) {
      it(name, () => {
        fc.assert(fc.property(mutated(valid), (b) => robust(name, undefined, (_r, x) => fn(x), b, 'mutated')), { numRuns: cryptoRuns });
      });
    }
    for (const [name, valid, record, fn] of withRecord) {
      it(name, () => {
        fc.assert(fc.property(mutated(valid), (b) => robust(name, record, fn, b, 'mutated')), { numRuns: cryptoRuns });
      });
    }

    it('a damaged session record that still decodes is safe to use', () => {
      fc.assert(fc.property(fc.constantFrom(samples.sessionRecord, samples.pendingSessionRecord), fc.nat(), (valid, seed) => {
        const b = fc.sample(mutated(valid), { numRuns: 1, seed })[0]!;
        let record: SessionRecord;
        try {
          record = decodeSessionRecord(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          return;
        }
        robust('encryptMessage', record, (r) => encryptMessage(ctx, r!, enc('x')), b, 'damaged record');
        robust('decryptMessage', record, (r) => decryptMessage(ctx, r, samples.ratchetMessage), b, 'damaged record');
        robust('decryptPreKeyMessage', record, (r) => decryptPreKeyMessage(ctx, r, bob.identity, {}, samples.preKeyMessage), b, 'damaged record');
        // Whatever it accepted, it can store again.
        expectOnlyProtocolErrors(() => roundTripRecord(record), 'damaged record round trip');
      }), { numRuns: cryptoRuns });
    });
  });
});
