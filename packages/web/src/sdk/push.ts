/**
 * Wake-up pushes for when the app is closed (spec/server.md §8.2, spec/web.md §5). The person chooses in
 * Settings › Notifications between push ("Notify me when Sigilo is closed") and none ("Only while Sigilo is open"):
 * - push: the browser's notification permission (asked from the click), the server's VAPID key from the engine,
 *   `pushManager.subscribe({ userVisibleOnly: true, applicationServerKey })`, and the endpoint with its keys handed
 *   to the engine, which registers them with the server for this device;
 * - none: the browser's subscription is dropped and the server told to forget it; messages arrive over the
 *   WebSocket while the app is open, and the settings say so.
 * A server with push off, a refused endpoint or a push service the browser cannot reach (a closed network) leaves
 * the choice at "only while open" with the reason in plain words. At each unlock, and when the service worker says
 * the browser replaced the subscription (pushsubscriptionchange), the page registers the current endpoint again if
 * it is not the one it last registered. localStorage keeps the choice and a SHA-256 of the registered endpoint only.
 */
import { signal } from '@preact/signals';
import { errorCode, sdk } from './client.js';

export type PushChoice = 'push' | 'open';
/** Why push is not in use: the server has it off, refused the browser's push service, the browser could not reach it, etc. */
export type PushProblem = 'server-off' | 'refused' | 'unreachable' | 'denied' | 'unsupported' | 'offline';

const KEY_CHOICE = 'sigilo.push';
const KEY_ENDPOINT = 'sigilo.push.endpoint';
/** Set while the server has not yet been told to forget this device's subscription (turned off while offline). */
const KEY_FORGET = 'sigilo.push.forget';

const read = (k: string): string | null => { try { return localStorage.getItem(k); } catch { return null; } };
const write = (k: string, v: string | undefined): void => {
  try { if (v === undefined) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch { /* private mode: this visit only */ }
};

export const pushChoice = signal<PushChoice>(read(KEY_CHOICE) === 'push' ? 'push' : 'open');
export const pushProblem = signal<PushProblem | undefined>(undefined);
export const pushBusy = signal(false);
/** The choice being made (shown selected while it is set up). */
export const pushPending = signal<PushChoice | undefined>(undefined);

const supported = (): boolean => typeof window !== 'undefined' && 'PushManager' in window && 'serviceWorker' in navigator && typeof Notification !== 'undefined';

async function endpointHash(endpoint: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  return navigator.serviceWorker.getRegistration().catch(() => undefined);
}

function settle(choice: PushChoice, problem?: PushProblem): void {
  pushChoice.value = choice;
  pushProblem.value = problem;
  write(KEY_CHOICE, choice);
}

const sameKey = (a: ArrayBuffer | null | undefined, b: Uint8Array): boolean => {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
};

/** Subscribes (or reuses the browser's subscription for this server's key) and registers it; a problem, or undefined. */
async function subscribeAndRegister(): Promise<PushProblem | undefined> {
  let offer;
  try { offer = await sdk().call.pushOffer(); } catch { return 'offline'; }
  if (offer.mode !== 'webpush') return 'server-off';
  const reg = await registration();
  if (!reg) return 'unsupported';
  let sub = await reg.pushManager.getSubscription().catch(() => null);
  if (sub && !sameKey(sub.options.applicationServerKey, offer.applicationServerKey)) {
    // Made for another key (the server's key changed): a push signed with the new key would be refused.
    await sub.unsubscribe().catch(() => false);
    sub = null;
  }
  if (!sub) {
    try {
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: offer.applicationServerKey as Uint8Array<ArrayBuffer> });
    } catch {
      // Chromium: "AbortError: Registration failed - push service error" when its push service cannot be reached.
      return 'unreachable';
    }
  }
  const p256dh = sub.getKey('p256dh'), auth = sub.getKey('auth');
  if (!p256dh || !auth) return 'unsupported';
  try {
    await sdk().call.setPushSubscription({ endpoint: sub.endpoint, p256dh: new Uint8Array(p256dh), auth: new Uint8Array(auth) });
  } catch (e) {
    const code = errorCode(e);
    if (code === 'PUSH_DISABLED' || code === 'PUSH_ENDPOINT_REFUSED') {
      await sub.unsubscribe().catch(() => false);
      return code === 'PUSH_DISABLED' ? 'server-off' : 'refused';
    }
    return 'offline';
  }
  write(KEY_ENDPOINT, await endpointHash(sub.endpoint));
  return undefined;
}

