/**
 * The attachment cipher (spec/attachments.md) with both providers: sizes and
 * offsets, streaming round trips in arbitrary pieces, every way a ciphertext
 * can be damaged (bit flips in each chunk and the header, truncation,
 * extension, reordering, a wrong key), key commitment, resumption from a chunk
 * boundary, random access, misuse; and the padding rule.
 */
import { createCipheriv } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTACHMENT_CHUNK_SIZE,
  ATTACHMENT_HEADER_LENGTH,
  ATTACHMENT_KEY_LENGTH,
  ATTACHMENT_MAX_SIZE,
  ATTACHMENT_MIN_PADDED_SIZE,
  ATTACHMENT_SEALED_CHUNK_SIZE,
  AttachmentDecryptor,
  AttachmentEncryptor,
  attachmentHeader,
  attachmentSalt,
  checkAttachmentHeader,
  chunkCiphertextOffset,
  ciphertextSize,
  decryptAttachment,
  decryptAttachmentChunk,
  encryptAttachment,
  padAttachment,
  paddedSize,
  plaintextChunkCount,
} from '../src/index.js';
import { deriveCobblestoneKeys } from '../src/attachment/cobblestone.js';
import { nodeCrypto } from '../src/crypto/node.js';
import { portableCrypto } from '../src/crypto/portable.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import {
  AttachmentCorruptError,
  AttachmentKeyMismatchError,
  AttachmentTruncatedError,
  InvalidArgumentError,
  ProtocolError,
} from '../src/errors.js';

const C = ATTACHMENT_CHUNK_SIZE;
const S = ATTACHMENT_SEALED_CHUNK_SIZE;
const utf8 = (s: string) => new TextEncoder().encode(s);
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const keyOf = (seed: string): Uint8Array => sha256(utf8(seed));

