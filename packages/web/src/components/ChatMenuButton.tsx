/** ⋮ in a chat's top bar: opens the chat's settings (mute, delete history); shows the disappearing timer (clock and duration) and the muted mark. */
import '../settings.css';
import { useEffect } from 'preact/hooks';
import { confidentialChats, conversations } from '../sdk/state.js';
import { disappearing, loadDisappearing } from '../sdk/settings.js';
import { timerLabel, timerShortLabel } from '../format.js';
import { Icon } from './Icon.js';
import { hex } from '../sdk/ids.js';
import { navigate, routeTo } from '../router.js';
import { t } from '../i18n/index.js';
import { MutedMark } from './MutedMark.js';

export function ChatMenuButton({ id }: { id: string }) {
  const d = t();
  const c = conversations.value?.find((x) => hex(x.id) === id);
  const muted = !!c && c.mutedUntil > Date.now();
  useEffect(() => { void loadDisappearing(id).catch(() => undefined); }, [id]);
  const timer = disappearing.value.get(id);
  return <>
    {/* The duration beside the clock, as Signal shows it: a clock alone does not say how soon messages go. */}
    {timer ? <span class="disappearing-mark" role="img" aria-label={d.disappearingMarker(timerLabel(timer))} title={d.disappearingMarker(timerLabel(timer))} data-timer={timer}><Icon name="clock" size="1.1em" /><span class="timer-short">{timerShortLabel(timer)}</span></span> : null}
    {confidentialChats.value.has(id) && <span class="confidential-mark" role="img" aria-label={d.confidential} title={d.confidential}><Icon name="lock" size="1.1em" /></span>}
    {muted && <MutedMark />}
    <button type="button" class="icon" aria-label={d.chatSettings} title={d.chatSettings} onClick={() => navigate(routeTo('chat', id, 'settings'))}>⋮</button>
  </>;
}
