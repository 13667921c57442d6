/**
 * Push that carries nothing (spec/server.md §Push): when a message is queued
 * for a device that is not connected and has a push subscription, the server
 * sends its endpoint (a browser's push service or a UnifiedPush distributor)
 * a Web Push message: VAPID-signed (RFC 8292), aes128gcm-encrypted to the
 * subscription (RFC 8291), always the same WAKE_UP bytes, so every wake-up is
 * the same size and names no sender, conversation or message. At most one per
 * device per PUSH_MIN_INTERVAL_MS; wake-ups asked for within the interval are
 * coalesced into one sent when it ends (skipped if the device connected).
 * The app then connects and fetches its queue; whether it shows a
 * notification (muted conversations never do) is decided on the device after
 * decrypting. Endpoints are never logged: failures log the HTTP status only.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createECDH } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import webpush from 'web-push';
import type { SetPushSubscription } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { ConfigError, ServerError } from '../errors.js';
import { dayOf } from '../ids.js';
import { pushHostAllowed, pushHostRules, type PushHostRule } from './push-hosts.js';

/** The one payload every wake-up carries (before encryption): no identifier of any kind. */
export const WAKE_UP = new TextEncoder().encode('{"sigilo":"wake-up","v":1}');
/** At most one wake-up per device per this interval. */
export const PUSH_MIN_INTERVAL_MS = 30_000;
/** How long a push service keeps an undelivered wake-up (later ones replace it: Topic). */
const PUSH_TTL_SECONDS = 24 * 3600;
const MAX_ENDPOINT_BYTES = 2048;
const SEND_TIMEOUT_MS = 15_000;

export interface VapidKeys {
  /** base64url of the 65-byte uncompressed P-256 public key (the browser's applicationServerKey). */
  readonly publicKey: string;
  /** base64url of the 32-byte private scalar. */
  readonly privateKey: string;
}

export const vapidKeyPath = (dataDir: string) => join(dataDir, 'vapid.json');

/** The server's VAPID key pair: DATA/vapid.json (mode 0600), generated on first start. */
export function loadVapidKeys(dataDir: string): VapidKeys {
  const path = vapidKeyPath(dataDir);
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    let keys: Partial<VapidKeys>;
    try {
      keys = JSON.parse(readFileSync(path, 'utf8')) as Partial<VapidKeys>;
    } catch {
      throw new ConfigError(`${path} is not valid JSON; restore it from a backup, or delete it to make a new key (every device must then subscribe to push again)`);
    }
    if (typeof keys.publicKey !== 'string' || typeof keys.privateKey !== 'string'
      || Buffer.from(keys.publicKey, 'base64url').length !== 65 || Buffer.from(keys.privateKey, 'base64url').length !== 32) {
      throw new ConfigError(`${path} does not hold a VAPID key pair; restore it from a backup, or delete it to make a new key (every device must then subscribe to push again)`);
    }
    return { publicKey: keys.publicKey, privateKey: keys.privateKey };
  }
  const keys = webpush.generateVAPIDKeys();
  writeFileSync(path, `${JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey })}\n`, { mode: 0o600, flag: 'wx' });
  return keys;
}

/** A wake-up asked for within the interval, sent by the next tick after the interval ends. */
interface Pending {
  readonly accountId: Uint8Array;
  readonly accountHex: string;
  readonly deviceId: number;
}

/** How often coalesced wake-ups are looked at. */
const TICK_MS = 1000;

