/**
 * Session records: everything the engine knows about one peer device, and its
 * versioned byte encoding (storage.proto, protocol.md §7). The engine keeps no
 * state outside a record; callers load it, call a pure function, store the new one.
 */
import { SessionRecordStructureSchema, type SessionStateStructure } from '../gen/sigilo/protocol/v1/storage_pb.js';
import type { X25519KeyPair } from '../crypto/provider.js';
import { DecodeError, UnsupportedVersionError } from '../errors.js';
import { IDENTITY_KEY_LENGTH, X25519_KEY_LENGTH } from '../keys.js';
import { decodeProto, encodeProto } from '../proto.js';

export const SESSION_RECORD_VERSION = 1;
/** Previous session states kept for late messages after a session was replaced. */
export const MAX_PREVIOUS_STATES = 5;
/** Receiving chains remembered (current plus older ones) to recognise duplicates. */
export const MAX_RECEIVING_CHAINS = 5;

export interface ReceivingChain {
  readonly ratchetKey: Uint8Array;
  /** Empty for chains older than the current one: their remaining keys were moved to `skippedKeys`. */
  readonly chainKey: Uint8Array;
  /** Nr: the next message number expected on this chain. */
  readonly counter: number;
}

export interface SkippedKey {
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly messageKey: Uint8Array;
}

export interface PendingPreKey {
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
  readonly pqPreKeyId: number;
  readonly pqCiphertext: Uint8Array;
}

export interface SessionState {
  readonly localIdentity: Uint8Array;
  readonly remoteIdentity: Uint8Array;
  /** AD = IK_A || IK_B || EK_A, fixed at session setup. */
  readonly associatedData: Uint8Array;
  readonly rootKey: Uint8Array;
  readonly sendingRatchet: X25519KeyPair;
  readonly sendingChainKey: Uint8Array;
  /** Ns */
  readonly sendingCounter: number;
  /** PN */
  readonly previousCounter: number;
  /** Newest first; the first entry is the current receiving chain. */
  readonly receivingChains: readonly ReceivingChain[];
  /** Oldest first. */
  readonly skippedKeys: readonly SkippedKey[];
  /** Present on the initiator until the first reply arrives: every message is sent as a prekey message. */
  readonly pendingPreKey: PendingPreKey | undefined;
  /** The initiator's ephemeral EK_A: identifies the session across duplicate prekey messages. */
  readonly baseKey: Uint8Array;
}

export interface SessionRecord {
  readonly current: SessionState | undefined;
  /** Newest first. */
  readonly previous: readonly SessionState[];
}

export const EMPTY_SESSION_RECORD: SessionRecord = { current: undefined, previous: [] };

function stateToStructure(s: SessionState) {
  return {
    localIdentity: s.localIdentity,
    remoteIdentity: s.remoteIdentity,
    associatedData: s.associatedData,
    rootKey: s.rootKey,
    sendingRatchetPrivate: s.sendingRatchet.privateKey,
    sendingRatchetPublic: s.sendingRatchet.publicKey,
    sendingChainKey: s.sendingChainKey,
    sendingCounter: s.sendingCounter,
    previousCounter: s.previousCounter,
    receivingChains: s.receivingChains.map((c) => ({ ratchetKey: c.ratchetKey, chainKey: c.chainKey, counter: c.counter })),
    skippedKeys: s.skippedKeys.map((k) => ({ ratchetKey: k.ratchetKey, counter: k.counter, messageKey: k.messageKey })),
    pendingPreKey: s.pendingPreKey,
    baseKey: s.baseKey,
  };
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new DecodeError(`session record: ${what}`);
}

function structureToState(m: SessionStateStructure): SessionState {
  need(m.localIdentity.length === IDENTITY_KEY_LENGTH && m.remoteIdentity.length === IDENTITY_KEY_LENGTH, 'identity keys must be 64 bytes');
  need(m.associatedData.length === 2 * IDENTITY_KEY_LENGTH + X25519_KEY_LENGTH, 'associated data must be 160 bytes');
  need(m.rootKey.length === 32 && m.sendingChainKey.length === 32, 'root and sending chain keys must be 32 bytes');
  need(m.sendingRatchetPrivate.length === X25519_KEY_LENGTH && m.sendingRatchetPublic.length === X25519_KEY_LENGTH, 'ratchet keys must be 32 bytes');
  need(m.baseKey.length === X25519_KEY_LENGTH, 'base key must be 32 bytes');
  need(m.receivingChains.length <= MAX_RECEIVING_CHAINS, 'too many receiving chains');
  for (const c of m.receivingChains) need(c.ratchetKey.length === 32 && (c.chainKey.length === 32 || c.chainKey.length === 0), 'receiving chain keys must be 32 bytes');
  for (const k of m.skippedKeys) need(k.ratchetKey.length === 32 && k.messageKey.length === 32, 'skipped keys must be 32 bytes');
  const p = m.pendingPreKey;
  return {
    localIdentity: m.localIdentity,
    remoteIdentity: m.remoteIdentity,
    associatedData: m.associatedData,
    rootKey: m.rootKey,
    sendingRatchet: { privateKey: m.sendingRatchetPrivate, publicKey: m.sendingRatchetPublic },
    sendingChainKey: m.sendingChainKey,
    sendingCounter: m.sendingCounter,
    previousCounter: m.previousCounter,
    receivingChains: m.receivingChains.map((c) => ({ ratchetKey: c.ratchetKey, chainKey: c.chainKey, counter: c.counter })),
    skippedKeys: m.skippedKeys.map((k) => ({ ratchetKey: k.ratchetKey, counter: k.counter, messageKey: k.messageKey })),
    pendingPreKey: p ? { signedPreKeyId: p.signedPreKeyId, oneTimePreKeyId: p.oneTimePreKeyId, pqPreKeyId: p.pqPreKeyId, pqCiphertext: p.pqCiphertext } : undefined,
    baseKey: m.baseKey,
  };
}

export function encodeSessionRecord(record: SessionRecord): Uint8Array {
  return encodeProto(SessionRecordStructureSchema, {
    version: SESSION_RECORD_VERSION,
    current: record.current ? stateToStructure(record.current) : undefined,
    previous: record.previous.map(stateToStructure),
  });
}

export function decodeSessionRecord(bytes: Uint8Array): SessionRecord {
  const m = decodeProto(SessionRecordStructureSchema, bytes, 'session record');
  if (m.version !== SESSION_RECORD_VERSION) throw new UnsupportedVersionError(`session record version ${m.version} is not supported`);
  need(m.previous.length <= MAX_PREVIOUS_STATES, 'too many previous states');
  return { current: m.current ? structureToState(m.current) : undefined, previous: m.previous.map(structureToState) };
}
