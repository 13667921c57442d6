/**
 * Key transparency (spec/transparency.md): the server's append-only log of
 * identity-key bindings, its signed checkpoints (C2SP tlog-checkpoint), the
 * inclusion and consistency proofs it serves, and the witnesses it asks for
 * cosignatures (C2SP tlog-witness add-checkpoint) before publishing.
 *
 * A checkpoint is "published" once signed and offered to every configured
 * witness: fetches are answered against the published checkpoint only, so
 * every proof a client gets carries the cosignatures the witnesses gave.
 * Appends wait for the publication that covers them (registration answers
 * after its binding is in a published checkpoint).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpointText, encodeBinding, encodeVerifierKey, formatNote, ktConsistencyRanges, ktInclusionRanges, ktLeafHash, ktNodeHash, ktNodeKey,
  ktRangeHash, ktRangeNodes, noteCosignedBy, parseNote, signNote, base64Encode, toHex, parseVerifierKey, COSIGNATURE_V1, type Binding, type CryptoProvider, type NoteSignature, type Random,
  type TreeRange,
} from '@sigilo/protocol';
import { DataDirError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { KtLeafInput, KtLeafRecord, Storage } from '../storage/port.js';

export interface WitnessConfig {
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** The witness's submission prefix; add-checkpoint is POSTed to <url>/add-checkpoint. */
  readonly url: string;
}

export interface PublishedCheckpoint {
  readonly size: number;
  readonly root: Uint8Array;
  /** The signed note, log signature first, then the witnesses' cosignatures. */
  readonly note: string;
}

/** The log key: DATA/kt-log-key.json (owner-only), made on first start. */
export function loadLogKey(dataDir: string, random: Random): Uint8Array {
  const file = join(dataDir, 'kt-log-key.json');
  if (existsSync(file)) {
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { seed: string };
      const seed = new Uint8Array(Buffer.from(j.seed, 'base64'));
      if (seed.length !== 32) throw new Error('shape');
      return seed;
    } catch {
      throw new DataDirError(`${file} is damaged; restore it from a backup (a new log key makes every client refuse the log until it is reset)`);
    }
  }
  const seed = random(32);
  writeFileSync(file, JSON.stringify({ seed: Buffer.from(seed).toString('base64') }), { mode: 0o600 });
  return seed;
}

const WITNESS_TIMEOUT_MS = 5000;
const RECONCILE_BATCH = 500;
/** Most leaves appended in one transaction. */
const MAX_APPEND_BATCH = 2000;

export class KeyTransparency {
  readonly origin: string;
  readonly publicKey: Uint8Array;
  readonly verifierKey: string;
  readonly #seed: Uint8Array;
  #published: PublishedCheckpoint | undefined;
  #publishing: Promise<PublishedCheckpoint> | undefined;
  /** The publication after the running one, shared by everyone who asks meanwhile. */
  #nextPublish: Promise<PublishedCheckpoint> | undefined;
  /** Appends waiting for the running one (see #appendLeaves). */
  #waitingLeaves: { leaves: readonly KtLeafInput[]; resolve: (size: number) => void; reject: (e: unknown) => void }[] = [];
  #appending = false;
  /** Per witness: the size of the latest checkpoint it cosigned for us, when known. */
  readonly #witnessSizes = new Map<string, number>();

  constructor(
    private readonly storage: Storage,
    private readonly crypto: CryptoProvider,
    private readonly now: () => number,
    private readonly log: Logger,
    seed: Uint8Array,
    private readonly witnesses: readonly WitnessConfig[],
  ) {
    this.#seed = seed;
    ({ origin: this.origin, publicKey: this.publicKey, verifierKey: this.verifierKey } = KeyTransparency.describe(crypto, seed));
  }

  /** The log's name and keys for a log key seed. The origin is derived from the key, so two logs never share one. */
  static describe(crypto: CryptoProvider, seed: Uint8Array): { origin: string; publicKey: Uint8Array; verifierKey: string } {
    const publicKey = crypto.ed25519PublicKey(seed);
    const origin = `sigilo.kt/${toHex(crypto.sha256(publicKey)).slice(0, 16)}`;
    return { origin, publicKey, verifierKey: encodeVerifierKey(crypto, origin, publicKey) };
  }

