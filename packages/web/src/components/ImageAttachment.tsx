/**
 * A picture in a bubble: its thumbnail at once (carried inside the message), the full picture once downloaded
 * (small ones on their own, like WhatsApp on Wi-Fi); a tap or Enter opens it in full view.
 */
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { MessageRow } from '../sdk/types.js';
import { attachmentKey, cancelDownload, downloadAttachment, mediaUrls, transfers } from '../sdk/attachments.js';
import { bubbleSize, thumbnailUrl } from '../media-format.js';
import { TransferProgress } from './TransferProgress.js';
import { Lightbox } from './Lightbox.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

/** Pictures up to this size download as soon as they are shown. */
export const AUTO_DOWNLOAD_BYTES = 4 * 1024 * 1024;

export function ImageAttachment({ chat, m, index }: { chat: string; m: MessageRow; index: number }) {
  const d = t();
  const a = m.attachments![index]!;
  const key = attachmentKey(m.messageId, index);
  const full = mediaUrls.value.get(key);
  const transfer = transfers.value.get(key);
  const open = useSignal(false);
  const thumb = thumbnailUrl(key, a.thumbnail);
  const size = bubbleSize(a.width, a.height);
  useEffect(() => { if (!full && !transfer && a.size <= AUTO_DOWNLOAD_BYTES) void downloadAttachment(chat, m, index); }, [key]);
  const show = async () => {
    if (full || await downloadAttachment(chat, m, index)) open.value = true;
  };
  const src = full ?? thumb;
  return <figure class="media image" data-attachment="image" data-thumb={thumb ? "yes" : "no"} style={{ width: `${size.width}px` }}>
    <button type="button" class="media-open" aria-label={d.openPhoto(a.fileName)} onClick={() => void show()} style={{ width: `${size.width}px`, height: `${size.height}px` }}>
      {src ? <img src={src} alt="" class={full ? 'full' : 'thumb'} width={size.width} height={size.height} data-full={full ? 'yes' : 'no'} />
        : <span class="media-placeholder" aria-hidden="true"><Icon name="image" size="2.5rem" /></span>}
      {!full && !transfer && <span class="media-badge" aria-hidden="true"><Icon name="download" /></span>}
    </button>
    {transfer && <TransferProgress transfer={transfer} label={a.fileName} onCancel={() => cancelDownload(key)} onRetry={() => void downloadAttachment(chat, m, index)} />}
    {open.value && full && <Lightbox src={full} name={a.fileName} onClose={() => { open.value = false; }} />}
  </figure>;
}
