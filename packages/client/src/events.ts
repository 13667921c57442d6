/**
 * What the client tells the application (client.md §4), and the small typed
 * emitter it tells it with: the same in Node and in a browser (no node:events).
 */
import type { MessageRow, MessageStatus } from './store/port.js';
import type { TransparencyAlert } from './transparency.js';

/** A typing indicator with no update for this long is over. */
export const TYPING_EXPIRY_MS = 15_000;

export type ConnectionState = 'offline' | 'connecting' | 'online';

/** One membership change as shown to people: who did what to whom. */
export interface GroupChangeEvent {
  readonly by: Uint8Array;
  /** 'undone': a change shown before lost to a concurrent change by `undoneBy` (groups.md §4.5). */
  readonly kind: 'created' | 'added' | 'removed' | 'left' | 'promoted' | 'demoted' | 'renamed' | 'undone';
  readonly accounts: Uint8Array[];
  readonly name?: string;
  readonly undoneBy?: Uint8Array;
}

export type ClientEvent =
  | { type: 'message'; message: MessageRow }
  | { type: 'status'; conversation: Uint8Array; messageId: Uint8Array; status: MessageStatus }
  /** In a group, `conversation` is the group id and `from` the member typing. */
  | { type: 'typing'; conversation: Uint8Array; started: boolean; expiresAt: number; from?: Uint8Array }
  | { type: 'deleted'; conversation: Uint8Array; messageId: Uint8Array }
  | { type: 'history-deleted'; conversation: Uint8Array }
  | { type: 'identity-changed'; accountId: Uint8Array }
  | { type: 'connection'; state: ConnectionState; retryInMs?: number }
  | { type: 'caught-up' }
  | { type: 'undecryptable'; reason: string }
  /** A queued message could not be sent: `reason` says whether it will be retried. */
  | { type: 'send-failed'; conversation: Uint8Array; messageId: Uint8Array; reason: string; code?: string; permanent?: boolean }
  /** The server closed this connection because this device connected again from elsewhere (another process on the same store): no reconnect. */
  | { type: 'replaced' }
  /** Groups: membership changes applied (who added, removed, promoted whom; renames). */
  | { type: 'group-update'; groupId: Uint8Array; revision: number; changes: GroupChangeEvent[] }
  /** Groups: something refused (a forged membership change, a message from a non-member…); nothing was applied. */
  | { type: 'group-rejected'; groupId: Uint8Array | undefined; reason: string }
  /** Verification by a shared secret (client.md §4.4): `from` asks `question`; answer with answerSmp. */
  | { type: 'smp-question'; from: Uint8Array; question: string }
  /**
   * The outcome of a verification by a shared secret. `aborted`: the peer ended it without a result;
   * `failed`: a proof or value from the peer did not check (a cheat or a bug, not a wrong answer: smp.md §5).
   */
  | { type: 'smp-result'; from: Uint8Array; match: boolean; aborted?: boolean; failed?: boolean }
  /** A signed read receipt (client.md §4.5) arrived and verified against our copy of the message. */
  | { type: 'signed-receipt'; conversation: Uint8Array; messageId: Uint8Array; reader: Uint8Array }
  /** Disappearing messages (client.md §14): the conversation's timer was set (ms; 0 off), by `by`. The notice row comes as a 'message' event too. */
  | { type: 'disappearing-timer'; conversation: Uint8Array; timerMs: number; by: Uint8Array }
  /** A disappearing message's countdown ran out: it is gone from the store (and its downloaded files). */
  | { type: 'expired'; conversation: Uint8Array; messageId: Uint8Array }
  /** Confidential mode (client.md §15) switched on or off for a conversation by `by`. */
  | { type: 'confidential'; conversation: Uint8Array; on: boolean; by: Uint8Array }
  /** The confidential messages of a conversation were wiped from memory (mode left, chat closed, app hidden): clear them from the screen. */
  | { type: 'confidential-wiped'; conversation: Uint8Array }
  /**
   * The organisation's CA or CRL changed (spec/trust.md §6): `revoked` lists the contacts (and maybe this
   * account) whose certificate the new CRL revokes; `caChanged`: the server offered another CA than the one
   * this device pinned (refused; tell the administrator).
   */
  | { type: 'org-trust'; revoked: Uint8Array[]; caChanged?: boolean }
  /**
   * The identity key lives on a PKCS#11 token that cannot sign now (trust.md §7.1): the signed and PQ prekeys
   * are postponed (one-time prekeys were still published); `reason` as IdentityKeyUnavailableError's.
   */
  | { type: 'identity-key-unavailable'; reason: string; message: string }
  /** Key transparency: the server showed a key or a checkpoint that fails verification (spec/transparency.md §6). */
  | TransparencyAlert;

/** Listeners of one kind of value; a listener that throws does not stop the others or the client. */
export class Emitter<T> {
  #listeners: ((value: T) => void)[] = [];

  on(listener: (value: T) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => { this.#listeners = this.#listeners.filter((l) => l !== listener); };
  }

  emit(value: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(value);
      } catch { /* the listener's problem */ }
    }
  }
}
