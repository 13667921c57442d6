/**
 * One WebSocket connection: challenge, authentication, frame dispatch, rate
 * limiting, and delivery of the device's queue (drain on connect, then live
 * pushes) with backpressure. Errors become Error frames; the connection and
 * the server keep going unless authentication failed.
 */
import { forgetProvisioning, provisionListen, provisionSend } from './services/provisioning.js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ClientFrameSchema, CloseReason, ErrorCode, ServerFrameSchema, type ClientFrame,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { WebSocket } from 'ws';
import { CHALLENGE_NONCE_LENGTH } from './auth.js';
import type { ServerContext, Session } from './context.js';
import { encodeDeliverFrame, encodeSendResultFrame } from './fast-frames.js';
import { RateLimitedError, ServerError, StaleDevicesError, isStorageFull, type WireErrorCode } from './errors.js';
import { TokenBucket } from './rate-limit.js';
import { QuotaExceededError, allocateAttachment } from './services/attachments.js';
import { authenticate, linkDevice, listDevices, register, setAccessKey } from './services/accounts.js';
import { fetchBundles, preKeyCount, preKeysLowNotice, uploadPreKeys } from './services/directory.js';
import { ack, identifiedSend, sealedSend, senderCertificate } from './services/messaging.js';
import { MultiStaleDevicesError, MultiUnauthorizedError, frameCost, multiSealedSend } from './services/messaging.js';
import type { QueuedMessage } from './storage/port.js';
import { DeviceRemovedError, removeOwnDevice, setDeviceName } from './services/devices.js';

type ServerBody = MessageInitShape<typeof ServerFrameSchema>['body'];
export type Reply = { body: ServerBody; after?: () => void } | undefined;

/** WebSocket close codes (4000–4999 are ours). */
export const CLOSE_CODES: Record<CloseReason, number> = {
  [CloseReason.UNSPECIFIED]: 1000,
  [CloseReason.SHUTDOWN]: 1001,
  [CloseReason.DEVICE_REVOKED]: 4003,
  [CloseReason.ACCOUNT_REMOVED]: 4004,
  [CloseReason.REPLACED]: 4005,
};
export const CLOSE_AUTH_FAILED = 4001;
export const CLOSE_AUTH_TIMEOUT = 4002;

const PAGE = 256;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;

export class Connection {
  readonly nonce: Uint8Array;
  session: Session | undefined;
  closed = false;
  readonly #ctx: ServerContext;
  readonly #ws: WebSocket;
  readonly #bucket: TokenBucket;
  #authTimer: NodeJS.Timeout | undefined;
  #mode: 'idle' | 'draining' | 'live' = 'idle';
  #lastSentId = 0;
  #dirty = false;
  #authenticating = false;
  #alive = true;

