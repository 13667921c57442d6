/**
 * Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core; a test CA made with openssl and trusted through an NSS
 * database in a temporary HOME (never --ignore-certificate-errors, never the
 * user's own nssdb); the test bundle built with esbuild for the browser (no
 * Node polyfills: a node:* import fails the build). The page is a real
 * document of the real server's origin (its 404 answer for /__sigilo_test__)
 * and the bundle is added to it as a script, so the page's WebSocket and fetch
 * calls are same-origin and reach the real server over real TLS. (Playwright's
 * request routing is not used: with it on, Chromium's WebSocket handshakes fail.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's Chromium; SIGILO_CHROMIUM names another binary. */
export const CHROMIUM = process.env.SIGILO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install -y chromium libnss3-tools)`;
  for (const tool of ['certutil', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing (apt-get install -y libnss3-tools openssl)`;
    }
  }
  return undefined;
}

export interface TestPki {
  readonly dir: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** A HOME whose .pki/nssdb trusts the test CA (for Chromium only). */
  readonly home: string;
  cleanup(): void;
}

/** A fresh CA, a server certificate for 127.0.0.1 signed by it, and an NSS database trusting the CA. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-pki-'));
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-days', '2', '-subj', '/CN=Sigilo browser test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
  writeFileSync(f('chain.pem'), readFileSync(f('server.pem'), 'utf8') + readFileSync(f('ca.pem'), 'utf8'));
  const home = join(dir, 'home');
  const nssdb = join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password'], { stdio: 'ignore' });
  execFileSync('certutil', ['-A', '-d', `sql:${nssdb}`, '-t', 'C,,', '-n', 'sigilo-test', '-i', f('ca.pem')], { stdio: 'ignore' });
  return {
    dir, caPem: readFileSync(f('ca.pem'), 'utf8'), certFile: f('chain.pem'), keyFile: f('server.key'), home,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../../../../');

/**
 * Bundles test/browser/entry.ts for Chromium. platform=browser: a Node
 * built-in anywhere in the graph fails the build (no polyfills). The
 * workspace packages resolve to their sources, as under vitest.
 */
export async function buildBundle(entry = here('../browser/entry.ts')): Promise<{ js: string; inputs: string[] }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [{
      name: 'sigilo-sources',
      setup(b) {
        b.onResolve({ filter: /^@sigilo\/(protocol|client-web)(\/.*)?$/ }, (args) => {
          const [, pkg, sub] = /^@sigilo\/([^/]+)(\/.*)?$/.exec(args.path)!;
          if (pkg === 'client-web') return { path: join(root, 'packages/client-web/src/index.ts') };
          if (!sub) return { path: join(root, 'packages/protocol/src/index.ts') };
          if (sub === '/portable') return { path: join(root, 'packages/protocol/src/crypto/portable.ts') };
          if (sub === '/node') return { path: join(root, 'packages/protocol/src/crypto/node.ts') };
          return { path: join(root, 'packages/protocol/src', sub.replace(/\.js$/, '') + '.ts') };
        });
      },
    }],
  });
  return { js: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

export interface BrowserSession {
  /** Runs window.sigiloTest[name](...args) in the page and returns its JSON result. */
  run<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  /** Limits this page's upload rate (DevTools network emulation; undefined: no limit). */
  throttleUpload(bytesPerSecond: number | undefined): Promise<void>;
  /** A fresh page at the same origin (a second tab). */
  newPage(): Promise<BrowserSession>;
  readonly console: string[];
  /** A DevTools protocol call on this page (profiling a benchmark). */
  cdp(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/** What Chromium says when it loads `url` with a HOME whose NSS database is empty (trusting nothing extra). */
export async function loadWithoutTrust(url: string): Promise<string> {
  const { chromium } = await import('playwright-core');
  const home = mkdtempSync(join(tmpdir(), 'sigilo-home-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, env: { ...process.env, HOME: home }, timeout: 60_000 });
  try {
    const page = await browser.newPage();
    try {
      const res = await page.goto(url);
      return `loaded ${res?.status()}`;
    } catch (e) {
      return String((e as Error).message);
    }
  } finally {
    await browser.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Launches Chromium trusting the test CA and opens the test page at `origin` (the real server's https origin). */
export async function openBrowser(origin: string, pki: TestPki): Promise<BrowserSession> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    env: { ...process.env, HOME: pki.home },
    timeout: 60_000,
  });
  // The page runs under the server's own Content-Security-Policy (script-src 'self'): the bundle is a file the
  // server serves from its webDir (see testWebDir), not an injected inline script.
  const context = await browser.newContext();
  const open = async (): Promise<BrowserSession> => {
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
    const res = await page.goto(`${origin}/`);
    if (!res || res.status() !== 200) throw new Error(`expected the test page from the server's webDir, got ${res?.status()}`);
    await page.waitForFunction(() => (globalThis as { sigiloTest?: unknown }).sigiloTest !== undefined, undefined, { timeout: 30_000 });
    const cdp = await context.newCDPSession(page);
    return {
      console,
      throttleUpload: async (rate) => {
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: rate ?? -1 });
      },
      run: (name, ...args) => page.evaluate(([n, a]) => (globalThis as unknown as { sigiloTest: Record<string, (...x: unknown[]) => Promise<unknown>> }).sigiloTest[n as string]!(...(a as unknown[])), [name, args] as const) as never,
      newPage: open,
      cdp: (method, params) => cdp.send(method as never, params as never),
      close: () => page.close(),
    };
  };
  const first = await open();
  return { ...first, close: () => browser.close() };
}

/** A web directory for the real server (its `webDir` setting) holding the test page, the bundle and `extra` files (e.g. a Worker script), served same-origin. */
export function testWebDir(bundle: string, extra: Record<string, string> = {}): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-web-test-'));
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(dir, file), text);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>sigilo test</title><script src="/test-bundle.js"></script>\n');
  writeFileSync(join(dir, 'test-bundle.js'), bundle);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