/** Deterministic, non-repeating filler (xorshift32). */
function data(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Pushes `input` through `update` in pieces cycling through `sizes` (0 allowed), then `finish`. */
function pump(s: { update(b: Uint8Array): Uint8Array[]; finish(): Uint8Array[] }, input: Uint8Array, sizes: readonly number[]): Uint8Array {
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < input.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(...s.update(input.subarray(offset, offset + n)));
    offset += n;
  }
  out.push(...s.finish());
  return concat(out);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** Feeds pieces one by one; returns the plaintext returned before the first error, and that error. */
function feed(dec: AttachmentDecryptor, pieces: readonly Uint8Array[]): { out: Uint8Array; error: unknown; failedAt: number | 'finish' | undefined } {
  const out: Uint8Array[] = [];
  for (let i = 0; i < pieces.length; i++) {
    try {
      out.push(...dec.update(pieces[i]!));
    } catch (error) {
      return { out: concat(out), error, failedAt: i };
    }
  }
  try {
    out.push(...dec.finish());
  } catch (error) {
    return { out: concat(out), error, failedAt: 'finish' };
  }
  return { out: concat(out), error: undefined, failedAt: undefined };
}

/** A ciphertext split as header, chunk 0, chunk 1, … */
function splitChunks(ct: Uint8Array): Uint8Array[] {
  const pieces = [ct.subarray(0, ATTACHMENT_HEADER_LENGTH)];
  for (let o = ATTACHMENT_HEADER_LENGTH; o < ct.length; o += S) pieces.push(ct.subarray(o, Math.min(ct.length, o + S)));
  return pieces;
}

const EDGE_SIZES = [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5];

describe.each([nodeCrypto, portableCrypto])('attachment cipher: $name provider', (p: CryptoProvider) => {
  const key = keyOf('attachment key');
  const otherKey = keyOf('another key');

  it('sizes, chunk counts and offsets match the ciphertext produced', () => {
    expect(ATTACHMENT_KEY_LENGTH).toBe(32);
    expect(C).toBe(16_384);
    expect(ATTACHMENT_HEADER_LENGTH).toBe(56);
    for (const n of EDGE_SIZES) {
      const ct = encryptAttachment(p, key, data(n));
      const chunks = Math.floor(n / C) + 1;
      expect(plaintextChunkCount(n), `size ${n}`).toBe(chunks);
      expect(ciphertextSize(n), `size ${n}`).toBe(56 + n + 16 * chunks);
      expect(ct.length, `size ${n}`).toBe(ciphertextSize(n));
      // the final chunk is always short: 16 bytes of tag plus n mod 16384
      expect(ct.length - chunkCiphertextOffset(chunks - 1)).toBe(16 + (n % C));
    }
    expect(chunkCiphertextOffset(0)).toBe(56);
    expect(chunkCiphertextOffset(3)).toBe(56 + 3 * 16_400);
    expect(ciphertextSize(2 ** 52 - 1)).toBe(56 + 2 ** 52 - 1 + 16 * 2 ** 38);
    expect(() => ciphertextSize(2 ** 52)).toThrow(InvalidArgumentError);
    expect(() => ciphertextSize(-1)).toThrow(InvalidArgumentError);
    expect(() => chunkCiphertextOffset(2 ** 38)).toThrow(InvalidArgumentError);
  });

  it('round trip for sizes 0, 1, chunk-1, chunk, chunk+1 and several chunks, pushed in random pieces', () => {
    const oneShot = new Map(EDGE_SIZES.map((n) => [n, encryptAttachment(p, key, data(n, n))]));
    fc.assert(fc.property(
      fc.constantFrom(...EDGE_SIZES),
      fc.array(fc.integer({ min: 0, max: 3 * C }), { minLength: 1, maxLength: 8 }).filter((a) => a.some((x) => x > 0)),
      fc.array(fc.integer({ min: 0, max: 3 * S }), { minLength: 1, maxLength: 8 }).filter((a) => a.some((x) => x > 0)),
      (n, encPieces, decPieces) => {
        const plaintext = data(n, n);
        const ct = pump(new AttachmentEncryptor(p, key), plaintext, encPieces);
        expect(toHex(ct)).toBe(toHex(oneShot.get(n)!)); // deterministic for a key, whatever the pieces
        const back = pump(new AttachmentDecryptor(p, key), ct, decPieces);
        expect(back.length).toBe(n);
        expect(toHex(back)).toBe(toHex(plaintext));
      },
    ), { numRuns: p === nodeCrypto ? 60 : 20 });
    expect(toHex(decryptAttachment(p, key, oneShot.get(0)!))).toBe('');
  });

  it('updateInto/finishInto write exactly what update/finish return, for random sizes, pieces, offsets and resumption', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 6 * C + 3 }),
      fc.array(fc.integer({ min: 0, max: 3 * C }), { minLength: 1, maxLength: 8 }).filter((a) => a.some((x) => x > 0)),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 3 }),
      (n, pieces, slack, startChunk) => {
        const start = Math.min(startChunk, Math.floor(n / C));
        const plaintext = data(n, n + 3).subarray(start * C);
        const expected = pump(new AttachmentEncryptor(p, key, { startChunk: start }), plaintext, pieces);
        const enc = new AttachmentEncryptor(p, key, { startChunk: start });
        // One buffer, reused and dirtied between calls: each call's output is taken before the next.
        const out = new Uint8Array(slack + 4 * S + ATTACHMENT_HEADER_LENGTH).fill(0xee);
        const got: Uint8Array[] = [];
        let offset = 0;
        for (let i = 0; offset < plaintext.length; i++) {
          const piece = plaintext.subarray(offset, offset + pieces[i % pieces.length]!);
          const room = enc.updateOutputLength(piece.length);
          const w = enc.updateInto(piece, out, slack);
          expect(w).toBe(room);
          got.push(out.slice(slack, slack + w));
          out.fill(0xee);
          offset += piece.length;
        }
        const last = enc.finishOutputLength();
        const w = enc.finishInto(out, slack);
        expect(w).toBe(last);
        got.push(out.slice(slack, slack + w));
        const joined = concat(got);
        expect(joined.length).toBe(expected.length);
        expect(toHex(joined)).toBe(toHex(expected));
        if (start === 0) expect(joined.length).toBe(ciphertextSize(n));
      },
    ), { numRuns: p === nodeCrypto ? 80 : 15 });
  });

  it('updateInto refuses an output buffer without room (nothing consumed) and both forms can be mixed', () => {
    const plaintext = data(3 * C + 77, 11);
    const expected = encryptAttachment(p, key, plaintext);
    const enc = new AttachmentEncryptor(p, key);
    const need = enc.updateOutputLength(2 * C);
    expect(need).toBe(ATTACHMENT_HEADER_LENGTH + 2 * S);
    expect(thrown(() => enc.updateInto(plaintext.subarray(0, 2 * C), new Uint8Array(need - 1), 0))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => enc.updateInto(plaintext.subarray(0, 2 * C), new Uint8Array(need + 5), 6))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => enc.updateInto(plaintext.subarray(0, 2 * C), new Uint8Array(need), -1))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => enc.updateInto(plaintext.subarray(0, 2 * C), new Uint8Array(need), 0.5))).toBeInstanceOf(InvalidArgumentError);
    // Nothing was consumed by the refused calls: the stream goes on from byte 0.
    const parts: Uint8Array[] = [];
    const out = new Uint8Array(need);
    parts.push(out.slice(0, enc.updateInto(plaintext.subarray(0, 2 * C), out, 0)));
    parts.push(...enc.update(plaintext.subarray(2 * C, 3 * C + 10)));
    const tail = new Uint8Array(enc.finishOutputLength() + 67 + enc.updateOutputLength(67));
    const a = enc.updateInto(plaintext.subarray(3 * C + 10), tail, 0);
    expect(a).toBe(0); // a partial chunk only: buffered, nothing out
    const b = enc.finishInto(tail, a);
    parts.push(tail.slice(0, a + b));
    expect(toHex(concat(parts))).toBe(toHex(expected));
    expect(thrown(() => enc.finishInto(new Uint8Array(100), 0))).toBeInstanceOf(InvalidArgumentError); // finished
    expect(thrown(() => enc.updateInto(new Uint8Array(1), new Uint8Array(100), 0))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => new AttachmentEncryptor(p, key).finishInto(new Uint8Array(ATTACHMENT_HEADER_LENGTH + 15), 0))).toBeInstanceOf(InvalidArgumentError);
  });

  it('a flipped bit anywhere (header, each chunk body and tag, the final chunk) is a typed error, with no plaintext of that chunk', () => {
    const plaintext = data(2 * C + 100, 7);
    const ct = encryptAttachment(p, key, plaintext);
    const positions: { at: number; chunk: number | 'header' }[] = [
      { at: 0, chunk: 'header' }, // salt
      { at: 23, chunk: 'header' },
      { at: 24, chunk: 'header' }, // commitment
      { at: 55, chunk: 'header' },
    ];
    for (let i = 0; i < 3; i++) {
      const start = chunkCiphertextOffset(i);
      const end = Math.min(ct.length, start + S);
      positions.push({ at: start, chunk: i }, { at: start + 50, chunk: i }, { at: end - 17, chunk: i }, { at: end - 1, chunk: i });
    }
    for (const { at, chunk } of positions) {
      for (const bit of [0, 7]) {
        const bad = ct.slice();
        bad[at]! ^= 1 << bit;
        const r = feed(new AttachmentDecryptor(p, key), splitChunks(bad));
        const where = `byte ${at} bit ${bit}`;
        if (chunk === 'header') {
          expect(r.error, where).toBeInstanceOf(AttachmentKeyMismatchError);
          expect(r.failedAt, where).toBe(0);
          expect(r.out.length, where).toBe(0);
        } else {
          expect(r.error, where).toBeInstanceOf(AttachmentCorruptError);
          expect((r.error as AttachmentCorruptError).chunkIndex, where).toBe(chunk);
          // exactly the chunks before the damaged one came out, and they are right
          expect(r.out.length, where).toBe(chunk * C);
          expect(toHex(r.out), where).toBe(toHex(plaintext.subarray(0, chunk * C)));
          expect(r.failedAt, where).toBe(chunk === 2 ? 'finish' : chunk + 1);
        }
        expect(thrown(() => decryptAttachment(p, key, bad)), where).toBeInstanceOf(ProtocolError);
      }
    }
  });

  it('truncation at a chunk boundary or inside the header is ATTACHMENT_TRUNCATED at finish()', () => {
    for (const n of [C - 1, 2 * C, 3 * C + 5]) {
      const plaintext = data(n, 3);
      const ct = encryptAttachment(p, key, plaintext);
      const chunks = plaintextChunkCount(n);
      for (let k = 0; k < chunks; k++) {
        // everything before chunk k: the final chunk (and maybe more) is missing
        const dec = new AttachmentDecryptor(p, key);
        const out = concat(dec.update(ct.subarray(0, chunkCiphertextOffset(k))));
        expect(toHex(out)).toBe(toHex(plaintext.subarray(0, k * C)));
        const e = thrown(() => dec.finish());
        expect(e, `size ${n}, cut before chunk ${k}`).toBeInstanceOf(AttachmentTruncatedError);
        expect((e as ProtocolError).code).toBe('ATTACHMENT_TRUNCATED');
      }
    }
    const ct = encryptAttachment(p, key, data(10));
    for (const cut of [0, 1, 24, 55]) {
      const dec = new AttachmentDecryptor(p, key);
      expect(dec.update(ct.subarray(0, cut))).toEqual([]);
      expect(thrown(() => dec.finish()), `cut at ${cut}`).toBeInstanceOf(AttachmentTruncatedError);
    }
  });

  it('truncation inside a chunk is a typed error at finish(), never a shorter file', () => {
    const plaintext = data(3 * C + 5, 4);
    const ct = encryptAttachment(p, key, plaintext);
    for (let k = 0; k < 4; k++) {
      for (const into of [1, 15, 16, 17, 5000, S - 1]) {
        const cut = chunkCiphertextOffset(k) + into;
        if (cut >= ct.length) continue;
        const dec = new AttachmentDecryptor(p, key);
        const out = concat(dec.update(ct.subarray(0, cut)));
        expect(out.length).toBe(k * C);
        const e = thrown(() => dec.finish());
        const where = `cut ${into} bytes into chunk ${k}`;
        if (into < 16) expect(e, where).toBeInstanceOf(AttachmentTruncatedError);
        else expect(e, where).toBeInstanceOf(AttachmentCorruptError);
      }
    }
  });

  it('extension after the final chunk is an error: another final chunk, a full chunk, or stray bytes', () => {
    const n = C + 100;
    const plaintext = data(n, 5);
    const ct = encryptAttachment(p, key, plaintext);
    // validly encrypted chunks at the next index (2), made with the resumable encryptor
    const nextFinal = concat(new AttachmentEncryptor(p, key, { startChunk: 2 }).finish());
    const extra = new AttachmentEncryptor(p, key, { startChunk: 2 });
    const nextFull = concat(extra.update(data(C, 9)));
    expect(nextFull.length).toBe(S);
    const tails = { 'a final chunk': nextFinal, 'a full chunk': nextFull, 'a full and a final chunk': concat([nextFull, nextFinal]), 'one byte': new Uint8Array(1), '16 bytes': new Uint8Array(16) };
    for (const [what, tail] of Object.entries(tails)) {
      const extended = concat([ct, tail]);
      for (const pieces of [[extended], splitChunks(extended)]) {
        const r = feed(new AttachmentDecryptor(p, key), pieces);
        expect(r.error, what).toBeInstanceOf(ProtocolError);
        expect(r.out.length, what).toBeLessThanOrEqual(C); // never the final chunk's plaintext
      }
      expect(thrown(() => decryptAttachment(p, key, extended)), what).toBeInstanceOf(ProtocolError);
    }
    // A file that ends on a full chunk, its empty final chunk replaced by a full chunk
    // validly sealed at that index: it has no final chunk, so it cannot complete.
    const even = encryptAttachment(p, key, data(2 * C, 6));
    const withoutFinal = even.subarray(0, chunkCiphertextOffset(2));
    const r = feed(new AttachmentDecryptor(p, key), [withoutFinal, nextFull]);
    expect(r.error).toBeInstanceOf(AttachmentTruncatedError);
    expect(r.failedAt).toBe('finish');
  });

  it('reordered or duplicated chunks fail at the first misplaced chunk', () => {
    const plaintext = data(3 * C + 1, 8);
    const ct = encryptAttachment(p, key, plaintext);
    const [header, c0, c1, c2, last] = splitChunks(ct);
    const swapped = feed(new AttachmentDecryptor(p, key), [header!, c1!, c0!, c2!, last!]);
    expect(swapped.error).toBeInstanceOf(AttachmentCorruptError);
    expect((swapped.error as AttachmentCorruptError).chunkIndex).toBe(0);
    expect(swapped.out.length).toBe(0);
    const duplicated = feed(new AttachmentDecryptor(p, key), [header!, c0!, c0!, c2!, last!]);
    expect((duplicated.error as AttachmentCorruptError).chunkIndex).toBe(1);
    expect(toHex(duplicated.out)).toBe(toHex(plaintext.subarray(0, C)));
  });

  it('a wrong key is rejected at the header, before any chunk is decrypted', () => {
    const ct = encryptAttachment(p, key, data(C + 10));
    const dec = new AttachmentDecryptor(p, otherKey);
    expect(dec.update(ct.subarray(0, 55))).toEqual([]);
    expect(thrown(() => dec.update(ct.subarray(55)))).toBeInstanceOf(AttachmentKeyMismatchError);
    expect(thrown(() => decryptAttachment(p, otherKey, ct))).toBeInstanceOf(AttachmentKeyMismatchError);
    expect(thrown(() => checkAttachmentHeader(p, otherKey, ct))).toBeInstanceOf(AttachmentKeyMismatchError);
    expect(thrown(() => decryptAttachmentChunk(p, otherKey, 0, ct.subarray(56, 56 + S), false))).toBeInstanceOf(AttachmentCorruptError);
  });

  it('after an error every later call repeats it (no clean end after a failure)', () => {
    const ct = encryptAttachment(p, key, data(2 * C));
    const bad = ct.slice();
    bad[chunkCiphertextOffset(1) + 3]! ^= 1;
    const dec = new AttachmentDecryptor(p, key);
    const first = thrown(() => dec.update(bad));
    expect(first).toBeInstanceOf(AttachmentCorruptError);
    expect(thrown(() => dec.update(new Uint8Array(0)))).toBe(first);
    expect(thrown(() => dec.finish())).toBe(first);
  });

  it('key commitment: a chunk crafted to decrypt under two keys is still bound to one key by the header', () => {
    // AES-GCM alone is not key-committing ("invisible salamanders"): solve
    // GHASH for one ciphertext block so that one sealed chunk authenticates
    // under both derived (AEAD key, nonce) pairs.
    const k1 = keyOf('salamander 1'), k2 = keyOf('salamander 2');
    const ctx = utf8('Sigilo_Attachment_v1');
    const d1 = deriveCobblestoneKeys(p, k1, attachmentSalt(p, k1), ctx);
    const d2 = deriveCobblestoneKeys(p, k2, attachmentSalt(p, k2), ctx);
    const sealed = twoKeyGcmChunk(d1, d2, data(16, 11));
    const m1 = decryptAttachmentChunk(p, k1, 0, sealed, true);
    const m2 = decryptAttachmentChunk(p, k2, 0, sealed, true);
    expect(toHex(m1)).not.toBe(toHex(m2)); // the chunk layer alone accepts both keys
    const h1 = attachmentHeader(p, k1), h2 = attachmentHeader(p, k2);
    expect(toHex(h1)).not.toBe(toHex(h2));
    // The blob carries one header; it opens under its own key only.
    expect(toHex(decryptAttachment(p, k1, concat([h1, sealed])))).toBe(toHex(m1));
    expect(thrown(() => decryptAttachment(p, k2, concat([h1, sealed])))).toBeInstanceOf(AttachmentKeyMismatchError);
    expect(toHex(decryptAttachment(p, k2, concat([h2, sealed])))).toBe(toHex(m2));
    expect(thrown(() => decryptAttachment(p, k1, concat([h2, sealed])))).toBeInstanceOf(AttachmentKeyMismatchError);
  });

  it('resumed encryption and decryption from a chunk boundary give the same bytes', () => {
    const n = 4 * C + 123;
    const plaintext = data(n, 12);
    const full = encryptAttachment(p, key, plaintext);
    for (const k of [1, 2, 4]) {
      const resumed = pump(new AttachmentEncryptor(p, key, { startChunk: k }), plaintext.subarray(k * C), [7000, C, 1]);
      expect(resumed.length, `from chunk ${k}`).toBe(full.length - chunkCiphertextOffset(k));
      expect(toHex(resumed), `from chunk ${k}`).toBe(toHex(full.subarray(chunkCiphertextOffset(k))));
      const back = pump(new AttachmentDecryptor(p, key, { startChunk: k }), full.subarray(chunkCiphertextOffset(k)), [S + 3, 999]);
      expect(toHex(back), `from chunk ${k}`).toBe(toHex(plaintext.subarray(k * C)));
      // a resumed decryption fed from the wrong offset fails
      const r = feed(new AttachmentDecryptor(p, key, { startChunk: k }), [full.subarray(chunkCiphertextOffset(k) + 1)]);
      expect(r.error, `from chunk ${k}, misaligned`).toBeInstanceOf(ProtocolError);
      // and a stream resumed at the wrong index fails
      const w = feed(new AttachmentDecryptor(p, key, { startChunk: k - 1 }), [full.subarray(chunkCiphertextOffset(k))]);
      // (from chunk 0 the decryptor expects the header, so there it is the key check that fails)
      expect(w.error, `chunk ${k} presented as ${k - 1}`).toBeInstanceOf(k === 1 ? AttachmentKeyMismatchError : AttachmentCorruptError);
      expect(w.out.length).toBe(0);
    }
  });

  it('random access: each chunk decrypts alone at its index; wrong index or final flag fails', () => {
    const n = 3 * C + 77;
    const plaintext = data(n, 13);
    const ct = encryptAttachment(p, key, plaintext);
    checkAttachmentHeader(p, key, ct.subarray(0, 56));
    expect(thrown(() => checkAttachmentHeader(p, key, ct.subarray(0, 55)))).toBeInstanceOf(AttachmentTruncatedError);
    const chunks = plaintextChunkCount(n);
    for (let i = 0; i < chunks; i++) {
      const final = i === chunks - 1;
      const sealed = ct.subarray(chunkCiphertextOffset(i), final ? ct.length : chunkCiphertextOffset(i + 1));
      expect(toHex(decryptAttachmentChunk(p, key, i, sealed, final))).toBe(toHex(plaintext.subarray(i * C, (i + 1) * C)));
      expect(thrown(() => decryptAttachmentChunk(p, key, i + 1, sealed, final))).toBeInstanceOf(AttachmentCorruptError);
      // a full chunk is never final, the final chunk is never full
      expect(thrown(() => decryptAttachmentChunk(p, key, i, sealed, !final))).toBeInstanceOf(ProtocolError);
    }
    expect(thrown(() => decryptAttachmentChunk(p, key, 0, ct.subarray(56, 56 + S - 1), false))).toBeInstanceOf(AttachmentTruncatedError);
    expect(thrown(() => decryptAttachmentChunk(p, key, 3, new Uint8Array(15), true))).toBeInstanceOf(AttachmentTruncatedError);
  });

  it('chunk i is sealed with nonce = base nonce XOR be96(i), high indices included', () => {
    const d = deriveCobblestoneKeys(p, key, attachmentSalt(p, key), utf8('Sigilo_Attachment_v1'));
    const chunk = data(C, 21);
    for (const i of [0, 1, 255, 256, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 0x1234_5678, 2 ** 38 - 1]) {
      const nonce = bytes12(big(d.baseNonce) ^ BigInt(i));
      const expected = p.aes256GcmEncrypt(d.aeadKey, nonce, chunk, new Uint8Array(0));
      const skip = i === 0 ? ATTACHMENT_HEADER_LENGTH : 0; // from chunk 0 the header comes first
      const full = concat(new AttachmentEncryptor(p, key, { startChunk: i }).update(chunk)).subarray(skip);
      expect(toHex(full), `full chunk ${i}`).toBe(toHex(expected));
      expect(toHex(decryptAttachmentChunk(p, key, i, full, false)), `chunk ${i}`).toBe(toHex(chunk));
      const last = concat(new AttachmentEncryptor(p, key, { startChunk: i }).finish()).subarray(skip);
      expect(toHex(last), `final chunk ${i}`).toBe(toHex(p.aes256GcmEncrypt(d.aeadKey, nonce, new Uint8Array(0), new Uint8Array(0))));
    }
    // past the last index there is nothing more to seal
    const enc = new AttachmentEncryptor(p, key, { startChunk: 2 ** 38 - 1 });
    expect(thrown(() => enc.update(data(2 * C)))).toBeInstanceOf(InvalidArgumentError);
  });

  it('the salt, context and header follow the spec (HKDF-Expand-SHA512 of the key)', () => {
    const ct = encryptAttachment(p, key, data(5));
    const salt = hmac(sha512, key, Uint8Array.of(...utf8('Sigilo_AttachmentSalt_v1'), 1)).subarray(0, 24);
    expect(toHex(attachmentSalt(p, key))).toBe(toHex(salt));
    const info = Uint8Array.of(...utf8('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM'), 0, ...salt, ...utf8('Sigilo_Attachment_v1'));
    const t1 = hmac(sha512, key, Uint8Array.of(...info, 1));
    const t2 = hmac(sha512, key, Uint8Array.of(...t1, ...info, 2));
    const commitment = Uint8Array.of(...t1, ...t2).subarray(44, 76);
    expect(toHex(ct.subarray(0, 56))).toBe(toHex(salt) + toHex(commitment));
    expect(toHex(attachmentHeader(p, key))).toBe(toHex(ct.subarray(0, 56)));
  });

  it('bad arguments and misuse are InvalidArgumentError, and messages carry no key material', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'k'.repeat(32) as unknown as Uint8Array]) {
      expect(thrown(() => new AttachmentEncryptor(p, bad))).toBeInstanceOf(InvalidArgumentError);
      expect(thrown(() => new AttachmentDecryptor(p, bad))).toBeInstanceOf(InvalidArgumentError);
      expect(thrown(() => encryptAttachment(p, bad, new Uint8Array(1)))).toBeInstanceOf(InvalidArgumentError);
      expect(thrown(() => decryptAttachmentChunk(p, bad, 0, new Uint8Array(S), false))).toBeInstanceOf(InvalidArgumentError);
    }
    for (const startChunk of [-1, 1.5, 2 ** 38, Number.NaN]) {
      expect(thrown(() => new AttachmentEncryptor(p, key, { startChunk }))).toBeInstanceOf(InvalidArgumentError);
      expect(thrown(() => new AttachmentDecryptor(p, key, { startChunk }))).toBeInstanceOf(InvalidArgumentError);
    }
    const enc = new AttachmentEncryptor(p, key);
    expect(thrown(() => enc.update('text' as unknown as Uint8Array))).toBeInstanceOf(InvalidArgumentError);
    enc.finish();
    expect(thrown(() => enc.update(new Uint8Array(1)))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => enc.finish())).toBeInstanceOf(InvalidArgumentError);
    const dec = new AttachmentDecryptor(p, key);
    dec.update(encryptAttachment(p, key, new Uint8Array(3)));
    dec.finish();
    expect(thrown(() => dec.update(new Uint8Array(1)))).toBeInstanceOf(InvalidArgumentError);
    const keyHex = toHex(key);
    for (const e of [thrown(() => decryptAttachment(p, key, new Uint8Array(60))), thrown(() => decryptAttachment(p, otherKey, encryptAttachment(p, key, new Uint8Array(1))))]) {
      expect(e).toBeInstanceOf(ProtocolError);
      expect(String((e as Error).message)).not.toContain(keyHex.slice(0, 8));
    }
  });
});

