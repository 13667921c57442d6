/**
 * Helpers shared by the session-level tests: establishing sessions, asserting
 * typed errors, checking that a failed call left a record exactly as it was,
 * and an attacker's view of a stolen record.
 */
import { expect } from 'vitest';
import {
  DecodeError, DecryptionError, DuplicateMessageError, ExpiredCertificateError, InvalidArgumentError, InvalidCertificateError,
  InvalidKeyError, InvalidPrekeyError, InvalidSignatureError, NoSessionError, ProtocolError, SenderMismatchError, IdentityKeyUnavailableError,
  TooManySkippedError, UnsupportedVersionError, UntrustedIdentityError, WrongRecipientError, type ProtocolErrorCode,
} from '../../src/errors.js';
import type { IdentityKeyPair, ProtocolContext } from '../../src/keys.js';
import {
  decryptMessage, decryptPreKeyMessage, encryptMessage, initiateSession, messageType, parsePreKeyMessage,
} from '../../src/session.js';
import { decodeSessionRecord, encodeSessionRecord, type SessionRecord, type SessionState } from '../../src/ratchet/session-record.js';
import { bundleOf, responderKeys, type Party } from './fixtures.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// The codes are part of the API: spelled out here so a renamed code fails the tests.
type ErrorClass = abstract new (...args: never[]) => ProtocolError;
export const EXPECTED_CODES = new Map<ErrorClass, ProtocolErrorCode>([
  [InvalidArgumentError, 'INVALID_ARGUMENT'],
  [InvalidKeyError, 'INVALID_KEY'],
  [InvalidSignatureError, 'INVALID_SIGNATURE'],
  [DecodeError, 'DECODE_ERROR'],
  [UnsupportedVersionError, 'UNSUPPORTED_VERSION'],
  [DecryptionError, 'DECRYPTION_FAILED'],
  [DuplicateMessageError, 'DUPLICATE_MESSAGE'],
  [TooManySkippedError, 'TOO_MANY_SKIPPED'],
  [UntrustedIdentityError, 'UNTRUSTED_IDENTITY'],
  [WrongRecipientError, 'WRONG_RECIPIENT'],
  [NoSessionError, 'NO_SESSION'],
  [InvalidPrekeyError, 'INVALID_PREKEY'],
  [InvalidCertificateError, 'INVALID_CERTIFICATE'],
  [ExpiredCertificateError, 'EXPIRED_CERTIFICATE'],
  [SenderMismatchError, 'SENDER_MISMATCH'],
  [IdentityKeyUnavailableError, 'IDENTITY_KEY_UNAVAILABLE'],
]);

/** Runs `fn`, which must throw; returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, and it returned');
}

/** Asserts the error is exactly `cls` (not a subclass, not a sibling), a ProtocolError, with the class's code. */
export function expectErrorClass(e: unknown, cls: ErrorClass, context = ''): void {
  const name = (e as { constructor?: { name?: string } })?.constructor?.name;
  expect(e, `${context}: expected ${cls.name}, got ${name}: ${String(e)}`).toBeInstanceOf(ProtocolError);
  expect((e as object).constructor, `${context}: expected ${cls.name}, got ${name}`).toBe(cls);
  expect((e as ProtocolError).code, context).toBe(EXPECTED_CODES.get(cls));
}

/** `fn` must throw exactly `cls`. */
export function expectThrows(fn: () => unknown, cls: ErrorClass, context = ''): ProtocolError {
  const e = thrown(fn);
  expectErrorClass(e, cls, context);
  return e as ProtocolError;
}

/** `fn` must throw one of `classes`; returns the class thrown. */
export function expectThrowsOneOf(fn: () => unknown, classes: readonly ErrorClass[], context = ''): ErrorClass {
  const e = thrown(fn);
  const name = (e as { constructor?: { name?: string } })?.constructor?.name;
  expect(e, `${context}: expected a ProtocolError, got ${name}: ${String(e)}`).toBeInstanceOf(ProtocolError);
  const cls = (e as object).constructor as ErrorClass;
  expect(classes, `${context}: ${name} is not one of ${classes.map((c) => c.name).join(', ')}`).toContain(cls);
  expect((e as ProtocolError).code, context).toBe(EXPECTED_CODES.get(cls));
  return cls;
}

