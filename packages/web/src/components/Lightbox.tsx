/** A picture in full view over the app: Escape, the close button or a click outside it closes; Save keeps a copy. */
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

export function Lightbox({ src, name, onClose }: { src: string; name: string; onClose: () => void }) {
  const d = t();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dlg = ref.current;
    if (dlg && !dlg.open) dlg.showModal();
    return () => { if (dlg?.open) dlg.close(); };
  }, []);
  return <dialog ref={ref} class="lightbox" aria-label={name} onCancel={(e) => { e.preventDefault(); onClose(); }}
    onClick={(e) => { if (e.target === ref.current) onClose(); }}>
    <div class="lightbox-bar">
      <span class="lightbox-name">{name}</span>
      <a class="lightbox-btn" href={src} download={name}><Icon name="download" size="1.1em" /> {d.saveFile}</a>
      <button type="button" class="lightbox-btn" autofocus onClick={onClose} aria-label={d.closeView}><Icon name="close" /></button>
    </div>
    <div class="lightbox-stage"><img class="lightbox-img" src={src} alt={name} /></div>
  </dialog>;
}
