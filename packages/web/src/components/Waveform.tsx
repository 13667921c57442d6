/** A voice note's waveform as bars; the part already played is coloured. Decorative: the time beside it says the same. */
export function Waveform({ peaks, progress }: { peaks: readonly number[]; progress: number }) {
  const played = Math.round(progress * peaks.length);
  return <span class="waveform" aria-hidden="true">
    {peaks.map((p, i) => <span key={i} class={i < played ? 'wf-bar played' : 'wf-bar'} style={{ height: `${Math.max(12, Math.round(p * 100))}%` }} />)}
  </span>;
}
