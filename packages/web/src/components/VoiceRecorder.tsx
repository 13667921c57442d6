/**
 * 🎤 in the input bar: hold to record and release to send (slide off / Escape cancels), or tap to start and tap
 * Send to finish, as in WhatsApp. While recording: a red dot, the time, and the live level drawn from an
 * AnalyserNode. The recording (MediaRecorder, Opus in WebM) is sent as a voice note.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { sendAttachment } from '../sdk/attachments.js';
import { notice } from '../sdk/state.js';
import { duration } from '../media-format.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

/** A press shorter than this is a tap (recording goes on until Send); longer is hold-to-record. */
const TAP_MS = 350;
/** Shorter recordings are dropped (a slip of the finger). */
const MIN_MS = 600;

interface Session { recorder: MediaRecorder; stream: MediaStream; audio: AudioContext; analyser: AnalyserNode; chunks: Blob[]; started: number; discard: boolean }

function pickType(): string | undefined {
  for (const type of ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4']) {
    if (typeof MediaRecorder !== 'undefined' && MediaRecorder.isTypeSupported(type)) return type;
  }
  return undefined;
}

export function VoiceRecorder({ chat, disabled }: { chat: string; disabled?: boolean }) {
  const d = t();
  const state = useSignal<'idle' | 'starting' | 'recording'>('idle');
  const elapsed = useSignal(0);
  const session = useRef<Session | undefined>(undefined);
  const pressedAt = useRef(0);
  const canvas = useRef<HTMLCanvasElement>(null);

  const stop = (send: boolean) => {
    const s = session.current;
    if (!s) return;
    session.current = undefined;
    s.discard = !send || Date.now() - s.started < MIN_MS;
    if (s.recorder.state !== 'inactive') s.recorder.stop();
    state.value = 'idle';
  };

  const start = async () => {
    if (state.value !== 'idle') return;
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') { notice.value = { kind: 'error', text: d.micMissing }; return; }
    state.value = 'starting';
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch {
      state.value = 'idle';
      notice.value = { kind: 'error', text: d.micDenied };
      return;
    }
    const type = pickType();
    const recorder = new MediaRecorder(stream, { ...(type ? { mimeType: type } : {}), audioBitsPerSecond: 32_000 });
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    audio.createMediaStreamSource(stream).connect(analyser);
    const s: Session = { recorder, stream, audio, analyser, chunks: [], started: Date.now(), discard: false };
    recorder.ondataavailable = (e) => { if (e.data.size) s.chunks.push(e.data); };
    recorder.onstop = () => {
      for (const tr of stream.getTracks()) tr.stop();
      void audio.close();
      if (s.discard || !s.chunks.length) return;
      const mime = (recorder.mimeType || type || 'audio/webm').split(';')[0]!;
      const ext = mime.includes('ogg') ? 'ogg' : mime.includes('mp4') ? 'm4a' : 'webm';
      const blob = new Blob(s.chunks, { type: mime });
      const stamp = new Date(s.started).toISOString().replace(/[:.]/g, '-').slice(0, 19);
      sendAttachment(chat, blob, { name: `voice-${stamp}.${ext}`, voiceNote: true, durationMs: Date.now() - s.started });
    };
    recorder.start(250);
    session.current = s;
    state.value = 'recording';
  };

  // The clock and the level meter, while recording.
  useEffect(() => {
    if (state.value !== 'recording') return;
    let raf = 0;
    const bars: number[] = [];
    const buf = new Uint8Array(512);
    const draw = () => {
      const s = session.current;
      if (!s) return;
      elapsed.value = Date.now() - s.started;
      s.analyser.getByteTimeDomainData(buf);
      let peak = 0;
      for (const v of buf) peak = Math.max(peak, Math.abs(v - 128) / 128);
      bars.push(peak);
      const c = canvas.current;
      const g = c?.getContext('2d');
      if (c && g) {
        const w = c.width, h = c.height, n = Math.floor(w / 4);
        while (bars.length > n) bars.shift();
        g.clearRect(0, 0, w, h);
        g.fillStyle = getComputedStyle(c).color;
        bars.forEach((p, i) => { const bh = Math.max(2, p * h); g.fillRect(w - (bars.length - i) * 4, (h - bh) / 2, 2, bh); });
      }
      raf = requestAnimationFrame(draw);
    };
    raf = requestAnimationFrame(draw);
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') stop(false); };
    window.addEventListener('keydown', onKey);
    return () => { cancelAnimationFrame(raf); window.removeEventListener('keydown', onKey); };
  }, [state.value]);

  useEffect(() => () => stop(false), [chat]);

  if (state.value === 'recording' || state.value === 'starting') {
    return <div class="recorder" role="group" aria-label={d.recording}>
      <button type="button" class="icon rec-cancel" aria-label={d.cancelRecording} title={d.cancelRecording} onClick={() => stop(false)}><Icon name="trash" /></button>
      <span class="rec-dot" aria-hidden="true" />
      <span class="rec-time" role="timer" aria-live="off">{duration(elapsed.value)}</span>
      <canvas ref={canvas} class="rec-level" width={160} height={32} aria-hidden="true" />
      <button type="button" class="send primary rec-send" aria-label={d.stopAndSend} title={d.stopAndSend} onClick={() => stop(true)}>➤</button>
    </div>;
  }
  return <button type="button" class="send primary mic" aria-label={d.recordVoice} title={d.recordHint} disabled={disabled}
    onPointerDown={(e) => {
      if (e.button !== 0) return;
      pressedAt.current = Date.now();
      // The button is replaced by the recording bar at once: the release is heard on the window.
      const up = () => {
        window.removeEventListener('pointerup', up);
        // Held long enough: release sends. A short press was a tap: recording goes on until Send.
        if (Date.now() - pressedAt.current >= TAP_MS) stop(true);
      };
      window.addEventListener('pointerup', up);
      void start();
    }}
    onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); void start(); } }}><Icon name="mic" size="1.4rem" /></button>;
}
