/** Plain HTTPS routes beside the WebSocket: /health, /metrics, /v1/server-info. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from './context.js';
import { serverPolicy } from './policy.js';
import type { AttachmentHttp } from './services/attachments.js';
import { PUSH_MIN_INTERVAL_MS } from './services/push.js';

export interface HttpInfo {
  readonly fingerprint: string;
  readonly isShuttingDown: () => boolean;
  readonly attachments: AttachmentHttp;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function handleHttp(ctx: ServerContext, info: HttpInfo, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (info.attachments.handle(req, res, path)) return;
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
  switch (path) {
    case '/health':
      if (info.isShuttingDown()) return json(res, 503, { status: 'shutting-down' });
      ctx.storage.queueDepth().then(
        () => json(res, 200, { status: 'ok' }),
        () => json(res, 503, { status: 'storage-unavailable' }),
      );
      return;
    case '/metrics':
      ctx.metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
          res.end(text);
        },
        () => json(res, 500, { error: 'metrics unavailable' }),
      );
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
        // Retention and privacy policy (spec/server.md §8) and push (§Push).
        policy: serverPolicy(ctx.config),
        push: ctx.push?.enabled
          ? { mode: 'webpush', vapidPublicKey: ctx.push.vapidPublicKey, minIntervalMs: PUSH_MIN_INTERVAL_MS }
          : { mode: 'off' },
      });
    default:
      return json(res, 404, { error: 'not found' });
  }
}
