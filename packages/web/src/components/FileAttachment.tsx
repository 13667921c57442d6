/** Any other file in a bubble: an icon with its type, name and size; Download, then Save (a copy leaves the app only when asked). */
import type { MessageRow } from '../sdk/types.js';
import { attachmentKey, cancelDownload, downloadAttachment, mediaUrls, transfers } from '../sdk/attachments.js';
import { fileSize } from '../media-format.js';
import { TransferProgress } from './TransferProgress.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

export function extension(name: string): string {
  const m = /\.([a-z0-9]{1,5})$/i.exec(name);
  return m ? m[1]!.toUpperCase() : '';
}

export function FileAttachment({ chat, m, index }: { chat: string; m: MessageRow; index: number }) {
  const d = t();
  const a = m.attachments![index]!;
  const key = attachmentKey(m.messageId, index);
  const url = mediaUrls.value.get(key);
  const transfer = transfers.value.get(key);
  const ext = extension(a.fileName);
  return <div class="media file" data-attachment="file">
    <div class="file-row">
      <span class="file-icon" aria-hidden="true">{ext || <Icon name="file" />}</span>
      <div class="file-main">
        <p class="file-name" title={a.fileName}>{a.fileName}</p>
        <p class="file-size">{fileSize(a.size)}{ext ? ` · ${ext}` : ''}</p>
      </div>
      {url ? <a class="file-btn" href={url} download={a.fileName} aria-label={`${d.saveFile}: ${a.fileName}`}><Icon name="download" /></a>
        : !transfer && <button type="button" class="file-btn" aria-label={d.downloadName(a.fileName)} onClick={() => void downloadAttachment(chat, m, index)}><Icon name="download" /></button>}
    </div>
    {transfer && <TransferProgress transfer={transfer} label={a.fileName} onCancel={() => cancelDownload(key)} onRetry={() => void downloadAttachment(chat, m, index)} />}
  </div>;
}
