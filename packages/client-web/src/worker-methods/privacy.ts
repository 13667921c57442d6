/**
 * Disappearing messages per chat (client.md §14), for the chat settings screen. The engine gains these methods
 * with the `privacy` work; until an engine has them, `disappearingTimer` answers undefined and the page shows
 * no timer (so this file works on either engine).
 */
import type { MessageRow } from '@sigilo/client';
import { HostError, type HostContext } from './context.js';

interface PrivacyApi {
  disappearingTimer?(conversation: Uint8Array): number;
  setDisappearingTimer?(conversation: Uint8Array, timerMs: number): Promise<MessageRow>;
}

export function privacyMethods(ctx: HostContext) {
  const api = () => ctx.need() as unknown as PrivacyApi;
  return {
    /** The timer new messages of the chat carry (ms; 0 off), or undefined when this engine has no disappearing messages. */
    disappearingTimer(conversation: Uint8Array): number | undefined {
      const c = api();
      return typeof c.disappearingTimer === 'function' ? c.disappearingTimer(conversation) : undefined;
    },
    /** Sets the chat's timer (ms; 0 off) and tells its participants; TIMER_TOO_LONG above the organisation's maximum. */
    async setDisappearingTimer(conversation: Uint8Array, timerMs: number): Promise<void> {
      const c = api();
      if (typeof c.setDisappearingTimer !== 'function') throw new HostError('UNSUPPORTED', 'this version of the engine has no disappearing messages');
      await c.setDisappearingTimer(conversation, timerMs);
    },
  };
}
