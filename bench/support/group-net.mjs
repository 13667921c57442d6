// The network side of bench/groups.mjs: accounts registered for real on a spawned server, over
// TLS WebSocket connections (WsConn from sigilo-load.mjs), with the frames of
// spec/sigilo/server/v1/frames.proto encoded by the generated protobuf code, as the client does.
// A frame can also be sent as bytes encoded elsewhere, so the bytes measured are the bytes sent.
import { request as httpsRequest } from 'node:https';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ClientFrameSchema, ErrorCode, ServerFrameSchema } from '../../packages/protocol/dist/gen/sigilo/server/v1/frames_pb.js';
import { authPayload, registerDevicePayload, registerIdentityPayload } from '../../packages/protocol/dist/device-auth.js';
import { WsConn } from './sigilo-load.mjs';

/** One WebSocket connection speaking ClientFrame / ServerFrame; pushes (request id 0) go to `onPush`. */
export class FrameConn {
  ws;
  nonce;
  onPush = () => {};
  #next = 1n;
  #pending = new Map();

  static async open(target) {
    const ws = await WsConn.open({ port: target.port, secureContext: target.secureContext });
    const conn = new FrameConn(ws);
    conn.nonce = await conn.#challenge;
    return conn;
  }

  #challenge;
  constructor(ws) {
    this.ws = ws;
    let gotChallenge;
    this.#challenge = new Promise((resolve) => { gotChallenge = resolve; });
    ws.onClose = () => {
      for (const p of this.#pending.values()) p.reject(new Error('connection closed before the server answered'));
      this.#pending.clear();
    };
    ws.start((payload) => {
      const frame = fromBinary(ServerFrameSchema, payload);
      if (frame.body.case === 'challenge') return gotChallenge(frame.body.value.nonce);
      const pending = frame.requestId !== 0n ? this.#pending.get(frame.requestId) : undefined;
      if (!pending) return this.onPush(frame);
      this.#pending.delete(frame.requestId);
      pending.resolve(frame);
    });
  }

  /** A fresh request id (for frames encoded by the caller). */
  nextRequestId() { return this.#next++; }

  /** Sends already-encoded ClientFrame bytes whose request id is `requestId`; resolves with the answer frame. */
  sendEncoded(requestId, bytes) {
    return new Promise((resolve, reject) => {
      this.#pending.set(requestId, { resolve, reject });
      this.ws.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    });
  }

  /** Encodes and sends {requestId, body}; resolves with the answer, rejects on an Error frame. */
  async request(body) {
    const requestId = this.nextRequestId();
    const frame = await this.sendEncoded(requestId, toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body })));
    if (frame.body.case === 'error') throw new Error(`server refused ${body.case}: ${describeError(frame.body.value)}`);
    return frame;
  }

  /** Sends a frame that wants no answer (request id 0: acks). */
  post(body) {
    this.ws.send(Buffer.from(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 0n, body }))));
  }

  close() { this.ws.close(); }
}

export function describeError(e) {
  return `${ErrorCode[e.code] ?? e.code} ${e.message}`;
}

/**
 * Registers one account for `identity` (an @sigilo/protocol IdentityKeyPair) with an invite, sets
 * a fresh 16-byte access key, and closes the connection.
 * Resolves to {accountId, deviceId, accessKey, deviceKey (private seed)}.
 */
export async function registerAccount(target, ctx, identity, invite) {
  const conn = await FrameConn.open(target);
  try {
    const deviceSeed = ctx.random(32);
    const devicePublic = ctx.crypto.ed25519PublicKey(deviceSeed);
    const reg = await conn.request({
      case: 'register',
      value: {
        inviteCode: invite,
        identityKey: identity.publicKey,
        deviceKey: devicePublic,
        identitySignature: ctx.crypto.ed25519Sign(identity.signing.privateKey, registerIdentityPayload(conn.nonce, devicePublic)),
        deviceSignature: ctx.crypto.ed25519Sign(deviceSeed, registerDevicePayload(conn.nonce, identity.publicKey)),
      },
    });
    if (reg.body.case !== 'registered') throw new Error(`register: unexpected answer ${reg.body.case}`);
    const accessKey = ctx.random(16);
    await conn.request({ case: 'setAccessKey', value: { accessKey } });
    return { accountId: reg.body.value.accountId, deviceId: reg.body.value.deviceId, accessKey, deviceKey: deviceSeed };
  } finally {
    conn.close();
  }
}

/**
 * Opens a connection authenticated as `account`'s device (from registerAccount); pushes (queued
 * messages come right after Authenticated) go to `onPush`.
 */
export async function authenticate(target, ctx, account, onPush = () => {}) {
  const conn = await FrameConn.open(target);
  conn.onPush = onPush;
  await conn.request({
    case: 'authenticate',
    value: { accountId: account.accountId, deviceId: account.deviceId, signature: ctx.crypto.ed25519Sign(account.deviceKey, authPayload(conn.nonce, account.accountId, account.deviceId)) },
  });
  return conn;
}

/** Runs `fn(item, index)` over `items` with at most `width` running at once. */
export async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** GET a JSON document from the server over TLS (its self-signed certificate as the only CA). */
export function getJson(target, path) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: target.port, path, ca: target.cert, servername: 'localhost', method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
