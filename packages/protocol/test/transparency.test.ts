/**
 * Key transparency primitives (spec/transparency.md): RFC 9162 proofs made
 * from stored complete subtrees match the slow reference and verify; every
 * tampered proof, a rewritten history and a forked root are refused; signed
 * checkpoints and cosignatures; the frozen vectors in spec/vectors/kt.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkpointText, cosignCheckpoint, decodeBinding, encodeBinding, encodeVerifierKey, formatNote, fromHex, ktAppendNodes, ktConsistencyRanges,
  ktInclusionRanges, ktLeafHash, ktNodeKey, ktRangeHash, ktRangeNodes, ktVerifyConsistency, ktVerifyInclusion, noteCosignedBy, openCheckpoint,
  parseNote, parseVerifierKey, signNote, toHex, utf8, TransparencyError, type TreeRange,
} from '../src/index.js';
import { nodeCrypto as crypto } from '../src/crypto/node.js';
import { mth, path, proof } from './support/kt-reference.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const vectors: any = JSON.parse(readFileSync(new URL('../../../spec/vectors/kt.json', import.meta.url), 'utf8'));

/** A tree kept as its complete nodes, appended the way the server does. */
function buildTree(leaves: readonly Uint8Array[]): Map<string, Uint8Array> {
  const nodes = new Map<string, Uint8Array>();
  leaves.forEach((leaf, i) => {
    for (const n of ktAppendNodes(crypto, i, ktLeafHash(crypto, leaf), (x) => nodes.get(ktNodeKey(x))!)) nodes.set(ktNodeKey(n.node), n.hash);
  });
  return nodes;
}
const hashes = (nodes: Map<string, Uint8Array>, ranges: TreeRange[]) => ranges.map((r) => ktRangeHash(crypto, r, nodes));

describe('RFC 9162 trees from stored nodes', () => {
  const leaves = Array.from({ length: 40 }, (_, i) => utf8(`entry ${i}`));
  const nodes = buildTree(leaves);

  it('roots, inclusion and consistency proofs equal the reference for every size up to 40, and verify', () => {
    for (let size = 1; size <= leaves.length; size++) {
      const d = leaves.slice(0, size);
      const root = ktRangeHash(crypto, { start: 0, end: size }, nodes);
      expect(toHex(root)).toBe(toHex(mth(d)));
      for (let i = 0; i < size; i++) {
        const p = hashes(nodes, ktInclusionRanges(i, size));
        expect(p.map(toHex)).toEqual(path(i, d).map(toHex));
        ktVerifyInclusion(crypto, i, size, ktLeafHash(crypto, d[i]!), p, root);
      }
      for (let first = 0; first <= size; first++) {
        const p = hashes(nodes, ktConsistencyRanges(first, size));
        expect(p.map(toHex)).toEqual(proof(first, d).map(toHex));
        ktVerifyConsistency(crypto, first, size, mth(leaves.slice(0, first)), root, p);
      }
    }
  });

  it('ranges split into aligned complete subtrees only', () => {
    for (let size = 1; size <= 40; size++) for (let i = 0; i < size; i++) {
      for (const r of [...ktInclusionRanges(i, size), ...ktConsistencyRanges(i, size)]) {
        for (const n of ktRangeNodes(r)) expect(nodes.has(ktNodeKey(n))).toBe(true);
      }
    }
  });

  it('refuses a wrong leaf, a flipped hash, a shortened or lengthened proof, a wrong index or size', () => {
    const size = 29;
    const root = mth(leaves.slice(0, size));
    const p = path(11, leaves.slice(0, size));
    const leaf = ktLeafHash(crypto, leaves[11]!);
    expect(() => ktVerifyInclusion(crypto, 11, size, ktLeafHash(crypto, utf8('not in the log')), p, root)).toThrow(TransparencyError);
    const flipped = p.map((h) => h.slice());
    flipped[2]![0]! ^= 1;
    expect(() => ktVerifyInclusion(crypto, 11, size, leaf, flipped, root)).toThrow(/root/);
    expect(() => ktVerifyInclusion(crypto, 11, size, leaf, p.slice(0, -1), root)).toThrow(TransparencyError);
    expect(() => ktVerifyInclusion(crypto, 11, size, leaf, [...p, p[0]!], root)).toThrow(TransparencyError);
    expect(() => ktVerifyInclusion(crypto, 12, size, leaf, p, root)).toThrow(TransparencyError);
    expect(() => ktVerifyInclusion(crypto, 11, 16, leaf, p, root)).toThrow(TransparencyError);
    expect(() => ktVerifyInclusion(crypto, 29, size, leaf, p, root)).toThrow(/below/);
    expect(() => ktVerifyInclusion(crypto, 11, size, leaf, [new Uint8Array(31)], root)).toThrow(/32 bytes/);
  });

  it('detects a rewritten history and two roots for one size', () => {
    const rewritten = [...leaves.slice(0, 40)];
    rewritten[5] = utf8('rewritten');
    const oldRoot = mth(leaves.slice(0, 13));
    // The rewritten log's honest-looking proof from 13 to 40 does not lead to the old root.
    const p = proof(13, rewritten);
    expect(() => ktVerifyConsistency(crypto, 13, 40, oldRoot, mth(rewritten), p)).toThrow(/rewrote its history/);
    expect(() => ktVerifyConsistency(crypto, 13, 13, oldRoot, mth(rewritten.slice(0, 13)), [])).toThrow(/same tree size/);
    expect(() => ktVerifyConsistency(crypto, 14, 13, oldRoot, oldRoot, [])).toThrow(TransparencyError);
    expect(() => ktVerifyConsistency(crypto, 16, 40, mth(leaves.slice(0, 16)), mth(leaves), [])).toThrow(TransparencyError);
  });
});

