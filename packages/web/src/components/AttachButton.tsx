/** 📎 in the input bar: choose one or more files of any type; they are sent from the preview sheet (AttachPreview). */
import { useRef } from 'preact/hooks';
import { chooseFiles } from './AttachPreview.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

export function AttachButton({ chat, disabled }: { chat: string; disabled?: boolean }) {
  const d = t();
  const input = useRef<HTMLInputElement>(null);
  return <>
    <button type="button" class="icon attach" aria-label={d.attach} title={d.attach} disabled={disabled} onClick={() => input.current?.click()}><Icon name="clip" /></button>
    <input ref={input} type="file" multiple class="visually-hidden" tabIndex={-1} aria-hidden="true" data-attach-input
      onChange={(e) => {
        const el = e.target as HTMLInputElement;
        chooseFiles(chat, Array.from(el.files ?? []));
        el.value = '';
      }} />
  </>;
}
