/**
 * Reads a SQLCipher v4 store file page by page with its key (AES-256-CBC, a 16-byte IV and a 64-byte HMAC reserved at
 * the end of each 4096-byte page; the first 16 bytes of the file are the salt), so a test can search the decrypted
 * bytes of every page, free pages and deleted cells included, for a plaintext that must be gone.
 */
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';

const PAGE = 4096;
const RESERVE = 80;

export function decryptedPages(file: string, key: Uint8Array): Buffer {
  const raw = readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at + PAGE <= raw.length; at += PAGE) {
    const page = raw.subarray(at, at + PAGE);
    const start = at === 0 ? 16 : 0;
    const iv = page.subarray(PAGE - RESERVE, PAGE - RESERVE + 16);
    const d = createDecipheriv('aes-256-cbc', key, iv);
    d.setAutoPadding(false);
    out.push(d.update(page.subarray(start, PAGE - RESERVE)), d.final());
  }
  return Buffer.concat(out);
}