describe('signed checkpoints and cosignatures', () => {
  const seed = new Uint8Array(32).fill(1);
  const pub = crypto.ed25519PublicKey(seed);
  const origin = 'chat.example.org/sigilo-kt';
  const text = checkpointText({ origin, size: 40, root: new Uint8Array(32).fill(2), extensions: [] });

  it('signs, formats, parses and verifies; a cosignature commits to the time', () => {
    const w = new Uint8Array(32).fill(3);
    const note = formatNote({ text, signatures: [signNote(crypto, text, origin, seed), cosignCheckpoint(crypto, text, 'w.example/1', w, 1234)] });
    const opened = openCheckpoint(crypto, note, { name: origin, publicKey: pub });
    expect(opened.checkpoint.size).toBe(40);
    expect(noteCosignedBy(crypto, opened.note, 'w.example/1', crypto.ed25519PublicKey(w))).toBe(1234);
    expect(noteCosignedBy(crypto, opened.note, 'w.example/2', crypto.ed25519PublicKey(w))).toBeUndefined();
    // The time is signed: a changed timestamp does not verify.
    const s = opened.note.signatures[1]!;
    const moved = s.signature.slice();
    moved[7]! ^= 1;
    expect(noteCosignedBy(crypto, { ...opened.note, signatures: [{ ...s, signature: moved }] }, 'w.example/1', crypto.ed25519PublicKey(w))).toBeUndefined();
    const vkey = encodeVerifierKey(crypto, origin, pub);
    expect(parseVerifierKey(crypto, vkey)).toEqual({ name: origin, publicKey: pub });
    expect(() => parseVerifierKey(crypto, vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow(/key id/);
    // Base64 key material may itself contain '+': keys with it parse too.
    const withPlus = Array.from({ length: 40 }, (_, i) => encodeVerifierKey(crypto, origin, crypto.ed25519PublicKey(new Uint8Array(32).fill(i)))).filter((k) => k.split('+').length > 3);
    expect(withPlus.length).toBeGreaterThan(0);
    for (const k of withPlus) expect(encodeVerifierKey(crypto, origin, parseVerifierKey(crypto, k).publicKey)).toBe(k);
  });

  it('refuses a note changed after signing, another log key, and malformed notes', () => {
    const note = formatNote({ text, signatures: [signNote(crypto, text, origin, seed)] });
    expect(() => openCheckpoint(crypto, note.replace('\n40\n', '\n41\n'), { name: origin, publicKey: pub })).toThrow(/not signed/);
    expect(() => openCheckpoint(crypto, note, { name: origin, publicKey: crypto.ed25519PublicKey(new Uint8Array(32).fill(9)) })).toThrow(/not signed/);
    expect(() => openCheckpoint(crypto, note, { name: 'other', publicKey: pub })).toThrow(/log/);
    for (const bad of ['', 'x\n', text, `${text}\n`, `${text}\n- a b\n`, note.replace('\n40\n', '\n040\n'), note.slice(0, -1)]) {
      expect(() => openCheckpoint(crypto, bad, { name: origin, publicKey: pub })).toThrow(TransparencyError);
    }
  });

  it('binding leaves round-trip and refuse truncation', () => {
    const b = { kind: 'remove' as const, accountId: new Uint8Array(16).fill(1), deviceId: 7, identityKey: new Uint8Array(64).fill(2), time: 99 };
    const e = encodeBinding(b);
    expect(decodeBinding(e)).toEqual(b);
    expect(() => decodeBinding(e.slice(0, -1))).toThrow(TransparencyError);
    expect(() => decodeBinding(new Uint8Array([...e, 0]))).toThrow(TransparencyError);
  });
});

describe('spec/vectors/kt.json', () => {
  const leaves = (vectors.leaves as string[]).map(fromHex);
  const nodes = buildTree(leaves);
  it('roots, inclusion and consistency proofs', () => {
    for (const r of vectors.roots) expect(toHex(ktRangeHash(crypto, { start: 0, end: r.size }, nodes))).toBe(r.root);
    for (const c of vectors.inclusion) {
      expect(hashes(nodes, ktInclusionRanges(c.index, c.size)).map(toHex)).toEqual(c.path);
      ktVerifyInclusion(crypto, c.index, c.size, ktLeafHash(crypto, leaves[c.index]!), c.path.map(fromHex), fromHex(vectors.roots[c.size].root));
    }
    for (const c of vectors.consistency) {
      expect(hashes(nodes, ktConsistencyRanges(c.first, c.second)).map(toHex)).toEqual(c.path);
      ktVerifyConsistency(crypto, c.first, c.second, fromHex(vectors.roots[c.first].root), fromHex(vectors.roots[c.second].root), c.path.map(fromHex));
    }
  });
  it('binding, checkpoint and cosignature', () => {
    const b = vectors.binding;
    expect(toHex(encodeBinding({ kind: b.kind, accountId: fromHex(b.accountId), deviceId: b.deviceId, identityKey: fromHex(b.identityKey), time: b.time }))).toBe(b.encoded);
    const c = vectors.checkpoint;
    const log = parseVerifierKey(crypto, c.logVerifierKey);
    expect(toHex(log.publicKey)).toBe(toHex(crypto.ed25519PublicKey(fromHex(c.logSeed))));
    const opened = openCheckpoint(crypto, c.note, log);
    expect(toHex(opened.checkpoint.root)).toBe(vectors.roots[13].root);
    expect(noteCosignedBy(crypto, parseNote(c.note), c.witnessName, fromHex(c.witnessPublicKey))).toBe(1700000000);
    // Ed25519 is deterministic: signing again gives the same note.
    const text = opened.note.text;
    expect(formatNote({ text, signatures: [signNote(crypto, text, log.name, fromHex(c.logSeed)), cosignCheckpoint(crypto, text, c.witnessName, fromHex(c.witnessSeed), 1700000000)] })).toBe(c.note);
  });
});
