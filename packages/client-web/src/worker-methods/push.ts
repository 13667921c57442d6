/**
 * Wake-up pushes for the web app (spec/server.md §8.2, client push.ts): what the server offers, and this device's
 * subscription. The page subscribes with the browser's pushManager (the engine's Worker has none) and hands the
 * endpoint and keys here; the engine registers them over its authenticated connection.
 */
import { applicationServerKey, serverPushInfo, ClientError } from '@sigilo/client';
import { HostError, type HostContext } from './context.js';

/** What the settings screen needs: whether the server pushes, and the key to subscribe with. */
export type PushOffer =
  | { readonly mode: 'webpush'; readonly applicationServerKey: Uint8Array; readonly minIntervalMs: number }
  | { readonly mode: 'off' };

export function pushMethods(ctx: HostContext) {
  return {
    /** The server's push offer (/v1/server-info): its VAPID public key, or 'off' (push.mode off, or a server without push). */
    async pushOffer(): Promise<PushOffer> {
      const info = serverPushInfo(await ctx.need().serverInfo());
      const key = applicationServerKey(info);
      return info.mode === 'webpush' && key ? { mode: 'webpush', applicationServerKey: key, minIntervalMs: info.minIntervalMs } : { mode: 'off' };
    },
    /**
     * Registers this device's browser subscription with the server, replacing any earlier one; undefined removes it.
     * PUSH_DISABLED when the server has push off, PUSH_ENDPOINT_REFUSED when it does not accept the browser's push service.
     */
    async setPushSubscription(subscription: { endpoint: string; p256dh: Uint8Array; auth: Uint8Array } | undefined): Promise<void> {
      try {
        await ctx.need().setPushSubscription(subscription);
      } catch (e) {
        const code = e instanceof ClientError ? e.serverCode : undefined;
        if (code === 'PUSH_DISABLED' || code === 'PUSH_ENDPOINT_REFUSED') throw new HostError(code, (e as Error).message);
        throw e;
      }
    },
  };
}
