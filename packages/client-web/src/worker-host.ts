/**
 * The engine side of the Worker interface (worker-protocol.ts): call
 * `hostSigiloWorker(self)` in a dedicated Worker's script. It opens the
 * IndexedDB store in the Worker, runs a SigiloClient on the browser adapters
 * there, answers the page's requests from the method table (worker-methods/,
 * one file per concept) and forwards the engine's events. The UI thread never
 * holds a key or runs a ratchet step.
 */
import { AttachmentError, ClientError, type SigiloClient } from '@sigilo/client';
import { StoreError } from './errors.js';
import type { IndexedDbStore } from './store.js';
import { HostError, methodTable, type HostContext } from './worker-methods/index.js';
import { IN_ANOTHER_TAB, type FromWorker, type ToWorker, type WorkerErrorData } from './worker-protocol.js';

/** The part of a DedicatedWorkerGlobalScope the host uses. */
export interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}

/** A thrown error as the page sees it: a stable code and a message (never plaintext, keys or ids). */
export function workerError(e: unknown): WorkerErrorData {
  if (e instanceof StoreError && e.code === 'STORE_IN_USE') return { code: e.code, message: IN_ANOTHER_TAB };
  if (e instanceof AttachmentError) return { code: e.code, message: e.message, reason: e.reason, resumable: e.resumable };
  if (e instanceof StoreError || e instanceof ClientError || e instanceof HostError) return { code: e.code, message: e.message };
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export function hostSigiloWorker(scope: WorkerScope): void {
  let store: IndexedDbStore | undefined;
  let client: SigiloClient | undefined;
  const ctx: HostContext = {
    get client() { return client; },
    get store() { return store; },
    need: () => client ?? (() => { throw new HostError('NOT_OPEN', 'open the store first'); })(),
    setOpen(s, c) { store = s; client = c; },
    post: (m) => scope.postMessage(m),
  };
  const methods = methodTable(ctx);

  scope.addEventListener('message', (e) => {
    const m = e.data;
    if (!m || m.kind !== 'call' || typeof m.id !== 'number') return;
    const fn = typeof m.method === 'string' && Object.hasOwn(methods, m.method) ? methods[m.method] : undefined;
    void (async () => {
      try {
        if (!fn) throw new HostError('UNKNOWN_METHOD', `no method "${String(m.method)}"`);
        const value = await fn(...(Array.isArray(m.args) ? m.args : []));
        scope.postMessage({ kind: 'result', id: m.id, ok: true, value });
      } catch (err) {
        scope.postMessage({ kind: 'result', id: m.id, ok: false, error: workerError(err) });
      }
    })();
  });
}
