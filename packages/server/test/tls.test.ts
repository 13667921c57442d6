import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf, generateSelfSignedCertificate } from '../src/tls/self-signed.js';
import { loadTls } from '../src/tls/tls.js';
import { startTestServer, tempDir } from './support/server.js';
import { TestClient } from './support/test-client.js';

describe('TLS', () => {
  const dir = tempDir('tls');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a valid self-signed X.509 certificate without external tools', () => {
    const g = generateSelfSignedCertificate({ commonName: 'test', names: ['localhost', '127.0.0.1', '::1', 'sigilo.example'], notBefore: new Date('2026-01-01'), notAfter: new Date('2060-01-01') });
    const x = new X509Certificate(g.certPem);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:sigilo.example');
    expect(x.validTo).toMatch(/2060/);
    expect(x.ca).toBe(false);
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(g.fingerprint).toBe(x.fingerprint256);
    expect(fingerprintOf(new Uint8Array(x.raw))).toBe(createHash('sha256').update(x.raw).digest('hex').toUpperCase().match(/../g)!.join(':'));
  });

  it('generates once and reuses the certificate on later starts', () => {
    const first = loadTls(dir, undefined, undefined, new Date());
    const second = loadTls(dir, undefined, undefined, new Date());
    expect(first.generated).toBe(true);
    expect(second.generated).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it('uses a provided certificate and key, and explains a mismatch', async () => {
    const a = generateSelfSignedCertificate({ commonName: 'a', names: ['127.0.0.1'], notBefore: new Date(Date.now() - 1000), notAfter: new Date('2040-01-01') });
    const b = generateSelfSignedCertificate({ commonName: 'b', names: ['127.0.0.1'], notBefore: new Date(Date.now() - 1000), notAfter: new Date('2040-01-01') });
    writeFileSync(join(dir, 'a.crt'), a.certPem);
    writeFileSync(join(dir, 'a.key'), a.keyPem);
    writeFileSync(join(dir, 'b.key'), b.keyPem);
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    expect(() => loadTls(dir, join(dir, 'a.crt'), join(dir, 'b.key'), new Date())).toThrow(/does not belong to the certificate/);
    expect(() => loadTls(dir, join(dir, 'junk.crt'), join(dir, 'a.key'), new Date())).toThrow(/not a PEM X.509 certificate/);
    expect(() => loadTls(dir, join(dir, 'nope.crt'), join(dir, 'a.key'), new Date())).toThrow(/cannot read/);
    const t = await startTestServer({ 'tls.cert': join(dir, 'a.crt'), 'tls.key': join(dir, 'a.key') });
    expect(t.server.tls).toMatchObject({ selfSigned: false, fingerprint: a.fingerprint });
    const c = await TestClient.connect({ url: t.server.url, tls: { cert: readFileSync(join(dir, 'a.crt'), 'utf8') } });
    expect((await c.request({ case: 'ping', value: {} })).body.case).toBe('pong');
    // A client pinning another certificate refuses the connection.
    await expect(TestClient.connect({ url: t.server.url, tls: { cert: b.certPem } })).rejects.toThrow();
    await t.stop();
  });
});
