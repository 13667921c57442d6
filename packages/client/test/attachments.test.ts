/**
 * Attachments end to end (spec/attachments.md): real servers over TLS, real
 * clients with SQLCipher stores, a TCP proxy between a client and the server
 * to cut connections and count the bytes that cross. Pictures with metadata
 * are built in the test; the big file is generated deterministically and
 * compared by hash, never held in memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { open as openFile } from 'node:fs/promises';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import jpegJs from 'jpeg-js';
import pngJs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paddedSize, ciphertextSize } from '@sigilo/protocol';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SigiloClient, safeFileName, prepareFile, bufferSource, type MessageRow } from '../src/index.js';
import { SqlCipherStore, createNodeClient, deriveStoreKey, hasPendingUpload, partPath } from '../../client-node/src/index.js';
import { exifOrientation } from '../src/media/jpeg.js';
import { stripJpeg } from '../src/media/jpeg.js';
import { stripPng } from '../src/media/png.js';
import { stripWebp } from '../src/media/webp.js';
import { stripGif } from '../src/media/gif.js';
import { MediaFormatError, piecesSize, type Piece } from '../src/media/source.js';
import { probeDurationMs } from '../src/media/duration.js';
import { sniffMime } from '../src/media/sniff.js';
import { World, introduce, nextEvent } from './support.js';
import { BlockFileWriter, downloadFile, pinnedGet, uploadFile } from '../../client-node/src/attachments.js';
import { generateSelfSignedCertificate } from '../../server/src/tls/self-signed.js';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';

// ------------------------------------------------------------------ fixtures

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const contains = (hay: Uint8Array, needle: string) => Buffer.from(hay).includes(Buffer.from(needle, 'latin1'));
const be16 = (n: number) => [n >> 8, n & 0xff];
const be32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const le16 = (n: number) => [n & 0xff, n >> 8];

/** A big-endian Exif TIFF: IFD0 with Make "SigiloCam", Orientation and a GPS IFD (latitude N 38° 43' 12.34"). */
function exifTiff(orientation: number): Uint8Array {
  const entry = (tag: number, type: number, count: number, value: number[]) => [...be16(tag), ...be16(type), ...be32(count), ...value];
  const ifd0 = [
    ...be16(3),
    ...entry(0x010f, 2, 10, be32(50)), // Make → offset 50
    ...entry(0x0112, 3, 1, [...be16(orientation), 0, 0]),
    ...entry(0x8825, 4, 1, be32(60)), // GPS IFD → offset 60
    ...be32(0),
  ];
  const gps = [
    ...be16(2),
    ...entry(0x0001, 2, 2, [0x4e, 0, 0, 0]), // "N"
    ...entry(0x0002, 5, 3, be32(90)),
    ...be32(0),
  ];
  const bytes = [0x4d, 0x4d, 0x00, 0x2a, ...be32(8), ...ifd0, ...ascii('SigiloCam\0'), ...gps, ...be32(38), ...be32(1), ...be32(43), ...be32(1), ...be32(1234), ...be32(100)];
  expect(bytes.length).toBe(114);
  return new Uint8Array(bytes);
}

function segment(marker: number, body: Uint8Array): Uint8Array {
  return concat(new Uint8Array([0xff, marker, ...be16(body.length + 2)]), body);
}

function pixels(width: number, height: number, alpha = false): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = ((x + y) * 3) & 0xff;
      data[i + 3] = alpha ? (x * 255) / width : 255;
    }
  }
  return data;
}

/** A 320×240 JPEG (stored landscape, Exif orientation 6) with Exif+GPS, XMP, IPTC, a comment and data after the end of the image. */
function jpegWithMetadata(): Uint8Array {
  const plain = new Uint8Array(jpegJs.encode({ width: 320, height: 240, data: pixels(320, 240) }, 85).data);
  expect([plain[0], plain[1], plain[2], plain[3]]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
  const app0End = 4 + ((plain[4]! << 8) | plain[5]!);
  const metadata = concat(
    segment(0xe1, concat(ascii('Exif\0\0'), exifTiff(6))),
    segment(0xe1, ascii('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>SECRET-XMP-GPS</exif:GPSLatitude></x:xmpmeta>')),
    segment(0xed, ascii('Photoshop 3.0\x008BIM\x04\x04\0\0\0\0\0\x10SECRET-IPTC-BYLINE')),
    segment(0xfe, ascii('SECRET-COMMENT')),
  );
  return concat(plain.subarray(0, app0End), metadata, plain.subarray(app0End), ascii('SECRET-TRAILER-MOTION-PHOTO'));
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const td = concat(ascii(type), data);
  return concat(new Uint8Array(be32(data.length)), td, new Uint8Array(be32(crc32(td))));
}

/** A 300×200 PNG with alpha and tEXt, zTXt-free iTXt XMP, eXIf (GPS) and tIME chunks. */
function pngWithMetadata(): Uint8Array {
  const png = new pngJs.PNG({ width: 300, height: 200 });
  png.data = Buffer.from(pixels(300, 200, true));
  const plain = new Uint8Array(pngJs.PNG.sync.write(png));
  const afterIhdr = 8 + 25;
  const meta = concat(
    pngChunk('tEXt', ascii('Author\0SECRET-AUTHOR')),
    pngChunk('eXIf', exifTiff(1)),
    pngChunk('tIME', new Uint8Array([0x07, 0xea, 11, 24, 4, 13, 0])),
    pngChunk('iTXt', ascii('XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>SECRET-XMP</x:xmpmeta>')),
  );
  return concat(plain.subarray(0, afterIhdr), meta, plain.subarray(afterIhdr));
}

/** A 16-bit mono 8 kHz WAV of `ms` milliseconds. */
function wav(ms: number): Uint8Array {
  const rate = 8000, bytes = (rate * 2 * ms) / 1000;
  return concat(ascii('RIFF'), new Uint8Array(le32(36 + bytes)), ascii('WAVEfmt '), new Uint8Array([...le32(16), ...le16(1), ...le16(1), ...le32(rate), ...le32(rate * 2), ...le16(2), ...le16(16)]),
    ascii('data'), new Uint8Array(le32(bytes)), new Uint8Array(bytes).map((_, i) => (i * 7) & 0xff));
}

/** Writes `size` deterministic pseudo-random bytes (AES-CTR keystream) to `path`; resolves with their SHA-256. */
async function writeDeterministic(path: string, size: number, seed: number): Promise<string> {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16));
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < size;) {
    const n = Math.min(block.length, size - done);
    const chunk = cipher.update(block.subarray(0, n));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    done += n;
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return hash.digest('hex');
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  return hash.digest('hex');
}

