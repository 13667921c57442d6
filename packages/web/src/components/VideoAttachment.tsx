/** A video in a bubble: its poster (the thumbnail, else a dark frame) with ▶ and its length; played in place once downloaded. */
import { useSignal } from '@preact/signals';
import type { MessageRow } from '../sdk/types.js';
import { attachmentKey, cancelDownload, downloadAttachment, mediaUrls, transfers } from '../sdk/attachments.js';
import { bubbleSize, duration, fileSize, thumbnailUrl } from '../media-format.js';
import { TransferProgress } from './TransferProgress.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

export function VideoAttachment({ chat, m, index }: { chat: string; m: MessageRow; index: number }) {
  const d = t();
  const a = m.attachments![index]!;
  const key = attachmentKey(m.messageId, index);
  const url = mediaUrls.value.get(key);
  const transfer = transfers.value.get(key);
  const playing = useSignal(false);
  const poster = thumbnailUrl(key, a.thumbnail);
  const size = bubbleSize(a.width, a.height);
  // Its length when the sender's SDK read it, else its size: shown on the poster and said with the button's name.
  const info = a.durationMs ? duration(a.durationMs) : fileSize(a.size);
  const play = async () => { if (url || await downloadAttachment(chat, m, index)) playing.value = true; };
  return <figure class="media video" data-attachment="video" style={{ width: `${size.width}px` }}>
    {url && playing.value
      ? <video src={url} controls autoplay playsInline preload="metadata" poster={poster} width={size.width} height={size.height} aria-label={a.fileName} />
      : <button type="button" class="media-open poster" aria-label={`${d.playVideo(a.fileName)}, ${info}`} onClick={() => void play()} style={{ width: `${size.width}px`, height: `${size.height}px` }}>
        {poster ? <img src={poster} alt="" width={size.width} height={size.height} /> : url ? <video src={url} preload="metadata" muted aria-hidden="true" tabIndex={-1} width={size.width} height={size.height} /> : null}
        <span class="play-badge" aria-hidden="true"><Icon name="play" size="1.6rem" /></span>
        <span class="media-info" aria-hidden="true">{info}</span>
      </button>}
    {transfer && <TransferProgress transfer={transfer} label={a.fileName} onCancel={() => cancelDownload(key)} onRetry={() => void downloadAttachment(chat, m, index)} />}
  </figure>;
}
