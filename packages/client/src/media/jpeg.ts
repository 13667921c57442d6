/**
 * JPEG metadata removal without re-encoding (attachments.md §Metadata). The
 * file is walked segment by segment (ITU T.81 §B): what decoding needs is kept
 * byte for byte — frame headers, tables, scans, the ICC colour profile and the
 * Adobe colour-transform segment — and everything else is dropped: Exif (with
 * GPS, camera serial numbers and the embedded preview), XMP, IPTC/Photoshop,
 * MPF extra pictures, comments, any other APPn, and whatever follows the end
 * of the image (phones append videos and depth maps there). A JFIF header is
 * rewritten without its embedded thumbnail. The Exif orientation is the one
 * piece of metadata that changes how the picture looks: it is kept, in a new
 * Exif segment that holds nothing else.
 */
import { type ByteSource, type Piece, MediaFormatError, ascii, mergePieces, readExactly, u16be, u32be } from './source.js';

const F = 'JPEG';
const SCAN_BLOCK = 64 * 1024;

export interface JpegResult {
  readonly pieces: Piece[];
  /** Stored dimensions (before orientation). */
  readonly width: number;
  readonly height: number;
  /** Exif orientation 1–8 (1 when absent). */
  readonly orientation: number;
  /** What was removed, for the caller's report ("Exif", "XMP", "comment", …). */
  readonly removed: string[];
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
/** Segments decoding needs: SOFn, DHT, DAC, DQT, DRI, DNL, EXP, JPEG-LS SOF55/LSE. */
const isDecodingSegment = (m: number) => isSof(m) || m === 0xc4 || m === 0xcc || m === 0xdb || m === 0xdd || m === 0xdc || m === 0xdf || m === 0xf7 || m === 0xf8;

export async function stripJpeg(src: ByteSource): Promise<JpegResult> {
  const soi = await readExactly(src, F, 0, 2);
  if (soi[0] !== 0xff || soi[1] !== 0xd8) throw new MediaFormatError(F, 'no start-of-image marker');
  const pieces: Piece[] = [{ from: 0, to: 2 }];
  const removed = new Set<string>();
  let insertAt = 1; // where a new Exif segment goes: after SOI, or after the JFIF header
  let width = 0, height = 0, orientation = 1;
  let sawScan = false;
  let pos = 2;
  for (;;) {
    // A marker: 0xFF, optional 0xFF fill bytes, the marker code.
    if (pos >= src.size) {
      if (sawScan) break; // ends without EOI: the image data is all there is; EOI is added below
      throw new MediaFormatError(F, 'the file ends before the image data');
    }
    const head = await readExactly(src, F, pos, Math.min(4, src.size - pos));
    if (head[0] !== 0xff) throw new MediaFormatError(F, 'a segment does not start with a marker');
    let m = head[1];
    if (m === 0xff) { pos += 1; continue; }
    if (m === undefined) throw new MediaFormatError(F, 'the file ends in a marker');
    if (m === 0xd9) break; // EOI: anything after it is dropped
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01 || m === 0x00) throw new MediaFormatError(F, `unexpected marker 0xFF${m.toString(16).toUpperCase()}`);
    if (head.length < 4) throw new MediaFormatError(F, 'the file ends in a segment header');
    const length = u16be(head, 2);
    if (length < 2) throw new MediaFormatError(F, 'a segment has an impossible length');
    const end = pos + 2 + length;
    if (end > src.size) throw new MediaFormatError(F, 'a segment runs past the end of the file (truncated?)');
    const bodyStart = pos + 4;
    if (m === 0xda) {
      // Start of scan: keep the header and the entropy-coded data up to the next real marker.
      pieces.push({ from: pos, to: end });
      const scanEnd = await scanEntropyData(src, end);
      pieces.push({ from: end, to: scanEnd });
      sawScan = true;
      pos = scanEnd;
      continue;
    }
    if (isDecodingSegment(m)) {
      if (isSof(m)) {
        if (length < 8) throw new MediaFormatError(F, 'the frame header is too short');
        const sof = await readExactly(src, F, bodyStart, 5);
        height = u16be(sof, 1);
        width = u16be(sof, 3);
        if (width === 0) throw new MediaFormatError(F, 'the frame header has no width');
      }
      pieces.push({ from: pos, to: end });
    } else if (m === 0xe0) {
      const body = await readExactly(src, F, bodyStart, Math.min(length - 2, 14));
      if (body.length >= 12 && ascii(body, 0, 5) === 'JFIF\0') {
        // Version, density unit and densities; the thumbnail (often the uncropped original) is dropped.
        const jfif = new Uint8Array([0xff, 0xe0, 0x00, 0x10, ...body.subarray(0, 12), 0x00, 0x00]);
        pieces.push({ bytes: jfif });
        insertAt = pieces.length;
        if (length - 2 > 14) removed.add('JFIF thumbnail');
      } else {
        removed.add('APP0');
      }
    } else if (m === 0xe1) {
      const body = await readExactly(src, F, bodyStart, length - 2);
      if (ascii(body, 0, 6) === 'Exif\0\0') {
        removed.add('Exif');
        orientation = exifOrientation(body.subarray(6)) ?? orientation;
      } else {
        removed.add(ascii(body, 0, 28).startsWith('http://ns.adobe.com/') ? 'XMP' : 'APP1');
      }
    } else if (m === 0xe2 && length >= 14 && ascii(await readExactly(src, F, bodyStart, 12)) === 'ICC_PROFILE\0') {
      pieces.push({ from: pos, to: end }); // colours are decoded with it
    } else if (m === 0xee && length >= 7 && ascii(await readExactly(src, F, bodyStart, 5)) === 'Adobe') {
      pieces.push({ from: pos, to: end }); // tells the decoder whether the data is YCbCr or RGB/CMYK
    } else if (m === 0xfe) {
      removed.add('comment');
    } else if (m === 0xed) {
      removed.add('IPTC');
    } else if (m >= 0xe0 && m <= 0xef) {
      removed.add(`APP${m - 0xe0}`);
    } else {
      removed.add(`segment 0xFF${m.toString(16).toUpperCase()}`);
    }
    pos = end;
  }
  if (!sawScan || width === 0) throw new MediaFormatError(F, 'no image data (no frame header or scan)');
  if (pos + 2 < src.size) removed.add('data after the image');
  pieces.push({ bytes: new Uint8Array([0xff, 0xd9]) });
  if (orientation !== 1) pieces.splice(insertAt, 0, { bytes: orientationExif(orientation) });
  return { pieces: mergePieces(pieces), width, height, orientation, removed: [...removed] };
}

