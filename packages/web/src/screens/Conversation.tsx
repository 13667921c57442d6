/**
 * A conversation: header with back, name and "typing…"; messages with day separators, ticks and actions;
 * a blocking banner when the contact's safety number changed; the input bar with this chat's draft.
 */
import { useEffect, useRef } from 'preact/hooks';
import { conversations, drafts, me, messages, notice, replyTo, typingUntil } from '../sdk/state.js';
import { acceptIdentity, closeConversation, deleteMessage, markRead, openConversation, safetyNumber, sendText, typing } from '../sdk/actions.js';
import { useSignal } from '@preact/signals';
import type { MessageRow } from '../sdk/types.js';
import { fromHex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { dayLabel, sameDay } from '../format.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { Composer } from '../components/Composer.js';
import { MessageBubble, type MessageActions } from '../components/MessageBubble.js';
import { timerLabel } from '../components/DisappearingPicker.js';
import { displayName } from './ChatList.js';
import { t } from '../i18n/index.js';
import { AttachButton } from '../components/AttachButton.js';
import { VoiceRecorder } from '../components/VoiceRecorder.js';
import { PendingUploads } from '../components/PendingUploads.js';
import { ChatMenuButton } from '../components/ChatMenuButton.js';

export function Conversation({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const summary = conversations.value?.find((c) => c.kind && hexEq(c.id, id));
  const rows = messages.value.get(id);
  const name = summary ? displayName(summary) : '…';
  const isTyping = (typingUntil.value.get(id) ?? 0) > Date.now();
  const end = useRef<HTMLDivElement>(null);
  const number = useSignal<string | undefined>(undefined);

  useEffect(() => {
    void openConversation(id);
    return () => closeConversation(id);
  }, [id]);
  const unread = summary?.unread ?? 0;
  useEffect(() => {
    const read = () => { if (document.visibilityState === 'visible' && unread > 0) void markRead(id).catch(() => undefined); };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [id, unread]);
  useEffect(() => { end.current?.scrollIntoView({ block: 'end' }); }, [rows?.length, id]);

  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  const self = me.value?.accountId;
  const authorName = (author: Uint8Array) => (self && bytesEq(author, self) ? d.you : name);
  const replying = replyTo.value.get(id);
  const setReply = (m: MessageRow | undefined) => {
    const next = new Map(replyTo.value);
    if (m) next.set(id, m); else next.delete(id);
    replyTo.value = next;
  };
  const actions: MessageActions = {
    reply: (m) => setReply(m),
    authorName,
    copy: (m) => void navigator.clipboard?.writeText(m.text).then(() => { notice.value = { kind: 'info', text: d.copied }; }).catch(report),
    deleteForMe: (m) => void deleteMessage(id, m.messageId, false).catch(report),
    deleteForEveryone: (m) => void deleteMessage(id, m.messageId, true).catch(report),
  };

  const items: preact.ComponentChildren[] = [];
  let prev: MessageRow | undefined;
  for (const m of rows ?? []) {
    if (m.groupChange) continue;
    if (!prev || !sameDay(prev.timestamp, m.timestamp)) items.push(<li class="day" key={`day-${m.timestamp}`}><span>{dayLabel(m.timestamp)}</span></li>);
    // A timer change is a notice line, not an (empty) bubble.
    if (m.notice === 'timer') items.push(<li class="day" data-notice-row="timer" key={`n-${m.messageId.join('.')}`}><span>{d.disappearingMarker(m.expireTimerMs ? timerLabel(m.expireTimerMs) : d.disappearingOff)}</span></li>);
    else items.push(<MessageBubble key={`${m.messageId.join('.')}`} m={m} actions={actions} />);
    prev = m;
  }

  return <section class="conversation" aria-labelledby="conv-h">
    <Header id="conv-h" avatar={<Avatar name={name} id={id} small />} title={name} sub={isTyping ? <span class="typing" role="status">{d.typing}</span> : undefined}><ChatMenuButton id={id} /></Header>
    {summary?.identityChanged && <div role="alert" class="banner warning identity" data-notice="identity-changed">
      <p>{d.errIdentityChanged(name)}</p>
      <details onToggle={(e) => { if ((e.target as HTMLDetailsElement).open && !number.value) void safetyNumber(id).then((r) => { number.value = r.formatted; }).catch(report); }}>
        <summary>{d.safetyNumber}</summary>
        <p class="safety-number"><code>{number.value ?? '…'}</code></p>
      </details>
      <button type="button" class="primary" onClick={() => void acceptIdentity(id).catch(report)}>{d.errAcceptIdentity}</button>
    </div>}
    <div class="messages" tabIndex={0} aria-label={d.messagesLabel}>
      <ol class="message-list">{items}<PendingUploads chat={id} /></ol>
      <div ref={end} />
    </div>
    <Composer key={id} initial={drafts.get(id) ?? ''} disabled={summary?.identityChanged} blockedText={d.errSendBlocked}
      replying={replying && { name: authorName(replying.author), text: replying.text }} onCancelReply={() => setReply(undefined)}
      onDraft={(v) => { if (v) drafts.set(id, v); else drafts.delete(id); }}
      onTyping={(started) => void typing(id, started)}
      onSend={(text) => sendText(id, text, replying).then(() => setReply(undefined)).catch((e) => { report(e); throw e; })}
      attach={<AttachButton chat={id} disabled={summary?.identityChanged} />} voice={<VoiceRecorder chat={id} disabled={summary?.identityChanged} />} />
  </section>;
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hexEq(a: Uint8Array, h: string): boolean {
  const b = fromHex(h);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