/** A TCP proxy in front of the server: counts bytes each way and cuts one connection once it moved more than a limit. */
class CuttingProxy {
  up = 0;
  down = 0;
  cuts = 0;
  cutUpAfter: number | undefined;
  cutDownAfter: number | undefined;
  /** Called after every chunk that crosses, with the totals so far. */
  watch: ((up: number, down: number) => void) | undefined;
  readonly #sockets = new Set<Socket>();
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<CuttingProxy> {
    let proxy!: CuttingProxy;
    const server = createServer((client) => {
      const upstream = netConnect(targetPort, '127.0.0.1');
      proxy.#sockets.add(client);
      proxy.#sockets.add(upstream);
      let up = 0, down = 0;
      const cut = () => {
        proxy.cuts++;
        client.destroy();
        upstream.destroy();
      };
      client.on('data', (d: Buffer) => {
        up += d.length;
        proxy.up += d.length;
        if (proxy.cutUpAfter !== undefined && up > proxy.cutUpAfter) { proxy.cutUpAfter = undefined; return cut(); }
        if (!upstream.write(d)) client.pause();
        proxy.watch?.(proxy.up, proxy.down);
      });
      upstream.on('drain', () => client.resume());
      upstream.on('data', (d: Buffer) => {
        down += d.length;
        proxy.down += d.length;
        if (proxy.cutDownAfter !== undefined && down > proxy.cutDownAfter) { proxy.cutDownAfter = undefined; return cut(); }
        if (!client.write(d)) upstream.pause();
        proxy.watch?.(proxy.up, proxy.down);
      });
      client.on('drain', () => upstream.resume());
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => { proxy.#sockets.delete(client); upstream.destroy(); });
      upstream.on('close', () => { proxy.#sockets.delete(upstream); client.destroy(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new CuttingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  reset(): void {
    this.up = 0;
    this.down = 0;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

interface Person { client: SigiloClient; dir: string; passphrase: string; name: string }

class Bench {
  readonly people: Person[] = [];
  readonly proxies: CuttingProxy[] = [];
  readonly root = mkdtempSync(join(tmpdir(), 'sigilo-att-'));
  clock = Date.now();
  private constructor(readonly t: TestServer) {}

  static async start(overrides: Record<string, unknown> = {}): Promise<Bench> {
    let b!: Bench;
    const t = await startTestServer(overrides, { now: () => b?.clock ?? Date.now() });
    b = new Bench(t);
    return b;
  }

  get port(): number {
    return Number(new URL(this.t.server.url).port);
  }

  /** Opens the person's client on its store (again, after a restart); `url` for a new store. */
  async open(p: Person, url = this.t.server.url): Promise<SigiloClient> {
    p.client = createNodeClient({ store: SqlCipherStore.open(p.dir, p.passphrase) });
    if (!p.client.server) await p.client.init(url, this.t.server.tls.fingerprint);
    return p.client;
  }

  /** A registered, connected person; with `proxied`, everything it sends and receives goes through a CuttingProxy. */
  async person(name: string, proxied = false): Promise<Person & { proxy?: CuttingProxy }> {
    const p: Person & { proxy?: CuttingProxy } = { name, dir: join(this.root, name), passphrase: `passphrase of ${name}`, client: undefined as unknown as SigiloClient };
    let url = this.t.server.url;
    if (proxied) {
      p.proxy = await CuttingProxy.start(this.port);
      this.proxies.push(p.proxy);
      url = `wss://127.0.0.1:${p.proxy.port}/v1/ws`;
    }
    await this.open(p, url);
    const { code } = await this.t.server.admin.createInvite();
    await p.client.register(code);
    await p.client.connect({ reconnect: false });
    this.people.push(p);
    return p;
  }

  file(name: string, bytes: Uint8Array): string {
    const path = join(this.root, name);
    writeFileSync(path, bytes);
    return path;
  }

  blobPath(attachmentId: Uint8Array): string {
    return join(this.t.dataDir, 'attachments', Buffer.from(attachmentId).toString('hex'));
  }

  async stop(): Promise<void> {
    for (const p of this.people) {
      await p.client.close().catch(() => {});
      try { p.client.store.close(); } catch { /* closed */ }
    }
    for (const x of this.proxies) await x.close();
    await this.t.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function sendAndReceive(from: SigiloClient, to: SigiloClient, path: string, options: Parameters<SigiloClient['sendFile']>[2] = {}): Promise<{ sent: MessageRow; received: MessageRow }> {
  const arrived = nextEvent(to, 'message', (e) => !e.message.outgoing && (e.message.attachments?.length ?? 0) > 0, 60_000);
  const sent = await from.sendFile(to.accountId!, path, options);
  const received = (await arrived).message;
  return { sent, received };
}

const expectReason = (p: Promise<unknown>, reason: string) => expect(p).rejects.toMatchObject({ name: 'AttachmentError', reason });

// ------------------------------------------------------------------ parsers (no server)

describe('attachment media parsers', () => {
  const readAll = async (bytes: Uint8Array, pieces: Piece[]) => concat(...pieces.map((p) => ('bytes' in p ? p.bytes : bytes.subarray(p.from, p.to))));

  it('JPEG: Exif (with GPS), XMP, IPTC, comments and trailing data go; the picture and its orientation stay', async () => {
    const jpeg = jpegWithMetadata();
    const r = await stripJpeg(bufferSource(jpeg));
    const out = await readAll(jpeg, r.pieces);
    expect(out.length).toBe(piecesSize(r.pieces));
    for (const secret of ['SigiloCam', 'SECRET', 'ns.adobe.com', 'Photoshop']) expect(contains(out, secret), secret).toBe(false);
    expect(r.removed).toEqual(expect.arrayContaining(['Exif', 'XMP', 'IPTC', 'comment', 'data after the image']));
    expect({ width: r.width, height: r.height, orientation: r.orientation }).toEqual({ width: 320, height: 240, orientation: 6 });
    // The orientation survives in a minimal Exif segment right after the JFIF header.
    const app1 = Buffer.from(out).indexOf(Buffer.from('Exif\0\0', 'latin1'));
    expect(app1).toBeGreaterThan(0);
    expect(exifOrientation(out.subarray(app1 + 6))).toBe(6);
    // Same pixels: the image data was not touched.
    expect(Buffer.from(jpegJs.decode(out, { useTArray: true }).data).equals(Buffer.from(jpegJs.decode(jpeg, { useTArray: true }).data))).toBe(true);
  });

  it('PNG: tEXt, iTXt, eXIf and tIME go; pixels stay', async () => {
    const png = pngWithMetadata();
    const r = await stripPng(bufferSource(png));
    const out = await readAll(png, r.pieces);
    for (const secret of ['SECRET', 'SigiloCam', 'tEXt', 'eXIf', 'tIME', 'iTXt']) expect(contains(out, secret), secret).toBe(false);
    expect(r.removed.sort()).toEqual(['eXIf', 'iTXt', 'tEXt', 'tIME']);
    expect(Buffer.from(pngJs.PNG.sync.read(Buffer.from(out)).data).equals(Buffer.from(pngJs.PNG.sync.read(Buffer.from(png)).data))).toBe(true);
  });

  it('WebP: EXIF and XMP chunks go, the VP8X flags and RIFF size are fixed', async () => {
    const vp8l = concat(ascii('VP8L'), new Uint8Array(le32(5)), new Uint8Array([0x2f, ...le32((9) | ((4) << 14))]), new Uint8Array(1));
    const vp8x = concat(ascii('VP8X'), new Uint8Array(le32(10)), new Uint8Array([0x0c, 0, 0, 0, 9, 0, 0, 4, 0, 0]));
    const exif = concat(ascii('EXIF'), new Uint8Array(le32(114)), exifTiff(1));
    const xmp = concat(ascii('XMP '), new Uint8Array(le32(10)), ascii('SECRET-XMP'));
    const body = concat(ascii('WEBP'), vp8x, vp8l, exif, xmp);
    const webp = concat(ascii('RIFF'), new Uint8Array(le32(body.length)), body);
    const r = await stripWebp(bufferSource(webp));
    const out = await readAll(webp, r.pieces);
    expect(contains(out, 'SECRET') || contains(out, 'SigiloCam') || contains(out, 'EXIF')).toBe(false);
    expect({ width: r.width, height: r.height }).toEqual({ width: 10, height: 5 });
    expect(Buffer.from(out).readUInt32LE(4)).toBe(out.length - 8);
    expect(out[20]! & 0x0c).toBe(0); // EXIF and XMP flags cleared
    expect(sniffMime(out, 'x')).toBe('image/webp');
  });

  it('GIF: comments and XMP application extensions go; looping stays', async () => {
    const gif = concat(ascii('GIF89a'), new Uint8Array([...le16(2), ...le16(2), 0x80, 0, 0]), new Uint8Array(6),
      new Uint8Array([0x21, 0xff, 11]), ascii('NETSCAPE2.0'), new Uint8Array([3, 1, 0, 0, 0]),
      new Uint8Array([0x21, 0xfe, 14]), ascii('SECRET-COMMENT'), new Uint8Array([0]),
      new Uint8Array([0x21, 0xff, 11]), ascii('XMP DataXMP'), new Uint8Array([10]), ascii('SECRET-XMP'), new Uint8Array([0]),
      new Uint8Array([0x2c, 0, 0, 0, 0, ...le16(2), ...le16(2), 0, 2, 2, 0x4c, 0x01, 0, 0x3b]));
    const r = await stripGif(bufferSource(gif));
    const out = await readAll(gif, r.pieces);
    expect(contains(out, 'SECRET')).toBe(false);
    expect(contains(out, 'NETSCAPE2.0')).toBe(true);
    expect(out[out.length - 1]).toBe(0x3b);
    expect(r.removed.sort()).toEqual(['XMP', 'comment']);
  });

  it('damaged pictures fail with MediaFormatError, never anything else (fuzzed)', async () => {
    const samples = [jpegWithMetadata(), pngWithMetadata()];
    const strippers = [stripJpeg, stripPng, stripWebp, stripGif];
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 1 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(),
      async (which, at, cutAt, value, truncate) => {
        const base = samples[which]!;
        let bytes = new Uint8Array(base);
        bytes[at % bytes.length] = value;
        if (truncate) bytes = bytes.subarray(0, cutAt % bytes.length);
        for (const strip of strippers) {
          try {
            const r = await strip(bufferSource(bytes));
            expect(piecesSize(r.pieces)).toBeGreaterThan(0);
          } catch (e) {
            if (!(e instanceof MediaFormatError)) throw e;
          }
        }
      }), { numRuns: 300 });
    await expect(stripJpeg(bufferSource(new Uint8Array([0xff, 0xd8, 0xff])))).rejects.toBeInstanceOf(MediaFormatError);
    await expect(stripPng(bufferSource(ascii('\x89PNG\r\n\x1a\n')))).rejects.toBeInstanceOf(MediaFormatError);
  });

  it('a file that claims to be a picture but is not is refused, unless sent with keepMetadata', async () => {
    const fake = concat(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x40]), ascii('Exif\0\0 truncated'));
    await expectReason(prepareFile(bufferSource(fake), 'photo.jpg'), 'MALFORMED_MEDIA');
    const kept = await prepareFile(bufferSource(fake), 'photo.jpg', { keepMetadata: true });
    expect(kept.size).toBe(fake.length);
    await expectReason(prepareFile(bufferSource(concat(new Uint8Array(4), ascii('ftypheic'))), 'p.heic'), 'UNSUPPORTED_METADATA');
    await expectReason(prepareFile(bufferSource(ascii('%PDF-1.7')), 'note.pdf', { voiceNote: true }), 'NOT_AUDIO');
  });

  it('durations from MP4, Ogg Opus, Ogg Vorbis, WAV and WebM containers', async () => {
    const box = (type: string, body: Uint8Array) => concat(new Uint8Array(be32(8 + body.length)), ascii(type), body);
    const mvhd = box('mvhd', new Uint8Array([0, 0, 0, 0, ...be32(0), ...be32(0), ...be32(1000), ...be32(83_250), ...new Uint8Array(80)]));
    const mp4 = concat(box('ftyp', ascii('isom\0\0\0\0')), box('mdat', new Uint8Array(100)), box('moov', mvhd));
    expect(await probeDurationMs(bufferSource(mp4), sniffMime(mp4, 'a.mp4'))).toBe(83_250);

    const oggPage = (granule: number, packet: Uint8Array, flags = 0) => concat(ascii('OggS'), new Uint8Array([0, flags, ...le32(granule), ...le32(0), ...le32(1), ...le32(0), ...le32(0), 1, packet.length]), packet);
    const opusHead = concat(ascii('OpusHead'), new Uint8Array([1, 1, ...le16(312), ...le32(48000), 0, 0, 0]));
    const opus = concat(oggPage(0, opusHead, 2), oggPage(0, ascii('OpusTags')), oggPage(48_000 * 3 + 312, new Uint8Array(20), 4));
    expect(sniffMime(opus, 'v.bin')).toBe('audio/ogg');
    expect(await probeDurationMs(bufferSource(opus), 'audio/ogg')).toBe(3000);
    const vorbisId = concat(new Uint8Array([1]), ascii('vorbis'), new Uint8Array([0, 0, 0, 0, 2, ...le32(44_100), ...new Uint8Array(13)]));
    const vorbis = concat(oggPage(0, vorbisId, 2), oggPage(44_100 * 5 / 2, new Uint8Array(20), 4));
    expect(await probeDurationMs(bufferSource(vorbis), 'audio/ogg')).toBe(2500);

    expect(await probeDurationMs(bufferSource(wav(1500)), 'audio/wav')).toBe(1500);

    // EBML header, Segment (unknown size) → Info → TimecodeScale 1 ms, Duration 4321.0 (float64)
    const f64 = Buffer.alloc(8);
    f64.writeDoubleBE(4321);
    const info = concat(new Uint8Array([0x2a, 0xd7, 0xb1, 0x83, 0x0f, 0x42, 0x40]), new Uint8Array([0x44, 0x89, 0x88]), f64);
    const webm = concat(new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x84]), ascii('webm'), new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0x15, 0x49, 0xa9, 0x66, 0x80 | info.length]), info);
    expect(sniffMime(webm, 'v')).toBe('video/webm');
    expect(await probeDurationMs(bufferSource(webm), 'video/webm')).toBe(4321);
    expect(await probeDurationMs(bufferSource(ascii('junk')), 'video/mp4')).toBeUndefined();
  });

  it('types come from the bytes first, the extension second', () => {
    expect(sniffMime(jpegWithMetadata(), 'holiday.png')).toBe('image/jpeg');
    expect(sniffMime(ascii('hello'), 'notes.txt')).toBe('text/plain');
    expect(sniffMime(ascii('PK\x03\x04'), 'report.docx')).toMatch(/wordprocessingml/);
    expect(sniffMime(ascii('PK\x03\x04'), 'archive.bin')).toBe('application/zip');
    expect(sniffMime(new Uint8Array([1, 2, 3]), 'noext')).toBe('application/octet-stream');
  });

  it('file names from peers are made safe', () => {
    expect(safeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(safeFileName('..')).toBe('attachment');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('a\u0000b\u001b[31mc\u202eexe.txt')).toBe('ab[31mcexe.txt');
    expect(safeFileName('C:\\Windows\\x.dll')).toBe('C__Windows_x.dll');
    expect(safeFileName('nul.txt')).toBe('_nul.txt');
    expect(safeFileName('', 'image/jpeg')).toBe('attachment.jpg');
    expect(safeFileName('photo. ')).toBe('photo');
    const long = safeFileName(`${'é'.repeat(300)}.pdf`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('.pdf')).toBe(true);
  });
});

// ------------------------------------------------------------------ end to end

describe('attachments between two clients, through a real server', () => {
  let b: Bench;
  let alice: Person & { proxy?: CuttingProxy };
  let bob: Person & { proxy?: CuttingProxy };
  let out: string;

  beforeAll(async () => {
    b = await Bench.start({ 'retention.attachments': '1d' });
    [alice, bob] = await Promise.all([b.person('alice', true), b.person('bob', true)]);
    introduce(alice.client, 'alice', bob.client, 'bob');
    out = mkdtempSync(join(tmpdir(), 'sigilo-att-out-'));
  });
  afterAll(async () => {
    await b?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('a JPEG arrives without its metadata, with its orientation, size and a small thumbnail', async () => {
    const original = jpegWithMetadata();
    const { sent, received } = await sendAndReceive(alice.client, bob.client, b.file('holiday.jpg', original), { caption: 'from the beach' });
    expect(['sent', 'delivered']).toContain(sent.status); // Bob is online: his receipt can arrive before sendFile returns
    expect(received.text).toBe('from the beach');
    const a = received.attachments![0]!;
    expect(a).toMatchObject({ contentType: 'image/jpeg', fileName: 'holiday.jpg', width: 240, height: 320, voiceNote: false });
    expect(a.size).toBeLessThan(original.length);
    // The thumbnail decodes, is portrait like the picture shown, and small.
    const thumb = jpegJs.decode(a.thumbnail!, { useTArray: true });
    expect({ w: thumb.width, h: thumb.height }).toEqual({ w: 96, h: 128 });
    expect(a.thumbnail!.length).toBeLessThan(8 * 1024);
    // The bytes bob gets have no Exif, GPS, XMP, IPTC, comment or trailer; the pixels are the sender's.
    const { path, size } = await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, join(out, safeFileName(a.fileName)));
    const got = readFileSync(path);
    expect(got.length).toBe(size);
    for (const secret of ['SigiloCam', 'SECRET', 'ns.adobe.com', 'Photoshop']) expect(contains(got, secret), secret).toBe(false);
    expect(exifOrientation(got.subarray(got.indexOf('Exif\0\0') + 6))).toBe(6);
    expect(Buffer.from(jpegJs.decode(got, { useTArray: true }).data).equals(Buffer.from(jpegJs.decode(original, { useTArray: true }).data))).toBe(true);
    // The sender's own copy of the message carries the same pointer, kept in its encrypted store.
    expect(alice.client.store.getMessage(bob.client.accountId!, sent.messageId)!.attachments![0]!.digest).toEqual(a.digest);
    expect(existsSync(partPath(path))).toBe(false);
  });

  it('a PNG arrives without tEXt, iTXt, eXIf or tIME; with keepMetadata it is sent as is', async () => {
    const original = pngWithMetadata();
    const { received } = await sendAndReceive(alice.client, bob.client, b.file('chart.png', original));
    const a = received.attachments![0]!;
    expect(a).toMatchObject({ contentType: 'image/png', width: 300, height: 200 });
    const thumb = jpegJs.decode(a.thumbnail!, { useTArray: true });
    expect({ w: thumb.width, h: thumb.height }).toEqual({ w: 128, h: 85 });
    const { path } = await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, join(out, 'chart.png'));
    const got = readFileSync(path);
    for (const secret of ['SECRET', 'SigiloCam', 'tEXt', 'eXIf', 'tIME', 'iTXt']) expect(contains(got, secret), secret).toBe(false);
    expect(Buffer.from(pngJs.PNG.sync.read(got).data).equals(Buffer.from(pngJs.PNG.sync.read(Buffer.from(original)).data))).toBe(true);

    const kept = await sendAndReceive(alice.client, bob.client, b.file('chart-kept.png', original), { keepMetadata: true });
    const { path: keptPath } = await bob.client.downloadAttachment(alice.client.accountId!, kept.received.messageId, 0, join(out, 'chart-kept.png'));
    expect(readFileSync(keptPath).equals(Buffer.from(original))).toBe(true);
  });

  it('a peer\'s file name arrives without direction overrides or control characters (no "invoiceexe.pdf" for an .exe)', async () => {
    const { sent, received } = await sendAndReceive(alice.client, bob.client, b.file('invoice\u202Efdp.exe', new TextEncoder().encode('MZ')));
    expect(received.attachments![0]!.fileName).toBe('invoicefdp.exe');
    expect(sent.attachments![0]!.fileName).toBe('invoicefdp.exe'); // the sender's own bubble too
    const two = await sendAndReceive(alice.client, bob.client, b.file('\u2067a\u2069\u200F\u061C\u0007b\nc\u200D.txt', new TextEncoder().encode('x')));
    expect(two.received.attachments![0]!.fileName).toBe('abc\u200D.txt'); // the joiner emoji and scripts need stays
  });

  it('an empty file, and a voice note with its duration', async () => {
    const empty = await sendAndReceive(alice.client, bob.client, b.file('empty.txt', new Uint8Array(0)));
    const a = empty.received.attachments![0]!;
    expect(a).toMatchObject({ size: 0, encryptedSize: ciphertextSize(paddedSize(0)), contentType: 'text/plain' });
    const { path, size } = await bob.client.downloadAttachment(alice.client.accountId!, empty.received.messageId, 0, join(out, 'empty.txt'));
    expect(size).toBe(0);
    expect(statSync(path).size).toBe(0);

    const voice = await sendAndReceive(alice.client, bob.client, b.file('voice.wav', wav(2250)), { voiceNote: true });
    expect(voice.received.attachments![0]).toMatchObject({ contentType: 'audio/wav', voiceNote: true, durationMs: 2250 });
  });

  it('a 200 MB file round trip, streamed (memory stays far below the file size)', async () => {
    const size = 200 * 1024 * 1024;
    const src = join(b.root, 'big.bin');
    const want = await writeDeterministic(src, size, 7);
    let peak = 0;
    const base = process.memoryUsage().rss;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss - base); }, 50);
    try {
      let last = 0;
      const { received } = await sendAndReceive(alice.client, bob.client, src, { onProgress: (done, total) => { expect(done).toBeGreaterThanOrEqual(last); expect(total).toBe(ciphertextSize(paddedSize(size))); last = done; } });
      expect(last).toBe(ciphertextSize(paddedSize(size)));
      const { path } = await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, join(out, 'big.bin'));
      expect(statSync(path).size).toBe(size);
      expect(await fileHash(path)).toBe(want);
    } finally {
      clearInterval(sampler);
      rmSync(src, { force: true });
      rmSync(join(out, 'big.bin'), { force: true });
    }
    // Client and server share this process: holding the file would cost 200 MB at least.
    console.log(`200 MB round trip: peak RSS above the start ${(peak / 1048576).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  }, 240_000);

  it('an upload cut mid-way resumes without sending again what the server has (in one call and after a restart)', async () => {
    const size = 6 * 1024 * 1024;
    const path = join(b.root, 'resume-up.bin');
    const want = await writeDeterministic(path, size, 3);
    const encrypted = ciphertextSize(paddedSize(size));
    // 1. The proxy cuts the upload connection after 2 MB: the SDK asks the server's offset and goes on.
    // What was in flight when the cut came is lost; what the server stored is not sent again.
    alice.proxy!.reset();
    alice.proxy!.cutUpAfter = 2 * 1024 * 1024;
    let last = 0;
    let resumedAt: { offset: number; up: number } | undefined;
    const first = await sendAndReceive(alice.client, bob.client, path, {
      onProgress: (done) => {
        if (done < last && !resumedAt) resumedAt = { offset: done, up: alice.proxy!.up };
        last = done;
      },
    });
    expect(alice.proxy!.cuts).toBeGreaterThanOrEqual(1);
    expect(resumedAt!.offset).toBeGreaterThan(0);
    expect(alice.proxy!.up - resumedAt!.up).toBeLessThan((encrypted - resumedAt!.offset) * 1.05 + 64 * 1024);
    const { path: got } = await bob.client.downloadAttachment(alice.client.accountId!, first.received.messageId, 0, join(out, 'resume-up-1.bin'));
    expect(await fileHash(got)).toBe(want);

    // 2. Cancelled half-way, the client closed and opened again: the state is in the store, the upload resumes.
    const stop = new AbortController();
    alice.proxy!.reset();
    alice.proxy!.watch = (up) => { if (up > 3 * 1024 * 1024) stop.abort(); };
    await expectReason(alice.client.sendFile(bob.client.accountId!, path, { signal: stop.signal }), 'ABORTED');
    alice.proxy!.watch = undefined;
    expect(hasPendingUpload(alice.client.store, bob.client.accountId!, path)).toBe(true);
    await alice.client.close();
    alice.client.store.close();
    await b.open(alice);
    await alice.client.connect({ reconnect: false });
    alice.proxy!.reset();
    let firstReport = -1;
    const second = await sendAndReceive(alice.client, bob.client, path, { onProgress: (done) => { if (firstReport < 0) firstReport = done; } });
    expect(firstReport).toBeGreaterThan(2 * 1024 * 1024); // started from the server's offset
    expect(alice.proxy!.up).toBeLessThan((encrypted - firstReport) * 1.05 + 64 * 1024);
    expect(hasPendingUpload(alice.client.store, bob.client.accountId!, path)).toBe(false);
    const { path: got2 } = await bob.client.downloadAttachment(alice.client.accountId!, second.received.messageId, 0, join(out, 'resume-up-2.bin'));
    expect(await fileHash(got2)).toBe(want);
  }, 120_000);

  it('a download cut mid-way resumes from the .part (in one call and after cancelling)', async () => {
    const size = 6 * 1024 * 1024;
    const path = join(b.root, 'resume-down.bin');
    const want = await writeDeterministic(path, size, 5);
    const encrypted = ciphertextSize(paddedSize(size));
    const { received } = await sendAndReceive(alice.client, bob.client, path);
    // 1. Cut once after 2 MB: the SDK resumes with a Range request.
    bob.proxy!.reset();
    bob.proxy!.cutDownAfter = 2 * 1024 * 1024;
    const one = join(out, 'resume-down-1.bin');
    await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, one);
    expect(bob.proxy!.cuts).toBeGreaterThanOrEqual(1);
    expect(bob.proxy!.down).toBeLessThan(encrypted * 1.08);
    expect(await fileHash(one)).toBe(want);
    // 2. Cancelled: no final file, a .part; run again: only the rest crosses the wire.
    const two = join(out, 'resume-down-2.bin');
    const stop = new AbortController();
    bob.proxy!.reset();
    await expectReason(bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, two, { signal: stop.signal, onProgress: (done) => { if (done > 3 * 1024 * 1024) stop.abort(); } }), 'ABORTED');
    expect(existsSync(two)).toBe(false);
    const kept = statSync(partPath(two)).size;
    expect(kept).toBeGreaterThan(2 * 1024 * 1024);
    bob.proxy!.reset();
    await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, two);
    // Only what the .part lacks crosses again (plus at most the chunk it was cut in, TLS and HTTP overhead).
    expect(bob.proxy!.down).toBeLessThan((encrypted - kept) * 1.05 + 64 * 1024);
    expect(await fileHash(two)).toBe(want);
    expect(existsSync(partPath(two))).toBe(false);
    // An existing file is not overwritten unless asked.
    await expectReason(bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, two), 'EXISTS');
    await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, two, { overwrite: true });
  }, 120_000);

  it('tampering on the server (a flipped bit, a truncated or extended blob) and a wrong key or digest: typed errors, no file left', async () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
    const { received } = await sendAndReceive(alice.client, bob.client, b.file('report.bin', data));
    const a = received.attachments![0]!;
    const blob = b.blobPath(a.attachmentId);
    const pristine = readFileSync(blob);
    expect(pristine.length).toBe(a.encryptedSize);
    const target = join(out, 'report.bin');
    const attempt = async (reason: string) => {
      await expectReason(bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, target), reason);
      expect(existsSync(target)).toBe(false);
      expect(existsSync(partPath(target))).toBe(false);
      writeFileSync(blob, pristine);
    };
    const flipped = Buffer.from(pristine);
    flipped[56 + 2 * 16_400 + 100]! ^= 0x01; // inside chunk 2
    writeFileSync(blob, flipped);
    await attempt('TAMPERED');
    const header = Buffer.from(pristine);
    header[30]! ^= 0x80; // the key commitment
    writeFileSync(blob, header);
    await attempt('WRONG_KEY');
    writeFileSync(blob, pristine.subarray(0, pristine.length - 100));
    await attempt('TRUNCATED');
    writeFileSync(blob, Buffer.concat([pristine, Buffer.alloc(50)]));
    await attempt('EXTENDED');
    // Pointers altered (as a malicious or buggy sender could): a wrong key, a wrong digest.
    const conv = alice.client.accountId!;
    const withPointer = (p: Partial<typeof a>) => bob.client.store.setMessageAttachments(conv, received.messageId, [{ ...a, ...p }]);
    withPointer({ key: a.key.map((x, i) => (i === 0 ? x ^ 1 : x)) });
    await attempt('WRONG_KEY');
    withPointer({ digest: a.digest.map((x, i) => (i === 5 ? x ^ 1 : x)) });
    await attempt('DIGEST_MISMATCH');
    withPointer({ size: a.size + 5_000_000 });
    await attempt('BAD_POINTER');
    withPointer({});
    const ok = await bob.client.downloadAttachment(conv, received.messageId, 0, target);
    expect(readFileSync(ok.path).equals(Buffer.from(data))).toBe(true);
  });

  it('transfers are pinned to the server certificate like the WebSocket: a wrong pin fails, nothing is written', async () => {
    const path = b.file('pinned.txt', ascii('only for the real server'));
    const { received } = await sendAndReceive(alice.client, bob.client, path);
    const wrong = { url: b.t.server.url, fingerprint: Array(32).fill('AB').join(':') };
    const ctx = { crypto: nodeCrypto, random: systemRandom };
    const target = join(out, 'pinned.txt');
    await expect(downloadFile(wrong, ctx, received.attachments![0]!, target)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(partPath(target))).toBe(false);
    const slot = { attachmentId: new Uint8Array(16).fill(9), uploadPath: `/v1/attachments/${'09'.repeat(16)}`, uploadToken: 'token', expires: Date.now() + 3_600_000 };
    const host = { store: alice.client.store, ctx, now: Date.now, server: wrong, allocate: async () => slot };
    await expect(uploadFile(host, 'attachment.upload.pin-test', path)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
    alice.client.store.setMeta('attachment.upload.pin-test', undefined);
  });

  it('an upload of 24 MiB emits no warning (one close listener per request, however often it waits for the socket)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const src = join(b.root, 'warn.bin');
    try {
      const want = await writeDeterministic(src, 24 * 1024 * 1024, 3);
      const { received } = await sendAndReceive(alice.client, bob.client, src);
      const { path } = await bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, join(out, 'warn.bin'));
      expect(await fileHash(path)).toBe(want);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
      rmSync(src, { force: true });
      rmSync(join(out, 'warn.bin'), { force: true });
    }
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });

  it('the download reads the server\'s answer itself: heads split anywhere, chunked or connection-delimited bodies; a malformed answer is refused', async () => {
    const data = new Uint8Array(Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff)));
    const { received } = await sendAndReceive(alice.client, bob.client, b.file('framed.bin', data));
    const a = received.attachments![0]!;
    const blob = readFileSync(b.blobPath(a.attachmentId));
    const now = Date.now();
    const cert = generateSelfSignedCertificate({ commonName: 'test', names: ['127.0.0.1'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
    // Each answer is written in pieces of the given sizes, cycling, with a pause between them.
    let answer: { bytes: Buffer; pieces: number[] } = { bytes: Buffer.alloc(0), pieces: [1] };
    let requests: string[] = [];
    const server = createTlsServer({ cert: cert.certPem, key: cert.keyPem }, (sock: TLSSocket) => {
      let request = '';
      sock.on('data', async (d: Buffer) => {
        request += d.toString('latin1');
        if (!request.includes('\r\n\r\n')) return;
        requests.push(request);
        const { bytes, pieces } = answer;
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const n = pieces[i % pieces.length]!;
          sock.write(bytes.subarray(at, at + n));
          at += n;
          if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        sock.end();
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const fake = { url: `wss://127.0.0.1:${(server.address() as { port: number }).port}`, fingerprint: cert.fingerprint };
    const ctx = { crypto: nodeCrypto, random: systemRandom };
    const target = join(out, 'framed.bin');
    const chunked = (body: Buffer, sizes: number[]) => {
      const parts: Buffer[] = [];
      for (let at = 0, i = 0; at < body.length; i++) {
        const n = Math.min(sizes[i % sizes.length]!, body.length - at);
        parts.push(Buffer.from(`${n.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n'));
        at += n;
      }
      return Buffer.concat([...parts, Buffer.from('0\r\nx-trailer: 1\r\n\r\n')]);
    };
    const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    try {
      const good: Array<[string, Buffer, number[]]> = [
        ['content-length, head split byte by byte', Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${blob.length}`, 'X-Odd:  spaced  ']), blob]), [1, 1, 2, 3, 5, 8, 40_000]],
        ['chunked, odd chunk sizes', Buffer.concat([head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), chunked(blob, [1, 16_400, 3, 70_000, 17])]), [5, 16_384, 100_000]],
        ['until the connection ends', Buffer.concat([head(['HTTP/1.0 200 OK']), blob]), [65_536]],
        ['bytes after the body are ignored', Buffer.concat([head(['HTTP/1.1 200 OK', `content-length: ${blob.length}`]), blob, Buffer.from('garbage')]), [9_000]],
      ];
      for (const [what, bytes, pieces] of good) {
        answer = { bytes, pieces };
        requests = [];
        const r = await downloadFile(fake, ctx, a, target, { overwrite: true });
        expect(readFileSync(r.path).equals(Buffer.from(data)), what).toBe(true);
        expect(requests[0]).toMatch(new RegExp(`^GET /v1/attachments/${Buffer.from(a.attachmentId).toString('hex')} HTTP/1\\.1\\r\\nhost: 127\\.0\\.0\\.1:\\d+\\r\\nconnection: close\\r\\n\\r\\n$`));
        rmSync(target);
      }
      const bad: Array<[string, Buffer]> = [
        ['not HTTP', Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')],
        ['a header line without a colon', head(['HTTP/1.1 200 OK', 'Content-Length 5'])],
        ['a folded header line', head(['HTTP/1.1 200 OK', `Content-Length: ${blob.length}`, ' folded'])],
        ['two different lengths', head(['HTTP/1.1 200 OK', `Content-Length: ${blob.length}`, 'Content-Length: 5'])],
        ['a malformed length', head(['HTTP/1.1 200 OK', 'Content-Length: -1'])],
        ['an unknown transfer coding', head(['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'])],
        ['a head that never ends', Buffer.from(`HTTP/1.1 200 OK\r\n${'x-pad: 0\r\n'.repeat(3000)}`)],
        ['a malformed chunk size', Buffer.concat([head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), Buffer.from('zz\r\n')])],
      ];
      // (downloadFile retries an unreadable answer like a dropped connection, with pauses: asked directly.)
      const path = `/v1/attachments/${Buffer.from(a.attachmentId).toString('hex')}`;
      for (const [what, bytes] of bad) {
        answer = { bytes, pieces: [4096] };
        const e = await pinnedGet(fake, path, {}).then((r) => r.pipe(() => undefined)).catch((x: unknown) => x);
        expect(e, what).toMatchObject({ reason: 'INTERRUPTED', message: expect.stringMatching(/^the download was cut off \(|^the server's answer could not be read \(/) });
      }
      // A body cut short under its Content-Length is not whole; a chunked body cut short neither.
      answer = { bytes: Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${blob.length}`]), blob.subarray(0, 100_000)]), pieces: [10_000] };
      let got = 0;
      expect(await (await pinnedGet(fake, path, {})).pipe((d) => { got += d.length; return undefined; })).toBe(false);
      expect(got).toBe(100_000);
      answer = { bytes: Buffer.concat([head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), chunked(blob, [50_000]).subarray(0, 60_000)]), pieces: [10_000] };
      expect(await (await pinnedGet(fake, path, {})).pipe(() => undefined)).toBe(false);
      // Error answers are read as text; a waiting consumer pauses the socket and loses nothing.
      answer = { bytes: Buffer.concat([head(['HTTP/1.1 404 Not Found', 'Content-Length: 14']), Buffer.from('{"error":"no"}')]), pieces: [3] };
      const r404 = await pinnedGet(fake, path, {});
      expect(r404.status).toBe(404);
      expect(await r404.text()).toBe('{"error":"no"}');
      answer = { bytes: Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${blob.length}`]), blob]), pieces: [100_000] };
      const slow: Buffer[] = [];
      const whole = await (await pinnedGet(fake, path, {})).pipe((d) => {
        slow.push(Buffer.from(d));
        return slow.length % 3 === 0 ? new Promise((r) => setTimeout(r, 5)) : undefined;
      });
      expect(whole).toBe(true);
      expect(Buffer.concat(slow).equals(blob)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  it('the server deletes the blob when the TTL expires; the download then says expired', async () => {
    const { received } = await sendAndReceive(alice.client, bob.client, b.file('ephemeral.txt', ascii('gone tomorrow')));
    const a = received.attachments![0]!;
    expect(existsSync(b.blobPath(a.attachmentId))).toBe(true);
    b.clock += 2 * 24 * 3600 * 1000;
    await b.t.server.sweep();
    expect(existsSync(b.blobPath(a.attachmentId))).toBe(false);
    const target = join(out, 'ephemeral.txt');
    await expectReason(bob.client.downloadAttachment(alice.client.accountId!, received.messageId, 0, target), 'EXPIRED');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(partPath(target))).toBe(false);
  });
});

