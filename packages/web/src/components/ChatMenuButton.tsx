/** ⋮ in a chat's top bar: opens the chat's settings (mute, delete history); shows the muted mark when the chat is muted. */
import '../settings.css';
import { conversations } from '../sdk/state.js';
import { hex } from '../sdk/ids.js';
import { navigate } from '../router.js';
import { t } from '../i18n/index.js';
import { MutedMark } from './MutedMark.js';

export function ChatMenuButton({ id }: { id: string }) {
  const d = t();
  const c = conversations.value?.find((x) => hex(x.id) === id);
  const muted = !!c && c.mutedUntil > Date.now();
  return <>
    {muted && <MutedMark />}
    <button type="button" class="icon" aria-label={d.chatSettings} title={d.chatSettings} onClick={() => navigate(`chat/${id}/settings`)}>⋮</button>
  </>;
}
