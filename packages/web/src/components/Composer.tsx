/** The input bar at the bottom of a chat: a growing text field and Send; Enter sends, Shift+Enter breaks the line. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t } from '../i18n/index.js';

export function Composer({ initial, disabled, blockedText, placeholder, replying, onCancelReply, onDraft, onSend, onTyping, attach, voice }: { initial: string; disabled?: boolean; blockedText?: string; /** Instead of "Message" (confidential mode). */ placeholder?: string; replying?: { name: string; text: string } | undefined; onCancelReply?: () => void; onDraft: (text: string) => void; onSend: (text: string) => Promise<void>; onTyping: (started: boolean) => void; /** Before the text field (the attach button). */ attach?: ComponentChildren; /** Instead of Send while the field is empty (the voice recorder). */ voice?: ComponentChildren }) {
  const d = t();
  const text = useSignal(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(false);
  const idle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => { text.value = initial; }, [initial]);
  const stopTyping = () => { if (typingSent.current) { typingSent.current = false; onTyping(false); } };
  useEffect(() => () => { clearTimeout(idle.current); stopTyping(); }, []);
  const send = async () => {
    const body = text.value.trim();
    if (!body || disabled) return;
    text.value = '';
    onDraft('');
    clearTimeout(idle.current);
    stopTyping();
    try { await onSend(body); } catch (e) { text.value = body; onDraft(body); throw e; }
    ref.current?.focus();
  };
  useEffect(() => { if (replying) ref.current?.focus(); }, [replying]);
  return <div class="composer-wrap">
    {replying && <div class="reply-preview" data-replying="">
      <div class="quote"><span class="quote-author">{d.replyingTo(replying.name)}</span><span class="quote-text">{replying.text || d.deletedMessage}</span></div>
      <button type="button" class="icon" aria-label={d.cancelReply} title={d.cancelReply} onClick={onCancelReply}>×</button>
    </div>}
    <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
    {attach}
    {/* autocomplete="off": Chromium would otherwise write the draft in plain text to the profile's session files (client.md §15). */}
    <textarea ref={ref} rows={1} autocomplete="off" aria-label={d.messageInput} placeholder={disabled && blockedText ? blockedText : placeholder ?? d.messageInput} value={text.value} disabled={disabled}
      onInput={(e) => {
        const v = (e.target as HTMLTextAreaElement).value;
        text.value = v;
        onDraft(v);
        if (!typingSent.current && v) { typingSent.current = true; onTyping(true); }
        clearTimeout(idle.current);
        idle.current = setTimeout(stopTyping, v ? 4000 : 0);
      }}
      onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send(); } }} />
    {voice && !text.value.trim() ? voice
      : <button type="submit" class="send primary" aria-label={d.send} title={d.send} disabled={disabled || !text.value.trim()}>➤</button>}
    </form>
  </div>;
}
