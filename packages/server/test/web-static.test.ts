/** The web app served at `/`, the security headers of every response, and the organisation CA (spec/web.md §3, spec/server.md §1). */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganisationCa, renewCaServerCertificate } from '../src/tls/ca.js';
import { startTestServer, tempDir, type TestServer } from './support/server.js';

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function fetchTls(t: TestServer, path: string, o: { method?: string; ca?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: t.server.host, port: t.server.port, path, method: o.method ?? 'GET', ca: o.ca ?? t.server.tls.cert, headers: o.headers, servername: 'localhost', localAddress: o.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(r: { headers: Record<string, string | string[] | undefined> }): void {
  const csp = String(r.headers['content-security-policy']);
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toMatch(/connect-src 'self' wss:\/\/127\.0\.0\.1:\d+/);
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(r.headers['referrer-policy']).toBe('no-referrer');
}

describe('web app at / and security headers', () => {
  let t: TestServer;
  let web: string;
  beforeAll(async () => {
    web = join(tempDir('webdir'), 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, '..', 'secret-outside'), 'secret');
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Sigilo</title><script type="module" src="/assets/app-1a2b.js"></script>');
    writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log(1)');
    writeFileSync(join(web, 'sw.js'), 'self.addEventListener("fetch", () => {})');
    writeFileSync(join(web, 'manifest.webmanifest'), '{"name":"Sigilo"}');
    t = await startTestServer({ webDir: web });
  });
  afterAll(async () => {
    await t.stop();
    rmSync(join(web, '..'), { recursive: true, force: true });
  });

  it('serves index.html at / and for app routes, without long caching', async () => {
    for (const p of ['/', '/chats/abc', '/settings?x=1']) {
      const r = await fetchTls(t, p);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body.toString()).toContain('<title>Sigilo</title>');
      expectSecurityHeaders(r);
    }
  });

  it('serves hashed assets as immutable, the worker and manifest as no-cache, with content types and ETags', async () => {
    const js = await fetchTls(t, '/assets/app-1a2b.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const again = await fetchTls(t, '/assets/app-1a2b.js', { headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.status).toBe(304);
    expectSecurityHeaders(again);
    const sw = await fetchTls(t, '/sw.js');
    expect(sw.headers['cache-control']).toBe('no-cache');
    expect(sw.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const m = await fetchTls(t, '/manifest.webmanifest');
    expect(m.headers['content-type']).toBe('application/manifest+json');
    expect(m.headers['cache-control']).toBe('no-cache');
    // A changed file gets a new ETag (the service worker's audit relies on it).
    writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log(2)');
    const changed = await fetchTls(t, '/assets/app-1a2b.js', { headers: { 'if-none-match': String(js.headers.etag) } });
    expect(changed.status).toBe(200);
    expect(changed.body.toString()).toBe('console.log(2)');
  });

  it('refuses paths outside the web directory', async () => {
    for (const p of ['/../secret-outside', '/assets/../../secret-outside', '/assets/..%2f..%2fsecret-outside', '/%2e%2e/%2e%2e/etc/passwd', '/assets/%00.js', '/missing.js']) {
      const r = await fetchTls(t, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toContain('secret');
      expectSecurityHeaders(r);
    }
  });

  it('every other response carries the headers: /health, /v1/*, 404, 405', async () => {
    const health = await fetchTls(t, '/health');
    expect(health.status).toBe(200);
    expectSecurityHeaders(health);
    const info = await fetchTls(t, '/v1/server-info');
    expect(info.status).toBe(200);
    expectSecurityHeaders(info);
    const nf = await fetchTls(t, '/v1/nope');
    expect(nf.status).toBe(404);
    expectSecurityHeaders(nf);
    const post = await fetchTls(t, '/', { method: 'POST' });
    expect(post.status).toBe(405);
    expectSecurityHeaders(post);
    const metrics = await fetchTls(t, '/metrics');
    expectSecurityHeaders(metrics);
  });

  it('a refused WebSocket upgrade carries the headers too', async () => {
    const WebSocket = (await import('ws')).default;
    const ws = new WebSocket(t.server.url.replace('/v1/ws', '/other'), { ca: t.server.tls.cert });
    const res = await new Promise<{ statusCode?: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      ws.once('unexpected-response', (_req, r) => { resolve(r); r.resume(); });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', () => undefined);
    });
    expect(res.statusCode).toBe(404);
    expectSecurityHeaders(res);
  });

  it('/ca says there is nothing to install when the server has no CA', async () => {
    const r = await fetchTls(t, '/ca.crt');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toMatch(/no internal certificate authority/);
    expectSecurityHeaders(r);
  });
});

describe('web app not built', () => {
  it('says how to build it', async () => {
    const t = await startTestServer({ webDir: join(tempDir('noweb'), 'absent') });
    try {
      const r = await fetchTls(t, '/');
      expect(r.status).toBe(503);
      expect(r.body.toString()).toMatch(/npm run build:web/);
      expectSecurityHeaders(r);
    } finally {
      await t.stop();
    }
  });
});

describe('static files per source address', () => {
  it('answers 429 with Retry-After beyond limits.staticRequestsPerMinute from one address; other addresses and /health go on', async () => {
    const web = join(tempDir('webdir-rate'), 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Sigilo</title>');
    writeFileSync(join(web, 'assets', 'app-9f9f.js'), 'console.log(2)');
    const t = await startTestServer({ webDir: web, 'limits.staticRequestsPerMinute': 5 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await fetchTls(t, i % 2 ? '/assets/app-9f9f.js' : '/', { localAddress: '127.0.0.31' })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const refused = await fetchTls(t, '/', { localAddress: '127.0.0.31' });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['cache-control']).toBe('no-store');
      expectSecurityHeaders(refused);
      expect((await fetchTls(t, '/', { localAddress: '127.0.0.32' })).status).toBe(200);
      expect((await fetchTls(t, '/health', { localAddress: '127.0.0.31' })).status).toBe(200);
      expect((await fetchTls(t, '/ca', { localAddress: '127.0.0.31' })).status).toBe(429);
      expect(t.logs.join('\n')).not.toContain('127.0.0.31');
    } finally {
      await t.stop();
      rmSync(join(web, '..'), { recursive: true, force: true });
    }
  });
});

describe('organisation CA (sigilo admin tls-ca)', () => {
  let t: TestServer;
  let dataDir: string;
  let caPem: string;
  beforeAll(async () => {
    dataDir = tempDir('ca');
    const info = await createOrganisationCa(dataDir, { organisation: 'Test Org', dns: ['localhost'], ips: ['127.0.0.1'] });
    caPem = info.caCert;
    t = await startTestServer({}, {}, dataDir);
  });
  afterAll(async () => { await t.stop(); });

  it('keeps the CA key private and verifies with openssl; the server certificate chains to it', () => {
    const dir = join(dataDir, 'tls', 'ca');
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    expect(execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'ca.crt'), join(dir, 'ca.crt')]).toString()).toMatch(/OK/);
    expect(execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'server.crt')]).toString()).toMatch(/OK/);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'ca.crt'), '-noout', '-text']).toString();
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Name Constraints: critical[\s\S]*DNS:localhost/);
    const leaf = new X509Certificate(readFileSync(join(dir, 'server.crt')));
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(days).toBeLessThanOrEqual(398);
    expect(leaf.subjectAltName).toMatch(/DNS:localhost/);
    expect(leaf.subjectAltName).toMatch(/IP Address:127\.0\.0\.1/);
  });

  it('the server uses the CA-issued certificate: a client trusting only the CA connects', async () => {
    expect(t.server.tls.selfSigned).toBe(false);
    const r = await fetchTls(t, '/health', { ca: caPem });
    expect(r.status).toBe(200);
  });

  it('serves the CA at /ca.crt (DER) and /ca (instructions in es/pt/en with the fingerprint)', async () => {
    const der = await fetchTls(t, '/ca.crt', { ca: caPem });
    expect(der.headers['content-type']).toBe('application/x-x509-ca-cert');
    const ca = new X509Certificate(caPem);
    expect(der.body.equals(ca.raw)).toBe(true);
    expectSecurityHeaders(der);
    const en = await fetchTls(t, '/ca', { ca: caPem, headers: { 'accept-language': 'en-GB,en;q=0.8' } });
    expect(en.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = en.body.toString();
    // The fingerprint may wrap at its colons on a phone's narrow screen (360 px shows ~30 of its 95 characters).
    expect(html.replaceAll('<wbr>', '')).toContain(ca.fingerprint256);
    expect(html).toContain(ca.fingerprint256.replaceAll(':', ':<wbr>'));
    expect(html).toMatch(/Android/);
    expect(html).toMatch(/Windows/);
    expect(html).toMatch(/macOS/);
    expect(html).toMatch(/Firefox/);
    // No script and no inline style attribute; the one <style> element is admitted by its hash alone.
    expect(html).not.toMatch(/<script| style=/);
    const styles = [...html.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    expect(String(en.headers['content-security-policy'])).toContain(`style-src 'self' 'sha256-${hash}'`);
    expect(String(en.headers['content-security-policy'])).not.toContain('unsafe-inline');
    expect((await fetchTls(t, '/ca', { ca: caPem, headers: { 'accept-language': 'es-AR,es;q=0.9' } })).body.toString()).toContain('Instala el certificado');
    expect((await fetchTls(t, '/ca?lang=pt', { ca: caPem })).body.toString()).toContain('Instale o certificado');
  });

  it('/ca.crt and /ca carry an ETag and answer 304 when the browser already holds them', async () => {
    const der = await fetchTls(t, '/ca.crt', { ca: caPem });
    expect(der.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const again = await fetchTls(t, '/ca.crt', { ca: caPem, headers: { 'if-none-match': String(der.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expectSecurityHeaders(again);
    const page = await fetchTls(t, '/ca?lang=pt', { ca: caPem });
    expect(page.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect((await fetchTls(t, '/ca?lang=pt', { ca: caPem, headers: { 'if-none-match': String(page.headers.etag) } })).status).toBe(304);
    // Another language is another page: sent in full.
    expect((await fetchTls(t, '/ca?lang=es', { ca: caPem, headers: { 'if-none-match': String(page.headers.etag) } })).status).toBe(200);
  });

  it('renews the server certificate at start only when it nears expiry, from the same CA', async () => {
    const file = join(dataDir, 'tls', 'ca', 'server.crt');
    const before = readFileSync(file, 'utf8');
    await renewCaServerCertificate(dataDir, new Date(Date.now() + 10 * 86_400_000));
    expect(readFileSync(file, 'utf8')).toBe(before);
    const later = new Date(Date.now() + 380 * 86_400_000);
    await renewCaServerCertificate(dataDir, later);
    const after = readFileSync(file, 'utf8');
    expect(after).not.toBe(before);
    expect(Date.parse(new X509Certificate(after).validTo)).toBeGreaterThan(later.getTime() + 300 * 86_400_000);
    expect(execFileSync('openssl', ['verify', '-attime', String(Math.floor(later.getTime() / 1000) + 60), '-CAfile', join(dataDir, 'tls', 'ca', 'ca.crt'), file]).toString()).toMatch(/OK/);
  });

  it('never replaces an existing CA and refuses bad names', async () => {
    await expect(createOrganisationCa(dataDir, { organisation: 'X', dns: ['localhost'], ips: [] })).rejects.toThrow(/exists/);
    const d = tempDir('ca-bad');
    await expect(createOrganisationCa(d, { organisation: 'X', dns: ['bad name'], ips: [] })).rejects.toThrow(/not a host name/);
    await expect(createOrganisationCa(d, { organisation: 'X', dns: [], ips: ['300.1.1.1'] })).rejects.toThrow(/not an IPv4/);
    await expect(createOrganisationCa(d, { organisation: 'X', dns: [], ips: [] })).rejects.toThrow(/at least one/);
    rmSync(d, { recursive: true, force: true });
  });
});
