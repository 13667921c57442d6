/**
 * Key transparency on the client (spec/transparency.md §6): every fetched
 * identity key must be included in the log checkpoint served with it; every
 * two checkpoints seen must be consistent (same size, same root; a larger one
 * extends a smaller one); checkpoints may have to carry N witness
 * cosignatures; the account monitors its own bindings; contacts exchange
 * checkpoints inside end-to-end messages, so a server showing them different
 * trees is caught.
 *
 * A failure that shows the server misbehaving is an alert (a `kt-alert`
 * event) and refuses the key; network errors are not alerts.
 */
import {
  COSIGNATURE_V1, bytesEqual, decodeBinding, encodeBinding, ktLeafHash, ktVerifyConsistency, ktVerifyInclusion, noteCosignedBy, openCheckpoint,
  parseVerifierKey, type Checkpoint, type CryptoProvider, type Note,
} from '@sigilo/protocol';
import type { Bundles } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import type { ClientStore } from './store/port.js';

export interface TransparencyOptions {
  /** Witnesses whose cosignatures count: cosigner verifier keys (type 0x04, as `sigilo witness` prints them). */
  readonly witnesses?: readonly string[];
  /** Accept only checkpoints cosigned by at least this many of `witnesses` (default 0). */
  readonly requiredCosignatures?: number;
}

export type TransparencyAlert = { type: 'kt-alert'; reason: string };

const META_LOG_KEY = 'kt.logKey';
const META_CHECKPOINT = 'kt.checkpoint';
const text = new TextEncoder();
const untext = new TextDecoder();

interface Seen { readonly checkpoint: Checkpoint; readonly note: Note; readonly text: string }

