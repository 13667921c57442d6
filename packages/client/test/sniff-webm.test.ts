/** A browser's voice recording (MediaRecorder: WebM with one Opus track) is audio, so it can be sent as a voice note. */
import { describe, expect, it } from 'vitest';
import { sniffMime } from '../src/media/sniff.js';

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
// EBML header (DocType "webm"), an unknown-size Segment, an Info with MuxingApp, then Tracks › TrackEntry.
const header = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2, 0x81, 0x04, 0x42, 0xf3, 0x81, 0x08,
  0x42, 0x82, 0x84, ...ascii('webm'), 0x42, 0x87, 0x81, 0x04, 0x42, 0x85, 0x81, 0x02,
  0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0x15, 0x49, 0xa9, 0x66, 0x99, 0x2a, 0xd7, 0xb1, 0x83, 0x0f, 0x42, 0x40, 0x4d, 0x80, 0x86, ...ascii('Chrome'), 0x57, 0x41, 0x86, ...ascii('Chrome')];
const track = (type: number, codec: string) => [0x16, 0x54, 0xae, 0x6b, 0xa0, 0xae, 0x9e, 0xd7, 0x81, 0x01, 0x73, 0xc5, 0x81, 0x01, 0x83, 0x81, type, 0x86, 0x80 | codec.length, ...ascii(codec)];

describe('sniffMime: WebM', () => {
  it('calls an audio-only WebM (a MediaRecorder voice note) audio/webm', () => {
    expect(sniffMime(new Uint8Array([...header, ...track(2, 'A_OPUS')]), 'voice.webm')).toBe('audio/webm');
  });
  it('keeps a WebM with a video track video/webm', () => {
    expect(sniffMime(new Uint8Array([...header, ...track(1, 'V_VP8')]), 'clip.webm')).toBe('video/webm');
  });
  it('keeps a WebM whose tracks lie beyond the sniffed bytes video/webm', () => {
    expect(sniffMime(new Uint8Array(header), 'x.webm')).toBe('video/webm');
  });
});
