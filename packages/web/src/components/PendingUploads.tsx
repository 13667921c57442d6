/** Files being sent to this chat, as outgoing bubbles with a preview, the progress bar, Cancel, and Retry once stopped. */
import '../media.css';
import { useEffect, useRef } from 'preact/hooks';
import { cancelUpload, forgetUpload, pendingUploads, retryUpload, transfers, type PendingUpload } from '../sdk/attachments.js';
import { fileSize } from '../media-format.js';
import { TransferProgress } from './TransferProgress.js';
import { VoicePlayer } from './VoiceNote.js';
import { extension } from './FileAttachment.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

function Preview({ p }: { p: PendingUpload }) {
  const d = t();
  if (p.kind === 'image' && p.previewUrl) return <img class="pending-img" src={p.previewUrl} alt={p.name} />;
  if (p.kind === 'video' && p.previewUrl) return <video class="pending-img" src={p.previewUrl} preload="metadata" muted aria-label={p.name} />;
  if (p.kind === 'voice') return <VoicePlayer url={p.previewUrl} durationMs={p.durationMs} label={d.voiceNote} />;
  const ext = extension(p.name);
  return <div class="file-row">
    <span class="file-icon" aria-hidden="true">{ext || <Icon name="file" />}</span>
    <div class="file-main"><p class="file-name" title={p.name}>{p.name}</p><p class="file-size">{fileSize(p.file.size)}{ext ? ` · ${ext}` : ''}</p></div>
  </div>;
}

export function PendingUploads({ chat }: { chat: string }) {
  const mine = pendingUploads.value.filter((p) => p.chat === chat);
  const last = useRef<HTMLLIElement>(null);
  // A file just chosen is shown at once at the bottom, as a sent message would be.
  useEffect(() => { last.current?.scrollIntoView({ block: 'end' }); }, [mine.length, chat]);
  return <>{mine.map((p, i) => {
    const tr = transfers.value.get(p.key);
    return <li key={p.key} ref={i === mine.length - 1 ? last : undefined} class="msg out pending-upload" data-upload={p.key} data-phase={tr?.phase ?? 'running'}>
      <div class="bubble media-bubble">
        <div class={`media ${p.kind}`}><Preview p={p} /></div>
        {p.caption && <p class="text">{p.caption}</p>}
        {tr && <TransferProgress transfer={tr} label={p.name} onCancel={() => cancelUpload(p.key)} onRetry={() => retryUpload(p.key)} onDismiss={() => forgetUpload(p.key)} />}
        <span class="meta"><span class="ticks" role="img" aria-label={t().statusPending}><Icon name="clock" size="1em" /></span></span>
      </div>
    </li>;
  })}</>;
}
