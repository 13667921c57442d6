/**
 * Plain HTTPS routes beside the WebSocket: /health, /v1/server-info and the
 * attachment transfers. /metrics is not among them: it is served by
 * serveMetrics() on its own listener (metrics.*), off the client port.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { serverPolicy } from './policy.js';
import type { AttachmentHttp } from './services/attachments.js';
import { PUSH_MIN_INTERVAL_MS } from './services/push.js';

export interface HttpInfo {
  readonly fingerprint: string;
  readonly isShuttingDown: () => boolean;
  readonly attachments: AttachmentHttp;
  /** Called for an attachment transfer: it runs under limits.attachmentIdleTimeout, not limits.requestTimeout. */
  readonly onAttachment?: (req: IncomingMessage) => void;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** How long one storage check answers /health for. */
const HEALTH_CHECK_MS = 1000;
const healthChecks = new WeakMap<ServerContext, { at: number; ok: Promise<boolean> }>();

/**
 * Whether storage answers: one primary-key lookup, shared by every /health request within
 * HEALTH_CHECK_MS. /health needs no authentication; it used to count the whole message queue
 * on each request, which a few pipelining peers turned into a stalled server.
 */
function storageHealthy(ctx: ServerContext): Promise<boolean> {
  const now = ctx.now();
  const last = healthChecks.get(ctx);
  if (last && now - last.at >= 0 && now - last.at < HEALTH_CHECK_MS) return last.ok;
  const ok = ctx.storage.getAccount(new Uint8Array(16)).then(() => true, () => false);
  healthChecks.set(ctx, { at: now, ok });
  return ok;
}

export function handleHttp(ctx: ServerContext, info: HttpInfo, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (info.attachments.handle(req, res, path)) {
    info.onAttachment?.(req);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
  switch (path) {
    case '/health':
      if (info.isShuttingDown()) return json(res, 503, { status: 'shutting-down' });
      storageHealthy(ctx).then((ok) => (ok ? json(res, 200, { status: 'ok' }) : json(res, 503, { status: 'storage-unavailable' })));
      return;
    case '/v1/server-info':
      return json(res, 200, {
        name: 'sigilo',
        protocolVersion: 1,
        websocket: '/v1/ws',
        tlsFingerprintSha256: info.fingerprint,
        certificateKeys: [{ keyId: ctx.certificateKey.keyId, publicKey: Buffer.from(ctx.certificateKey.publicKey).toString('base64') }],
        limits: {
          maxMessageBytes: ctx.config.limits.maxMessageBytes,
          maxFrameBytes: ctx.config.limits.maxFrameBytes,
          maxDevicesPerAccount: ctx.config.limits.maxDevicesPerAccount,
          maxAttachmentBytes: ctx.config.limits.maxAttachmentBytes,
          attachmentQuotaBytes: ctx.config.limits.attachmentQuotaBytes,
        },
        senderCertificateLifetimeMs: ctx.config.senderCertificateMs,
        keyTransparency: { origin: ctx.kt.origin, verifierKey: ctx.kt.verifierKey },
        // Retention and privacy policy (spec/server.md §8) and push (§Push).
        policy: serverPolicy(ctx.config),
        push: ctx.push?.enabled
          ? { mode: 'webpush', vapidPublicKey: ctx.push.vapidPublicKey, minIntervalMs: PUSH_MIN_INTERVAL_MS }
          : { mode: 'off' },
      });
    case '/v1/kt/checkpoint':
      ctx.kt.latest().then((cp) => text(res, 200, cp.note), () => json(res, 503, { error: 'key transparency log unavailable' }));
      return;
    case '/v1/kt/consistency': {
      // ?old=N&new=M: the RFC 9162 consistency proof, one base64 hash per line (as in tlog-witness's add-checkpoint).
      const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const [oldSize, newSize] = [q.get('old'), q.get('new')].map((v) => (v !== null && /^(0|[1-9][0-9]{0,15})$/.test(v) ? Number(v) : NaN));
      if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize)) return json(res, 400, { error: 'give ?old=N&new=M, two tree sizes' });
      ctx.kt.latest().then(async (cp) => {
        if (oldSize! > newSize! || newSize! > cp.size) return json(res, 400, { error: `sizes must satisfy old <= new <= ${cp.size}` });
        const path = await ctx.kt.consistency(oldSize!, newSize!);
        text(res, 200, path.map((h) => `${Buffer.from(h).toString('base64')}\n`).join(''));
      }).catch(() => json(res, 503, { error: 'key transparency log unavailable' }));
      return;
    }
    default:
      return json(res, 404, { error: 'not found' });
  }
}

/** The metrics listener's only route: GET /metrics (Prometheus text). */
export function serveMetrics(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path !== '/metrics') return json(res, 404, { error: 'not found' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
  ctx.metrics.render().then(
    (text) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    () => json(res, 500, { error: 'metrics unavailable' }),
  );
}
