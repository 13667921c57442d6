/**
 * Key transparency (spec/transparency.md): the Merkle tree of RFC 9162 §2.1,
 * inclusion and consistency proofs (made from stored complete subtrees, and
 * verified), signed notes (C2SP signed-note, Ed25519), checkpoints (C2SP
 * tlog-checkpoint), Ed25519 cosignatures (C2SP tlog-cosignature, cosignature/v1)
 * and the leaf encoding of an identity-key binding. Pure and synchronous.
 */
import type { CryptoProvider } from './crypto/provider.js';
import { ProtocolError } from './errors.js';
import { bytesEqual, concatBytes, utf8 } from './bytes.js';

export const KT_HASH_LENGTH = 32;
/** At most this many hashes in any proof this code accepts (a tree of up to 2^63 leaves needs fewer). */
export const KT_MAX_PROOF_HASHES = 63;

export class TransparencyError extends ProtocolError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

function fail(message: string): never {
  throw new TransparencyError(message);
}

// ------------------------------------------------------------------ RFC 9162 §2.1 hashing

export function ktLeafHash(crypto: CryptoProvider, leaf: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(new Uint8Array([0]), leaf));
}

export function ktNodeHash(crypto: CryptoProvider, left: Uint8Array, right: Uint8Array): Uint8Array {
  const b = new Uint8Array(1 + 2 * KT_HASH_LENGTH);
  b[0] = 1;
  b.set(left, 1);
  b.set(right, 1 + KT_HASH_LENGTH);
  return crypto.sha256(b);
}

/** The root of the empty tree: SHA-256 of the empty string. */
export function ktEmptyRoot(crypto: CryptoProvider): Uint8Array {
  return crypto.sha256(new Uint8Array(0));
}

/** A contiguous run of leaves [start, end). */
export interface TreeRange { readonly start: number; readonly end: number }
/** A complete, aligned subtree: 2^level leaves starting at index * 2^level. */
export interface TreeNode { readonly level: number; readonly index: number }

/** The largest power of two strictly below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) fail(`${name} must be a non-negative integer`);
}

/** The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size` leaves, in proof order (RFC 9162 §2.1.3.1). */
export function ktInclusionRanges(index: number, size: number): TreeRange[] {
  checkSize('size', size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) fail('the leaf index must be below the tree size');
  const out: TreeRange[] = [];
  const walk = (m: number, start: number, n: number): void => {
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, k);
      out.push({ start: start + k, end: start + n });
    } else {
      walk(m - k, start + k, n - k);
      out.push({ start, end: start + k });
    }
  };
  walk(index, 0, size);
  return out;
}

/** The ranges whose hashes form the consistency proof from `first` to `second` leaves (RFC 9162 §2.1.4.1). */
export function ktConsistencyRanges(first: number, second: number): TreeRange[] {
  checkSize('old size', first);
  checkSize('new size', second);
  if (first > second) fail('the old size must not exceed the new size');
  if (first === 0 || first === second) return [];
  const out: TreeRange[] = [];
  const walk = (m: number, start: number, n: number, whole: boolean): void => {
    if (m === n) {
      if (!whole) out.push({ start, end: start + n });
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      walk(m, start, k, whole);
      out.push({ start: start + k, end: start + n });
    } else {
      walk(m - k, start + k, n - k, false);
      out.push({ start, end: start + k });
    }
  };
  walk(first, 0, second, true);
  return out;
}

/** The complete subtrees a range splits into, largest (leftmost) first. Ranges made by this module are always aligned so. */
export function ktRangeNodes(r: TreeRange): TreeNode[] {
  const out: TreeNode[] = [];
  let s = r.start;
  let left = r.end - r.start;
  while (left > 0) {
    let p = 1;
    let level = 0;
    while (p * 2 <= left && s % (p * 2) === 0) { p *= 2; level++; }
    out.push({ level, index: s / p });
    s += p;
    left -= p;
  }
  return out;
}

export const ktNodeKey = (n: TreeNode): string => `${n.level}/${n.index}`;

/** The hash of a range from the hashes of its complete subtrees (`nodes`, keyed by ktNodeKey). */
export function ktRangeHash(crypto: CryptoProvider, r: TreeRange, nodes: ReadonlyMap<string, Uint8Array>): Uint8Array {
  if (r.end === r.start) return ktEmptyRoot(crypto);
  const parts = ktRangeNodes(r).map((n) => nodes.get(ktNodeKey(n)) ?? fail(`missing tree node ${ktNodeKey(n)}`));
  let h = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) h = ktNodeHash(crypto, parts[i]!, h);
  return h;
}

