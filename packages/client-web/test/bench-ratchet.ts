/**
 * Double Ratchet throughput for bench/browser.mjs: one op = encrypt + decrypt
 * of one 100-byte message in an established session (session records decoded
 * before and encoded after each step, as a store would), with whatever
 * crypto provider the context names. Plain TS with no Node import: the same
 * code runs in Chromium (portable provider) and in Node (node:crypto).
 */
import {
  decodeSessionRecord, decryptMessage, decryptPreKeyMessage, encodeSessionRecord, encryptMessage, generateIdentityKeyPair, generateOneTimePreKeys,
  generatePqPreKey, generateSignedPreKey, initiateSession, makePreKeyBundle, parsePreKeyMessage, type ProtocolContext,
} from '@sigilo/protocol';

export function ratchetOpsPerSecond(ctx: ProtocolContext, ms = 2000): { ops: number; opsPerSecond: number } {
  const now = Date.now();
  const alice = generateIdentityKeyPair(ctx);
  const bob = generateIdentityKeyPair(ctx);
  const spk = generateSignedPreKey(ctx, bob, 1, now);
  const [otk] = generateOneTimePreKeys(ctx, 1, 1);
  const pq = generatePqPreKey(ctx, bob, 1, false, now);
  let a = encodeSessionRecord(initiateSession(ctx, alice, makePreKeyBundle(bob, 1, spk, pq, otk!)));
  const first = encryptMessage(ctx, decodeSessionRecord(a), new Uint8Array(100));
  a = encodeSessionRecord(first.record);
  const opened = decryptPreKeyMessage(ctx, undefined, bob, { signedPreKey: spk, oneTimePreKey: otk, pqPreKey: pq }, parsePreKeyMessage(first.message));
  let b = encodeSessionRecord(opened.record);
  // Bob answers once so that Alice's next messages are plain ratchet messages.
  const reply = encryptMessage(ctx, decodeSessionRecord(b), new Uint8Array(100));
  b = encodeSessionRecord(reply.record);
  a = encodeSessionRecord(decryptMessage(ctx, decodeSessionRecord(a), reply.message).record);
  const pt = new Uint8Array(100);
  let ops = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) {
      pt[0] = ops & 0xff;
      const e = encryptMessage(ctx, decodeSessionRecord(a), pt);
      a = encodeSessionRecord(e.record);
      const d = decryptMessage(ctx, decodeSessionRecord(b), e.message);
      b = encodeSessionRecord(d.record);
      if (d.plaintext[0] !== pt[0] || d.plaintext.length !== 100) throw new Error('ratchet bench: wrong plaintext');
      ops++;
    }
    elapsed = performance.now() - t0;
  }
  return { ops, opsPerSecond: ops / (elapsed / 1000) };
}
