/**
 * The reading half that every blob store's `append` shares: it takes a
 * request body chunk by chunk, refuses more than `maxBytes`, pauses the body
 * while `highWater` bytes wait to be written (so memory per upload stays
 * bounded) and records how the body ended. The store's own writer drains
 * `take()` and calls `changed` back whenever there is something to do.
 */
import type { Readable } from 'node:stream';
import type { AppendStatus } from './port.js';

export interface IntakeOptions {
  readonly maxBytes: number;
  /** Bytes waiting above which the body is paused. */
  readonly highWater: number;
  /** Called after every chunk, stop and end: the writer decides what to do. */
  readonly changed: () => void;
  /** Whether pausing is useful now (S3 pauses only while a piece is being stored); always by default. */
  readonly mayPause?: () => boolean;
  /** Called for every accepted chunk (S3 re-arms its idle flush). */
  readonly onChunk?: () => void;
}

export class SourceIntake {
  #source: Readable;
  #options: IntakeOptions;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #accepted = 0;
  #paused = false;
  /** How the body ended, once it has: 'ended', 'cut', 'too-long', or what the writer set. */
  outcome: AppendStatus | undefined;

  constructor(source: Readable, options: IntakeOptions) {
    this.#source = source;
    this.#options = options;
  }

  get pendingBytes(): number { return this.#pendingBytes; }

  /** Starts reading; a body that already ended or was destroyed stops at once. */
  start(): void {
    const source = this.#source;
    if (source.readableEnded) return this.stop('ended');
    if (source.destroyed) return this.stop('cut');
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('error', this.#onCut);
    source.on('close', this.#onClose);
    source.resume();
  }

  /** Ends the intake with `status` unless it has already ended; a body over the limit loses what waited. */
  stop(status: AppendStatus): void {
    if (this.outcome) return;
    this.outcome = status;
    this.#detach();
    if (status === 'too-long') this.drop();
    this.#options.changed();
  }

  /** The chunks waiting to be written, handed over to the writer. */
  take(): Buffer[] {
    const bufs = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return bufs;
  }

  /** Forgets what waits (a failed write, or a body over the limit). */
  drop(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** Resumes a paused body once the writer has room again. */
  resumeIfRoom(): void {
    if (this.#paused && !this.outcome && this.#pendingBytes < this.#options.highWater) {
      this.#paused = false;
      this.#source.resume();
    }
  }

  #detach(): void {
    const source = this.#source;
    source.off('data', this.#onData);
    source.off('end', this.#onEnd);
    source.off('error', this.#onCut);
    source.off('close', this.#onClose);
    source.pause();
  }

  #onData = (chunk: Buffer): void => {
    if (this.outcome) return;
    if (this.#accepted + chunk.length > this.#options.maxBytes) return this.stop('too-long');
    this.#accepted += chunk.length;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    this.#options.onChunk?.();
    if (this.#pendingBytes >= this.#options.highWater && !this.#paused && (this.#options.mayPause?.() ?? true)) {
      this.#paused = true;
      this.#source.pause();
    }
    this.#options.changed();
  };

  #onEnd = (): void => this.stop('ended');
  #onCut = (): void => this.stop('cut');
  #onClose = (): void => { if (!this.#source.readableEnded) this.stop('cut'); };
}
