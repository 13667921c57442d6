/**
 * The server's Ed25519 sender-certificate key, generated on first start into
 * DATA/certificate-key.json (owner-only). Clients learn its public half and
 * key id from /v1/server-info when they pin the server.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider, Random } from '@sigilo/protocol';
import { DataDirError } from './errors.js';

export interface CertificateKey {
  readonly keyId: number;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function loadCertificateKey(dataDir: string, crypto: CryptoProvider, random: Random): CertificateKey {
  const file = join(dataDir, 'certificate-key.json');
  if (existsSync(file)) {
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { keyId: number; privateKey: string };
      const privateKey = new Uint8Array(Buffer.from(j.privateKey, 'base64'));
      if (!Number.isInteger(j.keyId) || privateKey.length !== 32) throw new Error('shape');
      return { keyId: j.keyId, privateKey, publicKey: crypto.ed25519PublicKey(privateKey) };
    } catch {
      throw new DataDirError(`${file} is damaged; restore it from a backup (deleting it makes clients reject sealed-sender messages until they refresh the server keys)`);
    }
  }
  const privateKey = random(32);
  writeFileSync(file, JSON.stringify({ keyId: 1, privateKey: Buffer.from(privateKey).toString('base64') }), { mode: 0o600 });
  return { keyId: 1, privateKey, publicKey: crypto.ed25519PublicKey(privateKey) };
}
