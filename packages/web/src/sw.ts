/**
 * The service worker: the web app's trust anchor after the first visit (spec/web.md §2).
 *
 * It keeps the organisation's release public key in its own code (put there at build time),
 * serves the app's files only from Cache Storage after checking each one's SHA-256 against a
 * manifest signed by that key, and applies an update only when its manifest is signed by the
 * same key, every file of it matches, and the person has confirmed it.
 */
const worker = self as unknown as ServiceWorkerGlobalScope;
declare const __RELEASE_PUBLIC_KEY__: string;

const CONTEXT = 'sigilo-web-release-v1\n';
const FORMAT = 'sigilo-web-release/1';
const STATE_CACHE = 'sigilo-state';
const STATE_URL = '/__sigilo/state';
/** Paths the server answers itself; the worker never answers them from its cache. */
const SERVER_PATHS = /^\/(v1\/|health$|metrics$|ca$|ca\.crt$)/;

interface Manifest { format: string; version: string; buildTime: number; files: Record<string, string> }
interface Release { manifest: Manifest; manifestSha256: string; cache: string }
type Problem =
  | { kind: 'asset'; path: string; expected: string; got: string }
  | { kind: 'update-signature'; detail: string }
  | { kind: 'update-asset'; version: string; path: string; expected: string; got: string }
  | { kind: 'rollback'; version: string }
  | { kind: 'unreachable' };
interface State { current?: Release; staged?: Release; problem?: Problem }

