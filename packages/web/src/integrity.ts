/** The page's side of the service worker (spec/web.md §2): registration, status, update checks, warnings. */
import { signal } from '@preact/signals';

export type Problem =
  | { kind: 'asset'; path: string; expected: string; got: string }
  | { kind: 'update-signature'; detail: string }
  | { kind: 'update-asset'; version: string; path: string; expected: string; got: string }
  | { kind: 'rollback'; version: string }
  | { kind: 'worker'; detail: string };

export interface Status {
  keyFingerprint?: string;
  version?: string;
  buildTime?: number;
  manifestSha256?: string;
  update?: { version: string; buildTime: number; manifestSha256: string; newWorker: boolean };
  problem?: Problem;
}

export const status = signal<Status>({});
export const supported = 'serviceWorker' in navigator;

function ask<T>(worker: ServiceWorker | null | undefined, message: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!worker) return reject(new Error('no service worker'));
    const ch = new MessageChannel();
    ch.port1.onmessage = (e) => resolve(e.data as T);
    worker.postMessage(message, [ch.port2]);
  });
}

let registration: ServiceWorkerRegistration | undefined;
/** True while we asked the browser for a new worker script that a signed update lists. */
let expectingWorker = false;

export async function checkNow(): Promise<void> {
  const c = navigator.serviceWorker.controller;
  if (!c) return;
  status.value = await ask<Status>(c, { type: 'check' });
}

export async function applyUpdate(): Promise<void> {
  const c = navigator.serviceWorker.controller;
  const r = await ask<{ ok: boolean; newWorker?: boolean }>(c, { type: 'apply' });
  if (r.ok) return location.reload();
  if (r.newWorker && registration) {
    expectingWorker = true;
    await registration.update();
    const waiting = registration.waiting ?? await new Promise<ServiceWorker | null>((resolve) => {
      const w = registration!.installing;
      if (!w) return resolve(registration!.waiting);
      w.addEventListener('statechange', () => { if (w.state === 'installed' || w.state === 'redundant') resolve(registration!.waiting); });
    });
    if (waiting) await ask(waiting, { type: 'skip-waiting' });
  }
}

export async function startIntegrity(): Promise<void> {
  if (!supported) return;
  registration = await navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' });
  registration.addEventListener('updatefound', () => {
    if (!expectingWorker && navigator.serviceWorker.controller) {
      // The browser found a different worker script. Only a signed release may bring one; the check names it if not.
      void checkNow();
    }
  });
  let hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) {
      // First visit: the worker that just installed took control.
      hadController = true;
      void checkNow();
      return;
    }
    if (expectingWorker) location.reload();
    else status.value = { ...status.value, problem: { kind: 'worker', detail: 'the service worker was replaced without a confirmed, signed update' } };
  });
  await navigator.serviceWorker.ready;
  const c = navigator.serviceWorker.controller;
  if (c) {
    status.value = await ask<Status>(c, { type: 'status' });
    await checkNow();
  }
  setInterval(() => void checkNow(), 30 * 60_000);
}
