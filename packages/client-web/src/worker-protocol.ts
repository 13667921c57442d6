/**
 * The messages between a page and the Sigilo engine in a dedicated Worker
 * (worker-host.ts runs the engine, worker-client.ts is the page's side):
 * requests with ids answered by results with the same id, and the engine's
 * events forwarded as they happen. Everything is structured-clonable
 * (Uint8Array, plain objects), nothing is a function or a class instance.
 */
import type { ClientEvent, ContactRow, MessageRow } from '@sigilo/client';
import type { KdfParams } from './store-keys.js';
import type { AttachmentWorkerMethods, TransferProgress } from './worker-methods/attachments.js';

/** What the Worker does, by method: its arguments and what it answers. */
export interface WorkerMethods extends AttachmentWorkerMethods {
  /** Unlocks (or creates) the IndexedDB store `name` in the Worker and makes the engine on it. */
  open(o: { name: string; passphrase: string; kdf?: KdfParams; marker?: string | null; startOverAfterEviction?: boolean }): { created: boolean; registered: boolean };
  /** Points the engine at a server; `url` undefined: the origin the Worker was loaded from. */
  init(url: string | undefined, fingerprint?: string): { url: string };
  register(inviteCode: string): { accountId: Uint8Array; deviceId: number };
  connect(o?: { reconnect?: boolean }): void;
  whoami(): { accountId: Uint8Array | undefined; deviceId: number | undefined; contactCard: string | undefined; state: string };
  addContact(alias: string, accountId: Uint8Array, accessKey: Uint8Array | undefined, profileKey?: Uint8Array): ContactRow;
  sendText(to: Uint8Array, body: string): MessageRow;
  markRead(conversation: Uint8Array, messageIds?: Uint8Array[]): number;
  typing(conversation: Uint8Array, started: boolean): void;
  deleteForEveryone(conversation: Uint8Array, messageId: Uint8Array): void;
  /** Stored messages and the confidential ones held in the Worker's memory. */
  listMessages(conversation: Uint8Array | undefined, limit: number): MessageRow[];
  listContacts(): ContactRow[];
  /** Disappearing messages (client.md §14): sets a conversation's timer (ms; 0 off), with the notice row it sent. */
  setDisappearingTimer(conversation: Uint8Array, timerMs: number): MessageRow;
  disappearingTimer(conversation: Uint8Array): number;
  /** Confidential mode (client.md §15): switch it for a 1:1 conversation; wipe its in-memory messages (tab hidden, chat closed). */
  setConfidential(conversation: Uint8Array, on: boolean): MessageRow;
  confidential(conversation: Uint8Array): boolean;
  wipeConfidential(conversation: Uint8Array): void;
  /** Disconnects, writes what is queued and closes the store (releasing it for another tab). */
  close(): void;
}
export type WorkerMethod = keyof WorkerMethods;

/**
 * Error codes the page can show: the store's (`STORE_IN_USE`: "Sigilo is open in another tab", `BAD_PASSPHRASE`,
 * `STORE_EVICTED`, …), the engine's (`IDENTITY_CHANGED`, …), `NOT_OPEN` (a call before `open`), `WORKER_FAILED`
 * (the Worker could not be loaded or crashed) and `INTERNAL`.
 */
export interface WorkerErrorData {
  readonly code: string;
  readonly message: string;
  /** An attachment error's reason (`ABORTED`, `TAMPERED`, …) and whether running it again resumes it. */
  readonly reason?: string;
  readonly resumable?: boolean;
}

export type ToWorker = { readonly kind: 'call'; readonly id: number; readonly method: WorkerMethod; readonly args: unknown[] };
export type FromWorker =
  | { readonly kind: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'result'; readonly id: number; readonly ok: false; readonly error: WorkerErrorData }
  | { readonly kind: 'event'; readonly event: ClientEvent }
  /** A transfer's progress (worker-methods/attachments.ts). */
  | TransferProgress
  /** The store's eviction marker changed: the page keeps it (a Worker has no localStorage). */
  | { readonly kind: 'marker'; readonly name: string; readonly value: string | null };

/** What a second tab shows when the store is held by the first. */
export const IN_ANOTHER_TAB = 'Sigilo is open in another tab: use that tab, or close it and reload this one';