class IntegrityError extends Error {
  constructor(readonly problem: Problem) { super(problem.kind); }
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const sha256 = async (b: BufferSource): Promise<string> => hex(await crypto.subtle.digest('SHA-256', b));
const fromB64 = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

let keyPromise: Promise<CryptoKey> | undefined;
const releaseKey = (): Promise<CryptoKey> =>
  (keyPromise ??= crypto.subtle.importKey('raw', fromB64(__RELEASE_PUBLIC_KEY__), { name: 'Ed25519' }, false, ['verify']));

async function keyFingerprint(): Promise<string> {
  return (await sha256(fromB64(__RELEASE_PUBLIC_KEY__))).match(/.{4}/g)!.join(' ');
}

async function readState(): Promise<State> {
  const r = await (await caches.open(STATE_CACHE)).match(STATE_URL);
  return r ? (await r.json() as State) : {};
}
async function writeState(s: State): Promise<void> {
  await (await caches.open(STATE_CACHE)).put(STATE_URL, new Response(JSON.stringify(s), { headers: { 'content-type': 'application/json' } }));
}

/** Fetches release.json from the server and checks its signature with the kept key. */
async function fetchSignedManifest(): Promise<{ manifest: Manifest; manifestSha256: string }> {
  let doc: { format?: string; manifest?: string; signature?: string };
  try {
    const r = await fetch('/release.json', { cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    doc = await r.json();
  } catch {
    throw new IntegrityError({ kind: 'unreachable' });
  }
  let bytes: Uint8Array<ArrayBuffer>, ok = false;
  try {
    bytes = fromB64(doc.manifest ?? '');
    const signed = new Uint8Array([...new TextEncoder().encode(CONTEXT), ...bytes]);
    ok = doc.format === FORMAT && await crypto.subtle.verify({ name: 'Ed25519' }, await releaseKey(), fromB64(doc.signature ?? ''), signed);
  } catch {
    ok = false;
  }
  if (!ok) throw new IntegrityError({ kind: 'update-signature', detail: 'release.json is not signed by this app\'s release key' });
  const manifest = JSON.parse(new TextDecoder().decode(bytes!)) as Manifest;
  return { manifest, manifestSha256: await sha256(bytes!) };
}

/**
 * Puts every file of a signed manifest into a new cache, reusing verified bytes already held,
 * downloading the rest and checking each hash. Any mismatch refuses the whole release.
 */
async function downloadRelease(m: { manifest: Manifest; manifestSha256: string }, have?: Release): Promise<Release> {
  const name = `sigilo-release-${m.manifestSha256}`;
  const cache = await caches.open(name);
  const old = have ? await caches.open(have.cache) : undefined;
  try {
    for (const [path, expected] of Object.entries(m.manifest.files)) {
      const held = have?.manifest.files[path] === expected ? await old!.match(path) : undefined;
      const res = held ?? await fetch(path, { cache: 'no-cache' });
      if (!res.ok) throw new IntegrityError({ kind: 'update-asset', version: m.manifest.version, path, expected, got: `HTTP ${res.status}` });
      const body = await res.arrayBuffer();
      const got = await sha256(body);
      if (got !== expected) throw new IntegrityError({ kind: 'update-asset', version: m.manifest.version, path, expected, got });
      await cache.put(path, new Response(body, { headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' } }));
    }
  } catch (e) {
    await caches.delete(name);
    throw e;
  }
  return { manifest: m.manifest, manifestSha256: m.manifestSha256, cache: name };
}

/** Compares the server's copy of every current file with its signed hash (cheap: conditional requests). */
async function audit(current: Release): Promise<Problem | undefined> {
  for (const [path, expected] of Object.entries(current.manifest.files)) {
    let got: string;
    try {
      const r = await fetch(path, { cache: 'no-cache' });
      got = r.ok ? await sha256(await r.arrayBuffer()) : `HTTP ${r.status}`;
    } catch {
      return undefined; // offline: nothing to compare
    }
    if (got !== expected) return { kind: 'asset', path, expected, got };
  }
  return undefined;
}

/** One update check: a new signed release is downloaded, verified and staged; anything else is named. */
async function check(): Promise<State> {
  const state = await readState();
  if (!state.current) return state;
  let problem: Problem | undefined;
  try {
    const m = await fetchSignedManifest();
    if (m.manifestSha256 === state.current.manifestSha256) {
      problem = await audit(state.current);
    } else if (m.manifest.buildTime <= state.current.manifest.buildTime) {
      problem = { kind: 'rollback', version: m.manifest.version };
    } else if (m.manifestSha256 !== state.staged?.manifestSha256) {
      state.staged = await downloadRelease(m, state.current);
    }
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    problem = e.problem.kind === 'unreachable' ? undefined : e.problem;
  }
  state.problem = problem;
  await writeState(state);
  return state;
}

async function status(state: State) {
  const c = state.current?.manifest;
  const s = state.staged?.manifest;
  return {
    type: 'status',
    keyFingerprint: await keyFingerprint(),
    version: c?.version,
    buildTime: c?.buildTime,
    manifestSha256: state.current?.manifestSha256,
    update: s ? { version: s.version, buildTime: s.buildTime, manifestSha256: state.staged!.manifestSha256, newWorker: s.files['/sw.js'] !== c?.files['/sw.js'] } : undefined,
    problem: state.problem,
  };
}

worker.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const state = await readState();
    // First visit (trust on first use): the release the server offers now, checked against the key in this file.
    const signed = await fetchSignedManifest();
    if (state.current?.manifestSha256 === signed.manifestSha256) return; // same release: nothing to stage
    const release = await downloadRelease(signed, state.current);
    if (state.current) {
      // A new worker script: it waits until the person confirms the update (no skipWaiting here).
      state.staged = release;
      await writeState(state);
    } else {
      await writeState({ current: release });
      await worker.skipWaiting();
    }
  })());
});

worker.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const state = await readState();
    if (state.staged && state.staged.manifest.files['/sw.js'] !== state.current?.manifest.files['/sw.js']) {
      state.current = state.staged;
      state.staged = undefined;
      state.problem = undefined;
      await writeState(state);
    }
    const keep = new Set([STATE_CACHE, state.current?.cache, state.staged?.cache]);
    for (const name of await caches.keys()) if (!keep.has(name)) await caches.delete(name);
    await worker.clients.claim();
  })());
});

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin || SERVER_PATHS.test(url.pathname)) return;
  const navigate = event.request.mode === 'navigate';
  event.respondWith((async () => {
    const state = await readState();
    const current = state.current;
    if (!current) return fetch(event.request);
    const files = current.manifest.files;
    const path = files[url.pathname] ? url.pathname : navigate ? '/index.html' : undefined;
    if (!path) return fetch(event.request);
    const cache = await caches.open(current.cache);
    const held = await cache.match(path);
    if (held) return held;
    // Evicted: fetch again, but only bytes that match the signed hash are served.
    const res = await fetch(path, { cache: 'no-cache' });
    const body = await res.arrayBuffer();
    const got = await sha256(body);
    if (got !== files[path]) {
      state.problem = { kind: 'asset', path, expected: files[path]!, got };
      await writeState(state);
      return new Response('refused: this file does not match the signed release', { status: 502, headers: { 'content-type': 'text/plain' } });
    }
    const fresh = new Response(body, { headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' } });
    await cache.put(path, fresh.clone());
    return fresh;
  })());
});