/** Only ProtocolErrors may escape (or nothing): never a TypeError or RangeError from deep inside. */
export function expectOnlyProtocolErrors(fn: () => unknown, context = ''): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) {
      throw new Error(`${context}: a non-protocol error escaped: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    expect(EXPECTED_CODES.get(e.constructor as ErrorClass), context).toBe(e.code);
  }
}

/** `fn(record)` must throw exactly `cls` and leave the record's encoding identical. */
export function expectRejectedUnchanged(record: SessionRecord, fn: (r: SessionRecord) => unknown, cls: ErrorClass | readonly ErrorClass[], context = ''): void {
  const before = encodeSessionRecord(record);
  if (Array.isArray(cls)) expectThrowsOneOf(() => fn(record), cls, context);
  else expectThrows(() => fn(record), cls as ErrorClass, context);
  expect(bytesHex(encodeSessionRecord(record)), `${context}: record changed by a failed call`).toBe(bytesHex(before));
}

export function bytesHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export const roundTripRecord = (r: SessionRecord): SessionRecord => decodeSessionRecord(encodeSessionRecord(r));

/** True when `needle` occurs as a contiguous run inside `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)
    .indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength)) >= 0;
}

export function flipBit(bytes: Uint8Array, index: number, bit: number): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1 << bit;
  return out;
}

export interface Established {
  /** Alice's (initiator's) record. */
  a: SessionRecord;
  /** Bob's (responder's) record. */
  b: SessionRecord;
  /** The first (prekey) message Alice sent. */
  first: Uint8Array;
  consumed: { oneTimePreKeyId: number | undefined; pqPreKeyId: number } | undefined;
}

/**
 * Alice starts a session from Bob's bundle and sends one prekey message that Bob
 * decrypts; with `reply`, Bob answers and Alice decrypts, so Alice no longer
 * sends prekey messages.
 */
export function establish(
  ctxA: ProtocolContext, alice: Party, bob: Party,
  opts: { oneTime?: boolean; lastResort?: boolean; reply?: boolean; ctxB?: ProtocolContext; existingA?: SessionRecord; existingB?: SessionRecord } = {},
): Established {
  const ctxB = opts.ctxB ?? ctxA;
  let a = initiateSession(ctxA, alice.identity, bundleOf(bob, opts), opts.existingA);
  const sent = encryptMessage(ctxA, a, enc('hello bob'));
  a = sent.record;
  expect(messageType(sent.message)).toBe('prekey');
  const pm = parsePreKeyMessage(sent.message);
  const got = decryptPreKeyMessage(ctxB, opts.existingB, bob.identity, responderKeys(bob, pm), sent.message);
  expect(dec(got.plaintext)).toBe('hello bob');
  let b = got.record;
  if (opts.reply) {
    const r = encryptMessage(ctxB, b, enc('hello alice'));
    b = r.record;
    const d = decryptMessage(ctxA, a, r.message);
    expect(dec(d.plaintext)).toBe('hello alice');
    a = d.record;
  }
  return { a, b, first: sent.message, consumed: got.consumed };
}

/** Sends `text` from `from` and has `to` decrypt it; returns both new records and the message. */
export function exchange(
  ctx: ProtocolContext, from: SessionRecord, to: SessionRecord, text: string, ctxTo: ProtocolContext = ctx,
): { from: SessionRecord; to: SessionRecord; message: Uint8Array } {
  const s = encryptMessage(ctx, from, enc(text));
  const d = messageType(s.message) === 'prekey'
    ? decryptWithPreKeyPath(ctxTo, to, s.message)
    : decryptMessage(ctxTo, to, s.message);
  expect(dec(d.plaintext)).toBe(text);
  return { from: s.record, to: d.record, message: s.message };
}

/** A prekey message on a session the recipient already holds needs no prekeys at all. */
function decryptWithPreKeyPath(ctx: ProtocolContext, to: SessionRecord, message: Uint8Array) {
  const identity = { publicKey: to.current!.localIdentity } as IdentityKeyPair;
  return decryptPreKeyMessage(ctx, to, identity, {}, message);
}

/**
 * What an attacker holding a copy of the sender's record can do to the
 * sender's own outgoing messages: turn its sending chain into a receiving
 * chain (the associated data IK_A || IK_B is the same on both sides).
 */
export function mirrorOfSender(record: SessionRecord): SessionRecord {
  const s = record.current!;
  const mirrored: SessionState = {
    ...s,
    receivingChains: [{ ratchetKey: s.sendingRatchet.publicKey, chainKey: s.sendingChainKey, counter: s.sendingCounter }],
    skippedKeys: [],
    pendingPreKey: undefined,
  };
  return { current: mirrored, previous: [] };
}

/** The ratchet message inside a prekey message, or the message itself. */
export function innerRatchetMessage(message: Uint8Array): Uint8Array {
  return messageType(message) === 'prekey' ? parsePreKeyMessage(message).message : message;
}