describe('attachment limits', () => {
  let b: Bench;
  let alice: Person;
  let bob: Person;
  beforeAll(async () => {
    b = await Bench.start({ 'limits.maxAttachmentBytes': '1MiB', 'limits.attachmentQuotaBytes': '3MiB' });
    [alice, bob] = await Promise.all([b.person('alice'), b.person('bob')]);
    introduce(alice.client, 'alice', bob.client, 'bob');
  });
  afterAll(async () => { await b?.stop(); });

  it('an upload over the server maximum is refused before any byte is sent: TOO_LARGE, nothing kept', async () => {
    const path = b.file('big.bin', new Uint8Array(2 * 1024 * 1024));
    await expectReason(alice.client.sendFile(bob.client.accountId!, path), 'TOO_LARGE');
    expect(hasPendingUpload(alice.client.store, bob.client.accountId!, path)).toBe(false);
    expect(alice.client.store.listMessages(bob.client.accountId!, 10)).toHaveLength(0);
  });

  it('an exhausted quota: QUOTA_EXCEEDED with what to do', async () => {
    const path = b.file('part.bin', new Uint8Array(900 * 1024).fill(1));
    for (let i = 0; i < 3; i++) await alice.client.sendFile(bob.client.accountId!, path);
    const e = await alice.client.sendFile(bob.client.accountId!, path).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AttachmentError', reason: 'QUOTA_EXCEEDED', code: 'SERVER_ERROR', serverCode: 'QUOTA_EXCEEDED' });
    expect((e as Error).message).toMatch(/quota/);
    expect(alice.client.store.listMessages(bob.client.accountId!, 10)).toHaveLength(3);
  });
});

