/** The chat list: search by name, newest first, unread counts, last message with its ticks and time. */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { confidentialChats, conversations, disappearing, me, typingUntil } from '../sdk/state.js';
import { hex } from '../sdk/ids.js';
import { personName, type Named } from '../person-name.js';
import { NameFlags } from '../components/NameFlag.js';
import type { ConversationSummary } from '../sdk/types.js';
import { navigate, path, routeTo } from '../router.js';
import { listTime, timerLabel } from '../format.js';
import { Icon } from '../components/Icon.js';
import { Avatar } from '../components/Avatar.js';
import { Ticks } from '../components/Ticks.js';
import { VirtualList } from '../components/VirtualList.js';
import { TrustBadge } from '../components/TrustBadge.js';
import { t } from '../i18n/index.js';
import { MutedMark } from '../components/MutedMark.js';

export const ROW_HEIGHT = 72;

/** The name to show for a chat or person (person-name.ts): a nickname, the certified name, their own name marked, … the id. */
export const displayName = (c: Named): string => personName(c).text;

function Row({ c, index, total }: { c: ConversationSummary; index: number; total: number }) {
  const d = t();
  const id = hex(c.id);
  const shown = personName(c);
  const name = shown.text;
  const typing = (typingUntil.value.get(id) ?? 0) > Date.now();
  const active = path.value === routeTo('chat', id);
  const last = c.last;
  const preview = typing ? d.typing : !last ? '' : last.deleted ? d.deletedMessage : last.text || (last.attachments ? d.attachmentCount(last.attachments) : '');
  return <li class={`chat-row${active ? ' active' : ''}`} aria-setsize={total} aria-posinset={index + 1} data-chat={id}>
    <a href={`#/${routeTo('chat', id)}`} aria-current={active ? 'page' : undefined}>
      <Avatar name={name} id={id} />
      <span class="chat-main">
        <span class="chat-top">
          <span class="chat-name" title={shown.stranger ? d.notContactHint : undefined}>{name}</span><NameFlags p={shown} compact />{c.kind === 'direct' && <TrustBadge id={id} changed={c.identityChanged} compact />}
          {last && <span class={`chat-time${c.unread ? ' unread' : ''}`}>{listTime(last.timestamp)}</span>}
        </span>
        <span class="chat-bottom">
          <span class={`chat-preview${typing ? ' typing' : ''}`}>
            {!typing && last?.outgoing && !last.deleted && <Ticks status={last.status} />}
            {c.identityChanged && <span class="warn-dot" aria-hidden="true">⚠ </span>}
            {preview}
          </span>
          <ChatMarks id={id} />
          {c.mutedUntil > Date.now() && <MutedMark />}
          {c.unread > 0 && <span class="unread-badge" aria-label={d.unreadCount(c.unread)}>{c.unread}</span>}
        </span>
      </span>
    </a>
  </li>;
}

/** A lock where confidential mode is on, a clock where messages disappear (each with its words for screen readers). */
function ChatMarks({ id }: { id: string }) {
  const d = t();
  const timer = disappearing.value.get(id);
  const timerText = timer ? d.disappearingMarker(timerLabel(timer)) : '';
  return <>
    {confidentialChats.value.has(id) && <span class="list-mark confidential-mark" data-mark="confidential" role="img" aria-label={d.confidentialIsOn} title={d.confidentialIsOn}><Icon name="lock" size="1.05em" /></span>}
    {timer ? <span class="list-mark" data-mark="disappearing" role="img" aria-label={timerText} title={timerText}><Icon name="clock" size="1.05em" /></span> : null}
  </>;
}

let marked = false;

export function ChatList() {
  const d = t();
  const query = useSignal('');
  const all = conversations.value;
  useEffect(() => {
    // For DevTools and bench/web.mjs: the first frame with the chat list drawn.
    if (!marked && all) { marked = true; requestAnimationFrame(() => performance.mark('sigilo-chat-list', { detail: { conversations: all.length } })); }
  }, [all]);
  const q = query.value.trim().toLocaleLowerCase();
  // Someone outside the contacts whose chat holds nothing (it was deleted, or they only share a group) is not a chat.
  const chats = all?.filter((c) => c.kind !== 'direct' || c.contact || c.last);
  const shown = chats && q ? chats.filter((c) => displayName(c).toLocaleLowerCase().includes(q)) : chats;
  return <section class="chat-list" aria-labelledby="chats-h">
    <header class="bar list-bar">
      <div class="bar-title"><h1 id="chats-h">{d.chats}</h1>{me.value?.name && <div class="bar-sub">{me.value.name}</div>}</div>
      <div class="bar-actions">
        <button type="button" class="icon" aria-label={d.newChat} title={d.newChat} onClick={() => navigate('new')}>✎</button>
        <button type="button" class="icon" aria-label={d.settings} title={d.settings} onClick={() => navigate('settings')}>⚙</button>
      </div>
    </header>
    <div class="search">
      <input type="search" aria-label={d.searchChats} placeholder={d.searchChats} value={query.value} onInput={(e) => { query.value = (e.target as HTMLInputElement).value; }} />
    </div>
    {shown === undefined ? <p class="empty" role="status">{d.loadingChats}</p>
      : shown.length === 0 ? <p class="empty">{q ? d.noMatches : d.noChats}</p>
      : <VirtualList items={shown} rowHeight={ROW_HEIGHT} label={d.chats} render={(c, i) => <Row key={hex(c.id)} c={c} index={i} total={shown.length} />} />}
    {/* the New chat screen, which offers a username, a contact card and a group (the card form alone hid the other two) */}
    <button type="button" class="fab primary" aria-label={d.newChat} title={d.newChat} onClick={() => navigate('new')}>+</button>
  </section>;
}
