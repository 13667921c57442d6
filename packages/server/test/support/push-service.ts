/**
 * A push service played by an HTTPS server in the test's process, and a browser's side of a subscription, for the
 * tests of wake-up pushes (spec/server.md §8.2): the server's push.test.ts and the web app's push.test.ts. The
 * decryption is an independent RFC 8291 / RFC 8188 implementation (ECDH with the subscription's private key, HKDF,
 * AES-128-GCM), not the server's `web-push` package.
 */
import { createDecipheriv, createECDH, hkdfSync, randomBytes, type ECDH } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { generateSelfSignedCertificate } from '../../src/tls/self-signed.js';
import { tempDir } from './server.js';

export interface PushRequest { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** The push service: records every request; paths under /gone/ answer 410. */
export async function startPushService(): Promise<{ server: Server; origin: string; caFile: string; requests: PushRequest[] }> {
  const dir = tempDir('pushsvc');
  const cert = generateSelfSignedCertificate({ commonName: 'push.test', names: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, cert.certPem);
  const requests: PushRequest[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(req.url!.startsWith('/gone/') ? 410 : 201).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile, requests };
}

/** A browser's side of a subscription: the P-256 key pair and the auth secret. */
export function newSubscriber(origin: string, prefix = 'push'): { ecdh: ECDH; auth: Buffer; endpoint: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, auth: randomBytes(16), endpoint: `${origin}/${prefix}/${randomBytes(12).toString('base64url')}` };
}

/** RFC 8291 §3.4 + RFC 8188: decrypts an aes128gcm Web Push body with the subscriber's private key. */
export function decryptWebPush(body: Buffer, sub: { ecdh: ECDH; auth: Buffer }): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  expect(idlen).toBe(65);
  expect(ciphertext.length).toBeLessThanOrEqual(rs); // a single record
  const ecdhSecret = sub.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.ecdh.getPublicKey(), asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, sub.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record: data, then the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  expect(padded[end]).toBe(2);
  return padded.subarray(0, end);
}