describe('attachments on several devices', () => {
  it("the sender's other device gets the pointer with its sync copy and can download the file", async () => {
    const world = await World.start();
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-att-md-'));
    try {
      const dana = await world.person('dana');
      const eli = await world.person('eli');
      introduce(dana, 'dana', eli, 'eli');
      const second = await world.newClient('dana-2');
      const pending = await second.startLink();
      await dana.approveLink(pending.code);
      await pending.completed;
      await second.connect({ reconnect: false });
      const content = new Uint8Array(50_000).map((_, i) => (i * 13) & 0xff);
      const path = join(dir, 'minutes.txt');
      writeFileSync(path, content);
      const synced = nextEvent(second, 'message', (e) => e.message.outgoing && (e.message.attachments?.length ?? 0) > 0, 30_000);
      const sent = await dana.sendFile(eli.accountId!, path, { caption: 'minutes' });
      const copy = (await synced).message;
      expect(copy.messageId).toEqual(sent.messageId);
      expect(copy.text).toBe('minutes');
      expect(copy.attachments![0]).toMatchObject({ fileName: 'minutes.txt', size: content.length });
      const got = await second.downloadAttachment(eli.accountId!, copy.messageId, 0, join(dir, 'copy.txt'));
      expect(readFileSync(got.path).equals(Buffer.from(content))).toBe(true);
      await second.close();
      second.store.close();
    } finally {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('BlockFileWriter (the download\'s writer)', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'sigilo-writer-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('writes exactly the bytes pushed, at the start position, whatever the piece and block sizes', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 200_000 }),
      fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 6 }).filter((a) => a.some((x) => x > 0)),
      fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1_000, max: 70_000 })),
      fc.integer({ min: 0, max: 5_000 }),
      async (anySize, pieces, blockSize, start) => {
        const size = blockSize < 1_000 ? Math.min(anySize, 3_000) : anySize; // tiny blocks: a write per few bytes
        const path = join(dir, `w${run++}`);
        const prefix = Buffer.alloc(start, 0x5a);
        writeFileSync(path, prefix);
        const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff));
        const file = await openFile(path, 'r+');
        try {
          const w = new BlockFileWriter(file, start, { blockSize });
          for (let at = 0, i = 0; at < size; i++) {
            const n = pieces[i % pieces.length]!;
            // A reused input buffer, overwritten once push is done with it: the writer must have copied it.
            const piece = Buffer.from(data.subarray(at, at + n));
            const wait = w.push(piece);
            if (wait) await wait;
            piece.fill(0xff);
            at += n;
          }
          expect(w.pushed).toBe(start + size);
          await w.flush();
          expect(w.written).toBe(start + size);
        } finally {
          await file.close();
        }
        expect(readFileSync(path).equals(Buffer.concat([prefix, data]))).toBe(true);
        rmSync(path);
      },
    ), { numRuns: 40 });
  });

  it('a failed write stops the writer: the error (mapped) comes from the next push or flush, the file holds a prefix', async () => {
    const path = join(dir, 'ro');
    writeFileSync(path, '');
    const file = await openFile(path, 'r'); // writes fail with EBADF
    try {
      const w = new BlockFileWriter(file, 0, { blockSize: 1024, wrapError: (e) => new Error(`mapped ${(e as NodeJS.ErrnoException).code}`) });
      expect(w.push(new Uint8Array(1500))).toBeUndefined(); // one block full: its write starts
      await expect(w.flush()).rejects.toThrow('mapped EBADF');
      expect(() => w.push(new Uint8Array(10))).toThrow('mapped EBADF');
      expect(w.written).toBe(0);
    } finally {
      await file.close();
    }
    expect(statSync(path).size).toBe(0);
  });
});