/** Drops the browser's subscription and tells the server to forget this device's one (again at next unlock if offline). */
async function unsubscribeAndForget(): Promise<void> {
  const reg = supported() ? await registration() : undefined;
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  await sub?.unsubscribe().catch(() => false);
  write(KEY_ENDPOINT, undefined);
  try {
    await sdk().call.setPushSubscription(undefined);
    write(KEY_FORGET, undefined);
  } catch (e) {
    // A server with push off holds none; otherwise try again when connected.
    write(KEY_FORGET, errorCode(e) === 'PUSH_DISABLED' ? undefined : '1');
  }
}

/**
 * The person's choice, from a click (the browser asks its notification permission only during a user gesture).
 * Returns the choice in force afterwards: 'open' with pushProblem set when push could not be used.
 */
export async function choosePush(choice: PushChoice): Promise<PushChoice> {
  if (pushBusy.value) return pushChoice.value;
  pushBusy.value = true;
  pushPending.value = choice;
  try {
    if (choice === 'open') {
      await unsubscribeAndForget();
      settle('open');
      return 'open';
    }
    if (!supported()) { settle('open', 'unsupported'); return 'open'; }
    // First, while the click's activation lasts: the permission prompt.
    const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    if (permission !== 'granted') { settle('open', 'denied'); return 'open'; }
    const problem = await subscribeAndRegister();
    if (problem) {
      if (problem !== 'offline') await unsubscribeAndForget();
      settle(problem === 'offline' ? pushChoice.value : 'open', problem);
      return pushChoice.value;
    }
    write(KEY_FORGET, undefined);
    settle('push');
    return 'push';
  } finally {
    pushBusy.value = false;
    pushPending.value = undefined;
  }
}

/**
 * Once connected (after unlock) and when the service worker reports a replaced subscription: with push chosen, the
 * browser's current endpoint is registered again if it is not the last one registered (or the browser dropped it);
 * with none chosen, a removal the server missed is sent.
 */
export async function syncPush(): Promise<void> {
  if (pushBusy.value) return;
  if (pushChoice.value === 'open') {
    if (read(KEY_FORGET)) await unsubscribeAndForget();
    return;
  }
  if (!supported() || Notification.permission !== 'granted') { settle('open', Notification.permission === 'denied' ? 'denied' : 'unsupported'); return; }
  const reg = await registration();
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  if (sub && read(KEY_ENDPOINT) === await endpointHash(sub.endpoint)) return;
  pushBusy.value = true;
  try {
    const problem = await subscribeAndRegister();
    if (problem && problem !== 'offline') { await unsubscribeAndForget(); settle('open', problem); }
  } finally {
    pushBusy.value = false;
  }
}

let listening = false;
/** The service worker posts 'push-changed' after the browser replaced the subscription (sw.ts). */
export function watchPushChanges(): void {
  if (listening || !supported()) return;
  listening = true;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if ((e.data as { type?: string } | null)?.type === 'push-changed') void syncPush().catch(() => undefined);
  });
}

/** Whether the server offers push (undefined until known: the settings screen asks when shown). */
export const serverPushes = signal<boolean | undefined>(undefined);

export async function loadPushOffer(): Promise<void> {
  try {
    serverPushes.value = (await sdk().call.pushOffer()).mode === 'webpush';
    if (!serverPushes.value && pushChoice.value === 'open' && !pushProblem.value) pushProblem.value = 'server-off';
  } catch { /* offline: asked again when the person chooses */ }
}
