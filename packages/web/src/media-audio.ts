/** Audio helpers for voice notes: the loudness of n slices (a waveform) and the length, decoded by the browser. */

/** Peak loudness (0..1) of `n` equal slices of the samples. */
export function peaksOf(samples: Float32Array, n: number): number[] {
  const out: number[] = [];
  const step = Math.max(1, Math.floor(samples.length / n));
  let max = 0;
  for (let i = 0; i < n; i++) {
    let p = 0;
    const end = Math.min(samples.length, (i + 1) * step);
    for (let j = i * step; j < end; j++) { const v = Math.abs(samples[j]!); if (v > p) p = v; }
    out.push(p);
    if (p > max) max = p;
  }
  return max > 0 ? out.map((p) => p / max) : out;
}

let ctx: AudioContext | undefined;

/** Decodes a recording: its length (ms) and waveform; undefined when the browser cannot decode it. */
export async function analyse(blob: Blob, bars = 40): Promise<{ durationMs: number; peaks: number[] } | undefined> {
  try {
    const bytes = await blob.arrayBuffer();
    ctx ??= new AudioContext();
    const buffer = await ctx.decodeAudioData(bytes);
    return { durationMs: Math.round(buffer.duration * 1000), peaks: peaksOf(buffer.getChannelData(0), bars) };
  } catch {
    return undefined;
  }
}
