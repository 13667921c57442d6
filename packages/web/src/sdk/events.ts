/** Engine events from the Worker → state: new messages, ticks, typing, deletions, connection, changed keys. */
import { connection, messages, notice, typingUntil } from './state.js';
import { hex } from './ids.js';
import type { ClientEvent } from './types.js';
import { refreshConversation, refreshConversations } from './refresh.js';
import { t } from '../i18n/index.js';
import { notifyMessage } from './notify.js';
import { noteConfidential, wipeFromScreen } from './privacy.js';
import { forgetMessageMedia } from './attachments.js';
import { disappearing } from './settings.js';
import { refreshOrgTrust } from './org.js';

/** Refreshes are coalesced: many events in a burst (catch-up after reconnecting) cost one read. */
let pendingList: ReturnType<typeof setTimeout> | undefined;
const pendingChats = new Set<string>();
function schedule(conversation?: Uint8Array): void {
  if (conversation) pendingChats.add(hex(conversation));
  pendingList ??= setTimeout(() => {
    pendingList = undefined;
    void refreshConversations();
    for (const id of pendingChats) if (messages.value.has(id)) void refreshConversation(id);
    pendingChats.clear();
  }, 30);
}

function setTyping(conversation: Uint8Array, until: number | undefined): void {
  const next = new Map(typingUntil.value);
  const k = hex(conversation);
  if (until === undefined) next.delete(k); else next.set(k, until);
  typingUntil.value = next;
  if (until !== undefined) setTimeout(() => { if ((typingUntil.value.get(k) ?? 0) <= Date.now()) setTyping(conversation, undefined); }, Math.max(0, until - Date.now()) + 50);
}

export function onEngineEvent(e: ClientEvent): void {
  switch (e.type) {
    case 'message':
      setTyping(e.message.conversation, undefined);
      schedule(e.message.conversation);
      notifyMessage(e.message);
      break;
    case 'status':
    case 'deleted':
    case 'history-deleted':
    case 'send-failed':
      schedule(e.conversation);
      break;
    case 'identity-changed':
      schedule(e.accountId);
      break;
    case 'group-update':
      schedule(e.groupId);
      break;
    case 'caught-up':
      schedule();
      break;
    case 'typing':
      setTyping(e.conversation, e.started ? e.expiresAt : undefined);
      break;
    case 'connection':
      connection.value = { state: e.state, ...(e.retryInMs !== undefined ? { retryAt: Date.now() + e.retryInMs } : {}), everOnline: connection.value.everOnline || e.state === 'online' };
      if (e.state === 'online') schedule();
      break;
    case 'confidential':
      // Either side switched the mode (client.md §15): the banner follows; leaving it wipes the screen at once.
      noteConfidential(hex(e.conversation), e.on);
      if (!e.on) wipeFromScreen(hex(e.conversation));
      schedule(e.conversation);
      break;
    case 'confidential-wiped':
      wipeFromScreen(hex(e.conversation));
      break;
    case 'expired':
      // A disappearing message ran out (client.md §14): its decrypted copies on the page go with it.
      forgetMessageMedia(hex(e.messageId));
      schedule(e.conversation);
      break;
    case 'disappearing-timer': {
      const next = new Map(disappearing.value);
      next.set(hex(e.conversation), e.timerMs);
      disappearing.value = next;
      break;
    }
    case 'org-trust':
      // A new CRL or certificate (pushed by the server at once): badges and held contacts change now.
      void refreshOrgTrust().catch(() => undefined);
      if (e.caChanged) notice.value = { kind: 'error', text: t().certCaChanged };
      schedule();
      break;
    case 'replaced':
      notice.value = { kind: 'error', text: t().errReplaced };
      break;
    default:
      break;
  }
}
