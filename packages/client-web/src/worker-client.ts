/**
 * The page's side of the engine in a Worker (worker-protocol.ts): typed
 * calls that resolve with the Worker's answer or reject with a
 * `SigiloWorkerError` carrying its code (`STORE_IN_USE` when another tab has
 * the store: show `error.message`, "Sigilo is open in another tab"), and the
 * engine's events.
 */
import type { ClientEvent } from '@sigilo/client';
import { localStorageMarker } from './store.js';
import type { FromWorker, ToWorker, WorkerMethod, WorkerMethods } from './worker-protocol.js';
import type { TransferProgress } from './worker-methods/attachments.js';

export class SigiloWorkerError extends Error {
  constructor(readonly code: string, message: string, readonly reason?: string, readonly resumable?: boolean) {
    super(message);
    this.name = 'SigiloWorkerError';
  }
}

/** The part of a Worker the client uses. */
export interface WorkerPort {
  postMessage(message: ToWorker): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: 'error', listener: (e: Event) => void): void;
  terminate?(): void;
}

type Fn = (...args: never[]) => unknown;
type Remote = { [M in WorkerMethod]: WorkerMethods[M] extends Fn ? (...args: Parameters<WorkerMethods[M]>) => Promise<Awaited<ReturnType<WorkerMethods[M]>>> : never };

export class SigiloWorkerClient {
  readonly #worker: WorkerPort;
  #next = 1;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  readonly #listeners = new Set<(e: ClientEvent) => void>();
  readonly #progress = new Set<(p: TransferProgress) => void>();
  /** Typed calls to the engine in the Worker. */
  readonly call: Remote;

  constructor(worker: WorkerPort) {
    this.#worker = worker;
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.kind === 'event') {
        for (const l of this.#listeners) { try { l(m.event); } catch { /* a listener that throws is ignored */ } }
      } else if (m.kind === 'progress') {
        for (const l of this.#progress) { try { l(m); } catch { /* a listener that throws is ignored */ } }
      } else if (m.kind === 'marker') {
        const marker = localStorageMarker(m.name);
        if (m.value === null) marker?.remove(); else marker?.set(m.value);
      } else if (m.kind === 'result') {
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        if (m.ok) p.resolve(m.value); else p.reject(new SigiloWorkerError(m.error.code, m.error.message, m.error.reason, m.error.resumable));
      }
    });
    worker.addEventListener('error', (e: Event) => {
      const message = (e as ErrorEvent).message || 'the Sigilo Worker failed to load or crashed';
      for (const p of this.#pending.values()) p.reject(new SigiloWorkerError('WORKER_FAILED', message));
      this.#pending.clear();
    });
    this.call = new Proxy({} as Remote, {
      get: (_t, method: string) => (...args: unknown[]) => this.#request(method as WorkerMethod, args),
    });
  }

  /**
   * Opens the store in the Worker, handing it the eviction marker kept in this page's localStorage
   * (a Worker has none) so that an evicted store is STORE_EVICTED there too.
   */
  open(o: Omit<Parameters<WorkerMethods['open']>[0], 'marker'>): ReturnType<Remote['open']> {
    const marker = localStorageMarker(o.name);
    return this.call.open({ ...o, ...(marker ? { marker: marker.get() } : {}) });
  }

  on(listener: (e: ClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Progress of the transfers running in the Worker (worker-methods/attachments.ts). */
  onProgress(listener: (p: TransferProgress) => void): () => void {
    this.#progress.add(listener);
    return () => this.#progress.delete(listener);
  }

  #request(method: WorkerMethod, args: unknown[]): Promise<never> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ kind: 'call', id, method, args });
    });
  }

  /** Closes the engine and the store in the Worker, then ends the Worker. */
  async close(): Promise<void> {
    try { await this.call.close(); } finally { this.#worker.terminate?.(); }
  }
}