worker.addEventListener('message', (event) => {
  const port = event.ports[0];
  const reply = (v: unknown) => port?.postMessage(v);
  const type = (event.data as { type?: string } | null)?.type;
  event.waitUntil((async () => {
    try {
      if (type === 'status') reply(await status(await readState()));
      else if (type === 'check') reply(await status(await check()));
      else if (type === 'apply') {
        const state = await readState();
        if (!state.staged) return reply({ type: 'applied', ok: false });
        if (state.staged.manifest.files['/sw.js'] !== state.current?.manifest.files['/sw.js']) {
          // The new release has a new worker script: the page asks the browser for it; it verifies itself on install.
          return reply({ type: 'applied', ok: false, newWorker: true });
        }
        const old = state.current?.cache;
        state.current = state.staged;
        state.staged = undefined;
        state.problem = undefined;
        await writeState(state);
        if (old && old !== state.current.cache) await caches.delete(old);
        reply({ type: 'applied', ok: true });
      } else if (type === 'skip-waiting') {
        await worker.skipWaiting();
        reply({ type: 'skipped' });
      }
    } catch (e) {
      reply({ type: 'error', message: String((e as Error).message ?? e) });
    }
  })());
});

/**
 * A push (server.md: a fixed-size wake-up with no sender, conversation or message). The worker reads nothing from it
 * and cannot decrypt anything: the engine runs in the page. So the notification it shows says only that something
 * may have arrived, whatever the push carries, and none is shown while a window of the app is visible (the page
 * notifies by itself, without content for a confidential chat, client.md §15).
 */
const WAKE_TEXT: Record<string, string> = { es: 'Puede que tengas mensajes nuevos', pt: 'Você pode ter mensagens novas', en: 'You may have new messages' };

worker.addEventListener('push', (event) => {
  event.waitUntil((async () => {
    const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (windows.some((w) => (w as WindowClient).visibilityState === 'visible')) return;
    const lang = (navigator.language || 'en').slice(0, 2);
    await worker.registration.showNotification('Sigilo', { body: WAKE_TEXT[lang] ?? WAKE_TEXT.en!, tag: 'sigilo-wake', icon: '/icons/icon-192.png' });
  })());
});

worker.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows[0] as WindowClient | undefined;
    if (open) await open.focus();
    else await worker.clients.openWindow('/');
  })());
});

/**
 * The browser replaced or dropped the push subscription (its push service rotated it, or it expired). The worker
 * cannot tell the server (only the engine in a page can, over its authenticated connection): it subscribes again with
 * the same server key when the browser gave no new subscription, and tells any open page, which registers the new
 * endpoint now; otherwise the page does at its next unlock, seeing the endpoint is not the one it registered.
 */
worker.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const key = event.oldSubscription?.options.applicationServerKey;
    if (!event.newSubscription && key) {
      await worker.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }).catch(() => undefined);
    }
    for (const w of await worker.clients.matchAll({ type: 'window', includeUncontrolled: true })) w.postMessage({ type: 'push-changed' });
  })());
});
