/** A modal question with a confirm and a cancel button (the browser's <dialog>: Escape cancels, focus stays inside). */
import { useEffect, useRef } from 'preact/hooks';

export function ConfirmDialog({ open, text, confirm, cancel, danger, onConfirm, onCancel }: { open: boolean; text: string; confirm: string; cancel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    if (open && !dlg.open) dlg.showModal();
    if (!open && dlg.open) dlg.close();
  }, [open]);
  return <dialog ref={ref} class="confirm" aria-describedby="confirm-text" onCancel={(e) => { e.preventDefault(); onCancel(); }}>
    <p id="confirm-text">{text}</p>
    <div class="confirm-actions">
      <button type="button" autofocus onClick={onCancel}>{cancel}</button>
      <button type="button" class={danger ? 'danger' : 'primary'} onClick={onConfirm}>{confirm}</button>
    </div>
  </dialog>;
}
