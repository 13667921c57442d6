/**
 * What happens between choosing files and sending them: a sheet that shows what was chosen (a picture or video
 * as itself, any other file by name, type and size), who it goes to, an optional caption, and Send or Cancel.
 * Nothing leaves the device before Send, so a mis-tap on the wrong picture or the wrong chat costs nothing.
 */
import '../media.css';
import { signal } from '@preact/signals';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { mediaKind, sendAttachment } from '../sdk/attachments.js';
import { fileSize } from '../media-format.js';
import { extension } from './FileAttachment.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';
import { shownFileName } from '../names.js';

/** Files chosen for a chat and not yet sent or dropped (one choice at a time: the sheet is modal). */
export const chosenFiles = signal<{ chat: string; files: readonly File[] } | undefined>(undefined);

export function chooseFiles(chat: string, files: readonly File[]): void {
  if (files.length) chosenFiles.value = { chat, files };
}

function Item({ file, url }: { file: File; url: string | undefined }) {
  const d = t();
  const kind = mediaKind({ contentType: file.type });
  const name = shownFileName(file.name);
  const ext = extension(name);
  const type = file.type || (ext ? d.fileOfType(ext) : d.file);
  return <li class="attach-item" data-kind={kind}>
    {kind === 'image' && url && <img class="attach-thumb" src={url} alt={name} />}
    {kind === 'video' && url && <video class="attach-thumb" src={url} preload="metadata" muted aria-label={name} />}
    <div class="file-row">
      {(kind !== 'image' && kind !== 'video') && <span class="file-icon" aria-hidden="true">{ext || <Icon name="file" />}</span>}
      <div class="file-main"><p class="file-name" title={name}>{name}</p><p class="file-size">{fileSize(file.size)} · {type}</p></div>
    </div>
  </li>;
}

/** The sheet for `chat` (rendered by the conversation, outside the input bar's form); `off` drops the choice (confidential mode, blocked chat). */
export function AttachPreview({ chat, to, off }: { chat: string; to: string; off?: boolean }) {
  const d = t();
  const choice = chosenFiles.value?.chat === chat ? chosenFiles.value : undefined;
  const ref = useRef<HTMLDialogElement>(null);
  const caption = useRef<HTMLTextAreaElement>(null);
  const files = choice?.files ?? [];
  // Previews of pictures and videos as blob: URLs, revoked when the sheet closes (the upload makes its own).
  const urls = useMemo(() => files.map((f) => /^(image|video)\//.test(f.type) ? URL.createObjectURL(f) : undefined), [choice]);
  useEffect(() => () => { for (const u of urls) if (u) URL.revokeObjectURL(u); }, [urls]);
  // Files chosen for a chat are never sent to another one, nor once the chat no longer takes files.
  useEffect(() => () => { if (chosenFiles.value?.chat === chat) chosenFiles.value = undefined; }, [chat]);
  useEffect(() => { if (off && chosenFiles.value?.chat === chat) chosenFiles.value = undefined; }, [off, chat]);
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    if (choice && !dlg.open) { dlg.showModal(); caption.current?.focus(); }
    if (!choice && dlg.open) dlg.close();
  }, [choice]);
  const close = () => { chosenFiles.value = undefined; if (caption.current) caption.current.value = ''; };
  const send = () => {
    if (!choice) return;
    const text = caption.current?.value.trim() ?? '';
    // One caption for the lot goes with the first file, as an album's does.
    choice.files.forEach((f, i) => sendAttachment(chat, f, i === 0 && text ? { caption: text } : {}));
    close();
  };
  return <dialog ref={ref} class="attach-sheet" aria-labelledby="attach-sheet-h" data-attach-sheet onCancel={(e) => { e.preventDefault(); close(); }}>
    <h2 id="attach-sheet-h">{d.sendFilesTo(files.length, to)}</h2>
    <ul class="attach-items">{files.map((f, i) => <Item key={`${i}-${f.name}`} file={f} url={urls[i]} />)}</ul>
    <label class="attach-caption-label" for="attach-caption">{d.captionLabel}</label>
    <textarea id="attach-caption" ref={caption} rows={2} autocomplete="off" placeholder={d.captionPlaceholder}
      onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); } }} />
    <div class="confirm-actions">
      <button type="button" onClick={close}>{d.cancel}</button>
      <button type="button" class="primary" data-action="send-files" onClick={send}>{d.send}</button>
    </div>
  </dialog>;
}
