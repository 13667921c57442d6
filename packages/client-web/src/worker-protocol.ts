/**
 * The messages between a page and the Sigilo engine in a dedicated Worker
 * (worker-host.ts runs the engine, worker-client.ts is the page's side):
 * requests with ids answered by results with the same id, and the engine's
 * events forwarded as they happen. Everything is structured-clonable
 * (Uint8Array, plain objects), nothing is a function or a class instance.
 */
import type { HostMessage } from './worker-methods/context.js';

/** What the Worker does, by method: its arguments and what it answers (one file per concept in worker-methods/). */
export type { WorkerMethods } from './worker-methods/index.js';
import type { WorkerMethods } from './worker-methods/index.js';
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
  /** An engine event, or the store's eviction marker changed (the page keeps it: a Worker has no localStorage). */
  | HostMessage;

/** What a second tab shows when the store is held by the first. */
export const IN_ANOTHER_TAB = 'Sigilo is open in another tab: use that tab, or close it and reload this one';
