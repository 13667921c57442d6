/**
 * A scripted two-party conversation, shared by the vector generator
 * (scripts/generate-vectors.ts) and the frozen-vector test, so both run the
 * exact same sequence of operations (and so draw randomness in the same order).
 */
import {
  decryptMessage, decryptPreKeyMessage, encryptMessage, initiateSession, messageType, parsePreKeyMessage,
  type IdentityKeyPair, type PreKeyBundle, type ProtocolContext, type ResponderKeys, type SessionRecord,
} from '../../src/index.js';

export type TranscriptEvent = { op: 'send'; from: 'alice' | 'bob'; text: string } | { op: 'receive'; index: number };

export interface TranscriptParties {
  readonly alice: { ctx: ProtocolContext; identity: IdentityKeyPair };
  readonly bob: { ctx: ProtocolContext; identity: IdentityKeyPair; keys: ResponderKeys };
  readonly bundle: PreKeyBundle;
}

export interface TranscriptResult {
  readonly messages: { from: 'alice' | 'bob'; text: string; message: Uint8Array }[];
  readonly received: string[];
  readonly alice: SessionRecord;
  readonly bob: SessionRecord;
}

/**
 * Runs the events. `expected`, when given, is the message bytes to deliver
 * instead of the ones just produced (so the receiving side is checked against
 * frozen bytes even if the sending side drifted).
 */
export function runTranscript(p: TranscriptParties, events: readonly TranscriptEvent[], expected?: readonly Uint8Array[]): TranscriptResult {
  let alice = initiateSession(p.alice.ctx, p.alice.identity, p.bundle);
  let bob: SessionRecord | undefined;
  const messages: TranscriptResult['messages'] = [];
  const received: string[] = [];
  for (const e of events) {
    if (e.op === 'send') {
      const ctx = e.from === 'alice' ? p.alice.ctx : p.bob.ctx;
      const r = encryptMessage(ctx, e.from === 'alice' ? alice : bob!, new TextEncoder().encode(e.text));
      if (e.from === 'alice') alice = r.record; else bob = r.record;
      messages.push({ from: e.from, text: e.text, message: r.message });
      continue;
    }
    const m = messages[e.index]!;
    const bytes = expected?.[e.index] ?? m.message;
    let plaintext: Uint8Array;
    if (m.from === 'alice') {
      if (messageType(bytes) === 'prekey') {
        const out = decryptPreKeyMessage(p.bob.ctx, bob, p.bob.identity, p.bob.keys, parsePreKeyMessage(bytes));
        bob = out.record;
        plaintext = out.plaintext;
      } else {
        const out = decryptMessage(p.bob.ctx, bob, bytes);
        bob = out.record;
        plaintext = out.plaintext;
      }
    } else {
      const out = decryptMessage(p.alice.ctx, alice, bytes);
      alice = out.record;
      plaintext = out.plaintext;
    }
    received.push(new TextDecoder().decode(plaintext));
  }
  return { messages, received, alice, bob: bob! };
}

export const TRANSCRIPT_EVENTS: readonly TranscriptEvent[] = [
  { op: 'send', from: 'alice', text: 'Hola, Bob.' },
  { op: 'receive', index: 0 },
  { op: 'send', from: 'alice', text: 'Second prekey message before any reply.' },
  { op: 'receive', index: 1 },
  { op: 'send', from: 'bob', text: 'Olá, Alice.' },
  { op: 'receive', index: 2 },
  { op: 'send', from: 'alice', text: 'Now a plain ratchet message.' },
  { op: 'send', from: 'alice', text: 'Delivered before the previous one.' },
  { op: 'receive', index: 4 },
  { op: 'receive', index: 3 },
  { op: 'send', from: 'bob', text: '' },
  { op: 'receive', index: 5 },
  { op: 'send', from: 'alice', text: 'x'.repeat(300) },
  { op: 'receive', index: 6 },
];