/**
 * The complete nodes that appending leaf number `index` (0-based) completes,
 * bottom up, given a getter for stored nodes: the leaf itself, then each parent
 * whose right child it finishes.
 */
export function ktAppendNodes(crypto: CryptoProvider, index: number, leafHash: Uint8Array, stored: (n: TreeNode) => Uint8Array): { node: TreeNode; hash: Uint8Array }[] {
  const out = [{ node: { level: 0, index }, hash: leafHash }];
  let i = index;
  let level = 0;
  let h = leafHash;
  while (i % 2 === 1) {
    h = ktNodeHash(crypto, stored({ level, index: i - 1 }), h);
    i = (i - 1) / 2;
    level++;
    out.push({ node: { level, index: i }, hash: h });
  }
  return out;
}

// ------------------------------------------------------------------ proof verification (RFC 9162 §2.1.3.2, §2.1.4.2)

function checkHashes(proof: readonly Uint8Array[]): void {
  if (proof.length > KT_MAX_PROOF_HASHES) fail('the proof is too long');
  for (const p of proof) if (p.length !== KT_HASH_LENGTH) fail('a proof hash is not 32 bytes');
}

/** The root an inclusion proof leads to; throws when the proof's shape does not fit index and size. */
export function ktRootFromInclusion(crypto: CryptoProvider, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  checkSize('size', size);
  checkHashes(proof);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) fail('the leaf index is not below the tree size');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail('the inclusion proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = ktNodeHash(crypto, p, r);
      if (fn % 2 === 0) while (fn !== 0 && fn % 2 === 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      r = ktNodeHash(crypto, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the inclusion proof is too short');
  return r;
}

/** Throws unless `proof` shows the leaf with `leafHash` at `index` in the tree of `size` leaves with `root`. */
export function ktVerifyInclusion(crypto: CryptoProvider, index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  if (!bytesEqual(ktRootFromInclusion(crypto, index, size, leafHash, proof), root)) fail('the inclusion proof does not lead to the checkpoint root');
}

/** Throws unless `proof` shows the tree (second, secondRoot) extends the tree (first, firstRoot). */
export function ktVerifyConsistency(crypto: CryptoProvider, first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): void {
  checkSize('old size', first);
  checkSize('new size', second);
  checkHashes(proof);
  if (first > second) fail('the old tree is larger than the new one');
  if (first === second) {
    if (proof.length) fail('a consistency proof between equal sizes must be empty');
    if (!bytesEqual(firstRoot, secondRoot)) fail('two different roots for the same tree size');
    return;
  }
  if (first === 0) {
    if (proof.length) fail('a consistency proof from the empty tree must be empty');
    return;
  }
  const path = [...proof];
  let odd = first;
  while (odd % 2 === 0) odd /= 2;
  if (odd === 1) path.unshift(firstRoot); // an exact power of two: the old root is the first hash
  if (path.length === 0) fail('the consistency proof is empty');
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) { fn = (fn - 1) / 2; sn = Math.floor(sn / 2); }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('the consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = ktNodeHash(crypto, c, fr);
      sr = ktNodeHash(crypto, c, sr);
      if (fn % 2 === 0) while (fn !== 0 && fn % 2 === 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      sr = ktNodeHash(crypto, sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the consistency proof is too short');
  // Either mismatch means the new tree cannot be shown to extend the old one.
  if (!bytesEqual(fr, firstRoot) || !bytesEqual(sr, secondRoot)) fail('the new tree does not extend the old one: the log rewrote its history (or the proof is wrong)');
}

// ------------------------------------------------------------------ base64 (RFC 4648 §4, strict)

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < b.length ? B64[n & 63]! : '=');
  }
  return s;
}

export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) fail('invalid base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const v = [0, 1, 2, 3].map((j) => (s[i + j] === '=' ? 0 : B64.indexOf(s[i + j]!)));
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    for (const byte of [n >> 16, (n >> 8) & 255, n & 255]) if (o < out.length) out[o++] = byte;
  }
  // Canonical only: re-encoding must give the same text.
  if (base64Encode(out) !== s) fail('non-canonical base64');
  return out;
}

// ------------------------------------------------------------------ signed notes (C2SP signed-note)

const SIG_PREFIX = '\u2014 ';
/** Signature type bytes of signed-note (Ed25519) and tlog-cosignature (cosignature/v1). */
export const NOTE_ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;
const MAX_NOTE_BYTES = 16 * 1024;
const MAX_NOTE_SIGNATURES = 100;

export interface NoteSignature { readonly name: string; readonly keyId: Uint8Array; readonly signature: Uint8Array }
export interface Note { readonly text: string; readonly signatures: NoteSignature[] }