/** The end of the entropy-coded data that starts at `pos`: the next 0xFF not followed by 0x00 (stuffing), RSTn or fill. */
async function scanEntropyData(src: ByteSource, pos: number): Promise<number> {
  let p = pos;
  while (p < src.size) {
    const block = await src.read(p, SCAN_BLOCK + 1);
    for (let i = 0; i < block.length - 1; i++) {
      if (block[i] !== 0xff) continue;
      const next = block[i + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) continue;
      return p + i;
    }
    if (block.length <= SCAN_BLOCK) return src.size; // the file ends in the scan (no EOI)
    p += SCAN_BLOCK;
  }
  return src.size;
}

/** The Orientation tag (0x0112) of IFD0 in an Exif TIFF structure, or undefined (absent or unreadable: Exif is dropped anyway). */
export function exifOrientation(tiff: Uint8Array): number | undefined {
  if (tiff.length < 8) return undefined;
  const le = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!le && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return undefined;
  const u16 = (o: number) => (le ? tiff[o]! | (tiff[o + 1]! << 8) : u16be(tiff, o));
  const u32 = (o: number) => (le ? (tiff[o]! | (tiff[o + 1]! << 8) | (tiff[o + 2]! << 16)) + ((tiff[o + 3]! << 24) >>> 0) : u32be(tiff, o));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > tiff.length) return undefined;
    if (u16(e) === 0x0112 && u16(e + 2) === 3) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : undefined;
    }
  }
  return undefined;
}

/** An APP1 Exif segment whose only content is IFD0 with the Orientation tag. */
export function orientationExif(orientation: number): Uint8Array {
  const tiff = [
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF header, IFD0 at 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00, // Orientation, SHORT, 1
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ];
  const body = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00, ...tiff];
  return new Uint8Array([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}
