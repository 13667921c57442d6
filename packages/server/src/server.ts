/**
 * startServer(): the whole server in one process — TLS listener, WebSocket
 * relay, key directory, admin socket, retention sweeper — on a data directory.
 * The CLI (`sigilo server start`) and the tests and benchmarks call this.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { join } from 'node:path';
import type { CryptoProvider, Random } from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { WebSocketServer } from 'ws';
import { Admission } from './admission.js';
import { listenAdminSocket } from './admin-socket.js';
import { loadCertificateKey, type CertificateKey } from './certificate-key.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { Connection } from './connection.js';
import type { ServerContext } from './context.js';
import { ConfigError, DataDirError } from './errors.js';
import { handleHttp, serveMetrics } from './http.js';
import { KeyTransparency, loadLogKey, parseWitnessList } from './services/transparency.js';
import { HEARTBEAT_ROUNDS, Hub } from './hub.js';
import { InboundBudget } from './inbound-budget.js';
import { createLogger, type Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { limiter } from './shared-limits.js';
import { KeyedBuckets } from './rate-limit.js';
import { RegistrationGuard } from './registration-guard.js';
import { AdminService } from './services/admin.js';
import { PushService } from './services/push.js';
import { Relay } from './services/relay.js';
import { startSweeper, sweep, type SweepReport } from './services/retention.js';
import { lookupBuckets } from './services/usernames.js';
import { AttachmentHttp } from './services/attachments.js';
import type { BlobStore } from './blobs/port.js';
import { openBlobStore } from './blobs/open.js';
import type { Storage } from './storage/port.js';
import { openStorage } from './storage/open.js';
import { loadTls } from './tls/tls.js';
import { renewCaServerCertificate } from './tls/ca.js';
import { securityHeaderLines, WebStatic } from './web-static.js';
import { openBus, type Bus } from './bus.js';
import { Cluster } from './cluster.js';
import { pushRelayedOrgTrust } from './services/org-trust.js';
import { deliverProvision } from './services/provisioning.js';

export interface StartServerOptions {
  /** A resolved configuration; otherwise resolveConfig({ overrides }) is used. */
  readonly config?: ServerConfig;
  /** Settings by path (e.g. { port: 0, dataDir: '/srv/sigilo', 'retention.undelivered': '1h' }). */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** A storage adapter; default: SQLite at DATA/sigilo.db. */
  readonly storage?: Storage;
  readonly now?: () => number;
  readonly random?: Random;
  readonly crypto?: CryptoProvider;
  readonly logger?: Logger;
  /** Test hook: caps the SQLite database at this many pages, to provoke a full disk. */
  readonly maxPageCount?: number;
  /** Where attachment bytes live; default: files in DATA/attachments. */
  readonly blobs?: BlobStore;
  /** Test hook: how soon a failed retention sweep is tried again (default 30 s, at most retention.sweepInterval). */
  readonly sweepRetryMs?: number;
  /** The bus shared with other nodes (e.g. one LocalBus for several nodes in one test process); default: bus.url, if set. */
  readonly bus?: Bus;
  /** This node's id on the bus (default: random). */
  readonly nodeId?: string;
}

export interface RunningServer {
  readonly config: ServerConfig;
  readonly host: string;
  readonly port: number;
  /** wss://HOST:PORT/v1/ws (HOST is 127.0.0.1 when listening on every address). */
  readonly url: string;
  readonly httpsUrl: string;
  /** caFingerprint: the organisation CA that issued the certificate (sigilo admin tls-ca), if one did. */
  readonly tls: { readonly cert: string; readonly fingerprint: string; readonly selfSigned: boolean; readonly generated: boolean; readonly caFingerprint?: string };
  readonly certificateKey: { readonly keyId: number; readonly publicKey: Uint8Array };
  /** The key transparency log (spec/transparency.md). */
  readonly kt: KeyTransparency;
  readonly storage: Storage;
  readonly admin: AdminService;
  readonly metrics: ServerMetrics;
  /** http://HOST:PORT/metrics when metrics.enabled, else undefined (never the client port). */
  readonly metricsUrl: string | undefined;
  /** This node's part in a deployment of several (bus.url set, or a bus given); else undefined. */
  readonly cluster: Cluster | undefined;
  /** Open sockets on the client port, and of those the ones not bound to an authenticated device. */
  sockets(): { total: number; unauthenticated: number };
  /** Runs the retention sweeper once now. */
  sweep(): Promise<SweepReport>;
  /** Graceful shutdown: stop accepting, tell clients, commit what was accepted, close storage. */
  close(): Promise<void>;
}