it('node and portable providers produce identical ciphertexts', () => {
  const key = keyOf('cross');
  for (const n of [0, C - 1, C, 2 * C + 9]) {
    expect(toHex(encryptAttachment(portableCrypto, key, data(n)))).toBe(toHex(encryptAttachment(nodeCrypto, key, data(n))));
  }
});

describe('padding', () => {
  it('matches worked examples (spec/attachments.md §4)', () => {
    const table: [number, number][] = [
      [0, 1024], [1, 1024], [1000, 1024], [1024, 1024], [1025, 1088], [2000, 2048], [2049, 2176],
      [16_384, 16_384], [16_385, 17_408], [100_000, 100_352], [1_000_000, 1_015_808],
      [10_000_000, 10_223_616], [1_073_741_824, 1_073_741_824], [1_073_741_825, 1_107_296_256],
    ];
    for (const [size, padded] of table) expect(paddedSize(size), `size ${size}`).toBe(padded);
  });

  it('is monotone, never below the size, idempotent, and bounded in overhead', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 44 }), fc.integer({ min: 0, max: 2 ** 44 }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      expect(paddedSize(lo)).toBeLessThanOrEqual(paddedSize(hi));
      const p = paddedSize(a);
      expect(p).toBeGreaterThanOrEqual(a);
      expect(paddedSize(p)).toBe(p);
      if (a > ATTACHMENT_MIN_PADDED_SIZE) expect((p - a) / a).toBeLessThan(1 / 16);
      if (a > 65_536) expect((p - a) / a).toBeLessThan(1 / 32);
      if (a <= ATTACHMENT_MIN_PADDED_SIZE) expect(p).toBe(ATTACHMENT_MIN_PADDED_SIZE);
    }), { numRuns: 1000 });
    // around powers of two, where log2 rounding would go wrong
    for (let e = 11; e <= 51; e++) {
      for (const s of [2 ** e - 1, 2 ** e, 2 ** e + 1]) {
        const p = paddedSize(s);
        expect(p).toBeGreaterThanOrEqual(s);
        expect(p - s).toBeLessThan(s / 16);
      }
    }
  });

  it('leaks O(log log n) bits: 2^S + 1 buckets between 2^E and 2^(E+1)', () => {
    for (const e of [11, 14, 17]) {
      const buckets = new Set<number>();
      for (let s = 2 ** e; s < 2 ** (e + 1); s++) buckets.add(paddedSize(s));
      const sBits = Math.floor(Math.log2(e)) + 1;
      expect(buckets.size, `E = ${e}`).toBe(2 ** sBits + 1);
    }
  });

  it('rejects sizes that are not non-negative integers, or beyond the cipher limit', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(thrown(() => paddedSize(bad)), String(bad)).toBeInstanceOf(InvalidArgumentError);
    }
    expect(thrown(() => paddedSize(ATTACHMENT_MAX_SIZE))).toBeInstanceOf(InvalidArgumentError);
    expect(paddedSize(2 ** 51 + 1)).toBeLessThanOrEqual(ATTACHMENT_MAX_SIZE);
  });

  it('padAttachment appends zeros up to the bucket', () => {
    const content = data(1500, 2);
    const padded = padAttachment(content);
    expect(padded.length).toBe(paddedSize(1500));
    expect(toHex(padded.subarray(0, 1500))).toBe(toHex(content));
    expect(padded.subarray(1500).every((b) => b === 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// GCM arithmetic for the key-commitment test (NIST SP 800-38D §6.3–§7.1).

const R = 0xe1n << 120n;
const ONE = 1n << 127n; // the field's 1 in GCM bit order (x^0 is the leftmost bit)

function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

function gfPow(x: bigint, e: bigint): bigint {
  let result = ONE;
  let base = x;
  while (e > 0n) {
    if (e & 1n) result = gfMul(result, base);
    base = gfMul(base, base);
    e >>= 1n;
  }
  return result;
}

const big = (b: Uint8Array): bigint => BigInt('0x' + (toHex(b) || '0'));
const bytes16 = (x: bigint): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(32, '0'), 'hex'));
const bytes12 = (x: bigint): Uint8Array => Uint8Array.from(Buffer.from(x.toString(16).padStart(24, '0'), 'hex'));

function aesBlock(key: Uint8Array, block: Uint8Array): bigint {
  const c = createCipheriv('aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return big(new Uint8Array(c.update(block)));
}

/**
 * A two-block chunk C1 ‖ C2 with one tag valid under (k1, n1) and (k2, n2):
 * T = E_k(J0) ⊕ C1·H^3 ⊕ C2·H^2 ⊕ L·H for both keys, solved for C1.
 */
function twoKeyGcmChunk(a: { aeadKey: Uint8Array; baseNonce: Uint8Array }, b: { aeadKey: Uint8Array; baseNonce: Uint8Array }, c2bytes: Uint8Array): Uint8Array {
  const j0 = (n: Uint8Array) => Uint8Array.of(...n, 0, 0, 0, 1);
  const h1 = aesBlock(a.aeadKey, new Uint8Array(16)), h2 = aesBlock(b.aeadKey, new Uint8Array(16));
  const e1 = aesBlock(a.aeadKey, j0(a.baseNonce)), e2 = aesBlock(b.aeadKey, j0(b.baseNonce));
  const c2 = big(c2bytes);
  const lengths = 256n; // len(A) = 0, len(C) = 256 bits
  const sq1 = gfMul(h1, h1), sq2 = gfMul(h2, h2);
  const rhs = e1 ^ e2 ^ gfMul(c2, sq1 ^ sq2) ^ gfMul(lengths, h1 ^ h2);
  const c1 = gfMul(rhs, gfPow(gfMul(sq1, h1) ^ gfMul(sq2, h2), (1n << 128n) - 2n));
  const tag = e1 ^ gfMul(c1, gfMul(sq1, h1)) ^ gfMul(c2, sq1) ^ gfMul(lengths, h1);
  return Uint8Array.of(...bytes16(c1), ...c2bytes, ...bytes16(tag));
}
