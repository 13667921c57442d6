/**
 * Wake-up pushes, client side (spec/server.md §Push). A device that wants to
 * be woken while its app is closed registers a Web Push subscription (a
 * browser's PushSubscription, or a UnifiedPush distributor's endpoint with
 * keys) over its authenticated connection. The server then sends that
 * endpoint, when a message waits for the device, an encrypted wake-up that is
 * always the same bytes (PUSH_WAKE_UP): it names no sender, conversation or
 * message. On waking, the app connects, fetches its queue, decrypts, and
 * decides itself whether to show a notification: muted conversations never
 * show one, and the wake-up alone never does.
 *
 * When the server's push mode is 'off' (sites with no way out to a push
 * service), registering fails with PUSH_DISABLED: the app keeps its WebSocket
 * open while it runs and tells the person that it must stay open.
 */
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';

/** The wake-up payload every push carries, once decrypted (compare; never display). */
export const PUSH_WAKE_UP = '{"sigilo":"wake-up","v":1}';

export interface PushSubscriptionKeys {
  /** https: URL of the push service or UnifiedPush distributor. */
  readonly endpoint: string;
  /** 65-byte uncompressed P-256 public key (PushSubscription.getKey('p256dh')). */
  readonly p256dh: Uint8Array;
  /** 16-byte authentication secret (PushSubscription.getKey('auth')). */
  readonly auth: Uint8Array;
}

/** What /v1/server-info says about push. */
export type ServerPushInfo =
  | { readonly mode: 'webpush'; readonly vapidPublicKey: string; readonly minIntervalMs: number }
  | { readonly mode: 'off' };

/** Reads the push part of a /v1/server-info answer (mode 'off' when the server predates push). */
export function serverPushInfo(info: unknown): ServerPushInfo {
  const p = (info as { push?: { mode?: unknown; vapidPublicKey?: unknown; minIntervalMs?: unknown } } | undefined)?.push;
  if (p?.mode === 'webpush' && typeof p.vapidPublicKey === 'string') {
    return { mode: 'webpush', vapidPublicKey: p.vapidPublicKey, minIntervalMs: typeof p.minIntervalMs === 'number' ? p.minIntervalMs : 30_000 };
  }
  return { mode: 'off' };
}

/** The VAPID key as a browser's pushManager.subscribe({ applicationServerKey }) takes it. */
export function applicationServerKey(info: ServerPushInfo): Uint8Array | undefined {
  if (info.mode !== 'webpush') return undefined;
  const b64 = info.vapidPublicKey.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Registers this device's push subscription with the server (replacing any
 * earlier one), or removes it (undefined). Needs an authenticated connection.
 * Rejects with a ClientError whose serverCode is 'PUSH_DISABLED' when the server has push off.
 */
export async function setPushSubscription(connection: Connection, subscription: PushSubscriptionKeys | undefined): Promise<void> {
  const value = subscription
    ? { endpoint: subscription.endpoint, p256dh: subscription.p256dh, auth: subscription.auth }
    : { endpoint: '', p256dh: new Uint8Array(0), auth: new Uint8Array(0) };
  try {
    await connection.request({ case: 'setPushSubscription', value });
  } catch (e) {
    if ((e as { serverCode?: string }).serverCode === 'PUSH_DISABLED') {
      throw new ClientError('SERVER_ERROR', 'this server has push switched off: keep the app open to receive messages', 'PUSH_DISABLED');
    }
    throw e;
  }
}
