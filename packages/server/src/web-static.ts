/**
 * The web app's files and the security headers of every response (spec/web.md §3, spec/server.md §1).
 *
 * - securityHeaders(): Content-Security-Policy, HSTS, nosniff, no-referrer — set on every HTTP
 *   response of the server (the request handler calls WebStatic.handle first, which sets them
 *   before anything else writes) and on the WebSocket upgrade refusals (securityHeaderLines).
 * - WebStatic.handle(): serves the built app (packages/web/dist, or the webDir setting) at `/`:
 *   index.html for app routes, hashed assets as immutable, sw.js/release.json/manifest no-cache;
 *   and the organisation's CA at /ca (instructions) and /ca.crt (DER), when one exists, both with an ETag.
 *   Each source address may make limits.staticRequestsPerMinute such requests (a burst of as many);
 *   beyond it, 429 with Retry-After (the address is a map key in memory only, never logged).
 * Paths the rest of the server answers (/v1/…, /health, /metrics) are left to it.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addressKey } from './admission.js';
import { KeyedBuckets } from './rate-limit.js';
import { CA_PAGE_STYLE_SOURCE, caPage } from './web-ca-page.js';
import { CA_CERT_FILE } from './tls/ca.js';

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The CSP: our own origin only; no inline script or style, no eval; WebSocket back to the same host. */
export function contentSecurityPolicy(host: string | undefined): string {
  const wss = host && HOST_RE.test(host) ? ` wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${wss}`,
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

export function securityHeaders(host: string | undefined): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(host),
    'strict-transport-security': 'max-age=31536000',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** The same headers as raw HTTP/1.1 lines, for responses written straight to a socket (upgrade refusals). */
export function securityHeaderLines(req: IncomingMessage): string {
  return Object.entries(securityHeaders(req.headers.host)).map(([k, v]) => `${k}: ${v}\r\n`).join('');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};
/** Files whose name does not change between releases: always revalidated. */
const NO_CACHE = new Set(['/index.html', '/sw.js', '/release.json', '/manifest.webmanifest']);
const SERVER_PATHS = /^\/(?:v1(?:\/|$)|health$|metrics$)/;

/** Where `npm run build:web` writes the app, seen from packages/server/{src,dist}/. */
export function defaultWebDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');
}

interface Cached { readonly mtimeMs: number; readonly size: number; readonly etag: string }

export class WebStatic {
  private readonly root: string;
  private readonly etags = new Map<string, Cached>();

  private readonly buckets: KeyedBuckets | undefined;
  private prunedAt = 0;

  /**
   * @param perMinute requests per source address per minute (undefined: unbounded).
   * @param onRefused told of each request refused for it (counted in metrics, without the address).
   */
  constructor(webDir: string | undefined, private readonly dataDir: string, perMinute?: number, private readonly onRefused?: () => void) {
    this.root = resolve(webDir ?? defaultWebDir());
    this.buckets = perMinute === undefined ? undefined : new KeyedBuckets(perMinute / 60, perMinute);
  }