function checkKeyName(name: string): void {
  if (!name || /[\s+]/u.test(name) || [...name].some((c) => c.codePointAt(0)! < 0x21)) fail('a key name must be non-empty, without spaces, newlines or "+"');
}

export function noteKeyId(crypto: CryptoProvider, name: string, type: number, publicKey: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(utf8(`${name}\n`), new Uint8Array([type]), publicKey)).slice(0, 4);
}

/**
 * A verifier key in the signed-note text form: `<name>+<hex key id>+<base64(type || public key)>`;
 * type 0x01 for a log's note key, 0x04 for a witness's cosignature/v1 key.
 */
export function encodeVerifierKey(crypto: CryptoProvider, name: string, publicKey: Uint8Array, type = NOTE_ED25519): string {
  checkKeyName(name);
  const id = noteKeyId(crypto, name, type, publicKey);
  return `${name}+${[...id].map((b) => b.toString(16).padStart(2, '0')).join('')}+${base64Encode(concatBytes(new Uint8Array([type]), publicKey))}`;
}

export function parseVerifierKey(crypto: CryptoProvider, vkey: string, type = NOTE_ED25519): { name: string; publicKey: Uint8Array } {
  // The name has no '+'; the key id is 8 hex digits; the base64 key may contain '+'.
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/.exec(vkey.trim());
  if (!m) fail('a verifier key has the form name+keyid+base64key');
  const [, name, hex, b64] = m as unknown as [string, string, string, string];
  checkKeyName(name);
  const raw = base64Decode(b64);
  if (raw.length !== 33 || raw[0] !== type) fail(`expected an Ed25519 verifier key of type 0x0${type}`);
  const publicKey = raw.slice(1);
  const id = noteKeyId(crypto, name, type, publicKey);
  if ([...id].map((b) => b.toString(16).padStart(2, '0')).join('') !== hex.toLowerCase()) fail('the verifier key id does not match its name and key');
  return { name, publicKey };
}

export function parseNote(note: string): Note {
  if (utf8(note).length > MAX_NOTE_BYTES) fail('the note is too long');
  if (!note.endsWith('\n')) fail('a note ends with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) fail('a note has a blank line before its signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) fail('a note text has no control characters but newlines');
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) fail('a note signature line starts with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) fail('a note signature line has a key name and a signature');
    const name = rest.slice(0, space);
    checkKeyName(name);
    const raw = base64Decode(rest.slice(space + 1));
    if (raw.length < 5) fail('a note signature is too short');
    signatures.push({ name, keyId: raw.slice(0, 4), signature: raw.slice(4) });
  }
  if (signatures.length === 0) fail('a note has at least one signature');
  if (signatures.length > MAX_NOTE_SIGNATURES) fail('too many note signatures');
  return { text, signatures };
}

export function formatSignatureLine(s: NoteSignature): string {
  return `${SIG_PREFIX}${s.name} ${base64Encode(concatBytes(s.keyId, s.signature))}\n`;
}

export function formatNote(note: Note): string {
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

export function signNote(crypto: CryptoProvider, text: string, name: string, seed: Uint8Array): NoteSignature {
  checkKeyName(name);
  const publicKey = crypto.ed25519PublicKey(seed);
  return { name, keyId: noteKeyId(crypto, name, NOTE_ED25519, publicKey), signature: crypto.ed25519Sign(seed, utf8(text)) };
}

/** Whether the note carries a valid Ed25519 note signature by (name, publicKey). */
export function noteSignedBy(crypto: CryptoProvider, note: Note, name: string, publicKey: Uint8Array): boolean {
  const id = noteKeyId(crypto, name, NOTE_ED25519, publicKey);
  return note.signatures.some((s) => s.name === name && bytesEqual(s.keyId, id) && s.signature.length === 64
    && crypto.ed25519Verify(publicKey, utf8(note.text), s.signature));
}

// ------------------------------------------------------------------ checkpoints (C2SP tlog-checkpoint)

export interface Checkpoint { readonly origin: string; readonly size: number; readonly root: Uint8Array; readonly extensions: readonly string[] }

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${base64Encode(c.root)}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') fail('a checkpoint has an origin, a size and a root hash line');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!origin) fail('the checkpoint origin line is empty');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) fail('the checkpoint size is not a decimal without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) fail('the checkpoint size is too large');
  const root = base64Decode(rootText);
  if (root.length !== KT_HASH_LENGTH) fail('the checkpoint root hash is not 32 bytes');
  const extensions = lines.slice(3, -1);
  for (const e of extensions) if (!e) fail('a checkpoint extension line is empty');
  return { origin, size, root, extensions };
}

