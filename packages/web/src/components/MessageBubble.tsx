/** One message: text, time and ticks; a long press, a right click or its menu button opens its actions (reply, copy, delete for me / for everyone). */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import type { MessageRow } from '../sdk/types.js';
import { hex } from '../sdk/ids.js';
import { clock, timerLabel } from '../format.js';
import { Icon } from './Icon.js';
import { Ticks } from './Ticks.js';
import { t } from '../i18n/index.js';
import { Attachments } from './Attachments.js';

export interface MessageActions {
  reply(m: MessageRow): void;
  copy(m: MessageRow): void;
  /** Who wrote a quoted message, as shown ("You", or the contact's name). */
  authorName(author: Uint8Array): string;
  deleteForMe(m: MessageRow): void;
  deleteForEveryone(m: MessageRow): void;
}

const stop = (e: Event) => { e.preventDefault(); e.stopPropagation(); };

/** How long a finger rests on a message before its menu opens (as in Signal and WhatsApp). */
const LONG_PRESS_MS = 500;

/** `head` is shown at the bubble's top (a group's author name, a private marker); `extraClass` marks the bubble ("private"). */
export function MessageBubble({ m, actions, head, extraClass }: { m: MessageRow; actions: MessageActions; head?: preact.ComponentChildren; extraClass?: string }) {
  const d = t();
  const open = useSignal(false);
  const id = hex(m.messageId);
  const close = () => { open.value = false; };
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (!open.value) return;
    // A click or tap anywhere else closes the menu, as in every messenger.
    const outside = (e: PointerEvent) => { if (!ref.current?.contains(e.target as Node)) close(); };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open.value]);
  // Confidential (client.md §15): no copy, reply, forward or save; the browser's own copy and menu are blocked too.
  const confidential = (m as { confidential?: true }).confidential === true;
  // Otherwise a right click, or a long press on a touch screen, opens the message's menu. Chrome on Android reports a
  // long press as a context menu; Safari on iOS does not, so a touch held still for LONG_PRESS_MS opens it too.
  const press = useRef<{ timer: number; x: number; y: number } | undefined>(undefined);
  const endPress = () => { if (press.current) clearTimeout(press.current.timer); press.current = undefined; };
  useEffect(() => endPress, []);
  const block = confidential ? { onCopy: stop, onCut: stop, onContextMenu: stop, onDragStart: stop }
    : m.deleted ? {} : {
      onContextMenu: (e: Event) => { stop(e); endPress(); open.value = true; },
      onPointerDown: (e: PointerEvent) => {
        if (e.pointerType !== 'touch') return;
        endPress();
        press.current = { x: e.clientX, y: e.clientY, timer: window.setTimeout(() => { press.current = undefined; open.value = true; }, LONG_PRESS_MS) };
      },
      // Scrolling is not a press: a finger that moves more than a few pixels cancels it.
      onPointerMove: (e: PointerEvent) => { const p = press.current; if (p && Math.hypot(e.clientX - p.x, e.clientY - p.y) > 10) endPress(); },
      onPointerUp: endPress,
      onPointerCancel: endPress,
    };
  return <li ref={ref} class={`msg ${m.outgoing ? 'out' : 'in'}${m.deleted ? ' deleted' : ''}${m.expireTimerMs ? ' timed' : ''}${confidential ? ' confidential' : ''}${extraClass ? ` ${extraClass}` : ''}`} data-message={id} data-status={m.status} {...block}>
    <div class="bubble">
      {head}
      {m.quote && !m.deleted && <blockquote class="quote" data-quote={hex(m.quote.messageId)}>
        <span class="quote-author">{actions.authorName(m.quote.author)}</span>
        <span class="quote-text">{m.quote.text || d.deletedMessage}</span>
      </blockquote>}
      {!m.deleted && m.attachments?.length ? (confidential ? <p class="text hint">📎 {d.confidentialNoFiles}</p> : <Attachments chat={hex(m.conversation)} m={m} />) : null}
      {m.deleted ? <p class="text deleted-text">{d.deletedMessage}</p> : (m.text || !m.attachments?.length) && <p class="text">{m.text}</p>}
      <span class="meta">{m.expireTimerMs ? <span class="msg-timer" role="img" aria-label={d.messageTimer(timerLabel(m.expireTimerMs))} title={d.messageTimer(timerLabel(m.expireTimerMs))}><Icon name="clock" size="1em" /></span> : null}<time dateTime={new Date(m.timestamp).toISOString()}>{clock(m.timestamp)}</time>{m.outgoing && <Ticks status={m.status} />}</span>
      {!m.deleted && !confidential && <button type="button" class="msg-menu" aria-label={d.messageActions} aria-haspopup="menu" aria-expanded={open.value} onClick={() => { open.value = !open.value; }}>⌄</button>}
      {open.value && <ul class="menu" role="menu" onKeyDown={(e) => { if (e.key === 'Escape') close(); }}>
        <li role="none"><button type="button" role="menuitem" autofocus onClick={() => { close(); actions.reply(m); }}>{d.reply}</button></li>
        {m.text && <li role="none"><button type="button" role="menuitem" onClick={() => { close(); actions.copy(m); }}>{d.copy}</button></li>}
        <li role="none"><button type="button" role="menuitem" onClick={() => { close(); actions.deleteForMe(m); }}>{d.deleteForMe}</button></li>
        {m.outgoing && <li role="none"><button type="button" role="menuitem" onClick={() => { close(); actions.deleteForEveryone(m); }}>{d.deleteForEveryone}</button></li>}
      </ul>}
    </div>
  </li>;
}
