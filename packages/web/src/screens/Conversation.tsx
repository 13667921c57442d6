/**
 * A conversation: header with back, name and "typing…"; messages with day separators, ticks and actions;
 * a blocking banner when the contact's safety number changed; the input bar with this chat's draft.
 */
import { useEffect, useRef } from 'preact/hooks';
import { timerLabel } from '../components/DisappearingPicker.js';
import { confidentialChats, conversations, drafts, me, messages, notice, replyTo, typingUntil } from '../sdk/state.js';
import { setConfidentialMode } from '../sdk/privacy.js';
import { Icon } from '../components/Icon.js';
import { acceptIdentity, deleteMessage, safetyNumber, sendText, typing } from '../sdk/actions.js';
import { useConversationView } from './conversation-view.js';
import { useSignal } from '@preact/signals';
import type { MessageRow } from '../sdk/types.js';
import { fromHex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { dayLabel, sameDay } from '../format.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { Composer } from '../components/Composer.js';
import { MessageBubble, type MessageActions } from '../components/MessageBubble.js';
import { personName } from '../person-name.js';
import { NameFlags } from '../components/NameFlag.js';
import { StrangerBanner } from '../components/StrangerBanner.js';
import { TrustBadge } from '../components/TrustBadge.js';
import { InfoIcon } from '../components/Icons.js';
import { navigate, routeTo } from '../router.js';
import { t } from '../i18n/index.js';
import { useDeleteForEveryone } from '../components/DeleteForEveryone.js';
import { AttachButton } from '../components/AttachButton.js';
import { AttachPreview } from '../components/AttachPreview.js';
import { VoiceRecorder } from '../components/VoiceRecorder.js';
import { PendingUploads } from '../components/PendingUploads.js';
import { ChatMenuButton } from '../components/ChatMenuButton.js';
import { CertBadge, RevokedBanner } from '../components/CertBadge.js';
import { revokedHeld } from '../sdk/org.js';

export function Conversation({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const summary = conversations.value?.find((c) => c.kind && hexEq(c.id, id));
  const rows = messages.value.get(id);
  const shown = summary ? personName(summary) : undefined;
  const name = shown?.text ?? '…';
  const isTyping = (typingUntil.value.get(id) ?? 0) > Date.now();
  const end = useRef<HTMLDivElement>(null);
  const number = useSignal<string | undefined>(undefined);
  // A revoked certificate holds the contact like a changed safety number (spec/trust.md §6.3).
  const held = revokedHeld(id);
  const blocked = (summary?.identityChanged ?? false) || held;

  useConversationView(id, summary?.unread ?? 0, rows?.length ?? 0, end);

  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  const confidential = confidentialChats.value.has(id);
  const self = me.value?.accountId;
  const authorName = (author: Uint8Array) => (self && bytesEq(author, self) ? d.you : name);
  const replying = replyTo.value.get(id);
  const setReply = (m: MessageRow | undefined) => {
    const next = new Map(replyTo.value);
    if (m) next.set(id, m); else next.delete(id);
    replyTo.value = next;
  };
  const deleteEveryone = useDeleteForEveryone(id, report);
  const actions: MessageActions = {
    reply: (m) => setReply(m),
    authorName,
    copy: (m) => void navigator.clipboard?.writeText(m.text).then(() => { notice.value = { kind: 'info', text: d.copied }; }).catch(report),
    deleteForMe: (m) => void deleteMessage(id, m.messageId, false).catch(report),
    deleteForEveryone: (m) => deleteEveryone.ask(m),
  };

  const items: preact.ComponentChildren[] = [];
  let prev: MessageRow | undefined;
  for (const m of rows ?? []) {
    if (m.groupChange) continue;
    if (!prev || !sameDay(prev.timestamp, m.timestamp)) items.push(<li class="day" key={`day-${m.timestamp}`}><span>{dayLabel(m.timestamp)}</span></li>);
    if (m.notice) {
      // A conversation setting changed (client.md §14, §15): a line in the conversation, not a bubble.
      // Who set it matters when both people changed the timer at once: the later change wins on both sides.
      const who = m.outgoing ? undefined : name;
      const text = m.notice === 'timer' ? (m.expireTimerMs ? d.timerNotice(who, timerLabel(m.expireTimerMs)) : d.timerNoticeOff(who))
        : m.notice === 'confidential-on' ? d.confidentialNoticeOn : d.confidentialNoticeOff;
      items.push(<li class="day notice" data-notice={m.notice} key={`${m.messageId.join('.')}`}><span>{text}</span></li>);
    } else {
      items.push(<MessageBubble key={`${m.messageId.join('.')}`} m={m} actions={actions} />);
    }
    prev = m;
  }

  return <section class="conversation" aria-labelledby="conv-h">
    <Header id="conv-h" avatar={<Avatar name={name} id={id} small />} title={<><span title={shown?.stranger ? d.notContactHint : undefined}>{name}</span> <TrustBadge id={id} changed={summary?.identityChanged ?? false} compact /></>} sub={isTyping ? <span class="typing" role="status">{d.typing}</span> : <><NameFlags p={shown} /><CertBadge id={id} compact /></>}>
      <button type="button" class="icon" aria-label={d.contactInfo} title={d.contactInfo} onClick={() => navigate(routeTo('contact', id))}><InfoIcon /></button>
      <ChatMenuButton id={id} />
    </Header>
    {summary?.identityChanged && <div role="alert" class="banner warning identity" data-notice="identity-changed">
      <p>{d.errIdentityChanged(name)}</p>
      <details onToggle={(e) => { if ((e.target as HTMLDetailsElement).open && !number.value) void safetyNumber(id).then((r) => { number.value = r.formatted; }).catch(report); }}>
        <summary>{d.safetyNumber}</summary>
        <p class="safety-number"><code>{number.value ?? '…'}</code></p>
      </details>
      <button type="button" data-action="review" onClick={() => navigate(routeTo('contact', id))}>{d.reviewChange}</button>
      <button type="button" class="primary" onClick={() => void acceptIdentity(id).catch(report)}>{d.errAcceptIdentity}</button>
    </div>}
    {shown && <StrangerBanner id={id} summary={summary} shown={shown} />}
    {confidential && <div role="status" class="banner confidential-banner" data-banner="confidential">
      <Icon name="lock" size="1.1em" /><p>{d.confidentialBanner}</p>
      <button type="button" class="choice" data-action="confidential-off" onClick={() => void setConfidentialMode(id, false).catch(report)}>{d.confidentialOff}</button>
    </div>}
    {!summary?.identityChanged && <RevokedBanner id={id} name={name} onReview={() => navigate(routeTo('contact', id))} />}
    <div class={`messages${confidential ? ' in-confidential' : ''}`} tabIndex={0} aria-label={d.messagesLabel}>
      <ol class="message-list">{items}<PendingUploads chat={id} /></ol>
      <div ref={end} />
    </div>
    <Composer key={id} initial={drafts.get(id) ?? ''} disabled={blocked} blockedText={held ? d.certSendHeld : d.errSendBlocked} placeholder={confidential ? d.confidentialPlaceholder : undefined}
      replying={replying && { name: authorName(replying.author), text: replying.text }} onCancelReply={() => setReply(undefined)}
      onDraft={(v) => { if (v) drafts.set(id, v); else drafts.delete(id); }}
      onTyping={(started) => void typing(id, started)}
      onSend={(text) => sendText(id, text, replying).then(() => setReply(undefined)).catch((e) => { report(e); throw e; })}
      attach={confidential ? undefined : <AttachButton chat={id} disabled={blocked} />} voice={confidential ? undefined : <VoiceRecorder chat={id} disabled={blocked} />} />
    {deleteEveryone.dialog}
    <AttachPreview chat={id} to={name} off={confidential || blocked} />
  </section>;
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hexEq(a: Uint8Array, h: string): boolean {
  const b = fromHex(h);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
