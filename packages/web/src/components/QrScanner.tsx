/**
 * Scans a QR code: the camera (rear one on a phone) read a few times a second, a picture of the code
 * (a screenshot sent by the person), or its text pasted. Calls `onText` with what it read.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { decodeQr, decodeQrFile } from '../qr/decode.js';
import { t } from '../i18n/index.js';

export function QrScanner({ onText, idPrefix, paste = true }: { onText: (text: string) => void; idPrefix: string; paste?: boolean }) {
  const d = t();
  const video = useRef<HTMLVideoElement>(null);
  const camera = useSignal<'starting' | 'on' | 'none'>('starting');
  const pasted = useSignal('');
  const fileError = useSignal(false);
  useEffect(() => {
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      if (stopped || !video.current) return;
      const text = video.current.readyState >= 2 ? await decodeQr(video.current).catch(() => undefined) : undefined;
      if (stopped) return;
      if (text) onText(text); else timer = setTimeout(() => void tick(), 250);
    };
    void (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        if (stopped) { stream.getTracks().forEach((x) => x.stop()); return; }
        video.current!.srcObject = stream;
        await video.current!.play().catch(() => undefined);
        camera.value = 'on';
        void tick();
      } catch { camera.value = 'none'; }
    })();
    return () => { stopped = true; clearTimeout(timer); stream?.getTracks().forEach((x) => x.stop()); };
  }, []);
  const pick = async (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const text = await decodeQrFile(file).catch(() => undefined);
    fileError.value = !text;
    if (text) onText(text);
  };
  const submit = () => { if (pasted.value.trim()) onText(pasted.value.trim()); };
  return <div class="scanner">
    <video ref={video} class={`scanner-video${camera.value === 'on' ? '' : ' hidden'}`} muted playsInline aria-label={d.scanHint} />
    {camera.value === 'on' && <p class="hint">{d.scanHint}</p>}
    {camera.value === 'none' && <p class="hint" role="status">{d.noCamera}</p>}
    <label class="button-like" for={`${idPrefix}-file`}>{d.qrFromPicture}</label>
    <input id={`${idPrefix}-file`} class="visually-hidden" type="file" accept="image/*" onChange={(e) => void pick(e)} />
    {fileError.value && <p role="alert" class="error">{d.noQrInPicture}</p>}
    {paste && <div class="paste-code">
      <label for={`${idPrefix}-paste`}>{d.pasteCode}</label>
      <div class="row">
        <input id={`${idPrefix}-paste`} autocomplete="off" spellcheck={false} value={pasted.value} onInput={(e) => { pasted.value = (e.target as HTMLInputElement).value; }}
          onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); submit(); } }} />
        <button type="button" onClick={submit}>{d.check}</button>
      </div>
    </div>}
  </div>;
}