  /** Appends binding leaves and waits until a published checkpoint includes them. */
  async append(bindings: readonly Binding[]): Promise<void> {
    if (!bindings.length) return;
    const leaves = bindings.map((b) => {
      const leaf = encodeBinding(b);
      return { accountId: b.accountId, deviceId: b.deviceId, kind: (b.kind === 'add' ? 1 : 2) as 1 | 2, leaf, leafHash: ktLeafHash(this.crypto, leaf) };
    });
    const size = await this.#appendLeaves(leaves);
    // Another publication may have started before this append: publish again until one covers it.
    for (let i = 0; i < 3 && (await this.publish()).size < size; i++) { /* again */ }
  }

  /**
   * Group commit for the log: appends made while one is written go together in the next transaction.
   * One append at a time per process, so many registrations at once (thousands on PostgreSQL) hold one
   * pooled connection on the log's lock, not the whole pool, and take a few statements in all.
   */
  #appendLeaves(leaves: readonly KtLeafInput[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waitingLeaves.push({ leaves, resolve, reject });
      if (!this.#appending) void this.#appendWaiting();
    });
  }

  async #appendWaiting(): Promise<void> {
    this.#appending = true;
    try {
      while (this.#waitingLeaves.length) {
        let n = 0;
        let count = 0;
        while (n < this.#waitingLeaves.length && (n === 0 || count + this.#waitingLeaves[n]!.leaves.length <= MAX_APPEND_BATCH)) count += this.#waitingLeaves[n++]!.leaves.length;
        const batch = this.#waitingLeaves.splice(0, n);
        try {
          const size = await this.storage.appendKtLeaves(batch.flatMap((b) => b.leaves), (l, r) => ktNodeHash(this.crypto, l, r));
          for (const b of batch) b.resolve(size);
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.#appending = false;
    }
  }

  /** Appends the add binding of every device the log lacks (a database older than the log, or a crash between the writes). */
  async reconcile(): Promise<number> {
    let total = 0;
    for (;;) {
      const missing = await this.storage.listKtUnlogged(RECONCILE_BATCH);
      if (!missing.length) break;
      const time = this.now();
      await this.append(missing.map((m) => ({ kind: 'add' as const, accountId: m.accountId, deviceId: m.deviceId, identityKey: m.identityKey, time })));
      total += missing.length;
    }
    return total;
  }

  /** The latest published checkpoint (publishing the current tree first when none is). */
  async latest(): Promise<PublishedCheckpoint> {
    return this.#published ?? this.publish();
  }

  /** Signs the current tree and collects cosignatures; one publication at a time, coalescing requests made meanwhile. */
  publish(): Promise<PublishedCheckpoint> {
    // Asked while one runs: run again after it (the next one covers every append made meanwhile).
    if (this.#publishing) {
      // Everyone asking meanwhile shares the one next publication (not one each, run in turn).
      return (this.#nextPublish ??= this.#publishing.then(() => undefined, () => undefined).then(() => {
        this.#nextPublish = undefined;
        return this.publish();
      }));
    }
    const run = this.#publishOnce().finally(() => { this.#publishing = undefined; });
    this.#publishing = run;
    return run;
  }

  async #publishOnce(): Promise<PublishedCheckpoint> {
    const size = await this.storage.ktSize();
    const prev = this.#published;
    if (prev && prev.size === size) return prev;
    const root = await this.rootAt(size);
    const text = checkpointText({ origin: this.origin, size, root, extensions: [] });
    const signatures: NoteSignature[] = [signNote(this.crypto, text, this.origin, this.#seed)];
    const cosigned = await Promise.all(this.witnesses.map((w) => this.#askWitness(w, text, size).catch(() => undefined)));
    for (const c of cosigned) if (c) signatures.push(c);
    const published = { size, root, note: formatNote({ text, signatures }) };
    if (!this.#published || this.#published.size < size) this.#published = published;
    return this.#published;
  }

  async #askWitness(w: WitnessConfig, text: string, size: number): Promise<NoteSignature | undefined> {
    const note = formatNote({ text, signatures: [signNote(this.crypto, text, this.origin, this.#seed)] });
    const attempt = async (old: number): Promise<Response> => {
      const proof = old > 0 && old < size ? await this.consistency(old, size) : [];
      const body = `old ${old}\n${proof.map((h) => `${base64Encode(h)}\n`).join('')}\n${note}`;
      return fetch(`${w.url.replace(/\/$/, '')}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS) });
    };
    let old = this.#witnessSizes.get(w.name) ?? 0;
    if (old > size) old = 0;
    let res = await attempt(old);
    if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')) {
      const known = Number((await res.text()).trim());
      if (!Number.isSafeInteger(known) || known < 0 || known > size) {
        this.log.warn('a witness knows a larger tree than this log; check the witness and the log key', { witness: w.name });
        return undefined;
      }
      res = await attempt(known);
    }
    if (res.status !== 200) {
      this.log.warn('a witness refused a checkpoint', { witness: w.name, status: res.status });
      return undefined;
    }
    const lines = await res.text();
    const cosigned = parseNote(`${text}\n${lines}`);
    if (noteCosignedBy(this.crypto, cosigned, w.name, w.publicKey) === undefined) {
      this.log.warn('a witness answered without a valid cosignature', { witness: w.name });
      return undefined;
    }
    this.#witnessSizes.set(w.name, size);
    return cosigned.signatures.find((s) => s.name === w.name && s.signature.length === 72);
  }

  /** The root of the first `size` leaves. */
  async rootAt(size: number): Promise<Uint8Array> {
    return (await this.#hashes([{ start: 0, end: size }]))[0]!;
  }

  async #hashes(ranges: readonly TreeRange[]): Promise<Uint8Array[]> {
    const wanted = new Map<string, { level: number; index: number }>();
    for (const r of ranges) for (const n of ktRangeNodes(r)) wanted.set(ktNodeKey(n), n);
    const list = [...wanted.values()];
    const found = await this.storage.getKtNodes(list);
    const nodes = new Map<string, Uint8Array>();
    list.forEach((n, i) => { if (found[i]) nodes.set(ktNodeKey(n), found[i]!); });
    return ranges.map((r) => ktRangeHash(this.crypto, r, nodes));
  }

  async inclusion(index: number, size: number): Promise<Uint8Array[]> {
    return this.#hashes(ktInclusionRanges(index, size));
  }

  async consistency(first: number, second: number): Promise<Uint8Array[]> {
    return this.#hashes(ktConsistencyRanges(first, second));
  }

  /**
   * For each asked device: its latest add leaf inside the published checkpoint, with the inclusion proof.
   * A device without one (not logged yet) is left out; the client refuses its bundle.
   */
  async bundleProofs(accountId: Uint8Array, deviceIds: readonly number[]): Promise<{ checkpoint: string; inclusions: { deviceId: number; leafIndex: bigint; time: bigint; path: Uint8Array[] }[] }> {
    const cp = await this.latest();
    const leaves = deviceIds.length ? await this.storage.findKtLeaves(accountId, deviceIds) : [];
    const latest = new Map<number, KtLeafRecord>();
    for (const l of leaves) if (l.kind === 1 && l.index < cp.size) latest.set(l.deviceId, l);
    const chosen = [...latest.values()];
    const paths = await Promise.all(chosen.map((l) => this.inclusion(l.index, cp.size)));
    return {
      checkpoint: cp.note,
      inclusions: chosen.map((l, i) => ({ deviceId: l.deviceId, leafIndex: BigInt(l.index), time: leafTime(l.leaf), path: paths[i]! })),
    };
  }

  /** Every leaf of an account inside the published checkpoint, with inclusion proofs (what the account monitors). */
  async accountProofs(accountId: Uint8Array): Promise<{ checkpoint: string; leaves: { leaf: Uint8Array; leafIndex: bigint; path: Uint8Array[] }[] }> {
    const cp = await this.latest();
    const leaves = (await this.storage.findKtLeaves(accountId)).filter((l) => l.index < cp.size);
    const paths = await Promise.all(leaves.map((l) => this.inclusion(l.index, cp.size)));
    return { checkpoint: cp.note, leaves: leaves.map((l, i) => ({ leaf: l.leaf, leafIndex: BigInt(l.index), path: paths[i]! })) };
  }
}

/** The time field: the leaf's last 8 bytes (spec/transparency.md §2). */
function leafTime(leaf: Uint8Array): bigint {
  return new DataView(leaf.buffer, leaf.byteOffset + leaf.length - 8, 8).getBigUint64(0);
}

/** Parses kt.witnesses: entries `<cosigner vkey> <url>` separated by commas. */
export function parseWitnessList(crypto: CryptoProvider, text: string): WitnessConfig[] {
  return text.split(',').map((e) => e.trim()).filter(Boolean).map((entry) => {
    const [vkey, url, ...rest] = entry.split(/\s+/);
    if (!vkey || !url || rest.length || !/^https?:\/\/\S+$/.test(url)) throw new Error(`"${entry}" is not "<witness vkey> <http(s) url>"`);
    return { ...parseVerifierKey(crypto, vkey, COSIGNATURE_V1), url };
  });
}
