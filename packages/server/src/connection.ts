/**
 * One WebSocket connection: challenge, authentication, frame dispatch, rate
 * limiting, and delivery of the device's queue (drain on connect, then live
 * pushes) with backpressure. Errors become Error frames; the connection and
 * the server keep going unless authentication failed.
 *
 * Resource bounds (spec/server.md §2, §7): every frame, pings and pongs included, takes
 * from the connection's token bucket before anything is parsed or answered;
 * a peer that keeps sending far past its limit is closed (1008); a peer whose
 * unsent output passes its limit (#outboundLimit: it does not read) is cut off. An
 * unauthenticated connection lives on only through valid requests (sealed
 * sends; a device waiting to be linked), never past limits.anonymousLifetime.
 */
import { forgetProvisioning, provisionListen, provisionSend } from './services/provisioning.js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ClientFrameSchema, CloseReason, ErrorCode, ServerFrameSchema, type ClientFrame,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { WebSocket } from 'ws';
import { ProtocolError } from '@sigilo/protocol';
import { CHALLENGE_NONCE_LENGTH } from './auth.js';
import type { ServerContext, Session } from './context.js';
import { encodeDeliverWsFrame, encodeSendResultWsFrame, wsFrame } from './fast-frames.js';
import { FrameWriter } from './frame-writer.js';
import { decodeHotFrame } from './fast-decode.js';
import { RateLimitedError, ServerError, StaleDevicesError, isStorageFull, type WireErrorCode } from './errors.js';
import { TokenBucket } from './rate-limit.js';
import { SendGate, type SendTurn } from './send-gate.js';
import { QuotaExceededError, allocateAttachment } from './services/attachments.js';
import { authenticate, linkDevice, listDevices, register, setAccessKey } from './services/accounts.js';
import { fetchBundles, preKeyCount, preKeysLowNotice, uploadPreKeys } from './services/directory.js';
import { ack, identifiedSend, sealedSend, senderCertificate } from './services/messaging.js';
import { MultiStaleDevicesError, MultiUnauthorizedError, frameCost, multiSealedSend } from './services/messaging.js';
import type { QueuedMessage } from './storage/port.js';
import { AccountRemovedError, DeviceRemovedError, removeOwnDevice, setDeviceName } from './services/devices.js';
import { deleteUsername, directoryLeave, directoryPublish, directorySearch, lookupUsername, setUsername } from './services/usernames.js';
import { getProfile, setProfile } from './services/profiles.js';
import { ktAccount, ktConsistency } from './services/transparency-frames.js';
import { getCertificates, getOrgTrust, requestCertification } from './services/org-trust.js';

import type { Connection as ConnectionPort, Reply, ServerBody } from './ports.js';
export type { Reply };

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
/** An unauthenticated connection reached limits.anonymousLifetime: open a new one. */
export const CLOSE_ANONYMOUS_LIFETIME = 4006;
/** Policy violation: frames far above the rate limit, ignoring retry_after_ms. */
export const CLOSE_POLICY = 1008;

const PAGE = 256;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;
/** Bytes waiting to be sent above which a peer is cut off (plus one largest frame; see #outboundLimit): room for a push at the high-water mark and its framing. */
const OUTBOUND_SLACK = HIGH_WATER + 64 * 1024;


