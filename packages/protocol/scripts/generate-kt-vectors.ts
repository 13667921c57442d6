/**
 * Writes spec/vectors/kt.json: RFC 9162 roots, inclusion and consistency proofs
 * from the slow reference (test/support/kt-reference.ts), a binding leaf, a
 * signed checkpoint and a cosignature with fixed keys. Run once:
 *   npx tsx packages/protocol/scripts/generate-kt-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { nodeCrypto as crypto } from '../src/crypto/node.js';
import { toHex, utf8 } from '../src/bytes.js';
import { checkpointText, cosignCheckpoint, encodeBinding, encodeVerifierKey, formatNote, signNote } from '../src/transparency.js';
import { mth, path, proof } from '../test/support/kt-reference.js';

const leaves = Array.from({ length: 13 }, (_, i) => utf8(`leaf ${i}`));
const roots = Array.from({ length: leaves.length + 1 }, (_, n) => ({ size: n, root: toHex(mth(leaves.slice(0, n))) }));
const inclusion: unknown[] = [];
for (const size of [1, 2, 3, 5, 7, 8, 13]) for (let index = 0; index < size; index += Math.max(1, size >> 2)) {
  inclusion.push({ index, size, path: path(index, leaves.slice(0, size)).map(toHex) });
}
const consistency: unknown[] = [];
for (const [first, second] of [[1, 1], [1, 2], [1, 8], [2, 5], [3, 7], [4, 8], [4, 13], [6, 8], [7, 13], [12, 13]] as const) {
  consistency.push({ first, second, path: proof(first, leaves.slice(0, second)).map(toHex) });
}
const logSeed = new Uint8Array(32).fill(7);
const witnessSeed = new Uint8Array(32).fill(9);
const origin = 'sigilo.example/kt';
const text = checkpointText({ origin, size: 13, root: mth(leaves), extensions: [] });
const note = formatNote({ text, signatures: [signNote(crypto, text, origin, logSeed), cosignCheckpoint(crypto, text, 'witness.example/w1', witnessSeed, 1700000000)] });
const binding = { kind: 'add' as const, accountId: new Uint8Array(16).fill(0xab), deviceId: 3, identityKey: new Uint8Array(64).fill(0x5c), time: 1765000000000 };
writeFileSync(new URL('../../../spec/vectors/kt.json', import.meta.url), JSON.stringify({
  description: 'Key transparency (spec/transparency.md): leaves are the UTF-8 strings "leaf 0".."leaf 12"',
  leaves: leaves.map(toHex), roots, inclusion, consistency,
  binding: { ...binding, accountId: toHex(binding.accountId), identityKey: toHex(binding.identityKey), encoded: toHex(encodeBinding(binding)) },
  checkpoint: {
    logSeed: toHex(logSeed), logVerifierKey: encodeVerifierKey(crypto, origin, crypto.ed25519PublicKey(logSeed)),
    witnessSeed: toHex(witnessSeed), witnessName: 'witness.example/w1', witnessPublicKey: toHex(crypto.ed25519PublicKey(witnessSeed)), note,
  },
}, null, 2) + '\n');
