/**
 * A voice note in a bubble: play/pause, its waveform (decoded from the recording) and length; downloaded as soon
 * as it is shown. The same player serves a note still being sent (from the recording itself).
 */
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { analyse } from '../media-audio.js';
import { blobOf } from '../sdk/attachments.js';
import { duration } from '../media-format.js';
import { Waveform } from './Waveform.js';
import { t } from '../i18n/index.js';
import { Icon } from './Icon.js';

const FLAT = Array.from({ length: 40 }, () => 0.15);

export function VoicePlayer({ url, durationMs, label }: { url: string | undefined; durationMs: number | undefined; label: string }) {
  const d = t();
  const audio = useRef<HTMLAudioElement>(null);
  const playing = useSignal(false);
  const position = useSignal(0);
  const info = useSignal<{ durationMs: number; peaks: number[] } | undefined>(undefined);
  useEffect(() => {
    const blob = url ? blobOf(url) : undefined;
    if (blob) void analyse(blob).then((r) => { info.value = r; });
  }, [url]);
  const total = info.value?.durationMs ?? durationMs ?? 0;
  const toggle = () => {
    const el = audio.current;
    if (!el) return;
    if (el.paused) void el.play().catch(() => undefined); else el.pause();
  };
  return <div class="voice" data-attachment="voice" data-duration-ms={total || undefined}>
    <button type="button" class="voice-play" disabled={!url} aria-label={`${playing.value ? d.pause : d.play}: ${label}`} onClick={toggle}><Icon name={playing.value ? 'pause' : 'play'} /></button>
    <Waveform peaks={info.value?.peaks ?? FLAT} progress={total ? Math.min(1, position.value / total) : 0} />
    <span class="voice-time">{duration(playing.value || position.value ? position.value : total)}</span>
    {url && <audio ref={audio} src={url} preload="auto"
      onPlay={() => { playing.value = true; }} onPause={() => { playing.value = false; }}
      onEnded={() => { playing.value = false; position.value = 0; }}
      onTimeUpdate={(e) => { position.value = Math.round((e.target as HTMLAudioElement).currentTime * 1000); }} />}
  </div>;
}
