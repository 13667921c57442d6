/**
 * What every method file of the Worker (worker-methods/*.ts) is given: the open
 * client and store, and a way to report events. A method file exports a
 * function `(ctx: HostContext) => ({ …methods })`; worker-methods/index.ts puts
 * them into one table, so a new concept is a new file and one line there.
 */
import type { ClientEvent, SigiloClient } from '@sigilo/client';
import type { IndexedDbStore } from '../store.js';
import type { TransferProgress } from './attachments.js';

export class HostError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

export type HostMessage =
  | { readonly kind: 'event'; readonly event: ClientEvent }
  | { readonly kind: 'marker'; readonly name: string; readonly value: string | null }
  /** A transfer's progress (worker-methods/attachments.ts). */
  | TransferProgress;

export interface HostContext {
  /** The engine; throws NOT_OPEN before `open`. */
  need(): SigiloClient;
  readonly client: SigiloClient | undefined;
  readonly store: IndexedDbStore | undefined;
  /** Set by the session methods (open / close). */
  setOpen(store: IndexedDbStore | undefined, client: SigiloClient | undefined): void;
  /** Sends an event or a marker change to the page (the FromWorker messages that are not results). */
  post(message: HostMessage): void;
}

/** A method file: given the context, its methods (plain values in and out, structured-clonable). */
export type MethodFile = (ctx: HostContext) => Record<string, (...args: never[]) => unknown>;