/** A signed checkpoint note verified with the log key: its checkpoint and the parsed note (with any cosignatures). */
export function openCheckpoint(crypto: CryptoProvider, noteText: string, log: { name: string; publicKey: Uint8Array }): { checkpoint: Checkpoint; note: Note } {
  const note = parseNote(noteText);
  const checkpoint = parseCheckpointText(note.text);
  if (checkpoint.origin !== log.name) fail(`the checkpoint is for the log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(log.name)}`);
  if (!noteSignedBy(crypto, note, log.name, log.publicKey)) fail('the checkpoint is not signed by the log key');
  return { checkpoint, note };
}

// ------------------------------------------------------------------ cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1)

function cosignedMessage(text: string, timestamp: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

export function cosignKeyId(crypto: CryptoProvider, name: string, publicKey: Uint8Array): Uint8Array {
  return noteKeyId(crypto, name, COSIGNATURE_V1, publicKey);
}

export function cosignCheckpoint(crypto: CryptoProvider, text: string, name: string, seed: Uint8Array, timestamp: number): NoteSignature {
  checkKeyName(name);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) fail('the cosignature time is a non-negative integer');
  const publicKey = crypto.ed25519PublicKey(seed);
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
  return { name, keyId: cosignKeyId(crypto, name, publicKey), signature: concatBytes(ts, crypto.ed25519Sign(seed, cosignedMessage(text, timestamp))) };
}

/** The time of a valid cosignature by (name, publicKey) on the note, or undefined. */
export function noteCosignedBy(crypto: CryptoProvider, note: Note, name: string, publicKey: Uint8Array): number | undefined {
  const id = cosignKeyId(crypto, name, publicKey);
  for (const s of note.signatures) {
    if (s.name !== name || !bytesEqual(s.keyId, id) || s.signature.length !== 72) continue;
    const ts = new DataView(s.signature.buffer, s.signature.byteOffset, 8).getBigUint64(0);
    if (ts >= 2n ** 63n) continue;
    if (crypto.ed25519Verify(publicKey, cosignedMessage(note.text, Number(ts)), s.signature.slice(8))) return Number(ts);
  }
  return undefined;
}

// ------------------------------------------------------------------ the binding leaf (spec/transparency.md §2)

export const KT_LEAF_VERSION = 1;
export type BindingKind = 'add' | 'remove';
export interface Binding {
  readonly kind: BindingKind;
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
  /** Milliseconds since the epoch when the server logged it. */
  readonly time: number;
}

/** version(1) ‖ kind(1: 1 add, 2 remove) ‖ u8 len ‖ account id ‖ u32 device ‖ u8 len ‖ identity key ‖ u64 time (ms), all big-endian. */
export function encodeBinding(b: Binding): Uint8Array {
  if (b.accountId.length === 0 || b.accountId.length > 255 || b.identityKey.length === 0 || b.identityKey.length > 255) fail('binding fields out of range');
  if (!Number.isInteger(b.deviceId) || b.deviceId < 0 || b.deviceId > 0xffffffff) fail('the device id is a u32');
  if (!Number.isSafeInteger(b.time) || b.time < 0) fail('the binding time is a non-negative integer');
  const out = new Uint8Array(2 + 1 + b.accountId.length + 4 + 1 + b.identityKey.length + 8);
  const v = new DataView(out.buffer);
  let o = 0;
  out[o++] = KT_LEAF_VERSION;
  out[o++] = b.kind === 'add' ? 1 : 2;
  out[o++] = b.accountId.length;
  out.set(b.accountId, o); o += b.accountId.length;
  v.setUint32(o, b.deviceId); o += 4;
  out[o++] = b.identityKey.length;
  out.set(b.identityKey, o); o += b.identityKey.length;
  v.setBigUint64(o, BigInt(b.time));
  return out;
}

export function decodeBinding(bytes: Uint8Array): Binding {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number) => { if (o + n > bytes.length) fail('the binding leaf is truncated'); };
  need(3);
  if (bytes[o++] !== KT_LEAF_VERSION) fail('unknown binding leaf version');
  const k = bytes[o++];
  if (k !== 1 && k !== 2) fail('unknown binding kind');
  const al = bytes[o++]!;
  need(al + 5);
  const accountId = bytes.slice(o, o + al); o += al;
  const deviceId = v.getUint32(o); o += 4;
  const il = bytes[o++]!;
  need(il + 8);
  const identityKey = bytes.slice(o, o + il); o += il;
  const time = Number(v.getBigUint64(o)); o += 8;
  if (o !== bytes.length) fail('trailing bytes after the binding leaf');
  if (!Number.isSafeInteger(time)) fail('the binding time is too large');
  return { kind: k === 1 ? 'add' : 'remove', accountId, deviceId, identityKey, time };
}
