/**
 * At the top of a conversation with someone who is not in the contacts (a message request, as Signal calls it): their
 * name is one they chose themselves, so anyone could pose as a colleague by it. Says so, and offers to add them to the
 * contacts or to delete the chat (the SDK has no blocking: muting stays in Chat settings).
 */
import { useSignal } from '@preact/signals';
import type { ConversationSummary } from '../sdk/types.js';
import { addToContacts } from '../sdk/actions.js';
import { deleteChatHistory } from '../sdk/settings.js';
import { certificateOf } from '../sdk/org.js';
import { notice } from '../sdk/state.js';
import { errorText } from '../errors.js';
import { navigate, routeTo } from '../router.js';
import { t } from '../i18n/index.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import type { ShownPerson } from '../person-name.js';

export function StrangerBanner({ id, summary, shown }: { id: string; summary: ConversationSummary | undefined; shown: ShownPerson }) {
  const d = t();
  const confirming = useSignal(false);
  const busy = useSignal(false);
  if (!summary || summary.kind !== 'direct' || summary.contact) return null;
  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  const cert = certificateOf(id);
  const text = shown.certified && cert?.state === 'certified' ? d.strangerBannerCertified(shown.text, cert.organisation) : d.strangerBanner(shown.text);
  const add = () => {
    busy.value = true;
    void addToContacts(id).then(() => {
      notice.value = { kind: 'info', text: d.addedToContacts(shown.text.replace(/^~/, '')) };
      navigate(routeTo('contact', id));
    }).catch(report).finally(() => { busy.value = false; });
  };
  const remove = () => {
    confirming.value = false;
    busy.value = true;
    void deleteChatHistory(id).then(() => navigate('', true)).catch(report).finally(() => { busy.value = false; });
  };
  return <><div role="note" class="banner warning stranger-banner" data-banner="not-a-contact">
    <p class="stranger-text">{text}</p>
    <div class="stranger-actions">
      <button type="button" class="primary" data-action="add-contact" disabled={busy.value} onClick={add}>{d.addToContacts}</button>
      <button type="button" class="danger-text" data-action="delete-chat" disabled={busy.value} onClick={() => { confirming.value = true; }}>{d.deleteChat}</button>
    </div>
  </div>
    <ConfirmDialog open={confirming.value} text={d.deleteChatConfirm} confirm={d.deleteChat} cancel={d.dialogCancel} danger
      onConfirm={remove} onCancel={() => { confirming.value = false; }} /></>;
}
