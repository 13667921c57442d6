/**
 * Setting a device up (client.md §1, §3): pointing it at a server and fetching
 * the server's sender-certificate keys, registering a new account with an
 * invite, and authenticating a connection as this device.
 */
import {
  authPayload, encodeIdentityKeyPair, generateIdentityKeyPair, registerDevicePayload, registerIdentityPayload, tokenIdentityKeyPair,
  type IdentitySigner, type TokenKeyReference,
} from '@sigilo/protocol';
import { Connection, fetchJson, normaliseFingerprint, type ServerAddress } from './connection.js';
import { type Engine, META, text, u32 } from './engine.js';
import { ClientError } from './errors.js';
import { replenishPreKeys } from './prekeys.js';

/**
 * Points this device at a server: `url` (https://host:port or wss://host:port/v1/ws) and the
 * SHA-256 fingerprint of its certificate. Fetches the server's sender-certificate keys over
 * the pinned connection.
 */
export async function init(engine: Engine, url: string, fingerprint: string | undefined, ca?: { fingerprint: string; cert: string }): Promise<{ url: string; fingerprint: string | undefined; caFingerprint?: string }> {
  const parsed = new URL(url.includes('://') ? url : `wss://${url}`);
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'wss:') throw new ClientError('INVALID_INPUT', 'the server URL must be https://HOST:PORT or wss://HOST:PORT (TLS is required)');
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1/ws';
  const address: ServerAddress = {
    url: parsed.toString(), fingerprint: fingerprint ? normaliseFingerprint(fingerprint) : undefined,
    ...(ca ? { caFingerprint: normaliseFingerprint(ca.fingerprint), caCert: ca.cert } : {}),
  };
  const info = await fetchJson(engine.transportFor(address), '/v1/server-info') as { name?: string; certificateKeys?: { keyId: number; publicKey: string }[] };
  if (info.name !== 'sigilo' || !Array.isArray(info.certificateKeys)) throw new ClientError('SERVER_ERROR', 'this is not a Sigilo server (no server-info)');
  if (engine.accountId && engine.server && engine.server.url !== address.url) {
    throw new ClientError('ALREADY_REGISTERED', 'this device is registered with another server; use a new --dir for a second account');
  }
  engine.store.transaction(() => {
    engine.store.setMeta(META.serverUrl, text.encode(address.url));
    engine.store.setMeta(META.serverFingerprint, address.fingerprint ? text.encode(address.fingerprint) : undefined);
    engine.store.setMeta(META.serverCaFingerprint, address.caFingerprint ? text.encode(address.caFingerprint) : undefined);
    engine.store.setMeta(META.serverCa, address.caCert ? text.encode(address.caCert) : undefined);
    engine.store.setMeta(META.serverKeys, text.encode(JSON.stringify(info.certificateKeys)));
    engine.kt.pin(info);
  });
  engine.trusted = undefined;
  engine.sealedCache.certificates.clear();
  return { url: address.url, fingerprint: address.fingerprint, ...(address.caFingerprint ? { caFingerprint: address.caFingerprint } : {}) };
}

/** Fetches the server's sender-certificate keys again (over the pinned connection), e.g. after a key rotation. */
export async function refreshServerKeys(engine: Engine): Promise<void> {
  engine.keysRefreshedAt = engine.now();
  const info = await fetchJson(engine.transport(), '/v1/server-info') as { certificateKeys?: { keyId: number; publicKey: string }[] };
  if (!Array.isArray(info.certificateKeys)) return;
  engine.store.setMeta(META.serverKeys, text.encode(JSON.stringify(info.certificateKeys)));
  engine.trusted = undefined;
  engine.sealedCache.certificates.clear();
}

export function generateDeviceKey(engine: Engine): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = engine.ctx.random(32);
  return { privateKey, publicKey: engine.ctx.crypto.ed25519PublicKey(privateKey) };
}

/**
 * Creates this person's identity and account with an administrator's invite code. With `onToken`, the identity's
 * signing key is that key on a PKCS#11 token (trust.md §7.1): only its reference is stored, and it signs there.
 */
export async function register(engine: Engine, inviteCode: string, onToken?: { token: TokenKeyReference; signer: IdentitySigner }): Promise<{ accountId: Uint8Array; deviceId: number }> {
  if (engine.accountId) throw new ClientError('ALREADY_REGISTERED', 'this device is already registered');
  const address = engine.requireServer();
  const identity = onToken ? tokenIdentityKeyPair(engine.ctx.crypto, onToken.token, onToken.signer, engine.ctx.random(32)) : generateIdentityKeyPair(engine.ctx);
  const deviceKey = generateDeviceKey(engine);
  const { connection, nonce } = await Connection.open(engine.transportFor(address), () => {});
  try {
    const f = await connection.request({
      case: 'register',
      value: {
        inviteCode: inviteCode.trim(),
        identityKey: identity.publicKey,
        deviceKey: deviceKey.publicKey,
        identitySignature: identity.signing.sign(registerIdentityPayload(nonce, deviceKey.publicKey)),
        deviceSignature: engine.ctx.crypto.ed25519Sign(deviceKey.privateKey, registerDevicePayload(nonce, identity.publicKey)),
      },
    });
    if (f.body.case !== 'registered') throw new ClientError('SERVER_ERROR', 'unexpected answer to registration');
    const { accountId, deviceId } = f.body.value;
    const accessKey = engine.ctx.random(16);
    engine.store.transaction(() => {
      engine.store.setMeta(META.identity, encodeIdentityKeyPair(identity));
      engine.store.setMeta(META.deviceKey, deviceKey.privateKey);
      engine.store.setMeta(META.accountId, accountId);
      engine.store.setMeta(META.deviceId, u32(deviceId));
      engine.store.setMeta(META.accessKey, accessKey);
    });
    engine.identityCache = identity;
    engine.retain(identity);
    // A successful registration authenticates this connection as the new device.
    await connection.request({ case: 'setAccessKey', value: { accessKey, unrestricted: false } });
    await replenishPreKeys(engine, connection, true);
    return { accountId, deviceId };
  } finally {
    connection.close();
  }
}

export async function authenticate(engine: Engine, connection: Connection, nonce: Uint8Array): Promise<void> {
  const { accountId, deviceId } = engine.requireAccount();
  const deviceKey = engine.store.getMeta(META.deviceKey)!;
  await connection.request({
    case: 'authenticate',
    value: { accountId, deviceId, signature: engine.ctx.crypto.ed25519Sign(deviceKey, authPayload(nonce, accountId, deviceId)) },
  });
}
