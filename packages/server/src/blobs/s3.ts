/**
 * The S3-compatible blob store (blobs.backend s3): attachment bytes in a
 * bucket every node reaches, so any node can resume an upload another began
 * and serve any download.
 *
 * Layout under the configured key prefix:
 * - `parts/<id>/<offset, 16 digits>`: the staged pieces of a blob, each
 *   written at the blob's offset when it was stored. An upload is streamed in
 *   pieces of up to PIECE_BYTES, and whatever arrived is also stored when the
 *   source pauses for IDLE_FLUSH_MS or is cut, so the offset a client resumes
 *   from on any node is what the bucket holds. A partial blob is its pieces
 *   (a new one starts with an empty piece at offset 0).
 * - `blobs/<id>`: the manifest that makes the blob complete: its size and its
 *   pieces. Completing writes only this small object (the pieces stay where
 *   they are), so completion copies no data; a PUT that returned is durable in
 *   S3, so a complete blob survives a crash of any node.
 *
 * Reads are byte-range GETs of the piece holding the position. Deleting
 * removes the manifest first (the blob stops being readable at once), then
 * the pieces; a crash in between leaves pieces that list() reports as a
 * partial blob, which the sweeper deletes as an orphan.
 *
 * Why staged pieces rather than S3 multipart uploads: a multipart part must be
 * at least 5 MiB (except the last), while the port keeps every byte received
 * before a cut, and a partial blob must be resumable from whichever node the
 * client reaches next. Pieces of any size, named by offset, give both without
 * keeping upload ids anywhere.
 */
import type { Readable } from 'node:stream';
import { SourceIntake } from './intake.js';
import {
  checkBlobId, BLOB_ID_PATTERN, type AppendResult, type BlobId, type BlobListEntry, type BlobReader, type BlobState, type BlobStore,
} from './port.js';
import { S3Client, S3Error, type S3ClientOptions } from './s3-client.js';

/** Bytes gathered before a piece is stored (and the source paused while one is being stored). */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** A source that sends nothing for this long has what it sent so far stored. */
export const IDLE_FLUSH_MS = 150;

const OFFSET_DIGITS = 16;

interface Manifest {
  readonly size: number;
  /** [offset, length] of each piece, in order, without gaps. */
  readonly pieces: readonly (readonly [number, number])[];
}

interface Pieces {
  readonly exists: boolean;
  /** Contiguous bytes from 0. */
  readonly bytes: number;
  readonly list: readonly { readonly offset: number; readonly size: number }[];
}

export interface S3BlobStoreOptions extends S3ClientOptions {
  /** Prepended to every key, e.g. 'sigilo/'; '' by default. */
  readonly prefix?: string;
}