describe('the store', () => {
  it('an existing store without the attachments column gains it when opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigilo-att-store-'));
    try {
      const first = SqlCipherStore.open(dir, 'pass phrase');
      first.close();
      // Make it look like a store from before attachments: drop the column.
      const Database = (await import('better-sqlite3-multiple-ciphers')).default;
      const db = new Database(join(dir, 'store.db'));
      db.pragma("cipher = 'sqlcipher'");
      db.pragma('legacy = 4');
      db.pragma(`key = "x'${deriveStoreKey('pass phrase', readFileSync(join(dir, 'store.salt'))).toString('hex')}'"`);
      db.exec('ALTER TABLE messages DROP COLUMN attachments');
      expect((db.prepare("SELECT name FROM pragma_table_info('messages')").all() as { name: string }[]).map((r) => r.name)).not.toContain('attachments');
      db.close();
      const store = SqlCipherStore.open(dir, 'pass phrase');
      const id = new Uint8Array(16).fill(1);
      store.insertMessage({ messageId: id, conversation: id, author: id, outgoing: false, timestamp: 1, text: '', status: 'received', deleted: false, receivedAt: 1 });
      const a = { attachmentId: id, key: new Uint8Array(32), digest: new Uint8Array(32), size: 3, encryptedSize: ciphertextSize(paddedSize(3)), contentType: 'text/plain', fileName: 'a.txt', thumbnail: undefined, width: undefined, height: undefined, durationMs: undefined, voiceNote: false, expires: 5 };
      store.setMessageAttachments(id, id, [a]);
      expect(store.getMessage(id, id)!.attachments).toEqual([a]);
      store.markMessageDeleted(id, id);
      expect(store.getMessage(id, id)!.attachments).toBeUndefined(); // the key goes with the message
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