  constructor(ctx: ServerContext, ws: WebSocket) {
    this.#ctx = ctx;
    this.#ws = ws;
    this.nonce = ctx.random(CHALLENGE_NONCE_LENGTH);
    const { limits } = ctx.config;
    this.#bucket = new TokenBucket(limits.connectionFramesPerSecond, limits.connectionBurst, ctx.now());
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('close', () => this.#onClose());
    ws.on('pong', () => { this.#alive = true; });
    ws.on('error', (err) => {
      // ws reports oversize frames (1009) and protocol violations here; it closes the socket itself.
      ctx.log.debug('websocket error', { code: (err as { code?: string }).code });
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') ctx.metrics.errors.inc({ code: 'FRAME_TOO_LARGE' });
    });
    this.#armAuthTimer();
    ctx.hub.add(this);
    this.send({ case: 'challenge', value: { nonce: this.nonce, serverTime: BigInt(ctx.now()), protocolVersion: 1 } });
  }

  /**
   * An unauthenticated connection is closed after authTimeout without a frame;
   * anonymous connections used for sealed sends stay open while they are used.
   */
  #armAuthTimer(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => {
      if (!this.session && !this.closed) {
        this.#sendError(0n, new ServerError('NOT_AUTHENTICATED', 'no authentication within the time limit; reconnect and authenticate'));
        this.#closeWith(CLOSE_AUTH_TIMEOUT, 'authentication timeout');
      }
    }, this.#ctx.config.limits.authTimeoutMs);
    this.#authTimer.unref();
  }

  send(body: ServerBody, requestId = 0n): void {
    if (body?.case === 'sendResult') {
      const v = body.value;
      this.sendBytes(encodeSendResultFrame(requestId, v.messageId!, Number(v.serverTimestamp), v.duplicate === true));
      return;
    }
    this.sendBytes(toBinary(ServerFrameSchema, create(ServerFrameSchema, { requestId, body })));
  }

  sendBytes(frame: Uint8Array): void {
    if (this.closed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(frame, { binary: true });
  }

  /** Binds the connection to an authenticated device; the queue drains after the reply is sent. */
  establish(session: Session): () => void {
    this.session = session;
    clearTimeout(this.#authTimer);
    this.#ctx.hub.bind(this, session.accountHex, session.deviceId);
    return () => {
      void this.#drain();
      void preKeysLowNotice(this.#ctx, session).then((notice) => notice && this.send(notice)).catch(() => {});
    };
  }

  /** A message just committed for this device. */
  push(message: QueuedMessage): void {
    if (this.closed || !this.session) return;
    if (this.#mode === 'live') {
      if (this.#ws.bufferedAmount > HIGH_WATER) {
        // Slow reader: stop pushing live and let the drain loop catch up from storage.
        this.#dirty = true;
        void this.#drain();
        return;
      }
      if (message.serverId > this.#lastSentId) this.#deliver(message);
    } else if (this.#mode === 'draining') {
      this.#dirty = true;
    }
  }

  /** Called every heartbeat interval: a peer that did not answer the previous ping is cut off. */
  heartbeat(): void {
    if (this.closed) return;
    if (!this.#alive) {
      this.#ctx.hub.remove(this);
      this.closed = true;
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    try { this.#ws.ping(); } catch { /* closing */ }
  }

  /** An online-only message: sent if the device is live and keeping up, else dropped. */
  pushEphemeral(message: QueuedMessage): void {
    if (this.closed || !this.session || this.#mode !== 'live' || this.#ws.bufferedAmount > HIGH_WATER) return;
    this.#ctx.metrics.messagesPushed.inc();
    this.sendBytes(encodeDeliverFrame(message));
  }

  close(reason: CloseReason, message: string): void {
    if (this.closed) return;
    this.send({ case: 'closing', value: { reason, message } });
    this.#closeWith(CLOSE_CODES[reason], message);
  }

  #closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#authTimer);
    this.#ctx.hub.remove(this);
    try {
      this.#ws.close(code, reason.slice(0, 120));
    } catch {
      this.#ws.terminate();
    }
    // A peer that never completes the closing handshake is cut off.
    setTimeout(() => this.#ws.terminate(), 2000).unref();
  }

  #onClose(): void {
    this.closed = true;
    clearTimeout(this.#authTimer);
    this.#ctx.hub.remove(this);
    forgetProvisioning(this.#ctx, this);
  }

  #deliver(m: QueuedMessage): void {
    this.#lastSentId = Math.max(this.#lastSentId, m.serverId);
    this.#ctx.metrics.messagesPushed.inc();
    this.sendBytes(encodeDeliverFrame(m));
  }

  async #waitForBuffer(): Promise<void> {
    while (!this.closed && this.#ws.bufferedAmount > LOW_WATER) await new Promise((r) => setTimeout(r, 5));
  }

  /** Sends everything queued after #lastSentId, then switches to live pushes. */
  async #drain(): Promise<void> {
    if (this.#mode === 'draining' || !this.session) return;
    this.#mode = 'draining';
    const { accountId, deviceId } = this.session;
    try {
      for (;;) {
        await this.#waitForBuffer();
        if (this.closed) return;
        this.#dirty = false;
        const page = await this.#ctx.storage.fetchQueue(accountId, deviceId, this.#lastSentId, PAGE);
        if (this.closed) return;
        for (const m of page) this.#deliver(m);
        if (page.length === PAGE || this.#dirty) continue;
        break;
      }
      this.#mode = 'live';
      this.send({ case: 'queueEmpty', value: {} });
    } catch (err) {
      this.#mode = 'idle';
      this.#ctx.log.error('queue drain failed', { code: (err as { code?: string }).code });
      this.close(CloseReason.UNSPECIFIED, 'the server could not read your queue; reconnect');
    }
  }

  #onMessage(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!this.session) this.#armAuthTimer();
    if (!isBinary) {
      this.#sendError(0n, new ServerError('MALFORMED_FRAME', 'frames must be binary protobuf ClientFrame messages, not text'));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let frame: ClientFrame;
    try {
      frame = fromBinary(ClientFrameSchema, bytes, { readUnknownFields: false });
    } catch {
      this.#sendError(0n, new ServerError('MALFORMED_FRAME', 'the frame is not a valid ClientFrame protobuf; check the client version'));
      return;
    }
    const wait = this.#bucket.take(this.#ctx.now(), frameCost(frame, this.#bucket.burst));
    if (wait > 0) {
      this.#sendError(frame.requestId, new RateLimitedError(wait, 'frames on this connection'));
      return;
    }
    let reply: Promise<Reply>;
    try {
      reply = this.#dispatch(frame);
    } catch (err) {
      reply = Promise.reject(err);
    }
    reply.then(
      (r) => {
        if (r) this.send(r.body, frame.requestId);
        r?.after?.();
      },
      (err: unknown) => this.#onError(frame, err),
    );
  }

  #onError(frame: ClientFrame, err: unknown): void {
    const se = toServerError(err);
    if (se.code === 'INTERNAL') this.#ctx.log.error('request failed', { frame: frame.body.case, error: (err as Error)?.name });
    this.#sendError(frame.requestId, se);
    if (se.code === 'AUTH_FAILED' || se.code === 'DEVICE_REMOVED') this.#closeWith(CLOSE_AUTH_FAILED, 'authentication failed');
  }

  #sendError(requestId: bigint, e: ServerError): void {
    this.#ctx.metrics.errors.inc({ code: e.code });
    this.send({
      case: 'error',
      value: {
        code: ErrorCode[e.code as WireErrorCode] ?? ErrorCode.INTERNAL,
        message: e.message,
        retryAfterMs: e instanceof RateLimitedError || e instanceof QuotaExceededError ? e.retryAfterMs : 0,
        staleDevices: e instanceof StaleDevicesError
          ? { currentDeviceIds: [...e.current], missingDeviceIds: [...e.missing], extraDeviceIds: [...e.extra] }
          : undefined,
        staleAccounts: e instanceof MultiStaleDevicesError
          ? e.accounts.map((a) => ({ accountId: a.accountId, currentDeviceIds: [...a.current], missingDeviceIds: [...a.missing], extraDeviceIds: [...a.extra] }))
          : [],
        unauthorizedAccountIds: e instanceof MultiUnauthorizedError ? [...e.accountIds] : [],
        deviceRemoval: e instanceof DeviceRemovedError ? { byDeviceId: e.byDeviceId, day: e.day } : undefined,
      },
    }, requestId);
  }

  #dispatch(frame: ClientFrame): Promise<Reply> {
    const ctx = this.#ctx;
    const body = frame.body;
    const s = this.session;
    const needAuth = (): Session => {
      if (!s) throw new ServerError('NOT_AUTHENTICATED', 'authenticate (or register) on this connection first');
      return s;
    };
    const once = async (f: () => Promise<Reply>): Promise<Reply> => {
      if (s) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is already authenticated; open a new connection for another device');
      if (this.#authenticating) throw new ServerError('INVALID_ARGUMENT', 'an authentication is already in progress on this connection');
      this.#authenticating = true;
      try { return await f(); } finally { this.#authenticating = false; }
    };
    switch (body.case) {
      case 'register': return once(() => register(ctx, this, body.value));
      case 'linkDevice': return once(() => linkDevice(ctx, this, body.value));
      case 'authenticate': return once(() => authenticate(ctx, this, body.value));
      case 'uploadPreKeys': return uploadPreKeys(ctx, needAuth(), body.value);
      case 'getPreKeyCount': return preKeyCount(ctx, needAuth());
      case 'fetchBundles': return fetchBundles(ctx, needAuth(), body.value);
      case 'send': return identifiedSend(ctx, needAuth(), body.value);
      case 'sealedSend': return sealedSend(ctx, body.value);
      case 'multiSealedSend': return multiSealedSend(ctx, body.value);
      case 'ack': return ack(ctx, needAuth(), body.value, frame.requestId !== 0n);
      case 'getSenderCertificate': return senderCertificate(ctx, needAuth());
      case 'setAccessKey': return setAccessKey(ctx, needAuth(), body.value);
      case 'listDevices': return listDevices(ctx, needAuth());
      case 'allocateAttachment': return allocateAttachment(ctx, needAuth(), body.value);
      case 'provisionListen': return Promise.resolve(provisionListen(ctx, this, s));
      case 'provisionSend': return Promise.resolve(provisionSend(ctx, needAuth(), body.value));
      case 'ping': return Promise.resolve({ body: { case: 'pong', value: { serverTime: BigInt(ctx.now()) } } });
      case 'removeDevice': return removeOwnDevice(ctx, needAuth(), body.value);
      case 'setDeviceName': return setDeviceName(ctx, needAuth(), body.value);
      // Push (spec/server.md §Push)
      case 'setPushSubscription': {
        const session = needAuth();
        if (!ctx.push) throw new ServerError('PUSH_DISABLED', 'push is switched off on this server (push.mode off): keep the app open to receive messages');
        return ctx.push.setSubscription(session, body.value);
      }
      default:
        throw new ServerError('UNKNOWN_FRAME', 'this server does not know that frame type; update the server or the client');
    }
  }
}

export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  if (isStorageFull(err)) return new ServerError('STORAGE_FULL', 'the server is out of disk space and stored nothing; try again later and tell the administrator');
  return new ServerError('INTERNAL', 'the server failed to handle this request; try again, and tell the administrator if it persists');
}