export class KeyTransparencyClient {
  readonly #witnesses: { name: string; publicKey: Uint8Array }[];
  readonly #required: number;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ClientStore,
    private readonly crypto: CryptoProvider,
    private readonly serverInfo: () => Promise<unknown>,
    private readonly emit: (alert: TransparencyAlert) => void,
    options: TransparencyOptions = {},
  ) {
    this.#witnesses = (options.witnesses ?? []).map((v) => {
      try {
        return parseVerifierKey(crypto, v, COSIGNATURE_V1);
      } catch (e) {
        throw new ClientError('INVALID_INPUT', `witness key ${JSON.stringify(v)}: ${(e as Error).message}`);
      }
    });
    this.#required = options.requiredCosignatures ?? 0;
    if (!Number.isInteger(this.#required) || this.#required < 0 || this.#required > this.#witnesses.length) {
      throw new ClientError('INVALID_INPUT', `requiredCosignatures must be between 0 and the number of witnesses given (${this.#witnesses.length})`);
    }
  }

  /** Pins the log key from /v1/server-info (at init); a different key later is refused. */
  pin(info: unknown): void {
    const vkey = (info as { keyTransparency?: { verifierKey?: unknown } } | undefined)?.keyTransparency?.verifierKey;
    if (typeof vkey !== 'string') return;
    parseVerifierKey(this.crypto, vkey);
    const pinned = this.store.getMeta(META_LOG_KEY);
    if (pinned && untext.decode(pinned) !== vkey) {
      this.#alert('the server presents another key transparency log key than the one pinned');
    }
    if (!pinned) this.store.setMeta(META_LOG_KEY, text.encode(vkey));
  }

  /** The latest checkpoint seen, for gossip with contacts (undefined before the first). */
  gossip(): string | undefined {
    const b = this.store.getMeta(META_CHECKPOINT);
    return b ? untext.decode(b) : undefined;
  }

  /** The latest checkpoint seen: size and root. */
  latest(): Checkpoint | undefined {
    const b = this.store.getMeta(META_CHECKPOINT);
    if (!b) return undefined;
    const log = this.#pinnedKey();
    return log ? openCheckpoint(this.crypto, untext.decode(b), log).checkpoint : undefined;
  }

  /**
   * Checks a bundle answer: its checkpoint (signature, cosignatures, consistency with
   * what was seen) and, for every bundle, the inclusion of the (account, device,
   * identity key) binding. Throws a KEY_TRANSPARENCY ClientError on any failure.
   */
  async verifyBundles(connection: Connection, accountId: Uint8Array, answer: Bundles, bundles: readonly { deviceId: number; identityKey: Uint8Array }[]): Promise<void> {
    if (!bundles.length) return;
    if (!answer.ktCheckpoint) throw this.#fail('the server sent keys without a key transparency checkpoint');
    const cp = await this.accept(connection, answer.ktCheckpoint);
    for (const b of bundles) {
      const inc = answer.ktInclusions.find((i) => i.deviceId === b.deviceId);
      if (!inc) throw this.#fail(`the server sent a key for device ${b.deviceId} that is not in its log`);
      const leaf = encodeBinding({ kind: 'add', accountId, deviceId: b.deviceId, identityKey: b.identityKey, time: Number(inc.time) });
      try {
        ktVerifyInclusion(this.crypto, Number(inc.leafIndex), cp.size, ktLeafHash(this.crypto, leaf), inc.path, cp.root);
      } catch (e) {
        throw this.#fail(`the key served for device ${b.deviceId} is not in the log (${(e as Error).message})`);
      }
    }
  }

  /**
   * Monitors this account: every binding the log holds for it must carry this
   * account's identity key. A binding with another key (the server adding a
   * device key this account did not create) is an alert.
   */
  async monitor(connection: Connection, accountId: Uint8Array, identityKey: Uint8Array): Promise<{ bindings: number }> {
    const f = await connection.request({ case: 'ktGetAccount', value: {} });
    if (f.body.case !== 'ktAccountBindings') throw new ClientError('SERVER_ERROR', 'unexpected answer to a key transparency request');
    const cp = await this.accept(connection, f.body.value.checkpoint);
    let adds = 0;
    for (const l of f.body.value.leaves) {
      let b;
      try {
        b = decodeBinding(l.leaf);
        ktVerifyInclusion(this.crypto, Number(l.leafIndex), cp.size, ktLeafHash(this.crypto, l.leaf), l.path, cp.root);
      } catch (e) {
        throw this.#fail(`a binding of this account is not proven in the log (${(e as Error).message})`);
      }
      if (!bytesEqual(b.accountId, accountId)) throw this.#fail('the server listed another account\'s binding as this account\'s');
      if (!bytesEqual(b.identityKey, identityKey)) {
        throw this.#fail(`the log binds device ${b.deviceId} of this account to an identity key this account did not create`);
      }
      if (b.kind === 'add') adds++;
    }
    if (adds === 0) throw this.#fail('the log has no binding for this account');
    return { bindings: f.body.value.leaves.length };
  }

  /** A checkpoint received from a contact inside an end-to-end message: must be consistent with ours. */
  async receiveGossip(connection: Connection | undefined, note: string): Promise<void> {
    const log = this.#pinnedKey();
    if (!log || !connection) return;
    try {
      openCheckpoint(this.crypto, note, log);
    } catch {
      return; // not this log's (another server), or not signed: nothing learnt
    }
    await this.accept(connection, note, { gossip: true });
  }

  /**
   * Accepts a signed checkpoint after checking it against the latest one seen;
   * keeps the larger. Serialised, so two checks never race on the stored one.
   */
  accept(connection: Connection, note: string, how: { gossip?: boolean } = {}): Promise<Checkpoint> {
    const run = this.#chain.then(() => this.#accept(connection, note, how));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #accept(connection: Connection, note: string, how: { gossip?: boolean }): Promise<Checkpoint> {
    const log = await this.#logKey();
    let seen: Seen;
    try {
      const o = openCheckpoint(this.crypto, note, log);
      seen = { ...o, text: note };
    } catch (e) {
      throw this.#fail(`the key transparency checkpoint does not verify (${(e as Error).message})`);
    }
    if (!how.gossip) this.#checkCosignatures(seen.note);
    const prevText = this.gossip();
    const prev = prevText ? openCheckpoint(this.crypto, prevText, log).checkpoint : undefined;
    const cp = seen.checkpoint;
    const from = how.gossip ? 'a contact\'s checkpoint' : 'the served checkpoint';
    if (!prev) {
      this.store.setMeta(META_CHECKPOINT, text.encode(note));
      return cp;
    }
    if (cp.size === prev.size) {
      if (!bytesEqual(cp.root, prev.root)) throw this.#fail(`split view: ${from} has the same size (${cp.size}) as one seen before but another root`);
      return cp;
    }
    const [small, large] = cp.size < prev.size ? [cp, prev] : [prev, cp];
    let f;
    try {
      f = await connection.request({ case: 'ktGetConsistency', value: { oldSize: BigInt(small.size), newSize: BigInt(large.size) } });
    } catch (e) {
      const code = (e as { serverCode?: string }).serverCode;
      if (code === 'INVALID_ARGUMENT') throw this.#fail(`the server will not prove ${from} (size ${cp.size}) consistent with its log`);
      throw e;
    }
    if (f.body.case !== 'ktConsistency') throw new ClientError('SERVER_ERROR', 'unexpected answer to a key transparency request');
    try {
      ktVerifyConsistency(this.crypto, small.size, large.size, small.root, large.root, f.body.value.path);
    } catch (e) {
      throw this.#fail(`${from} (size ${cp.size}) is not consistent with the one seen before (size ${prev.size}): ${(e as Error).message}`);
    }
    if (cp.size > prev.size) this.store.setMeta(META_CHECKPOINT, text.encode(note));
    return cp;
  }

  #checkCosignatures(note: Note): void {
    if (this.#required === 0) return;
    const n = this.#witnesses.filter((w) => noteCosignedBy(this.crypto, note, w.name, w.publicKey) !== undefined).length;
    if (n < this.#required) {
      throw new ClientError('KEY_TRANSPARENCY', `the checkpoint has ${n} of the ${this.#required} witness cosignatures required; keys are refused until the witnesses cosign (try again later)`);
    }
  }

  #pinnedKey(): { name: string; publicKey: Uint8Array } | undefined {
    const b = this.store.getMeta(META_LOG_KEY);
    return b ? parseVerifierKey(this.crypto, untext.decode(b)) : undefined;
  }

  async #logKey(): Promise<{ name: string; publicKey: Uint8Array }> {
    const pinned = this.#pinnedKey();
    if (pinned) return pinned;
    this.pin(await this.serverInfo());
    return this.#pinnedKey() ?? (() => { throw new ClientError('SERVER_ERROR', 'the server publishes no key transparency log key'); })();
  }

  #alert(reason: string): void {
    this.emit({ type: 'kt-alert', reason });
  }

  #fail(reason: string): ClientError {
    this.#alert(reason);
    return new ClientError('KEY_TRANSPARENCY', `key transparency: ${reason}; do not trust keys from this server until the administrator explains it`);
  }
}
