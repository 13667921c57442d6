/**
 * A group conversation: the group's name and members in the header (tap → group info), messages with their
 * authors' names, private messages marked and shown only to the two, and a "Send to" choice for a private one.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { conversations, drafts, me, messages, notice, replyTo } from '../sdk/state.js';
import { deleteMessage, sendText, typing } from '../sdk/actions.js';
import { useConversationView } from './conversation-view.js';
import { groupInfos, loadGroup, sendGroupText } from '../sdk/groups.js';
import type { MessageRow } from '../sdk/types.js';
import { fromHex, hex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { dayLabel, sameDay } from '../format.js';
import { navigate, routeTo } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { Composer } from '../components/Composer.js';
import { MessageBubble, type MessageActions } from '../components/MessageBubble.js';
import { displayName } from './ChatList.js';
import { InfoIcon, LockIcon } from '../components/Icons.js';
import { t } from '../i18n/index.js';
import { useDeleteForEveryone } from '../components/DeleteForEveryone.js';
import '../trust.css';

/** Colours for authors' names (as messengers do), chosen from the account id. */
const authorColour = (id: string) => `author-c${parseInt(id.slice(0, 2), 16) % 6}`;

export function GroupConversation({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const summary = conversations.value?.find((c) => c.kind === 'group' && hex(c.id) === id);
  const info = groupInfos.value.get(id);
  const rows = messages.value.get(id);
  const name = info ? displayName({ name: info.name, id: fromHex(id) }) : summary ? displayName(summary) : '…';
  const end = useRef<HTMLDivElement>(null);
  const privateTo = useSignal('');
  const self = me.value?.accountId;
  const selfHex = self ? hex(self) : '';

  useConversationView(id, summary?.unread ?? 0, rows?.length ?? 0, end);
  useEffect(() => { void loadGroup(id).catch(() => undefined); }, [id]);
  // A membership change arrives as a message row: read the members again.
  const changes = rows?.filter((m) => m.groupChange).length ?? 0;
  useEffect(() => { if (changes) void loadGroup(id).catch(() => undefined); }, [changes]);

  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  const nameOf = (account: Uint8Array): string => {
    const h = hex(account);
    if (h === selfHex) return d.you;
    const member = info?.members.find((x) => hex(x.accountId) === h);
    const contact = conversations.value?.find((c) => c.kind === 'direct' && hex(c.id) === h);
    // A member known on this device is named as everywhere (person-name.ts: "~Name" when not in the contacts).
    return contact ? displayName(contact) : displayName({ name: member?.alias, id: account });
  };
  const replying = replyTo.value.get(id);
  const setReply = (m: MessageRow | undefined) => {
    const next = new Map(replyTo.value);
    if (m) next.set(id, m); else next.delete(id);
    replyTo.value = next;
  };
  const deleteEveryone = useDeleteForEveryone(id, report);
  const actions: MessageActions = {
    reply: (m) => setReply(m),
    authorName: nameOf,
    copy: (m) => void navigator.clipboard?.writeText(m.text).then(() => { notice.value = { kind: 'info', text: d.copied }; }).catch(report),
    deleteForMe: (m) => void deleteMessage(id, m.messageId, false).catch(report),
    deleteForEveryone: (m) => deleteEveryone.ask(m),
  };

  const items: preact.ComponentChildren[] = [];
  let prev: MessageRow | undefined;
  let shownDay = 0;
  for (const m of rows ?? []) {
    if (m.groupChange) {
      if (!shownDay || !sameDay(shownDay, m.timestamp)) items.push(<li class="day" key={`day-${m.timestamp}`}><span>{dayLabel(m.timestamp)}</span></li>);
      shownDay = m.timestamp;
      const ch = m.groupChange;
      items.push(<li class="system" key={hex(m.messageId)} data-change={ch.kind}><span>{d.groupChange(ch.kind, hex(ch.by) === selfHex, nameOf(ch.by), ch.accounts.map((a) => (hex(a) === selfHex ? d.youObject : nameOf(a))).join(', '), ch.name ?? '')}</span></li>);
      prev = m;
      continue;
    }
    // A row with nothing to show (the engine's empty group-setup message) is not a bubble.
    if (!m.text && !m.attachments?.length && !m.deleted) continue;
    if (!shownDay || !sameDay(shownDay, m.timestamp)) items.push(<li class="day" key={`day-${m.timestamp}`}><span>{dayLabel(m.timestamp)}</span></li>);
    shownDay = m.timestamp;
    const authorHex = hex(m.author);
    const priv = m.privateWith && <span class="private-tag" data-private={hex(m.privateWith)}><LockIcon /> {m.outgoing ? d.privateTo(nameOf(m.privateWith)) : d.privateFrom(nameOf(m.author))}</span>;
    // Consecutive messages of one author show the name once, as in every messenger.
    const showAuthor = !m.outgoing && (!prev || prev.groupChange !== undefined || hex(prev.author) !== authorHex || !sameDay(prev.timestamp, m.timestamp));
    const head = (showAuthor || priv) ? <>
      {showAuthor && <span class={`author ${authorColour(authorHex)}`} data-author={authorHex}>{nameOf(m.author)}</span>}
      {priv}
    </> : undefined;
    items.push(<MessageBubble key={hex(m.messageId)} m={m} actions={actions} head={head} extraClass={m.privateWith ? 'private' : undefined} />);
    prev = m;
  }

  const others = (info?.members ?? []).filter((x) => hex(x.accountId) !== selfHex);
  const memberLine = info ? [d.you, ...others.map((x) => nameOf(x.accountId))].join(', ') : undefined;
  const left = info !== undefined && info.myRole === undefined;
  const target = others.find((x) => hex(x.accountId) === privateTo.value);
  return <section class="conversation group" aria-labelledby="gconv-h">
    <Header id="gconv-h" avatar={<Avatar name={name} id={id} small />} title={<button type="button" class="title-link" onClick={() => navigate(routeTo('group', id))} aria-label={`${name}, ${d.groupInfo}`}>{name}</button>} sub={memberLine && <span class="members-line">{memberLine}</span>}>
      <button type="button" class="icon" aria-label={d.groupInfo} title={d.groupInfo} onClick={() => navigate(routeTo('group', id))}><InfoIcon /></button>
    </Header>
    <div class="messages" tabIndex={0} aria-label={d.messagesLabel}>
      <ol class="message-list">{items}</ol>
      <div ref={end} />
    </div>
    {!left && others.length > 0 && <div class={`send-to${target ? ' private' : ''}`}>
      <label for="send-to">{d.sendPrivately}</label>
      <select id="send-to" value={privateTo.value} onChange={(e) => { privateTo.value = (e.target as HTMLSelectElement).value; }}>
        <option value="">{d.everyone}</option>
        {others.map((x) => <option key={hex(x.accountId)} value={hex(x.accountId)}>{d.privateOption(nameOf(x.accountId))}</option>)}
      </select>
      {target && <span class="hint">{d.privateHint(nameOf(target.accountId))}</span>}
    </div>}
    <Composer key={id} initial={drafts.get(id) ?? ''} disabled={left} blockedText={d.leftGroup}
      replying={replying && { name: nameOf(replying.author), text: replying.text }} onCancelReply={() => setReply(undefined)}
      onDraft={(v) => { if (v) drafts.set(id, v); else drafts.delete(id); }}
      onTyping={(started) => void typing(id, started)}
      onSend={(text) => (privateTo.value ? sendGroupText(id, text, privateTo.value) : sendText(id, text, replying))
        .then(() => setReply(undefined)).catch((e) => { report(e); throw e; })} />
    {deleteEveryone.dialog}
  </section>;
}
