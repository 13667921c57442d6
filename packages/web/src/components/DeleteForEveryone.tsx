/** "Delete for everyone" asks first (it cannot be undone and reaches every device in the chat): one dialog per conversation. */
import { useSignal } from '@preact/signals';
import { deleteMessage } from '../sdk/actions.js';
import type { MessageRow } from '../sdk/types.js';
import { t } from '../i18n/index.js';
import { ConfirmDialog } from './ConfirmDialog.js';

export function useDeleteForEveryone(chat: string, report: (e: unknown) => void): { ask: (m: MessageRow) => void; dialog: preact.JSX.Element } {
  const d = t();
  const pending = useSignal<MessageRow | undefined>(undefined);
  const confirm = () => {
    const m = pending.value;
    pending.value = undefined;
    if (m) void deleteMessage(chat, m.messageId, true).catch(report);
  };
  const dialog = <ConfirmDialog open={pending.value !== undefined} text={d.deleteForEveryoneConfirm} confirm={d.deleteForEveryone} cancel={d.dialogCancel} danger
    onConfirm={confirm} onCancel={() => { pending.value = undefined; }} />;
  return { ask: (m) => { pending.value = m; }, dialog };
}
