/**
 * spec/vectors/attachments.json (generated once by scripts/generate-vectors.ts)
 * checked with both providers: derived values, ciphertext bytes, decryption,
 * random access to the final chunk, a resumed encryption of the final chunk,
 * and the padding table. A change that alters one byte of the format fails here.
 */
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  AttachmentEncryptor,
  attachmentHeader,
  attachmentSalt,
  chunkCiphertextOffset,
  ciphertextSize,
  decryptAttachment,
  decryptAttachmentChunk,
  encryptAttachment,
  fromHex,
  paddedSize,
  plaintextChunkCount,
  toHex,
  type CryptoProvider,
} from '../src/index.js';
import { deriveCobblestoneKeys } from '../src/attachment/cobblestone.js';
import { providers } from './support/fixtures.js';

interface Case {
  name: string;
  key: string;
  plaintext?: string;
  plaintextPattern?: string;
  paddedTo?: number;
  plaintextSize: number;
  salt: string;
  aeadKey: string;
  baseNonce: string;
  commitment: string;
  chunks: number;
  finalChunkOffset: number;
  ciphertextSize: number;
  ciphertextSha256: string;
  ciphertext?: string;
}
const vectors = JSON.parse(readFileSync(new URL('../../../spec/vectors/attachments.json', import.meta.url), 'utf8')) as {
  chunkSize: number; headerLength: number; tagLength: number; saltInfo: string; context: string;
  cases: Case[]; padding: { size: number; padded: number }[];
};

function plaintextOf(c: Case): Uint8Array {
  if (c.plaintextPattern !== undefined) {
    expect(c.plaintextPattern).toBe('i mod 251');
    return Uint8Array.from({ length: c.plaintextSize }, (_, i) => i % 251);
  }
  const content = fromHex(c.plaintext!);
  const out = new Uint8Array(c.paddedTo ?? content.length);
  out.set(content);
  return out;
}

describe.each(providers)('spec/vectors/attachments.json with the $name provider', (p: CryptoProvider) => {
  it('constants', () => {
    expect(vectors.chunkSize).toBe(16_384);
    expect(vectors.headerLength).toBe(56);
    expect(vectors.tagLength).toBe(16);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(6);
  });

  for (const c of vectors.cases) {
    it(c.name, () => {
      const key = fromHex(c.key);
      const plaintext = plaintextOf(c);
      expect(plaintext.length).toBe(c.plaintextSize);
      expect(toHex(attachmentSalt(p, key))).toBe(c.salt);
      const d = deriveCobblestoneKeys(p, key, fromHex(c.salt), new TextEncoder().encode(vectors.context));
      expect(toHex(d.aeadKey)).toBe(c.aeadKey);
      expect(toHex(d.baseNonce)).toBe(c.baseNonce);
      expect(toHex(d.commitment)).toBe(c.commitment);
      expect(toHex(attachmentHeader(p, key))).toBe(c.salt + c.commitment);

      expect(plaintextChunkCount(c.plaintextSize)).toBe(c.chunks);
      expect(ciphertextSize(c.plaintextSize)).toBe(c.ciphertextSize);
      expect(chunkCiphertextOffset(c.chunks - 1)).toBe(c.finalChunkOffset);

      const ct = encryptAttachment(p, key, plaintext);
      expect(ct.length).toBe(c.ciphertextSize);
      expect(toHex(sha256(ct))).toBe(c.ciphertextSha256);
      if (c.ciphertext !== undefined) expect(toHex(ct)).toBe(c.ciphertext);

      expect(toHex(decryptAttachment(p, key, ct))).toBe(toHex(plaintext));
      const finalPlain = decryptAttachmentChunk(p, key, c.chunks - 1, ct.subarray(c.finalChunkOffset), true);
      expect(toHex(finalPlain)).toBe(toHex(plaintext.subarray((c.chunks - 1) * vectors.chunkSize)));
      const resumed = new AttachmentEncryptor(p, key, { startChunk: c.chunks - 1 });
      const tail = [...resumed.update(plaintext.subarray((c.chunks - 1) * vectors.chunkSize)), ...resumed.finish()];
      // resuming at chunk 0 is a fresh start: the header comes first
      const expectedTail = c.chunks === 1 ? ct : ct.subarray(c.finalChunkOffset);
      expect(toHex(Buffer.concat(tail))).toBe(toHex(expectedTail));
    });
  }

  it('padding table', () => {
    expect(vectors.padding.length).toBeGreaterThanOrEqual(10);
    for (const { size, padded } of vectors.padding) expect(paddedSize(size), `size ${size}`).toBe(padded);
  });
});
