/**
 * The page's typed client of the engine Worker (client-web worker-client.ts): one Worker per tab, started on
 * first use. `sdk.call.<method>(…)` is typed from the Worker's method table (client-web worker-methods/).
 */
import { SigiloWorkerClient, SigiloWorkerError } from '@sigilo/client-web';

export { SigiloWorkerError };
/** The IndexedDB store's name for this app (one account per browser profile and origin). */
export const STORE_NAME = 'sigilo';

let instance: SigiloWorkerClient | undefined;

export function sdk(): SigiloWorkerClient {
  instance ??= new SigiloWorkerClient(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'sigilo-engine' }));
  return instance;
}

/** Ends the Worker (after close, or to start over with a fresh one). */
export function dropSdk(): void {
  instance = undefined;
}

/** The stable code of an error from the Worker, else INTERNAL. */
export const errorCode = (e: unknown): string => (e instanceof SigiloWorkerError ? e.code : (e as { code?: string })?.code) ?? 'INTERNAL';