export class S3BlobStore implements BlobStore {
  readonly name = 's3';
  readonly #client: S3Client;
  readonly #prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.#client = new S3Client(options);
    this.#prefix = options.prefix ?? '';
  }

  #manifestKey(id: BlobId): string { return `${this.#prefix}blobs/${checkBlobId(id)}`; }
  #piecePrefix(id: BlobId): string { return `${this.#prefix}parts/${checkBlobId(id)}/`; }
  #pieceKey(id: BlobId, offset: number): string { return this.#piecePrefix(id) + String(offset).padStart(OFFSET_DIGITS, '0'); }

  async #manifest(id: BlobId): Promise<Manifest | undefined> {
    const r = await this.#client.send('GET', this.#manifestKey(id), { accept: [404] });
    if (r.status === 404) return undefined;
    const m = JSON.parse(r.body.toString('utf8')) as Manifest;
    if (!Number.isSafeInteger(m.size) || !Array.isArray(m.pieces)) throw new S3Error(r.status, 'BadManifest', 'manifest read (not a Sigilo blob manifest)');
    return m;
  }

  async #pieces(id: BlobId): Promise<Pieces> {
    const prefix = this.#piecePrefix(id);
    const found: { offset: number; size: number }[] = [];
    for await (const o of this.#client.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      if (/^\d{16}$/.test(rest)) found.push({ offset: Number(rest), size: o.size });
    }
    found.sort((a, b) => a.offset - b.offset);
    let bytes = 0;
    const list: { offset: number; size: number }[] = [];
    for (const p of found) {
      if (p.offset !== bytes) break; // a gap: nothing after it counts
      if (p.size > 0) list.push(p);
      bytes += p.size;
    }
    return { exists: found.length > 0, bytes, list };
  }

  async #putPiece(id: BlobId, offset: number, body: Uint8Array): Promise<void> {
    await this.#client.send('PUT', this.#pieceKey(id, offset), { body, headers: { 'content-type': 'application/octet-stream' } });
  }

  async #deletePieces(id: BlobId, from = 0): Promise<void> {
    const prefix = this.#piecePrefix(id);
    const keys: string[] = [];
    for await (const o of this.#client.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      if (!/^\d{16}$/.test(rest) || Number(rest) >= from) keys.push(o.key);
    }
    for (const key of keys) await this.#client.send('DELETE', key, { accept: [404] });
  }

  async state(id: BlobId): Promise<BlobState | undefined> {
    checkBlobId(id);
    const m = await this.#manifest(id);
    if (m) return { complete: true, bytes: m.size };
    const p = await this.#pieces(id);
    return p.exists ? { complete: false, bytes: p.bytes } : undefined;
  }

  async create(id: BlobId): Promise<void> {
    checkBlobId(id);
    if (await this.#manifest(id)) throw new Error('the blob is already complete');
    await this.#deletePieces(id);
    await this.#putPiece(id, 0, new Uint8Array(0));
  }

  async append(id: BlobId, offset: number, source: Readable, maxBytes: number): Promise<AppendResult> {
    checkBlobId(id);
    const manifest = await this.#manifest(id);
    if (manifest) return { status: 'conflict', offset: manifest.size, written: 0 };
    const stored = await this.#pieces(id);
    if (!stored.exists && offset !== 0) return { status: 'conflict', offset: 0, written: 0 };
    if (stored.bytes !== offset) return { status: 'conflict', offset: stored.bytes, written: 0 };
    if (!stored.exists) {
      try {
        await this.#putPiece(id, 0, new Uint8Array(0));
      } catch (e) {
        if (e instanceof S3Error && e.status === 507) return { status: 'no-space', offset: 0, written: 0 };
        throw e;
      }
    }
    return new Promise<AppendResult>((resolve, reject) => {
      let position = offset;
      let putting = false;
      let flushNow = false;
      let failure: unknown;
      let finished = false;
      const idle = setTimeout(() => { flushNow = true; pump(); }, IDLE_FLUSH_MS);
      idle.unref();

      const finish = async () => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        try {
          if (intake.outcome === 'too-long') {
            await this.#deletePieces(id, offset);
            if (offset === 0) await this.#putPiece(id, 0, new Uint8Array(0));
            position = offset;
          }
        } catch (e) {
          failure ??= e;
        }
        if (failure) {
          if (failure instanceof S3Error && failure.status === 507) return resolve({ status: 'no-space', offset: position, written: position - offset });
          return reject(failure);
        }
        resolve({ status: intake.outcome!, offset: position, written: position - offset });
      };
      const pump = () => {
        if (putting) return;
        const pendingBytes = intake.pendingBytes;
        if (failure || pendingBytes === 0) {
          flushNow = false;
          if (intake.outcome) void finish();
          return;
        }
        if (!intake.outcome && !flushNow && pendingBytes < PIECE_BYTES) return;
        flushNow = false;
        putting = true;
        const pending = intake.take();
        const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        this.#putPiece(id, position, body).then(() => {
          position += body.length;
        }, (e: unknown) => {
          failure = e;
          intake.drop();
          if (!intake.outcome) intake.stop('cut');
        }).finally(() => {
          putting = false;
          intake.resumeIfRoom();
          pump();
        });
      };
      const intake = new SourceIntake(source, {
        maxBytes, highWater: PIECE_BYTES, changed: pump, mayPause: () => putting, onChunk: () => idle.refresh(),
      });
      intake.start();
    });
  }

  async complete(id: BlobId): Promise<number> {
    checkBlobId(id);
    const existing = await this.#manifest(id);
    if (existing) return existing.size;
    const p = await this.#pieces(id);
    if (!p.exists) throw Object.assign(new Error('no such blob'), { code: 'ENOENT' });
    const manifest: Manifest = { size: p.bytes, pieces: p.list.map((x) => [x.offset, x.size] as const) };
    await this.#client.send('PUT', this.#manifestKey(id), { body: Buffer.from(JSON.stringify(manifest)), headers: { 'content-type': 'application/json' } });
    return p.bytes;
  }

  async openRead(id: BlobId): Promise<BlobReader | undefined> {
    checkBlobId(id);
    const m = await this.#manifest(id);
    if (!m) return undefined;
    const client = this.#client;
    const pieceKey = (offset: number) => this.#pieceKey(id, offset);
    return {
      size: m.size,
      async read(into, length, position) {
        if (position >= m.size || length <= 0) return 0;
        // The piece holding `position` (binary search).
        let lo = 0;
        let hi = m.pieces.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (m.pieces[mid]![0] <= position) lo = mid;
          else hi = mid - 1;
        }
        const [start, size] = m.pieces[lo]!;
        const from = position - start;
        const to = Math.min(size, from + Math.min(length, into.length)) - 1;
        const r = await client.send('GET', pieceKey(start), { headers: { range: `bytes=${from}-${to}` } });
        const n = Math.min(r.body.length, to + 1 - from);
        if (r.status !== 206 && r.body.length === size) r.body.copy(into, 0, from, from + n); // a server that ignores Range
        else r.body.copy(into, 0, 0, n);
        return n;
      },
      async close() {},
    };
  }

  async delete(id: BlobId): Promise<void> {
    checkBlobId(id);
    await this.#client.send('DELETE', this.#manifestKey(id), { accept: [404] });
    await this.#deletePieces(id);
  }

  async *list(): AsyncIterable<BlobListEntry> {
    const blobsPrefix = `${this.#prefix}blobs/`;
    const partsPrefix = `${this.#prefix}parts/`;
    const completes = (async function* (client: S3Client) {
      for await (const o of client.list(blobsPrefix)) {
        const id = o.key.slice(blobsPrefix.length);
        if (BLOB_ID_PATTERN.test(id)) yield id;
      }
    })(this.#client);
    // Both listings come in key order, hence id order: merge them.
    let c = await completes.next();
    let last: string | undefined;
    for await (const o of this.#client.list(partsPrefix)) {
      const id = o.key.slice(partsPrefix.length, partsPrefix.length + 32);
      if (id === last || !BLOB_ID_PATTERN.test(id) || o.key[partsPrefix.length + 32] !== '/') continue;
      last = id;
      while (!c.done && c.value < id) {
        yield { id: c.value, complete: true };
        c = await completes.next();
      }
      if (!c.done && c.value === id) continue; // complete: its pieces are its bytes
      yield { id, complete: false };
    }
    while (!c.done) {
      yield { id: c.value, complete: true };
      c = await completes.next();
    }
  }

  /** Lists one key under the prefix: fails when the bucket, the endpoint or the credentials are wrong. */
  async check(): Promise<void> {
    await this.#client.send('GET', '', { query: { 'list-type': '2', prefix: this.#prefix, 'max-keys': '1' } });
  }

  close(): void { this.#client.close(); }
}
