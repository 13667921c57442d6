/**
 * A chat's settings (issue 13 point 7): mute its notifications for 8 hours, a week or always (or unmute), and
 * delete its history on all of this person's devices; the disappearing-messages timer where the engine has it.
 */
import '../settings.css';
import { useSignal } from '@preact/signals';
import { confidentialChats, conversations, notice } from '../sdk/state.js';
import { setConfidentialMode } from '../sdk/privacy.js';
import { deleteChatHistory, isMuted, MUTED_FOREVER, muteChat, type MuteChoice } from '../sdk/settings.js';
import { hex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { DisappearingPicker } from '../components/DisappearingPicker.js';
import { displayName } from './ChatList.js';
import { lang, t } from '../i18n/index.js';
import { Icon } from '../components/Icon.js';

const LOCALES = { en: 'en-GB', es: 'es', pt: 'pt-BR' } as const;

export function ChatSettings({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const summary = conversations.value?.find((c) => hex(c.id) === id);
  const name = summary ? displayName(summary) : '…';
  const confirming = useSignal(false);
  const busy = useSignal(false);
  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  const muted = summary ? isMuted(summary.mutedUntil) : false;
  const always = muted && summary!.mutedUntil >= MUTED_FOREVER;
  const status = !muted ? d.notMuted : summary!.mutedUntil >= MUTED_FOREVER ? d.mutedAlways
    : d.mutedUntil(new Date(summary!.mutedUntil).toLocaleString(LOCALES[lang.value], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }));
  const choose = (c: MuteChoice) => {
    busy.value = true;
    void muteChat(id, c).catch(report).finally(() => { busy.value = false; });
  };
  const remove = () => {
    confirming.value = false;
    busy.value = true;
    void deleteChatHistory(id).then((n) => { notice.value = { kind: 'info', text: d.deleteHistoryDone(n) }; }).catch(report).finally(() => { busy.value = false; });
  };
  return <section class="screen chat-settings" aria-labelledby="chat-settings-h">
    <Header title={d.chatSettings} id="chat-settings-h" />
    <div class="page">
      <div class="settings-who"><Avatar name={name} id={id} /><p class="settings-name">{name}</p></div>
      <fieldset class="settings-group" disabled={busy.value || !summary}>
        <legend>{d.mute}</legend>
        <p class="hint" id="mute-status" data-muted={muted ? 'yes' : 'no'}>{status}</p>
        <div class="choice-row" role="group" aria-describedby="mute-status">
          {(['8h', 'week', 'always'] as const).map((c) => <button type="button" key={c} class={always && c === 'always' ? 'choice on' : 'choice'} aria-pressed={c === 'always' ? always : undefined}
            onClick={() => choose(c)}>{c === '8h' ? d.mute8h : c === 'week' ? d.muteWeek : d.muteAlways}</button>)}
          {muted && <button type="button" class="choice" onClick={() => choose('off')}>{d.unmute}</button>}
        </div>
      </fieldset>
      {summary && <DisappearingPicker id={id} />}
      {summary?.kind === 'direct' && <fieldset class="settings-group" disabled={busy.value} aria-describedby="confidential-hint">
        <legend>{d.confidential}</legend>
        <p class="hint" id="confidential-hint">{d.confidentialHint}</p>
        <button type="button" class={confidentialChats.value.has(id) ? 'choice on' : 'choice'} aria-pressed={confidentialChats.value.has(id)} data-action="confidential"
          onClick={() => { busy.value = true; void setConfidentialMode(id, !confidentialChats.value.has(id)).catch(report).finally(() => { busy.value = false; }); }}>
          <Icon name="lock" /> {confidentialChats.value.has(id) ? d.confidentialOff : d.confidentialOn}
        </button>
      </fieldset>}
      <fieldset class="settings-group" disabled={busy.value || !summary} aria-describedby="history-hint">
        <legend>{d.historySection}</legend>
        <p class="hint" id="history-hint">{d.historyHint}</p>
        <button type="button" class="row-button danger-text" onClick={() => { confirming.value = true; }}><Icon name="trash" /> {d.deleteHistory}</button>
      </fieldset>
    </div>
    <ConfirmDialog open={confirming.value} text={d.deleteHistoryConfirm} confirm={d.confirmDelete} cancel={d.dialogCancel} danger
      onConfirm={remove} onCancel={() => { confirming.value = false; }} />
  </section>;
}
