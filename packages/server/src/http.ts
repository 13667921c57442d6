/**
 * Plain HTTPS routes beside the WebSocket: /health, /v1/server-info and the
 * attachment transfers. /metrics is not among them: it is served by
 * serveMetrics() on its own listener (metrics.*), off the client port.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import type { AttachmentHttp } from './services/attachments.js';

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
      });
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
