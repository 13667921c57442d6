/**
 * A minimal protocol-valid client for the server's integration tests: connect
 * over TLS (pinning the server's certificate), register / link / authenticate
 * by signing the challenge, request-response by request id, and a queue of
 * pushes (Deliver, PreKeysLow, QueueEmpty, Closing). The client SDK replaces
 * it for end-to-end tests.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  generateIdentityKeyPair, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey, type IdentityKeyPair,
} from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import {
  ClientFrameSchema, ServerFrameSchema, type Deliver, type ServerFrame,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  authPayload, linkDevicePayload, linkIdentityPayload, registerDevicePayload, registerIdentityPayload,
} from '../../src/auth.js';

export const ctx = { crypto: nodeCrypto, random: systemRandom };
type ClientBody = MessageInitShape<typeof ClientFrameSchema>['body'];

export interface Device {
  readonly identity: IdentityKeyPair;
  readonly deviceKey: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array };
  accountId?: Uint8Array;
  deviceId?: number;
}

export function newDevice(identity: IdentityKeyPair = generateIdentityKeyPair(ctx)): Device {
  const seed = systemRandom(32);
  return { identity, deviceKey: { privateKey: seed, publicKey: nodeCrypto.ed25519PublicKey(seed) } };
}

export const messageId = () => new Uint8Array(randomBytes(16));

export interface Target { readonly url: string; readonly tls: { readonly cert: string } }

export class TestClient {
  readonly ws: WebSocket;
  nonce = new Uint8Array(0);
  readonly pushes: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1n;
  #pending = new Map<bigint, (f: ServerFrame) => void>();
  #rejects = new Map<bigint, (e: Error) => void>();
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      for (const reject of this.#rejects.values()) reject(new Error(`connection closed (${code})`));
      this.#rejects.clear();
      this.#pending.clear();
      resolve({ code, reason: reason.toString() });
    }));
    ws.on('message', (data: Buffer) => {
      const frame = fromBinary(ServerFrameSchema, data);
      if (frame.body.case === 'challenge') this.nonce = frame.body.value.nonce;
      const waiter = frame.requestId !== 0n ? this.#pending.get(frame.requestId) : undefined;
      if (waiter) {
        this.#pending.delete(frame.requestId);
        this.#rejects.delete(frame.requestId);
        waiter(frame);
      } else {
        this.pushes.push(frame);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  static async connect(target: Target, options: { pin?: boolean; localAddress?: string } = {}): Promise<TestClient> {
    const ws = new WebSocket(target.url, { ca: options.pin === false ? undefined : target.tls.cert, rejectUnauthorized: options.pin !== false, localAddress: options.localAddress });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.waitFor(() => client.nonce.length > 0, 'challenge');
    return client;
  }

  /** Resolves when `cond` holds, re-checking on every incoming frame. */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  request(body: ClientBody, timeoutMs = 10_000): Promise<ServerFrame> {
    const requestId = this.#nextId++;
    this.ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body })));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.#pending.delete(requestId); this.#rejects.delete(requestId); reject(new Error(`no response to ${body.case}`)); }, timeoutMs);
      this.#pending.set(requestId, (f) => { clearTimeout(t); resolve(f); });
      this.#rejects.set(requestId, (e) => { clearTimeout(t); reject(e); });
    });
  }

  /** Sends without waiting for a response (request id 0). */
  fire(body: ClientBody): void {
    this.ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 0n, body })));
  }

  sendRaw(data: Uint8Array | string): void { this.ws.send(data); }

  async expectOk<C extends ServerFrame['body']['case']>(body: ClientBody, expected: C): Promise<Extract<ServerFrame['body'], { case: C }>['value']> {
    const f = await this.request(body);
    if (f.body.case !== expected) {
      const detail = f.body.case === 'error' ? `${f.body.value.code}: ${f.body.value.message}` : String(f.body.case);
      throw new Error(`expected ${expected}, got ${detail}`);
    }
    return f.body.value as Extract<ServerFrame['body'], { case: C }>['value'];
  }

  deliveries(): Deliver[] {
    return this.pushes.flatMap((f) => (f.body.case === 'deliver' ? [f.body.value] : []));
  }

  async waitForDeliveries(n: number, timeoutMs = 10_000): Promise<Deliver[]> {
    await this.waitFor(() => this.deliveries().length >= n, `${n} deliveries (have ${this.deliveries().length})`, timeoutMs);
    return this.deliveries();
  }

  async waitForPush<C extends ServerFrame['body']['case']>(c: C, timeoutMs = 10_000): Promise<Extract<ServerFrame['body'], { case: C }>['value']> {
    await this.waitFor(() => this.pushes.some((f) => f.body.case === c), `push ${c}`, timeoutMs);
    return this.pushes.find((f) => f.body.case === c)!.body.value as Extract<ServerFrame['body'], { case: C }>['value'];
  }

  async ackAll(): Promise<void> {
    const ids = this.deliveries().map((d) => d.serverId);
    for (let i = 0; i < ids.length; i += 1000) await this.expectOk({ case: 'ack', value: { serverIds: ids.slice(i, i + 1000) } }, 'ok');
  }

  // --- account operations

  register(device: Device, inviteCode: string) {
    const sign = nodeCrypto.ed25519Sign;
    return this.request({
      case: 'register',
      value: {
        inviteCode,
        identityKey: device.identity.publicKey,
        deviceKey: device.deviceKey.publicKey,
        identitySignature: sign(device.identity.signing.privateKey, registerIdentityPayload(this.nonce, device.deviceKey.publicKey)),
        deviceSignature: sign(device.deviceKey.privateKey, registerDevicePayload(this.nonce, device.identity.publicKey)),
      },
    }).then((f) => {
      if (f.body.case === 'registered') {
        device.accountId = f.body.value.accountId;
        device.deviceId = f.body.value.deviceId;
      }
      return f;
    });
  }

  link(device: Device, accountId: Uint8Array) {
    const sign = nodeCrypto.ed25519Sign;
    return this.request({
      case: 'linkDevice',
      value: {
        accountId,
        deviceKey: device.deviceKey.publicKey,
        identitySignature: sign(device.identity.signing.privateKey, linkIdentityPayload(this.nonce, accountId, device.deviceKey.publicKey)),
        deviceSignature: sign(device.deviceKey.privateKey, linkDevicePayload(this.nonce, accountId)),
      },
    }).then((f) => {
      if (f.body.case === 'registered') {
        device.accountId = f.body.value.accountId;
        device.deviceId = f.body.value.deviceId;
      }
      return f;
    });
  }

  authenticate(device: Device) {
    return this.request({
      case: 'authenticate',
      value: {
        accountId: device.accountId!,
        deviceId: device.deviceId!,
        signature: nodeCrypto.ed25519Sign(device.deviceKey.privateKey, authPayload(this.nonce, device.accountId!, device.deviceId!)),
      },
    });
  }

  async uploadPreKeys(device: Device, counts: { oneTime?: number; pq?: number; startId?: number } = {}) {
    const now = Date.now();
    const start = counts.startId ?? 1;
    const spk = generateSignedPreKey(ctx, device.identity, start, now);
    const otks = generateOneTimePreKeys(ctx, start, counts.oneTime ?? 20);
    const pqs = Array.from({ length: counts.pq ?? 5 }, (_, i) => generatePqPreKey(ctx, device.identity, start + i, false, now));
    const lr = generatePqPreKey(ctx, device.identity, 1_000_000 + start, true, now);
    return this.expectOk({
      case: 'uploadPreKeys',
      value: {
        signedPreKey: { id: spk.id, publicKey: spk.keyPair.publicKey, signature: spk.signature },
        oneTimePreKeys: otks.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })),
        pqPreKeys: pqs.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey, signature: k.signature, lastResort: false })),
        lastResortPqPreKey: { id: lr.id, publicKey: lr.keyPair.publicKey, signature: lr.signature, lastResort: true },
      },
    }, 'preKeyCount');
  }

  sendTo(recipient: Uint8Array, deviceIds: number[], content: (deviceId: number) => Uint8Array, id = messageId()) {
    return this.request({
      case: 'send',
      value: { recipientAccountId: recipient, messageId: id, messages: deviceIds.map((deviceId) => ({ deviceId, content: content(deviceId) })) },
    });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
