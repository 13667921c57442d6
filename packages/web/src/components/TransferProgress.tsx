/** A transfer's bar (sent or downloaded of total), with Cancel while it runs and Retry once stopped. */
import type { Transfer } from '../sdk/attachments.js';
import { fileSize } from '../media-format.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

export function TransferProgress({ transfer, onCancel, onRetry, onDismiss, label }: { transfer: Transfer; onCancel: () => void; onRetry: () => void; onDismiss?: () => void; label: string }) {
  const d = t();
  const pct = transfer.total > 0 ? Math.min(100, Math.round((transfer.done / transfer.total) * 100)) : 0;
  const running = transfer.phase === 'running';
  return <div class={`transfer ${transfer.phase}`} data-transfer={transfer.phase}>
    {running ? <>
      <progress class="transfer-bar" max={100} value={pct} aria-label={`${transfer.kind === 'upload' ? d.uploading : d.downloading}: ${label}`} aria-valuetext={d.progressOf(fileSize(transfer.done), fileSize(transfer.total))} />
      <div class="transfer-row">
        <span class="transfer-text">{d.progressOf(fileSize(transfer.done), fileSize(transfer.total))}</span>
        <button type="button" class="transfer-btn cancel" onClick={onCancel}><Icon name="close" size="1em" /> {d.cancelTransfer}</button>
      </div>
    </> : <>
      <p class="transfer-error" role="alert">{transfer.error}</p>
      <div class="transfer-row">
        <button type="button" class="transfer-btn retry" onClick={onRetry}><Icon name="retry" size="1em" /> {d.retry}</button>
        {onDismiss && <button type="button" class="transfer-btn" onClick={onDismiss}><Icon name="trash" size="1em" /> {d.removeUpload}</button>}
      </div>
    </>}
  </div>;
}
