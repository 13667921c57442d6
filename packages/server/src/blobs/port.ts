/**
 * The blob store port: where attachment bytes live (spec/server.md §4.1).
 * The HTTP handler and the sweeper touch blobs only through this interface,
 * so a store other than the data directory (e.g. S3-compatible) can be added
 * later; every store must pass test/blob-store.test.ts (runBlobStoreConformance).
 *
 * A blob is first *partial* (being uploaded, readable only for its offset) and
 * then *complete* (immutable, readable by byte range). The store knows nothing
 * but ids and bytes: no owner, no file name, no content type.
 *
 * Contract (the conformance suite checks each):
 * - Ids are 32 lower-case hex digits; anything else throws InvalidBlobIdError
 *   before touching storage.
 * - `append` writes only at the current offset: another offset changes nothing
 *   and answers `conflict` with the current offset.
 * - When the source is cut (error, or closed before its end), every byte
 *   received before the cut is stored and counted in the offset.
 * - When the source has more than `maxBytes`, none of this append's bytes are
 *   kept (the offset is where the append started) and it answers `too-long`.
 * - When the disk is full, the bytes written so far are kept (the client may
 *   resume once space frees) and it answers `no-space`; the blob stays partial.
 * - `append` returns only once its bytes are flushed to stable storage, and
 *   `complete` only once the complete blob would survive a crash.
 * - Callers serialise writes to one id (the HTTP handler keeps one writer per id).
 */
import type { Readable } from 'node:stream';

/** 32 lower-case hex digits (the attachment id). */
export type BlobId = string;

export const BLOB_ID_PATTERN = /^[0-9a-f]{32}$/;

export class InvalidBlobIdError extends Error {
  constructor() {
    super('a blob id is 32 lower-case hex digits');
    this.name = 'InvalidBlobIdError';
  }
}

export function checkBlobId(id: string): BlobId {
  if (!BLOB_ID_PATTERN.test(id)) throw new InvalidBlobIdError();
  return id;
}

export interface BlobState {
  readonly complete: boolean;
  /** Stored bytes: the upload offset of a partial blob, the size of a complete one. */
  readonly bytes: number;
}

export type AppendStatus =
  /** The source ended; all of its bytes are stored. */
  | 'ended'
  /** The source was cut; the bytes received before the cut are stored. */
  | 'cut'
  /** The source had more than maxBytes; nothing of this append was kept. */
  | 'too-long'
  /** The disk is full; the bytes written before are kept. */
  | 'no-space'
  /** The given offset is not the current one (or the blob is complete); nothing was written. */
  | 'conflict';

export interface AppendResult {
  readonly status: AppendStatus;
  /** The blob's stored bytes after the call (for 'conflict': the current offset, or the size of a complete blob). */
  readonly offset: number;
  /** Bytes of this call now stored. */
  readonly written: number;
}

/**
 * A complete blob opened for reading. The caller owns the buffers (a download
 * reuses two), so reading allocates nothing per chunk.
 */
export interface BlobReader {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into the start of `into`; resolves with the count (0 only at or past the end). */
  read(into: Uint8Array, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface BlobListEntry {
  readonly id: BlobId;
  readonly complete: boolean;
}

export interface BlobStore {
  readonly name: string;
  /** The blob's state, or undefined when there is nothing stored under the id. */
  state(id: BlobId): Promise<BlobState | undefined>;
  /** Starts the blob over as an empty partial blob (dropping a partial one). Throws if it is complete. */
  create(id: BlobId): Promise<void>;
  /**
   * Appends the source's bytes at `offset`, which must be the current offset
   * (0 creates the partial blob when there is none). At most `maxBytes` are
   * accepted. Never rejects for source failures; rejects only for storage
   * errors other than a full disk (the bytes written before are then kept).
   */
  append(id: BlobId, offset: number, source: Readable, maxBytes: number): Promise<AppendResult>;
  /** Makes a partial blob complete, durably; returns its size. Already complete: returns its size. Throws when absent. */
  complete(id: BlobId): Promise<number>;
  /** Opens a complete blob for reading; undefined when there is no complete blob (a partial one is not readable). */
  openRead(id: BlobId): Promise<BlobReader | undefined>;
  /** Removes the blob, partial or complete; nothing stored is not an error. */
  delete(id: BlobId): Promise<void>;
  /** Every stored blob (for sweeping blobs whose metadata is gone). */
  list(): AsyncIterable<BlobListEntry>;
  /** Releases connections (a network store); called once when the server stops. */
  close?(): void | Promise<void>;
}
