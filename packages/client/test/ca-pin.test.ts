/**
 * The organisation-CA pin of the Node transport (client.md §1.1) against a real TLS server that
 * presents only its leaf (as a proxy might) and offers the CA at /ca.crt: the CA is fetched and
 * checked against the pinned fingerprint, the chain is verified against that CA alone, and the
 * host name or address of the URL must be one the certificate names.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganisationCa } from '@sigilo/server';
import { fetchPinnedCa, pinnedSocket } from '../../client-node/src/index.js';

describe('CA pin (Node transport)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-capin-'));
  let server: Server;
  let port = 0;
  let caFingerprint = '';
  let leafFingerprint = '';
  let caDer: Buffer;
  let leafOnlyPem = '';
  let keyPem = '';
  const servers: Server[] = [];

  beforeAll(async () => {
    const info = await createOrganisationCa(dir, { organisation: 'Example NGO', dns: ['localhost'], ips: ['127.0.0.1'] });
    caFingerprint = info.caFingerprint;
    leafFingerprint = info.serverFingerprint;
    caDer = Buffer.from(new X509Certificate(info.caCert).raw);
    const chain = readFileSync(join(dir, 'tls', 'ca', 'server.crt'), 'utf8');
    leafOnlyPem = chain.slice(0, chain.indexOf('-----END CERTIFICATE-----') + 25);
    keyPem = readFileSync(join(dir, 'tls', 'ca', 'server.key'), 'utf8');
    server = createServer({ cert: leafOnlyPem, key: keyPem }, (req, res) => {
      if (req.url === '/ca.crt') res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' }).end(caDer);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  }, 60_000);

  afterAll(() => {
    server?.close();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches the CA from /ca.crt when the chain does not carry it, only with the pinned fingerprint', async () => {
    const pem = await fetchPinnedCa(`https://127.0.0.1:${port}`, caFingerprint);
    expect(new X509Certificate(pem).fingerprint256).toBe(caFingerprint);
    await expect(fetchPinnedCa(`https://127.0.0.1:${port}`, 'CD:'.repeat(31) + 'CD')).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH', message: expect.stringMatching(/does not present a CA with the fingerprint CD:CD/) });
    // The leaf's own fingerprint is in the chain but is no CA.
    await expect(fetchPinnedCa(`https://127.0.0.1:${port}`, leafFingerprint)).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH', message: expect.stringMatching(/not a certificate authority/) });
  });

  it('verifies the chain against the pinned CA and the address of the URL; a matching leaf pin is accepted too', async () => {
    const caCert = await fetchPinnedCa(`https://127.0.0.1:${port}`, caFingerprint);
    const ok = await pinnedSocket(new URL(`wss://127.0.0.1:${port}/v1/ws`), { fingerprint: undefined, caFingerprint, caCert });
    expect(ok.authorized).toBe(true);
    ok.destroy();
    // The same server on 127.0.0.2 (Linux routes all of 127/8 to loopback): the certificate does
    // not name that address.
    const second = await new Promise<number>((resolve, reject) => {
      const again = createServer({ cert: leafOnlyPem, key: keyPem }, (_req, res) => res.writeHead(404).end());
      again.once('error', reject);
      again.listen(0, '127.0.0.2', () => { servers.push(again); resolve((again.address() as { port: number }).port); });
    });
    await expect(pinnedSocket(new URL(`wss://127.0.0.2:${second}/v1/ws`), { fingerprint: undefined, caFingerprint, caCert }))
      .rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH', message: expect.stringMatching(/not issued by the pinned organisation CA .*ERR_TLS_CERT_ALTNAME_INVALID/) });
    // Another CA (same names) does not verify this server.
    const other = mkdtempSync(join(tmpdir(), 'sigilo-capin-other-'));
    try {
      const o = await createOrganisationCa(other, { organisation: 'Impostor', dns: ['localhost'], ips: ['127.0.0.1'] });
      await expect(pinnedSocket(new URL(`wss://127.0.0.1:${port}/v1/ws`), { fingerprint: undefined, caFingerprint: o.caFingerprint, caCert: o.caCert }))
        .rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH' });
      // …unless the leaf itself is pinned as well.
      const leaf = await pinnedSocket(new URL(`wss://127.0.0.1:${port}/v1/ws`), { fingerprint: leafFingerprint, caFingerprint: o.caFingerprint, caCert: o.caCert });
      leaf.destroy();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
