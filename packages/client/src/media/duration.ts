/**
 * Playing time of audio and video, read from the container without decoding
 * (attachments.md §Pointer): MP4/MOV/M4A (the movie header, mvhd), Ogg Opus
 * and Vorbis (the last page's granule position over the sample rate), WAV
 * (data size over byte rate) and WebM/Matroska (Segment Info Duration). Video
 * containers are never rewritten. Returns undefined when the container does
 * not say (or says nonsense): the attachment is still sent, without a duration.
 */
import { type ByteSource, ascii, u16le, u32be, u32le } from './source.js';

const MAX_MS = 0xffffffff; // duration_ms is a uint32 (about 49 days)

const ms = (v: number): number | undefined => (Number.isFinite(v) && v >= 0 && v <= MAX_MS ? Math.round(v) : undefined);

export async function probeDurationMs(src: ByteSource, mime: string): Promise<number | undefined> {
  try {
    if (/^(video|audio)\/(mp4|quicktime|3gpp)$/.test(mime)) return await mp4Duration(src);
    if (/^(audio|video)\/ogg$/.test(mime)) return await oggDuration(src);
    if (mime === 'audio/wav') return await wavDuration(src);
    if (mime === 'video/webm' || mime === 'video/x-matroska' || mime === 'audio/webm') return await matroskaDuration(src);
  } catch {
    // A container we cannot read: no duration, the file still goes.
  }
  return undefined;
}

/** ISO BMFF boxes: size (u32, 1 = u64 follows, 0 = to the end), type; mvhd inside moov. */
async function mp4Duration(src: ByteSource): Promise<number | undefined> {
  const find = async (start: number, end: number, type: string): Promise<{ body: number; end: number } | undefined> => {
    let pos = start;
    for (let guard = 0; pos + 8 <= end && guard < 10_000; guard++) {
      const h = await src.read(pos, 16);
      if (h.length < 8) return undefined;
      let size = u32be(h, 0);
      let header = 8;
      if (size === 1) {
        if (h.length < 16) return undefined;
        size = u32be(h, 8) * 2 ** 32 + u32be(h, 12);
        header = 16;
      } else if (size === 0) {
        size = end - pos;
      }
      if (size < header || pos + size > end) return undefined;
      if (ascii(h, 4, 8) === type) return { body: pos + header, end: pos + size };
      pos += size;
    }
    return undefined;
  };
  const moov = await find(0, src.size, 'moov');
  if (!moov) return undefined;
  const mvhd = await find(moov.body, moov.end, 'mvhd');
  if (!mvhd) return undefined;
  const b = await src.read(mvhd.body, 32);
  if (b[0] === 1) {
    if (b.length < 32) return undefined;
    const timescale = u32be(b, 20);
    const duration = u32be(b, 24) * 2 ** 32 + u32be(b, 28);
    return timescale ? ms((duration / timescale) * 1000) : undefined;
  }
  if (b.length < 20) return undefined;
  const timescale = u32be(b, 12);
  const duration = u32be(b, 16);
  return timescale && duration !== 0xffffffff ? ms((duration / timescale) * 1000) : undefined;
}

/** Ogg: the sample rate from the first packet's header, the granule position of the last page. */
async function oggDuration(src: ByteSource): Promise<number | undefined> {
  const first = await src.read(0, 512);
  if (ascii(first, 0, 4) !== 'OggS' || first.length < 28) return undefined;
  const packet = 27 + first[26]!;
  let rate: number;
  let preSkip = 0;
  if (ascii(first, packet, packet + 8) === 'OpusHead') {
    rate = 48_000; // Opus granules always count 48 kHz samples
    preSkip = u16le(first, packet + 10);
  } else if (first[packet] === 1 && ascii(first, packet + 1, packet + 7) === 'vorbis') {
    rate = u32le(first, packet + 12);
  } else {
    return undefined;
  }
  if (!rate) return undefined;
  const tailStart = Math.max(0, src.size - 64 * 1024);
  const tail = await src.read(tailStart, src.size - tailStart);
  for (let i = tail.length - 27; i >= 0; i--) {
    if (tail[i] !== 0x4f || ascii(tail, i, i + 4) !== 'OggS') continue;
    const lo = u32le(tail, i + 6), hi = u32le(tail, i + 10);
    if (hi === 0xffffffff && lo === 0xffffffff) continue; // no packet ends on this page
    return ms((Math.max(0, hi * 2 ** 32 + lo - preSkip) / rate) * 1000);
  }
  return undefined;
}

async function wavDuration(src: ByteSource): Promise<number | undefined> {
  let pos = 12;
  let byteRate = 0;
  for (let guard = 0; pos + 8 <= src.size && guard < 1000; guard++) {
    const h = await src.read(pos, 20);
    const id = ascii(h, 0, 4);
    const size = u32le(h, 4);
    if (id === 'fmt ' && h.length >= 20) byteRate = u32le(h, 16); // after format, channels, sample rate
    if (id === 'data') {
      const dataSize = Math.min(size, src.size - pos - 8); // streaming writers leave 0 or 0xFFFFFFFF
      return byteRate ? ms((dataSize === 0 ? src.size - pos - 8 : dataSize) / byteRate * 1000) : undefined;
    }
    pos += 8 + size + (size & 1);
  }
  return undefined;
}

/** EBML: IDs and sizes are variable-length integers; Segment → Info → TimecodeScale, Duration (float, in scale units). */
async function matroskaDuration(src: ByteSource): Promise<number | undefined> {
  const head = await src.read(0, 256 * 1024);
  const vint = (p: number, keepMarker: boolean): { value: number; len: number } | undefined => {
    const first = head[p];
    if (first === undefined || first === 0) return undefined;
    const len = Math.clz32(first) - 23;
    if (len > 8 || p + len > head.length) return undefined;
    let value = keepMarker ? first : first & (0xff >> len);
    let allOnes = value === (0xff >> len);
    for (let i = 1; i < len; i++) {
      value = value * 256 + head[p + i]!;
      if (head[p + i] !== 0xff) allOnes = false;
    }
    return { value: !keepMarker && allOnes ? -1 : value, len }; // -1: unknown size
  };
  const walk = (start: number, end: number, want: number): { body: number; end: number } | undefined => {
    let p = start;
    while (p < end) {
      const id = vint(p, true);
      if (!id) return undefined;
      const size = vint(p + id.len, false);
      if (!size) return undefined;
      const body = p + id.len + size.len;
      const stop = size.value < 0 ? end : body + size.value;
      if (id.value === want) return { body, end: Math.min(stop, head.length) };
      if (size.value < 0) return undefined;
      p = stop;
    }
    return undefined;
  };
  const segment = walk(0, head.length, 0x18538067);
  if (!segment) return undefined;
  const info = walk(segment.body, segment.end, 0x1549a966);
  if (!info) return undefined;
  let scale = 1_000_000;
  const ts = walk(info.body, info.end, 0x2ad7b1);
  if (ts) {
    scale = 0;
    for (let i = ts.body; i < ts.end; i++) scale = scale * 256 + head[i]!;
  }
  const d = walk(info.body, info.end, 0x4489);
  if (!d) return undefined;
  const view = new DataView(head.buffer, head.byteOffset + d.body, d.end - d.body);
  const value = d.end - d.body === 8 ? view.getFloat64(0) : d.end - d.body === 4 ? view.getFloat32(0) : NaN;
  return ms((value * scale) / 1e6);
}
