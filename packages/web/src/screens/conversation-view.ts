/** What every open chat does, 1:1 or group: open it in the SDK, mark it read while the page is visible, keep the newest message in view. */
import { useEffect } from 'preact/hooks';
import type { RefObject } from 'preact';
import { closeConversation, markRead, openConversation } from '../sdk/actions.js';

export function useConversationView(id: string, unread: number, rowCount: number, end: RefObject<HTMLDivElement | null>): void {
  useEffect(() => {
    void openConversation(id);
    return () => closeConversation(id);
  }, [id]);
  useEffect(() => {
    const read = () => { if (document.visibilityState === 'visible' && unread > 0) void markRead(id).catch(() => undefined); };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [id, unread]);
  useEffect(() => { end.current?.scrollIntoView({ block: 'end' }); }, [rowCount, id]);
}
