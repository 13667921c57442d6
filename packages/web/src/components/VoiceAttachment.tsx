/** A received or sent voice note (or other audio) in a bubble: downloaded on sight, then played with VoicePlayer. */
import { useEffect } from 'preact/hooks';
import type { MessageRow } from '../sdk/types.js';
import { attachmentKey, cancelDownload, downloadAttachment, mediaUrls, transfers } from '../sdk/attachments.js';
import { TransferProgress } from './TransferProgress.js';
import { VoicePlayer } from './VoiceNote.js';
import { t } from '../i18n/index.js';

export function VoiceAttachment({ chat, m, index }: { chat: string; m: MessageRow; index: number }) {
  const a = m.attachments![index]!;
  const key = attachmentKey(m.messageId, index);
  const url = mediaUrls.value.get(key);
  const transfer = transfers.value.get(key);
  useEffect(() => { if (!url && !transfer) void downloadAttachment(chat, m, index); }, [key]);
  return <div class="media audio">
    <VoicePlayer url={url} durationMs={a.durationMs} label={a.voiceNote ? t().voiceNote : a.fileName} />
    {transfer && transfer.phase !== 'running' && <TransferProgress transfer={transfer} label={a.fileName} onCancel={() => cancelDownload(key)} onRetry={() => void downloadAttachment(chat, m, index)} />}
  </div>;
}