export class Connection implements ConnectionPort {
  readonly nonce: Uint8Array;
  session: Session | undefined;
  closed = false;
  readonly #ctx: ServerContext;
  readonly #ws: WebSocket;
  /** This connection's frames of the current turn, written as one buffer at its end (frame-writer.ts). */
  readonly #out: FrameWriter;
  readonly #bucket: TokenBucket;
  #authTimer: NodeJS.Timeout | undefined;
  #mode: 'idle' | 'draining' | 'live' = 'idle';
  #lastSentId = 0;
  #dirty = false;
  #authenticating = false;
  #alive = true;
  #pingOutstanding = false;
  /** Refused frames a peer may send (same rate and burst as the frames): when it runs dry, the peer is closed. */
  readonly #refusals: TokenBucket;
  /** Requests dispatched and not yet answered. */
  #inFlight = 0;
  #lifetimeTimer: NodeJS.Timeout | undefined;
  #lifetimeOver = false;
  /** A new device waiting for its link (ProvisionListen): exempt from the idle timer, not from the lifetime. */
  #awaitingLink = false;
  /** Several nodes only: server ids sent on this connection and not yet seen acknowledged (recheck). */
  readonly #sent: Set<number> | undefined;
  #catchingUp: Promise<void> | undefined;
  #catchUpAgain = false;
  readonly #onAuthenticated: (() => void) | undefined;
  readonly #outboundLimit: number;
  /** Reading stopped because the relay is behind on its commits (Relay.congested); resumed by it. */
  #readStalled = false;
  readonly #resumeReading = (): void => {
    this.#readStalled = false;
    this.#ws.resume();
  };
  /** This connection's sends reach the relay in arrival order (send-gate.ts); made on the first send. */
  #sendGate: SendGate | undefined;
  /** Fires when a frame has been arriving for limits.frameTimeout without completing (see #watchPartialFrames). */
  #partialTimer: NodeJS.Timeout | undefined;
  /** A message completed since the partial-frame deadline was last armed. */
  #progress = false;
  /**
   * The source address key (admission.ts addressKey), for the per-address bound on failed
   * registrations; held in memory only, never stored or logged.
   */
  readonly sourceKey: string;

  /** @param onAuthenticated called once when the connection binds to a device (admission counts). */
  constructor(ctx: ServerContext, ws: WebSocket, onAuthenticated?: () => void, sourceKey = '?') {
    this.#ctx = ctx;
    this.#ws = ws;
    this.#out = FrameWriter.attach(ws);
    this.#onAuthenticated = onAuthenticated;
    this.#sent = ctx.hub.peers ? new Set() : undefined;
    this.sourceKey = sourceKey;
    this.nonce = ctx.random(CHALLENGE_NONCE_LENGTH);
    const { limits } = ctx.config;
    this.#outboundLimit = OUTBOUND_SLACK + limits.maxFrameBytes;
    this.#bucket = new TokenBucket(limits.connectionFramesPerSecond, limits.connectionBurst, ctx.now());
    this.#refusals = new TokenBucket(limits.connectionFramesPerSecond, limits.connectionBurst, ctx.now());
    ws.on('message', (data, isBinary) => { this.#progress = true; this.#onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary); });
    this.#watchPartialFrames();
    ws.on('close', () => this.#onClose());
    // Only an answer to our own ping proves the peer alive; unprompted pongs are ignored.
    ws.on('pong', () => {
      // Pongs take a token like every frame, so a flood of them ends in 1008 (unprompted pongs cost the
      // server a core and never closed); the answer to our own ping counts even when refused.
      if (this.closed) return;
      this.#admitFrame();
      if (this.closed) return;
      if (this.#pingOutstanding) {
        this.#pingOutstanding = false;
        this.#alive = true;
      }
    });
    // Pings are answered by us (autoPong is off), through the same rate limit as every frame.
    ws.on('ping', (data) => {
      if (this.closed || this.#admitFrame() > 0) return;
      if (this.#outboundFull(data.length)) return;
      try { ws.pong(data); } catch { /* closing */ }
    });
    ws.on('error', (err) => {
      // ws reports oversize frames (1009) and protocol violations here; it closes the socket itself.
      ctx.log.debug('websocket error', { code: (err as { code?: string }).code });
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        ctx.metrics.errors.inc({ code: 'FRAME_TOO_LARGE' });
        ctx.metrics.refused('frame_size');
      }
    });
    this.#armAuthTimer();
    this.#lifetimeTimer = setTimeout(() => {
      this.#lifetimeOver = true;
      if (this.#inFlight === 0) this.#endAnonymous();
    }, limits.anonymousLifetimeMs);
    this.#lifetimeTimer.unref();
    ctx.hub.add(this);
    this.send({ case: 'challenge', value: { nonce: this.nonce, serverTime: BigInt(ctx.now()), protocolVersion: 1 } });
  }

  /**
   * An unauthenticated connection is closed after authTimeout without a valid
   * request (malformed frames and pings do not count); anonymous connections used
   * for sealed sends stay open while they are used, up to limits.anonymousLifetime.
   */
  #armAuthTimer(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => {
      if (!this.session && !this.closed) {
        this.#ctx.metrics.refused('auth_timeout');
        this.#sendError(0n, new ServerError('NOT_AUTHENTICATED', 'no authentication within the time limit; reconnect and authenticate'));
        this.#closeWith(CLOSE_AUTH_TIMEOUT, 'authentication timeout');
      }
    }, this.#ctx.config.limits.authTimeoutMs);
    this.#authTimer.unref();
  }

  send(body: ServerBody, requestId = 0n): void {
    if (body?.case === 'sendResult') {
      const v = body.value;
      this.#sendFrame(encodeSendResultWsFrame(requestId, v.messageId!, Number(v.serverTimestamp), v.duplicate === true));
      return;
    }
    this.sendBytes(toBinary(ServerFrameSchema, create(ServerFrameSchema, { requestId, body })));
  }

  /** Sends an encoded ServerFrame. */
  sendBytes(frame: Uint8Array): void {
    if (this.#closedForSends()) return;
    this.#sendFrame(wsFrame(frame));
  }

  #closedForSends(): boolean {
    return this.closed || this.#ws.readyState !== this.#ws.OPEN;
  }

  /** Queues a complete WebSocket frame (header and payload) for the end of this turn, within the outbound limit. */
  #sendFrame(frame: Uint8Array): void {
    if (this.#closedForSends()) return;
    if (this.#outboundFull(frame.length)) return;
    this.#out.write(frame);
  }

  /** Bytes sent on this connection and not yet taken by the kernel: ws's and the socket's buffers and this turn's frames. */
  #buffered(): number {
    return this.#ws.bufferedAmount + this.#out.bytes;
  }

  /** True (and the peer cut off) when `bytes` more would take its unread output past the limit. */
  #outboundFull(bytes: number): boolean {
    if (this.#buffered() + bytes <= this.#outboundLimit) return false;
    this.#ctx.metrics.errors.inc({ code: 'SLOW_READER' });
    this.#ctx.metrics.refused('slow_reader');
    this.#terminate();
    return true;
  }

  /** Drops the connection without a closing handshake (a peer that does not read would never complete one). */
  #terminate(): void {
    if (!this.closed) {
      this.closed = true;
      this.#clearTimers();
      this.#ctx.hub.remove(this);
    }
    this.#ws.terminate();
  }

  #clearTimers(): void {
    clearTimeout(this.#authTimer);
    clearTimeout(this.#lifetimeTimer);
    clearTimeout(this.#partialTimer);
    // Dropped, not only cleared: a Timeout and its closure are ~0.2 KiB per idle device at 10,000.
    this.#authTimer = undefined;
    this.#lifetimeTimer = undefined;
    this.#partialTimer = undefined;
  }

  /**
   * A frame (or a fragmented message) that trickles in: once bytes of an incomplete frame are
   * buffered, a message must complete within limits.frameTimeout, or the peer is closed (1008).
   * Complete control frames (ping, pong) do not count as progress for a message in pieces. ws
   * processes each chunk synchronously in its own 'data' listener, which runs before this one.
   */
  #watchPartialFrames(): void {
    const socket = (this.#ws as unknown as { _socket?: import('node:net').Socket })._socket;
    const receiver = (this.#ws as unknown as { _receiver?: { _bufferedBytes?: number; _fragments?: unknown[] } })._receiver;
    if (!socket || !receiver) return;
    socket.on('data', () => {
      if (this.closed) return;
      const partial = (receiver._bufferedBytes ?? 0) > 0 || (receiver._fragments?.length ?? 0) > 0;
      if (!partial) {
        clearTimeout(this.#partialTimer);
        this.#partialTimer = undefined;
      } else if (this.#partialTimer === undefined || this.#progress) {
        clearTimeout(this.#partialTimer);
        this.#partialTimer = setTimeout(() => {
          // Not the peer's fault while this side does not read (Relay.congested): it gets a new deadline.
          if (this.#readStalled) { this.#partialTimer?.refresh(); return; }
          this.#ctx.metrics.refused('frame_timeout');
          this.#closeWith(CLOSE_POLICY, 'a frame took too long to arrive');
        }, this.#ctx.config.limits.frameTimeoutMs);
        this.#partialTimer.unref();
      }
      this.#progress = false;
    });
  }

  /**
   * Takes one token for an arriving frame: 0 to handle it, else the milliseconds until a token
   * is there. Refused frames draw on a second bucket of the same size: a peer that keeps
   * sending past its limit (more than a burst of refused frames beyond the refill) is closed.
   */
  #admitFrame(): number {
    const now = this.#ctx.now();
    const wait = this.#bucket.take(now, 1);
    if (wait === 0) return 0;
    if (this.#refusals.take(now, 1) > 0) {
      this.#ctx.metrics.refused('connection_flood');
      this.#closeWith(CLOSE_POLICY, 'far too many frames; slow down');
    }
    return wait;
  }

  /** The anonymous lifetime is over and no request is in flight: the client opens a new connection. */
  #endAnonymous(): void {
    if (this.session || this.closed) return;
    this.#ctx.metrics.refused('anonymous_lifetime');
    this.#closeWith(CLOSE_ANONYMOUS_LIFETIME, 'unauthenticated connection lifetime reached; open a new connection');
  }

  /** Binds the connection to an authenticated device; the queue drains after the reply is sent. */
  establish(session: Session): () => void {
    this.session = session;
    this.#clearTimers();
    this.#awaitingLink = false;
    this.#onAuthenticated?.();
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
      if (this.#buffered() > HIGH_WATER) {
        // Slow reader: stop pushing live and let the drain loop catch up from storage.
        this.#dirty = true;
        void this.#drain();
        return;
      }
      if (this.#sent ? !this.#sent.has(message.serverId) : message.serverId > this.#lastSentId) this.#deliver(message);
    } else if (this.#mode === 'draining') {
      this.#dirty = true;
    }
  }

  /**
   * Several nodes (cluster.ts): re-reads this device's queue after a wake-up or on the poll.
   * Server ids from different nodes commit out of order, so the whole queue is read again and
   * what this connection already sent (#sent) is skipped, rather than reading after #lastSentId.
   */
  recheck(): Promise<void> {
    if (this.closed || !this.session) return Promise.resolve();
    if (this.#mode === 'draining') { this.#dirty = true; return Promise.resolve(); }
    if (this.#mode !== 'live') return Promise.resolve();
    if (this.#catchingUp) { this.#catchUpAgain = true; return this.#catchingUp; }
    this.#catchingUp = this.#catchUp().catch(() => { /* the next poll tries again */ }).finally(() => {
      this.#catchingUp = undefined;
      if (this.#catchUpAgain) { this.#catchUpAgain = false; void this.recheck(); }
    });
    return this.#catchingUp;
  }

  async #catchUp(): Promise<void> {
    const { accountId, deviceId } = this.session!;
    // Only ids sent before this read may be forgotten (one sent meanwhile may be missing from a page read earlier).
    const before = this.#sent ? [...this.#sent] : [];
    const seen = new Set<number>();
    let after = 0;
    for (;;) {
      const page = await this.#ctx.storage.fetchQueue(accountId, deviceId, after, PAGE);
      if (this.closed || this.#mode !== 'live') return;
      for (const m of page) {
        seen.add(m.serverId);
        if (this.#sent?.has(m.serverId) || (!this.#sent && m.serverId <= this.#lastSentId)) continue;
        if (this.#buffered() > HIGH_WATER) return; // the next wake-up or poll goes on from here
        this.#deliver(m);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.serverId;
    }
    // Whatever was sent and is no longer queued was acknowledged: forget it.
    for (const id of before) if (!seen.has(id)) this.#sent!.delete(id);
  }

  /** Called every heartbeat interval: a peer that did not answer the previous ping is cut off. */
  heartbeat(): void {
    if (this.closed) return;
    // While this side does not read (Relay.congested), the answer may be waiting unread in the socket.
    if (!this.#alive && !this.#readStalled) {
      this.#ctx.hub.remove(this);
      this.closed = true;
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    this.#pingOutstanding = true;
    try { this.#ws.ping(); } catch { /* closing */ }
  }

  /** An online-only message: sent if the device is live and keeping up, else dropped. */
  pushEphemeral(message: QueuedMessage): void {
    if (this.closed || !this.session || this.#mode !== 'live' || this.#buffered() > HIGH_WATER) return;
    this.#ctx.metrics.messagesPushed.inc();
    this.#sendFrame(encodeDeliverWsFrame(message));
  }

  close(reason: CloseReason, message: string): void {
    if (this.closed) return;
    this.send({ case: 'closing', value: { reason, message } });
    this.#closeWith(CLOSE_CODES[reason], message);
  }

  #closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#clearTimers();
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
    this.#clearTimers();
    this.#ctx.hub.remove(this);
    forgetProvisioning(this.#ctx, this);
  }

  #deliver(m: QueuedMessage): void {
    this.#lastSentId = Math.max(this.#lastSentId, m.serverId);
    this.#sent?.add(m.serverId);
    this.#ctx.metrics.messagesPushed.inc();
    this.#sendFrame(encodeDeliverWsFrame(m));
  }

  async #waitForBuffer(): Promise<void> {
    while (!this.closed && this.#buffered() > LOW_WATER) await new Promise((r) => setTimeout(r, 5));
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
        let full = false;
        for (const m of page) {
          this.#deliver(m);
          // Large messages: stop at the high-water mark and wait for the peer to read (the rest comes after #lastSentId).
          if (this.#buffered() > HIGH_WATER) { full = true; break; }
        }
        if (full || page.length === PAGE || this.#dirty) continue;
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
    // The rate limit comes first: no frame is parsed or answered beyond it.
    const wait = this.#admitFrame();
    if (wait > 0) {
      // Answered without parsing (the request id is read from the first bytes); too many of these close the peer.
      if (!this.closed) this.#sendError(isBinary ? requestIdOf(data) : 0n, new RateLimitedError(wait, 'frames on this connection', 'connection_frames'));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    // Parsing costs time in proportion to the bytes (a 2 MiB frame of tiny fields takes most of a second):
    // a frame takes one token per FRAME_TOKEN_BYTES begun, before it is parsed; refusals count as above.
    const byteCost = bytesCost(bytes.length, this.#bucket.burst);
    if (byteCost > 1) {
      const wait = this.#bucket.take(this.#ctx.now(), byteCost - 1);
      if (wait > 0) {
        if (this.#refusals.take(this.#ctx.now(), 1) > 0) this.#closeWith(CLOSE_POLICY, 'far too many bytes; slow down');
        else this.#sendError(isBinary ? requestIdOf(bytes) : 0n, new RateLimitedError(wait, 'bytes on this connection'));
        return;
      }
    }
    // Text frames (any size) cost their bytes too, then are refused.
    if (!isBinary) {
      this.#sendError(0n, new ServerError('MALFORMED_FRAME', 'frames must be binary protobuf ClientFrame messages, not text'));
      return;
    }
    let frame: ClientFrame;
    try {
      frame = decodeHotFrame(bytes) ?? fromBinary(ClientFrameSchema, bytes, { readUnknownFields: false });
    } catch {
      this.#sendError(0n, new ServerError('MALFORMED_FRAME', 'the frame is not a valid ClientFrame protobuf; check the client version'));
      return;
    }
    // byteCost tokens are already taken; a multi-recipient send costs one per recipient.
    const extra = frameCost(frame, this.#bucket.burst) - byteCost;
    const more = extra > 0 ? this.#bucket.take(this.#ctx.now(), extra) : 0;
    if (more > 0) {
      this.#sendError(frame.requestId, new RateLimitedError(more, 'frames on this connection', 'connection_frames'));
      return;
    }
    let reply: Promise<Reply>;
    const c = frame.body.case;
    const turn = c === 'sealedSend' || c === 'send' || c === 'multiSealedSend' ? (this.#sendGate ??= new SendGate()).take() : undefined;
    try {
      reply = this.#dispatch(frame, turn);
    } catch (err) {
      reply = Promise.reject(err);
    }
    this.#inFlight++;
    // Inbound backpressure: while the relay is behind, this connection's further frames wait in its socket.
    if (turn && !this.#readStalled && this.#ctx.relay.congested(this.#resumeReading)) {
      this.#readStalled = true;
      this.#ws.pause();
    }
    // One reaction per frame (no .catch/.finally chain: fewer promises on the hot path).
    reply.then(
      (r) => {
        try {
          if (r) this.send(r.body, frame.requestId);
          r?.after?.();
          this.#keepAnonymousAlive(frame);
        } catch (err) {
          this.#ctx.log.error('request failed after its reply', { frame: frame.body.case, error: (err as Error)?.name });
        }
        this.#answered(turn);
      },
      (err: unknown) => {
        try {
          this.#onError(frame, err);
        } catch (e) {
          this.#ctx.log.error('request failed after its reply', { frame: frame.body.case, error: (e as Error)?.name });
        }
        this.#answered(turn);
      },
    );
  }

  #answered(turn: SendTurn | undefined): void {
    turn?.pass(); // refused before its turn: the next send need not wait for it
    this.#inFlight--;
    if (this.#lifetimeOver && this.#inFlight === 0) this.#endAnonymous();
  }

  /** After a request succeeded on an unauthenticated connection: valid use keeps it open (within its lifetime). */
  #keepAnonymousAlive(frame: ClientFrame): void {
    if (this.session || this.closed) return;
    switch (frame.body.case) {
      case 'sealedSend':
      case 'multiSealedSend':
        if (!this.#awaitingLink) this.#armAuthTimer();
        return;
      case 'provisionListen':
        // Waiting for a person to approve the link on another device: possibly minutes.
        this.#awaitingLink = true;
        clearTimeout(this.#authTimer);
        return;
      default:
    }
  }

  #onError(frame: ClientFrame, err: unknown): void {
    const se = toServerError(err);
    if (se.code === 'INTERNAL') this.#ctx.log.error('request failed', { frame: frame.body.case, error: (err as Error)?.name });
    this.#sendError(frame.requestId, se);
    if (se.code === 'AUTH_FAILED' || se.code === 'DEVICE_REMOVED' || se.code === 'ACCOUNT_REMOVED') this.#closeWith(CLOSE_AUTH_FAILED, 'authentication failed');
  }

  #sendError(requestId: bigint, e: ServerError): void {
    this.#ctx.metrics.errors.inc({ code: e.code });
    if (e instanceof RateLimitedError) this.#ctx.metrics.refused(e.bound);
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
        deviceRemoval: e instanceof DeviceRemovedError ? { byDeviceId: e.byDeviceId, day: e.day } : e instanceof AccountRemovedError ? { byDeviceId: 0, day: e.day } : undefined,
      },
    }, requestId);
  }

  /** The session, or NOT_AUTHENTICATED. */
  #auth(): Session {
    if (!this.session) throw new ServerError('NOT_AUTHENTICATED', 'authenticate (or register) on this connection first');
    return this.session;
  }

  /** Register, link or authenticate: once per connection, one at a time. */
  async #once(f: () => Promise<Reply>): Promise<Reply> {
    if (this.session) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is already authenticated; open a new connection for another device');
    if (this.#authenticating) throw new ServerError('INVALID_ARGUMENT', 'an authentication is already in progress on this connection');
    this.#authenticating = true;
    try { return await f(); } finally { this.#authenticating = false; }
  }

  /** No closure per frame: the two frames of every message (sealed send, ack) are tested first. */
  #dispatch(frame: ClientFrame, turn?: SendTurn): Promise<Reply> {
    const ctx = this.#ctx;
    const body = frame.body;
    if (body.case === 'sealedSend') return sealedSend(ctx, body.value, this.sourceKey, turn);
    if (body.case === 'ack') return ack(ctx, this.#auth(), body.value, frame.requestId !== 0n);
    const s = this.session;
    const needAuth = (): Session => this.#auth();
    const once = (f: () => Promise<Reply>): Promise<Reply> => this.#once(f);
    switch (body.case) {
      case 'register': return once(() => register(ctx, this, body.value));
      case 'linkDevice': return once(() => linkDevice(ctx, this, body.value));
      case 'authenticate': return once(() => authenticate(ctx, this, body.value));
      case 'uploadPreKeys': return uploadPreKeys(ctx, needAuth(), body.value);
      case 'getPreKeyCount': return preKeyCount(ctx, needAuth());
      case 'fetchBundles': return fetchBundles(ctx, needAuth(), body.value);
      case 'send': return identifiedSend(ctx, needAuth(), body.value, turn);
      case 'multiSealedSend': return multiSealedSend(ctx, body.value, this.sourceKey, turn);
      case 'getSenderCertificate': return senderCertificate(ctx, needAuth());
      case 'setAccessKey': return setAccessKey(ctx, needAuth(), body.value);
      case 'listDevices': return listDevices(ctx, needAuth());
      case 'allocateAttachment': return allocateAttachment(ctx, needAuth(), body.value);
      case 'provisionListen': return provisionListen(ctx, this, s);
      case 'provisionSend': return provisionSend(ctx, needAuth(), body.value);
      // Names and the member directory (services/usernames.ts, services/profiles.ts)
      case 'setUsername': return setUsername(ctx, needAuth(), body.value);
      case 'deleteUsername': return deleteUsername(ctx, needAuth());
      case 'lookupUsername': return lookupUsername(ctx, needAuth(), body.value, this.sourceKey);
      case 'setProfile': return setProfile(ctx, needAuth(), body.value);
      case 'getProfile': return getProfile(ctx, needAuth(), body.value);
      case 'directoryPublish': return directoryPublish(ctx, needAuth(), body.value);
      case 'directoryLeave': return directoryLeave(ctx, needAuth(), body.value);
      case 'directorySearch': return directorySearch(ctx, needAuth(), body.value);
      case 'ping': return Promise.resolve({ body: { case: 'pong', value: { serverTime: BigInt(ctx.now()) } } });
      case 'removeDevice': return removeOwnDevice(ctx, needAuth(), body.value);
      case 'setDeviceName': return setDeviceName(ctx, needAuth(), body.value);
      case 'ktGetConsistency': return ktConsistency(ctx, needAuth(), body.value);
      case 'ktGetAccount': return ktAccount(ctx, needAuth());
      case 'getOrgTrust': return getOrgTrust(ctx, needAuth());
      case 'getCertificates': return getCertificates(ctx, needAuth(), body.value);
      case 'requestCertification': return requestCertification(ctx, needAuth(), body.value);
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

/** Bytes of a frame that cost one token of the connection's bucket (each begun block counts). */
export const FRAME_TOKEN_BYTES = 1024;

/** Tokens a frame of `length` bytes costs before it is parsed: one per FRAME_TOKEN_BYTES begun, at least 1, at most the burst. */
export function bytesCost(length: number, burst: number): number {
  return Math.max(1, Math.min(burst, Math.ceil(length / FRAME_TOKEN_BYTES)));
}

/** The request id of a binary ClientFrame without parsing the rest (field 1, varint), or 0. */
function requestIdOf(data: Buffer | Buffer[] | ArrayBuffer): bigint {
  const b = Array.isArray(data) ? data[0] : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (!b || b.length < 2 || b[0] !== 0x08) return 0n;
  let v = 0n;
  for (let i = 1, shift = 0n; i < Math.min(b.length, 11); i++, shift += 7n) {
    v |= BigInt(b[i]! & 0x7f) << shift;
    if ((b[i]! & 0x80) === 0) return v;
  }
  return 0n;
}

const CLIENT_INPUT_ERRORS: ReadonlySet<string> = new Set(['INVALID_KEY', 'INVALID_ARGUMENT', 'INVALID_SIGNATURE', 'DECODE_ERROR', 'UNSUPPORTED_VERSION', 'INVALID_PREKEY']);

export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  if (isStorageFull(err)) return new ServerError('STORAGE_FULL', 'the server is out of disk space and stored nothing; try again later and tell the administrator');
  // A key or structure the protocol library refused (e.g. a non-canonical or small-order X25519 half of an
  // identity key) is the client's input, not a server failure.
  if (err instanceof ProtocolError && CLIENT_INPUT_ERRORS.has(err.code)) {
    return new ServerError('INVALID_ARGUMENT', `the request carries an invalid key or structure (${err.code}); check the client version`);
  }
  return new ServerError('INTERNAL', 'the server failed to handle this request; try again, and tell the administrator if it persists');
}