export class PushService {
  readonly #ctx: ServerContext;
  readonly #vapid: VapidKeys | undefined;
  /** The hosts endpoints may name (push-hosts.ts). */
  readonly #hosts: PushHostRule[];
  readonly #agent: Agent | undefined;
  /** Per device (accountHex/deviceId): ctx.now() of the last wake-up sent or attempted, kept for one interval. */
  readonly #last = new Map<string, number>();
  readonly #pending = new Map<string, Pending>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #tick: NodeJS.Timeout;
  #closed = false;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    const { push } = ctx.config;
    this.#hosts = pushHostRules(push.allowedHosts);
    if (push.mode === 'webpush') {
      this.#vapid = loadVapidKeys(ctx.config.dataDir);
      let extra: string | undefined;
      if (push.caFile) {
        try {
          extra = readFileSync(push.caFile, 'utf8');
        } catch (e) {
          throw new ConfigError(`push.ca: cannot read ${push.caFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}); give a PEM file of certificate authorities`);
        }
      }
      this.#agent = new Agent({ keepAlive: true, maxSockets: 64, ...(extra ? { ca: [...rootCertificates, extra] } : {}) });
    }
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#tick.unref();
  }

  get enabled(): boolean { return this.#vapid !== undefined; }
  /** For /v1/server-info: what a browser passes as applicationServerKey. */
  get vapidPublicKey(): string | undefined { return this.#vapid?.publicKey; }

  /** SetPushSubscription from an authenticated device. */
  async setSubscription(session: Session, f: SetPushSubscription): Promise<Reply> {
    if (!this.enabled) throw new ServerError('PUSH_DISABLED', 'push is switched off on this server (push.mode off): keep the app open to receive messages');
    const { accountId, deviceId } = session;
    if (f.endpoint === '') {
      if (!await this.#ctx.storage.setPushSubscription(accountId, deviceId, undefined)) throw new ServerError('NOT_FOUND', 'this device no longer exists');
      this.#forget(session.accountHex, deviceId);
      return { body: { case: 'ok', value: {} } };
    }
    const url = checkSubscription(f);
    if (!pushHostAllowed(url, this.#hosts)) {
      throw new ServerError('PUSH_ENDPOINT_REFUSED', 'this server sends wake-ups only to the browsers\' push services and the UnifiedPush servers its administrator allows (push.allowedHosts); ask them to add yours, or use another distributor');
    }
    const stored = await this.#ctx.storage.setPushSubscription(accountId, deviceId, {
      endpoint: f.endpoint, p256dh: f.p256dh, auth: f.auth, createdDay: dayOf(this.#ctx.now()),
    });
    if (!stored) throw new ServerError('NOT_FOUND', 'this device no longer exists');
    return { body: { case: 'ok', value: {} } };
  }

  /** A message was queued for a device that is not connected. */
  wake(accountId: Uint8Array, accountHex: string, deviceId: number): void {
    if (!this.enabled || this.#closed) return;
    const key = `${accountHex}/${deviceId}`;
    if (this.#pending.has(key)) return; // one is already waiting: coalesced
    const last = this.#last.get(key);
    if (last !== undefined && this.#ctx.now() - last < PUSH_MIN_INTERVAL_MS) {
      this.#pending.set(key, { accountId, accountHex, deviceId });
      return;
    }
    this.#send(key, accountId, deviceId);
  }

  /** Waits for wake-ups in flight and stops (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tick);
    this.#pending.clear();
    this.#last.clear();
    this.#agent?.destroy(); // cuts requests still waiting for a push service
    await Promise.allSettled([...this.#inFlight]);
  }

  /** A removed device or account: drop its pending wake-up. */
  forgetRemoved(accountHex: string, deviceId: number | undefined): void {
    if (deviceId !== undefined) return this.#forget(accountHex, deviceId);
    for (const key of [...this.#pending.keys(), ...this.#last.keys()]) if (key.startsWith(`${accountHex}/`)) this.#forget(accountHex, Number(key.slice(accountHex.length + 1)));
  }

  #forget(accountHex: string, deviceId: number): void {
    const key = `${accountHex}/${deviceId}`;
    this.#pending.delete(key);
    this.#last.delete(key);
  }

  /** Sends coalesced wake-ups whose interval has ended (skipping devices that connected meanwhile), and forgets old send times. */
  #onTick(): void {
    const now = this.#ctx.now();
    for (const [key, p] of this.#pending) {
      if (now - (this.#last.get(key) ?? 0) < PUSH_MIN_INTERVAL_MS) continue;
      this.#pending.delete(key);
      if (!this.#ctx.hub.get(p.accountHex, p.deviceId)) this.#send(key, p.accountId, p.deviceId);
    }
    for (const [key, last] of this.#last) if (now - last >= PUSH_MIN_INTERVAL_MS && !this.#pending.has(key)) this.#last.delete(key);
  }

  #send(key: string, accountId: Uint8Array, deviceId: number): void {
    this.#last.set(key, this.#ctx.now());
    const job = this.#deliver(accountId, deviceId).finally(() => this.#inFlight.delete(job));
    this.#inFlight.add(job);
  }

  async #deliver(accountId: Uint8Array, deviceId: number): Promise<void> {
    const ctx = this.#ctx;
    let sub;
    try {
      sub = await ctx.storage.getPushSubscription(accountId, deviceId);
    } catch {
      ctx.log.warn('push: could not read a push subscription');
      return;
    }
    if (!sub || this.#closed) return;
    // A subscription kept from before the administrator narrowed push.allowedHosts is not used.
    if (!URL.canParse(sub.endpoint) || !pushHostAllowed(new URL(sub.endpoint), this.#hosts)) {
      ctx.metrics.pushes.inc({ outcome: 'refused' });
      return;
    }
    try {
      await webpush.sendNotification(
        { endpoint: sub.endpoint, keys: { p256dh: Buffer.from(sub.p256dh).toString('base64url'), auth: Buffer.from(sub.auth).toString('base64url') } },
        Buffer.from(WAKE_UP),
        {
          vapidDetails: { subject: ctx.config.push.subject, publicKey: this.#vapid!.publicKey, privateKey: this.#vapid!.privateKey },
          contentEncoding: 'aes128gcm',
          TTL: PUSH_TTL_SECONDS,
          urgency: 'high',
          // One constant topic: a newer wake-up replaces one the push service still holds.
          topic: 'wake',
          agent: this.#agent,
          timeout: SEND_TIMEOUT_MS,
        },
      );
      ctx.metrics.pushes.inc({ outcome: 'sent' });
    } catch (e) {
      // Never the error text: web-push's messages include the endpoint.
      const status = (e as { statusCode?: number }).statusCode;
      ctx.metrics.pushes.inc({ outcome: status === undefined ? 'unreachable' : 'refused' });
      if (status === 404 || status === 410) {
        // The subscription is gone at the push service: forget it (the device subscribes again when it next runs),
        // unless the device registered another one meanwhile.
        const current = await ctx.storage.getPushSubscription(accountId, deviceId).catch(() => undefined);
        if (current?.endpoint === sub.endpoint) await ctx.storage.setPushSubscription(accountId, deviceId, undefined).catch(() => {});
        ctx.log.info('push: a subscription expired and was deleted', { status });
      } else {
        ctx.log.warn('push: a wake-up could not be delivered', { status: status ?? 0 });
      }
    }
  }
}

function checkSubscription(f: SetPushSubscription): URL {
  let url: URL;
  try {
    url = new URL(f.endpoint);
  } catch {
    throw new ServerError('INVALID_ARGUMENT', 'the push endpoint is not a URL; pass the endpoint of the PushSubscription (or of the UnifiedPush distributor)');
  }
  if (url.protocol !== 'https:' || Buffer.byteLength(f.endpoint) > MAX_ENDPOINT_BYTES || url.username || url.password) {
    throw new ServerError('INVALID_ARGUMENT', `the push endpoint must be an https: URL of at most ${MAX_ENDPOINT_BYTES} bytes without user information`);
  }
  if (f.auth.length !== 16) throw new ServerError('INVALID_ARGUMENT', 'the push auth secret must be 16 bytes');
  if (f.p256dh.length !== 65 || f.p256dh[0] !== 4) throw new ServerError('INVALID_ARGUMENT', 'the push p256dh key must be a 65-byte uncompressed P-256 public key');
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.alloc(32, 1));
    ecdh.computeSecret(f.p256dh);
  } catch {
    throw new ServerError('INVALID_ARGUMENT', 'the push p256dh key is not a point on P-256');
  }
  return url;
}