const HEARTBEAT_MS = 45_000;

function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw new DataDirError(`cannot use the data directory ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'}); create it or choose another with --data`);
  }
}

function listFiles(dir: string): { name: string; bytes: number }[] {
  return readdirSync(dir).flatMap((name) => {
    try {
      const st = statSync(join(dir, name));
      return st.isFile() ? [{ name, bytes: st.size }] : [];
    } catch {
      return [];
    }
  });
}

/** The soft limit on open file descriptors of this process (Linux), or undefined. */
function fileDescriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptors kept for everything but client sockets: the database, attachment files, the admin socket, logs. */
const FD_RESERVE = 128;

/**
 * The socket limits, lowered to fit the process's file descriptor limit (keeping FD_RESERVE
 * for the rest and the share of unauthenticated sockets), so that sockets can never starve the
 * database, the attachment files or the sweeper of descriptors.
 */
function effectiveSocketLimits(limits: ServerConfig['limits'], log: Logger): ServerConfig['limits'] {
  const fds = fileDescriptorLimit();
  if (fds === undefined || limits.maxConnections <= fds - FD_RESERVE) return limits;
  const maxConnections = Math.max(16, fds - FD_RESERVE);
  const share = Math.min(limits.maxUnauthenticated, limits.maxConnections) / limits.maxConnections;
  const maxUnauthenticated = Math.max(8, Math.floor(maxConnections * share));
  log.warn('limits.maxConnections is above what the file descriptor limit allows: lowered; raise the limit (ulimit -n, LimitNOFILE) to allow more', {
    configured: limits.maxConnections, maxConnections, maxUnauthenticated, fileDescriptorLimit: fds,
  });
  return { ...limits, maxConnections, maxUnauthenticated };
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const config = options.config ?? resolveConfig({ overrides: options.overrides, maxPageCount: options.maxPageCount });
  const now = options.now ?? Date.now;
  const random = options.random ?? systemRandom;
  const crypto = options.crypto ?? nodeCrypto;
  const log = options.logger ?? createLogger(config.logLevel);

  prepareDataDir(config.dataDir);
  const attachmentsDir = join(config.dataDir, 'attachments');
  mkdirSync(attachmentsDir, { recursive: true, mode: 0o700 });
  const blobs = options.blobs ?? await openBlobStore(config, attachmentsDir);
  await renewCaServerCertificate(config.dataDir, new Date(now()));
  const tls = loadTls(config.dataDir, config.tls.cert, config.tls.key, new Date(now()));
  const certificateKey: CertificateKey = loadCertificateKey(config.dataDir, crypto, random);
  const storage = options.storage ?? await openStorage(config);

  let witnesses;
  try {
    witnesses = parseWitnessList(crypto, config.kt.witnesses);
  } catch (e) {
    await storage.close();
    throw new ConfigError(`kt.witnesses: ${(e as Error).message}; give comma-separated '<witness vkey> <url>' entries as \`sigilo witness\` prints them`);
  }
  const kt = new KeyTransparency(storage, crypto, now, log, loadLogKey(config.dataDir, random), witnesses);

  const metrics = new ServerMetrics();
  const hub = new Hub();
  const relay = new Relay(storage, hub, metrics, now);
  const limits = config.limits;
  let cluster: Cluster | undefined;
  if (options.bus || config.bus.url) {
    let bus: Bus;
    try {
      bus = options.bus ?? await openBus(config.bus.url!);
    } catch (e) {
      await storage.close();
      throw new ConfigError(`cannot reach the bus at bus.url (${(e as Error).message}); check that Redis runs and the URL is right`);
    }
    cluster = new Cluster({
      bus, hub, log, nodeId: options.nodeId ?? config.bus.nodeId, pollIntervalMs: config.bus.pollIntervalMs,
      provisionTtlMs: limits.anonymousLifetimeMs, namespace: config.storage.postgresSchema,
    });
  }
  const ctx: ServerContext = {
    config, storage, crypto, random, now, log, metrics, hub, relay, certificateKey, kt, cluster,
    sendBuckets: limiter(limits.accountSendsPerSecond, limits.accountBurst, cluster?.bus, `sigilo:${config.storage.postgresSchema}:rl:send:`),
    bundleBuckets: limiter(limits.bundleFetchesPerHour / 3600, Math.max(1, Math.ceil(limits.bundleFetchesPerHour / 6)), cluster?.bus, `sigilo:${config.storage.postgresSchema}:rl:bundle:`),
    lookupBuckets: lookupBuckets(config),
    registrationGuard: new RegistrationGuard(limits.failedRegistrationsPerHour, limits.failedRegistrationsPerHourGlobal, now(), limits.refusedRequestsPerHour),
  };
  const admin = new AdminService(storage, config, random, now, hub, () => listFiles(config.dataDir), (bindings) => kt.append(bindings));
  // Bindings of accounts and devices the log does not have yet (a database from before the log), then the first checkpoint.
  try {
    const added = await kt.reconcile();
    if (added) log.info('key transparency: logged existing devices', { devices: added });
    await kt.publish();
  } catch (e) {
    await cluster?.bus.close();
    await storage.close();
    throw e;
  }

  if (config.directory.mode === 'off') {
    const cleared = await storage.clearDirectory();
    if (cleared) log.info('the member directory is off: erased its entries', { entries: cleared });
  }
  // Wake-up pushes for devices that are not connected (spec/server.md §Push).
  let push: PushService;
  try {
    push = new PushService(ctx);
  } catch (e) {
    await storage.close();
    throw e;
  }
  ctx.push = push;
  relay.onOffline((accountId, accountHex, deviceId) => push.wake(accountId, accountHex, deviceId));
  hub.onRemoved((accountHex, deviceId) => push.forgetRemoved(accountHex, deviceId));

  if (config.retention.lastSeen === 'off') {
    const cleared = await storage.clearLastSeen();
    if (cleared) log.info('last-seen is off: erased stored last-seen days', { devices: cleared });
  }

  let adminServer: NetServer | undefined;
  /** Set once the client port listens (its real port when config.port is 0). */
  let listeningPort: number | undefined;
  if (config.adminSocket) {
    try {
      adminServer = await listenAdminSocket(config.dataDir, admin, () => ({ host: config.host, port: listeningPort ?? config.port }));
    } catch (e) {
      await push.close();
      await cluster?.bus.close();
      await storage.close();
      throw e;
    }
  }

  let shuttingDown = false;
  const attachments = new AttachmentHttp(ctx, blobs);
  const admission = new Admission(effectiveSocketLimits(limits, log), () => metrics.refused('request_deadline'));
  // Node's requestTimeout stays off (0): an attachment upload may take longer than any fixed bound; the
  // admission deadlines (limits.headerTimeout, limits.requestTimeout) cover every other request, and
  // attachment transfers are cut when idle (limits.attachmentIdleTimeout).
  const web = new WebStatic(config.webDir, config.dataDir, limits.staticRequestsPerMinute, () => metrics.refused('static_address'));
  const https: HttpsServer = createHttpsServer({
    cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2',
    handshakeTimeout: limits.handshakeTimeoutMs, headersTimeout: limits.headerTimeoutMs, requestTimeout: 0,
  }, (req, res) => web.handle(req, res) || handleHttp(ctx, {
    fingerprint: tls.fingerprint, isShuttingDown: () => shuttingDown, attachments,
    onAttachment: (r) => admission.ticketOf(r.socket)?.disarm(),
  }, req, res));
  admission.attach(https,
    () => { metrics.errors.inc({ code: 'CONNECTION_REFUSED' }); metrics.refused('connections'); },
    () => { metrics.errors.inc({ code: 'CONNECTION_EVICTED' }); metrics.refused('connections_evicted'); });
  https.on('tlsClientError', (e) => {
    metrics.errors.inc({ code: 'TLS_HANDSHAKE' });
    if ((e as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT') metrics.refused('handshake_timeout');
  });
  const inbound = new InboundBudget(limits.unauthenticatedInboundBytes, () => metrics.errors.inc({ code: 'INBOUND_BUDGET' }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false, autoPong: false });
  https.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const ticket = admission.ticketOf(socket as import('node:net').Socket);
    // The headers are in; from here the Connection's authentication and lifetime timers apply.
    ticket?.disarm();
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/ws' || shuttingDown) {
      const status = path !== '/v1/ws' ? '404 Not Found' : '503 Service Unavailable';
      socket.end(`HTTP/1.1 ${status}\r\n${securityHeaderLines(req)}Connection: close\r\nContent-Length: 0\r\n\r\n`);
      ticket?.arm(limits.headerTimeoutMs);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Frames still arriving on an unauthenticated connection count against limits.unauthenticatedInboundBytes.
      const entry = inbound.track(socket as import('node:net').Socket);
      const consumed = () => entry.consumed();
      ws.on('message', consumed);
      ws.on('ping', consumed);
      ws.on('pong', consumed);
      new Connection(ctx, ws, () => {
        entry.release();
        // Authenticated: its frames no longer count (and the listeners cost a call per frame).
        ws.off('message', consumed);
        ws.off('ping', consumed);
        ws.off('pong', consumed);
        if (ticket) admission.authenticate(ticket);
      }, ticket?.key);
    });
  });

  if (cluster) {
    cluster.onProvision((address, body) => deliverProvision(ctx, address, body));
    const orgCluster = cluster;
    cluster.onOrgTrust((ca, crl) => {
      if (pushRelayedOrgTrust(hub, config.dataDir, ca, crl) === undefined) {
        log.warn('a CA relayed on the bus is not the one in this node\'s identity CA directory: not pushed (copy DATA/identity-ca from the node where sigilo admin ca runs)', {});
      }
    });
    admin.relayOrgTrust = (ca, crl) => orgCluster.publishOrgTrust(ca, crl);
    await cluster.start();
    log.info('joined the cluster', { node: cluster.nodeId });
    const c = cluster;
    // Each node serves its own /metrics; this names it (Prometheus adds the scrape target as well).
    metrics.gauge('sigilo_node_info', 'This node of several (bus.url): 1, labelled with bus.nodeId', () => 1, { node: c.nodeId });
    metrics.gauge('sigilo_bus_wakeups_sent', 'Wake-ups this node sent to the nodes holding recipients', () => c.counts.wakesSent);
    metrics.gauge('sigilo_bus_wakeups_received', 'Wake-ups this node received', () => c.counts.wakesReceived);
    metrics.gauge('sigilo_bus_polls', 'Times this node re-read the queues of all its connected devices', () => c.counts.polls);
  }

  metrics.gauge('sigilo_sockets', 'Open TCP/TLS sockets on the client port', () => admission.total);
  metrics.gauge('sigilo_sockets_unauthenticated', 'Open sockets not bound to an authenticated device', () => admission.unauthenticated);
  metrics.gauge('sigilo_connections', 'Open WebSocket connections', () => hub.size);
  metrics.gauge('sigilo_connections_authenticated', 'Connections bound to an authenticated device', () => hub.authenticated);
  metrics.gauge('sigilo_queue_depth', 'Per-device messages waiting for delivery', () => storage.queueDepth());
  metrics.gauge('process_resident_memory_bytes', 'Resident set size', () => process.memoryUsage.rss());

  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(config.port, config.host, () => { https.off('error', reject); resolve(); });
  }).catch(async (e: NodeJS.ErrnoException) => {
    adminServer?.close();
    await push.close();
    await cluster?.bus.close();
    await storage.close();
    throw new DataDirError(e.code === 'EADDRINUSE'
      ? `port ${config.port} on ${config.host} is already in use; choose another with --port`
      : `cannot listen on ${config.host}:${config.port} (${e.code ?? 'error'}); check --host and --port`);
  });
  https.on('error', (e) => log.error('listener error', { code: (e as NodeJS.ErrnoException).code }));

  // Metrics on their own listener (loopback by default), never on the client port.
  let metricsServer: HttpServer | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics.enabled) {
    const m = createHttpServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => serveMetrics(ctx, req, res));
    m.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        m.once('error', reject);
        m.listen(config.metrics.port, config.metrics.host, () => { m.off('error', reject); resolve(); });
      });
    } catch (e) {
      https.close();
      adminServer?.close();
      await cluster?.bus.close();
      await storage.close();
      throw new DataDirError(`cannot listen for metrics on ${config.metrics.host}:${config.metrics.port} (${(e as NodeJS.ErrnoException).code ?? 'error'}); choose another metrics.port or set metrics.enabled false`);
    }
    m.on('error', (e) => log.error('metrics listener error', { code: (e as NodeJS.ErrnoException).code }));
    metricsServer = m;
    const a = m.address();
    const mhost = config.metrics.host === '0.0.0.0' || config.metrics.host === '::' ? '127.0.0.1' : config.metrics.host;
    metricsUrl = `http://${mhost.includes(':') ? `[${mhost}]` : mhost}:${typeof a === 'object' && a ? a.port : config.metrics.port}/metrics`;
  }

  const stopSweeper = startSweeper(ctx, blobs, options.sweepRetryMs);
  const pruneTimer = setInterval(() => {
    const t = now();
    ctx.sendBuckets.prune(t);
    ctx.bundleBuckets.prune(t);
    ctx.lookupBuckets.prune(t);
    ctx.registrationGuard.prune(t);
  }, 60_000);
  pruneTimer.unref();
  // Dead peers (no pong to the previous ping) are cut off, so they do not hold memory. Each connection is pinged once
  // per HEARTBEAT_MS, in one of HEARTBEAT_ROUNDS rounds spread over it (hub.ts).
  const heartbeatTimer = setInterval(() => hub.heartbeat(), HEARTBEAT_MS / HEARTBEAT_ROUNDS);
  heartbeatTimer.unref();

  const address = https.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  listeningPort = port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  log.info('server started', { port, tls: tls.selfSigned ? 'self-signed' : tls.caFingerprint ? 'organisation-ca' : 'provided' });

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    shuttingDown = true;
    stopSweeper();
    clearInterval(pruneTimer);
    clearInterval(heartbeatTimer);
    https.close();
    hub.closeAll(CloseReason.SHUTDOWN, 'the server is shutting down; reconnect later');
    await relay.settle();
    await push.close();
    await cluster?.stop();
    const forced = setTimeout(() => { https.closeAllConnections(); admission.destroyAll(); }, 3000);
    forced.unref();
    await new Promise<void>((resolve) => {
      if (!https.listening) return resolve();
      https.once('close', () => resolve());
      https.closeIdleConnections();
    }).catch(() => {});
    clearTimeout(forced);
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    adminServer?.close();
    await storage.close();
    await blobs.close?.();
    log.info('server stopped');
  })());

  return {
    config, host, port,
    url: `wss://${hostInUrl}:${port}/v1/ws`,
    httpsUrl: `https://${hostInUrl}:${port}`,
    tls: { cert: tls.cert, fingerprint: tls.fingerprint, selfSigned: tls.selfSigned, generated: tls.generated, ...(tls.caFingerprint ? { caFingerprint: tls.caFingerprint } : {}) },
    certificateKey: { keyId: certificateKey.keyId, publicKey: certificateKey.publicKey },
    storage, admin, metrics, metricsUrl, kt, cluster,
    sockets: () => ({ total: admission.total, unauthenticated: admission.unauthenticated }),
    sweep: () => sweep(ctx, blobs),
    close,
  };
}