  /** Takes one request of the source address; false (429 written) when it has none left. */
  private admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.buckets) return true;
    const now = Date.now();
    if (now - this.prunedAt > 60_000) {
      this.prunedAt = now;
      this.buckets.prune(now);
    }
    const wait = this.buckets.take(addressKey(req.socket.remoteAddress), now);
    if (wait === 0) return true;
    this.onRefused?.();
    const body = 'Too many requests from your address: wait a moment and reload.\n';
    res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'retry-after': String(Math.ceil(wait / 1000)), 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return false;
  }

  /** Answers 304 when the request already holds `etag`; otherwise sets it for the answer. */
  private fresh(req: IncomingMessage, res: ServerResponse, etag: string, headers: Record<string, string | number>): boolean {
    headers.etag = etag;
    if (req.headers['if-none-match'] !== etag) return false;
    res.writeHead(304, headers);
    res.end();
    return true;
  }

  /**
   * Sets the security headers on res, then answers the request if it is the web app's or /ca's.
   * Returns false (headers set, nothing written) for the paths the rest of the server handles.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    for (const [k, v] of Object.entries(securityHeaders(req.headers.host))) res.setHeader(k, v);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (SERVER_PATHS.test(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (!this.admit(req, res)) return true;
    if (path === '/ca' || path === '/ca.crt') {
      this.serveCa(req, res, path);
      return true;
    }
    this.serveFile(req, res, path);
    return true;
  }

  private text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private serveCa(req: IncomingMessage, res: ServerResponse, path: string): void {
    const file = join(this.dataDir, CA_CERT_FILE);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(readFileSync(file));
    } catch {
      return this.text(res, 404, 'This server has no internal certificate authority: its certificate is public (or self-signed for the command-line client only). Nothing to install.\n');
    }
    if (path === '/ca.crt') {
      const headers: Record<string, string | number> = {
        'content-type': 'application/x-x509-ca-cert',
        'content-disposition': 'attachment; filename="sigilo-ca.crt"',
        'cache-control': 'no-cache',
      };
      // The certificate's fingerprint names it: revalidated on every use, sent again only when it changed.
      if (this.fresh(req, res, `"${Buffer.from(x509.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url')}"`, headers)) return;
      headers['content-length'] = x509.raw.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : x509.raw);
      return;
    }
    const html = caPage({ query: (req.url ?? '').split('?')[1], subject: x509.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? x509.subject, fingerprint: x509.fingerprint256, notAfter: x509.validTo, acceptLanguage: req.headers['accept-language'] });
    const headers: Record<string, string | number> = {
      'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', vary: 'accept-language',
      'content-security-policy': contentSecurityPolicy(req.headers.host).replace("style-src 'self'", `style-src 'self' ${CA_PAGE_STYLE_SOURCE}`),
    };
    if (this.fresh(req, res, `"${createHash('sha256').update(html).digest('base64url')}"`, headers)) return;
    headers['content-length'] = Buffer.byteLength(html);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : html);
  }

  private resolveFile(path: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0') || decoded.split('/').includes('..')) return undefined;
    const file = normalize(join(this.root, decoded));
    if (file !== this.root && !file.startsWith(this.root + sep)) return undefined;
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, path: string): void {
    let plain: string;
    try {
      plain = decodeURIComponent(path);
    } catch {
      return this.text(res, 400, 'bad path\n');
    }
    if (plain.includes('\0') || plain.split(/[\\/]/).includes('..')) return this.text(res, 404, 'not found\n');
    let rel = path === '/' ? '/index.html' : path;
    let file = this.resolveFile(rel);
    if (!file && extname(rel) === '') {
      // An app route (/chats/…): the app's one page; the app routes itself.
      rel = '/index.html';
      file = this.resolveFile(rel);
    }
    if (!file) {
      if (rel === '/index.html' && !existsSync(join(this.root, 'index.html'))) {
        return this.text(res, 503, 'The web app is not built on this server. Build it with `npm run build:web` (or set webDir); the command-line client works without it.\n');
      }
      return this.text(res, 404, 'not found\n');
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return this.text(res, 404, 'not found\n');
    }
    const st = statSync(file);
    let c = this.etags.get(file);
    if (!c || c.mtimeMs !== st.mtimeMs || c.size !== st.size) {
      c = { mtimeMs: st.mtimeMs, size: st.size, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      this.etags.set(file, c);
    }
    const cache = NO_CACHE.has(rel) ? 'no-cache' : rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600, must-revalidate';
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(rel).toLowerCase()] ?? 'application/octet-stream',
      'cache-control': cache,
      etag: c.etag,
    };
    if (rel === '/sw.js') headers['service-worker-allowed'] = '/';
    if (req.headers['if-none-match'] === c.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
